/**
 * RevocationGuard, the per-process view checkRevocation reads, driven by a
 * feed and a clock the test holds: what it refuses, when it answers 503,
 * that entries leave once no token they could match is still valid, and
 * how much heap 100,000 revoked sessions take (measured in a child process
 * with --expose-gc).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import {
  StoreUnavailableError,
  TokenRevokedError,
  type AuthContext,
  type Revocation,
  type RevocationFeed,
} from '../lib/index.js';
import { RevocationView as RevocationGuard } from '../lib/revocation/view.js';

const T0 = 4_000_000_000;
const RETENTION = 900;

/**
 * A feed the test drives: `deliver` hands it entries, `gap` reports lost
 * ones; `contact` is what lastContact answers (undefined: always just now).
 */
function testFeed(): {
  feed: RevocationFeed;
  deliver: (r: Revocation) => void;
  gap: (through: number) => void;
  contact: { at: number | undefined };
} {
  let listener: (revocation: Revocation) => void = () => {};
  let onGap: (through: number) => void = () => {};
  const contact: { at: number | undefined } = { at: undefined };
  const feed: RevocationFeed = {
    follow: async (next, _since, options) => {
      listener = next;
      onGap = options?.onGap ?? onGap;
    },
    lastContact: () => contact.at ?? Date.now(),
    close: async () => {},
  };
  return { feed, deliver: (r) => listener(r), gap: (through) => onGap(through), contact };
}

const context = (over: Partial<AuthContext> = {}): AuthContext => ({
  userId: 'alice',
  sessionId: 'sid-1',
  claims: {},
  issuedAt: T0,
  ...over,
});

function outcome(guard: RevocationGuard, ctx: AuthContext): string {
  try {
    guard.check(ctx);
    return 'pass';
  } catch (error) {
    if (error instanceof TokenRevokedError) return 'revoked';
    if (error instanceof StoreUnavailableError) return 'unavailable';
    throw error;
  }
}

describe('RevocationGuard', function () {
  let now: number;
  let guards: RevocationGuard[];

  beforeEach(() => {
    now = T0;
    guards = [];
  });
  afterEach(async () => Promise.all(guards.map((guard) => guard.close())));

  async function started(feed: RevocationFeed, maxLag = 5000): Promise<RevocationGuard> {
    const guard = new RevocationGuard(feed, { retention: RETENTION, maxLag, now: () => now });
    guards.push(guard);
    await guard.ready();
    return guard;
  }

  it("refuses an ended session's tokens, and a user's tokens issued before the cut-off only", async () => {
    const { feed, deliver } = testFeed();
    const guard = await started(feed);
    deliver({ kind: 'session', id: 'sid-1', at: T0 });
    deliver({ kind: 'user', id: 'bob', at: T0 + 10 });
    expect(outcome(guard, context())).to.equal('revoked');
    expect(outcome(guard, context({ sessionId: 'sid-2' }))).to.equal('pass');
    expect(outcome(guard, context({ userId: 'bob', sessionId: 'b', issuedAt: T0 + 9 }))).to.equal('revoked');
    expect(
      outcome(guard, context({ userId: 'bob', sessionId: 'b', issuedAt: T0 + 10 })),
      'issued at the cut-off',
    ).to.equal('pass');
    deliver({ kind: 'user', id: 'bob', at: T0 + 5 }); // an older cut-off arriving late does not move it back
    expect(outcome(guard, context({ userId: 'bob', sessionId: 'b', issuedAt: T0 + 7 }))).to.equal('revoked');
  });

  it('answers 503 until caught up, and once the feed has been silent for longer than maxLag', async () => {
    let caughtUp: () => void = () => {};
    const { feed, contact } = testFeed();
    const slow: RevocationFeed = {
      ...feed,
      follow: () =>
        new Promise<void>((resolve) => {
          caughtUp = resolve;
        }),
    };
    // A minute of lag allowed, so that only a process stalled for a minute could blur the two cases.
    const guard = new RevocationGuard(slow, { retention: RETENTION, maxLag: 60_000, now: () => now });
    guards.push(guard);
    expect(outcome(guard, context())).to.equal('unavailable');
    caughtUp();
    await guard.ready();
    expect(outcome(guard, context())).to.equal('pass');
    contact.at = Date.now() - 60_001;
    expect(outcome(guard, context())).to.equal('unavailable');
    contact.at = Date.now();
    expect(outcome(guard, context())).to.equal('pass');
  });

  it('drops each entry once every token it could match has expired, and never keeps a stale one', async () => {
    const { feed, deliver } = testFeed();
    const guard = await started(feed);
    deliver({ kind: 'session', id: 'a', at: T0 });
    deliver({ kind: 'user', id: 'u', at: T0 + 50 });
    deliver({ kind: 'session', id: 'b', at: T0 + 100 });
    deliver({ kind: 'session', id: 'stale', at: T0 - RETENTION }); // its tokens expired already
    const sizes: number[] = [guard.size];
    for (const t of [RETENTION - 1, RETENTION, RETENTION + 50, RETENTION + 99, RETENTION + 100]) {
      guard.sweep(T0 + t);
      sizes.push(guard.size);
    }
    expect(sizes).to.deep.equal([3, 3, 2, 1, 1, 0]);
  });

  it('after entries were lost unread, answers 503 for any token not known to be ended until they cannot matter', async () => {
    const { feed, deliver, gap } = testFeed();
    const guard = await started(feed);
    deliver({ kind: 'session', id: 'known', at: T0 });
    gap(T0 + 100); // lost entries, the latest of them made at T0 + 100 (the store's clock)
    const res = (() => {
      try {
        guard.check(context());
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(res).to.be.instanceOf(StoreUnavailableError);
    expect((res as Error).message).to.equal('revocation record is not complete');
    expect(outcome(guard, context({ sessionId: 'known' })), 'a session known to be ended is still refused').to.equal(
      'revoked',
    );
    gap(T0 + 50); // an earlier gap reported later does not shorten the wait
    now = T0 + 100 + RETENTION - 1;
    expect(outcome(guard, context()), 'a token of a lost session could still be valid').to.equal('unavailable');
    now = T0 + 100 + RETENTION;
    expect(outcome(guard, context()), 'every token a lost entry could match has expired').to.equal('pass');
  });

  it("sweeps by its own timer, on the core's clock", async function () {
    this.timeout(40_000);
    const { feed, deliver } = testFeed();
    const guard = await started(feed);
    deliver({ kind: 'session', id: 'a', at: T0 });
    now = T0 + RETENTION;
    // The timer runs every 5 s; the bound is on the wait only, generous for a busy machine.
    const deadline = performance.now() + 30_000;
    while (guard.size > 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(guard.size).to.equal(0);
  });

  it('holds 100,000 revoked sessions in a few tens of MB at most', async function () {
    this.timeout(60_000);
    const child = fileURLToPath(new URL('./helpers/revocation-view-memory.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', child, '100000']);
    const { entries, bytes } = JSON.parse(stdout.trim().split('\n').at(-1)!) as { entries: number; bytes: number };
    expect(entries).to.equal(100_000);
    console.log(
      `      revocation view: ${entries} sessions take ${(bytes / 2 ** 20).toFixed(1)} MiB of heap (${Math.round(bytes / entries)} B each)`,
    );
    expect(bytes / entries).to.be.within(20, 250);
  });
});
