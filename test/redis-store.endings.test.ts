/**
 * RedisSessionStore's endings against a real redis-server: a script that
 * cannot record a revocation changes no session (Redis does not roll a
 * script back, so the append goes first), an operation that ends
 * nothing writes nothing to the revocation stream, and the credential
 * cut-off is decided on Redis's clock, whatever the instances' clocks say.
 */
import { expect } from 'chai';
import { createClient } from 'redis';
import {
  createTokenAuth,
  CredentialsChangedError,
  RedisSessionStore,
  StoreUnavailableError,
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';
import { deletePrefixed } from './helpers/redis-clients.js';
import { requireRedis, sharedRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, decode, REFRESH, rejection } from './helpers/token-auth.js';

describe('RedisSessionStore endings on a real redis-server', function () {
  let redis: { url: string; close: () => Promise<void> };
  let client: ReturnType<typeof createClient>;
  let prefix: string;

  before(async function () {
    requireRedis(this);
    redis = await sharedRedis();
    client = createClient({ url: redis.url, disableOfflineQueue: true });
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) await client.close();
    await redis?.close();
  });
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => deletePrefixed(client, prefix));

  /** An instance on its own store object (Redis's clock), its own clock `skew` ms off. */
  function makeAuth(maxSessionsPerUser = 100, skew = 0): TokenAuth {
    return createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH, reuseGrace: 0 },
      maxSessionsPerUser,
      store: new RedisSessionStore({ client, prefix }),
      clock: () => Date.now() + skew,
    });
  }

  /** Redis's clock, Unix ms. */
  async function redisMs(): Promise<number> {
    const [seconds, micros] = (await client.sendCommand<[string, string]>(['TIME'])).map(Number);
    return seconds! * 1000 + Math.floor(micros! / 1000);
  }

  const stream = (): string => `${prefix}revocations`;
  const sid = (pair: TokenPair): string => String(decode(pair.refreshToken).payload.sid);
  const listed = async (auth: TokenAuth, userId: string): Promise<string[]> =>
    (await auth.listSessions(userId)).map((s) => s.sessionId).sort();

  it('ends no session when the revocation stream cannot be appended to, and records once it can', async () => {
    const auth = makeAuth(2);
    const a = await auth.issue({ userId: 'u1' });
    const b = await auth.issue({ userId: 'u1' });
    const rotated = await auth.refresh(a.refreshToken);
    const both = [sid(a), sid(b)].sort();
    // Someone (an operator, another app on the same prefix) left a string where the stream goes.
    await client.sendCommand(['SET', stream(), 'not a stream']);

    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['logout', () => auth.revoke(b.refreshToken)],
      ['logout with a rotated-out token (reuse)', () => auth.revoke(a.refreshToken)],
      ['refresh with a rotated-out token (reuse)', () => auth.refresh(a.refreshToken)],
      ['revokeSession', () => auth.revokeSession('u1', sid(b))],
      ['revokeAll', () => auth.revokeAll('u1')],
      ['revokeOtherSessions', () => auth.revokeOtherSessions('u1', sid(a))],
      ['a login that evicts the least recently used session', () => auth.issue({ userId: 'u1' })],
    ];
    for (const [what, attempt] of attempts) {
      const error = await rejection(attempt);
      expect(error, what).to.be.instanceOf(StoreUnavailableError);
      expect(String(error.cause), what).to.match(/WRONGTYPE/);
      expect(await listed(auth, 'u1'), `${what}: every session intact`).to.deep.equal(both);
    }
    expect(await client.sendCommand(['GET', stream()]), 'the stray key untouched').to.equal('not a stream');

    await client.sendCommand(['DEL', stream()]);
    const next = await auth.refresh(rotated.refreshToken);
    expect(auth.verifyAccessToken(next.accessToken).sessionId).to.equal(sid(a));
    expect(await auth.revoke(b.refreshToken)).to.equal(true);
    const record = await client.sendCommand<Array<[string, string[]]>>(['XRANGE', stream(), '-', '+']);
    expect(record.map(([, fields]) => `${fields[1]} ${fields[3]}`)).to.deep.equal([`s ${sid(b)}`]);
  });

  it('appends nothing to the stream for an operation that ends nothing', async () => {
    const auth = makeAuth();
    const kept = await auth.issue({ userId: 'u1' });
    await auth.revoke((await auth.issue({ userId: 'u1' })).refreshToken); // creates the stream: one entry
    const length = async (): Promise<number> => Number(await client.sendCommand(['XLEN', stream()]));
    expect(await length()).to.equal(1);

    expect(await auth.revokeAll('nobody')).to.equal(0);
    expect(await auth.revokeOtherSessions('u1', sid(kept))).to.equal(0);
    expect(await auth.revokeSession('u1', 'never-there')).to.equal(false);
    expect(await auth.revokeSession('someone-else', sid(kept))).to.equal(false);
    expect(await auth.revokeAll('u1')).to.equal(1);
    expect(await length()).to.equal(3); // the kept session and the user cut-off
    for (let i = 0; i < 5; i += 1) expect(await auth.revokeAll('u1')).to.equal(0);
    expect(await length(), 'logout-all of a user with no sessions left').to.equal(3);
  });

  it("decides the credential cut-off on Redis's clock: instances an hour apart agree, and it outlives the sessions", async () => {
    const here = makeAuth();
    const behind = makeAuth(100, -3_600_000);
    const laptop = await here.issue({ userId: 'ann' });
    const began = here.now(); // a login on this instance reads the old hash...
    expect(await behind.revokeOtherSessions('ann', sid(laptop))).to.equal(0); // ...the password changes on another
    const error = await rejection(here.issue({ userId: 'ann', authenticatedAt: began }));
    expect(error).to.be.instanceOf(CredentialsChangedError);
    expect(await listed(here, 'ann')).to.deep.equal([sid(laptop)]);

    const cut = Number(await client.sendCommand(['GET', `${prefix}{ann}:cutoff`]));
    expect(cut, "Redis's time, in ms").to.be.within((await redisMs()) - 10_000, await redisMs());
    expect(await client.sendCommand(['TTL', `${prefix}{ann}:cutoff`])).to.be.within(290, 301);
    expect(await client.sendCommand(['EXISTS', stream()]), 'nothing ended, nothing recorded').to.equal(0);

    // Without sessions at all, the cut-off still holds, and a logout-all sets it too.
    const began2 = behind.now();
    expect(await here.revokeAll('ann')).to.equal(1);
    expect(await rejection(behind.issue({ userId: 'ann', authenticatedAt: began2 }))).to.be.instanceOf(
      CredentialsChangedError,
    );

    // A check begun once Redis's clock is past the cut-off goes through, on either instance. (The store
    // places a check on Redis's clock to within half a TIME round trip, at most the 1 s timeout.)
    const latest = Number(await client.sendCommand(['GET', `${prefix}{ann}:cutoff`]));
    while ((await redisMs()) <= latest + 1000) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const auth of [here, behind]) {
      const pair = await auth.issue({ userId: 'ann', authenticatedAt: auth.now() });
      expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('ann');
    }
  });

  it('places a check no later than it began, even when every command of its instance leaves late', async () => {
    // Each command of this instance waits 300 ms before it leaves (a busy event loop, a queue):
    // its TIME too, so the middle of that round trip is 150 ms before Redis read its clock, and a
    // script's own "now - age" is late by the wait. Either estimate alone would put the check
    // after a password change made just after it began, and let the login through.
    const late = async <T>(args: string[]): Promise<T> => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return client.sendCommand<T>(args);
    };
    const slow = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store: new RedisSessionStore({ sendCommand: late, prefix, timeout: 10_000 }),
    });
    const other = makeAuth();
    const laptop = await slow.issue({ userId: 'bo' }); // the slow store has read Redis's clock
    const began = slow.now();
    expect(await other.revokeOtherSessions('bo', sid(laptop))).to.equal(0); // within ms of `began`
    expect(await rejection(slow.issue({ userId: 'bo', authenticatedAt: began }))).to.be.instanceOf(
      CredentialsChangedError,
    );
    expect(await listed(slow, 'bo')).to.deep.equal([sid(laptop)]);
  });
});
