/**
 * A revocation feed that cannot prove it saw every entry fails closed (issue
 * 18, item 7), on a private redis-server. Instance A writes; instance B,
 * whose clock is an hour behind Redis's (so the access tokens of sessions
 * ended long ago still verify there), follows the stream through a
 * connection the test can hold. When entries B never read are gone (the
 * stream trimmed past B's last id, deleted, or recreated) or B starts after
 * a trim, B's checked routes answer 503 until every access token those
 * entries could have refused has expired on B's clock, never 200 for an
 * ended session. A trim that takes only entries B has read changes nothing.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createClient } from 'redis';
import {
  createTokenAuth,
  RedisSessionStore,
  StoreUnavailableError,
  type AuthContext,
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, decode, REFRESH } from './helpers/token-auth.js';
import { checkedAndPlain } from './helpers/express-app.js';

type Client = ReturnType<typeof createClient>;
type Send = (args: string[]) => Promise<unknown>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms; throws after `limit` ms (generous: a bound on a wait, never on speed). */
async function waitFor(what: string, condition: () => boolean | Promise<boolean>, limit = 15_000): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > limit) throw new Error(`not within ${limit} ms: ${what}`);
    await sleep(10);
  }
}

/** B's feed connection, which the test can hold: while held, no command reaches Redis. */
class Gate {
  #held: Promise<void> | undefined;
  #release: () => void = () => {};
  #inFlight = 0;
  /** The feed's steps answered so far (each ends with EXEC). */
  steps = 0;

  constructor(readonly target: Send) {}

  readonly send: Send = async (args) => {
    while (this.#held !== undefined) await this.#held;
    this.#inFlight += 1;
    try {
      return await this.target(args);
    } finally {
      this.#inFlight -= 1;
      if (args[0] === 'EXEC') this.steps += 1;
    }
  };

  /** Resolves once the feed has taken `count` more steps (each settles before the next poll). */
  async nextSteps(count: number): Promise<void> {
    const target = this.steps + count;
    await waitFor(`${count} more steps of the feed`, () => this.steps >= target);
  }

  /** Holds every later command, and resolves once none is in flight (a blocking read ends within a second). */
  async hold(): Promise<void> {
    this.#held = new Promise((resolve) => {
      this.#release = resolve;
    });
    await waitFor("the feed's last command to settle", () => this.#inFlight === 0);
  }

  /** Lets commands through again; resolves once the feed has taken a step with what it finds now. */
  async open(): Promise<void> {
    const next = this.nextSteps(1);
    const release = this.#release;
    this.#held = undefined;
    release();
    await next;
  }
}

describe('checkRevocation fails closed when the revocation feed may have missed entries', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let admin: Client;
  let clientA: Client;
  let clientB: Client;
  let feedB: Client;
  let prefix: string;
  let stream: string;
  let auths: TokenAuth[];
  /** B's clock, ms: an hour behind Redis's unless a test freezes it. */
  let clockB: () => number;

  const connect = async (): Promise<Client> => {
    const client = createClient({
      url: server.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => 50 },
    });
    client.on('error', () => {
      /* reconnects by itself */
    });
    await client.connect();
    return client;
  };

  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
    [admin, clientA, clientB, feedB] = await Promise.all([connect(), connect(), connect(), connect()]);
  });
  after(async () => {
    for (const client of [admin, clientA, clientB, feedB]) if (client?.isOpen) client.destroy();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = uniquePrefix();
    stream = `${prefix}revocations`;
    auths = [];
    clockB = () => Date.now() - 3_600_000;
  });
  afterEach(async () => {
    await Promise.all(auths.map((auth) => auth.close()));
  });

  function instanceA(): TokenAuth {
    const auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store: new RedisSessionStore({ client: clientA, prefix }),
    });
    auths.push(auth);
    return auth;
  }

  /** Instance B: its feed through `gate`, its clock `clockB`, its checked and plain routes. */
  function instanceB(gate: Gate): {
    auth: TokenAuth;
    get: (path: string, pair: TokenPair) => Promise<request.Response>;
  } {
    const auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store: new RedisSessionStore({ client: clientB, blockingSendCommand: gate.send, prefix }),
      clock: () => clockB(),
    });
    auths.push(auth);
    const app = checkedAndPlain(auth);
    return { auth, get: (path, pair) => request(app).get(path).set('Authorization', `Bearer ${pair.accessToken}`) };
  }

  const newGate = (): Gate => new Gate((args) => feedB.sendCommand(args));

  async function streamIds(): Promise<string[]> {
    const entries = await admin.sendCommand<Array<[string, unknown]>>(['XRANGE', stream, '-', '+']);
    return entries.map(([id]) => id);
  }

  /** Redis's clock, Unix seconds. */
  async function redisNow(): Promise<number> {
    const [seconds] = await admin.sendCommand<[string, string]>(['TIME']);
    return Number(seconds);
  }

  /** Ends `pair`'s session through `auth` (its own logout). */
  const end = (auth: TokenAuth, pair: TokenPair): Promise<unknown> => auth.revoke(pair.refreshToken);

  /** Whether `check` throws the 503 of an incomplete record (any other error fails the test). */
  function blind(auth: TokenAuth, context: AuthContext): boolean {
    try {
      auth.checkRevocation(context);
      return false;
    } catch (error) {
      if (error instanceof StoreUnavailableError) return true;
      throw error;
    }
  }

  /**
   * After B found a gap: the ended session's token, still valid on B's
   * clock a second before it expires there, is refused (503, never 200);
   * once B's clock is one access-token lifetime past Redis's time now,
   * nothing B missed can matter and B's view is trusted again.
   */
  async function expectClosedUntilExpired(
    b: { auth: TokenAuth; get: (path: string, pair: TokenPair) => Promise<request.Response> },
    ended: TokenPair,
    live: TokenPair,
  ): Promise<void> {
    const res = await b.get('/checked', ended);
    expect(res.status, `an ended session on a checked route: ${res.text}`).to.equal(503);
    expect(res.body).to.deep.equal({ error: 'store_unavailable', message: 'revocation record is not complete' });
    expect((await b.get('/checked', live)).status, 'a live one too: B cannot tell them apart').to.equal(503);
    expect((await b.get('/plain', live)).status, 'plain routes are untouched').to.equal(200);
    const liveContext = b.auth.verifyAccessToken(live.accessToken);

    const exp = decode(ended.accessToken).payload.exp as number;
    clockB = () => (exp - 1) * 1000;
    expect((await b.get('/plain', ended)).status, "the ended session's token still verifies on B").to.equal(200);
    expect((await b.get('/checked', ended)).status, 'still refused a second before it expires').to.equal(503);

    const after = (await redisNow()) + b.auth.accessTokenTtl + 1;
    clockB = () => after * 1000;
    expect(blind(b.auth, liveContext), 'trusted again once everything missed has expired').to.equal(false);
  }

  it('a feed cut off while the stream was trimmed past its last id answers 503 until the missed window expires', async () => {
    const a = instanceA();
    const gate = newGate();
    const b = instanceB(gate);
    await b.auth.watchRevocations();
    const ended = await a.issue({ userId: 'u1' });
    const live = await a.issue({ userId: 'u2' });
    const other = await a.issue({ userId: 'u3' });
    expect((await b.get('/checked', ended)).status, 'before').to.equal(200);

    await gate.hold();
    await end(a, ended);
    await end(a, other);
    const ids = await streamIds();
    expect(ids).to.have.length(2);
    // What the scripts' own MINID does once Redis's clock is a lifetime past the first entry.
    await admin.sendCommand(['XTRIM', stream, 'MINID', ids[1]!]);
    await gate.open();
    await waitFor('B to read the entry left', async () => (await b.get('/checked', other)).status === 401);

    await expectClosedUntilExpired(b, ended, live);
  });

  it('a feed whose stream was deleted while it was cut off answers 503', async () => {
    const a = instanceA();
    const gate = newGate();
    const b = instanceB(gate);
    await b.auth.watchRevocations();
    const first = await a.issue({ userId: 'u0' });
    await end(a, first);
    await waitFor('B to read the first entry', async () => (await b.get('/checked', first)).status === 401);
    const ended = await a.issue({ userId: 'u1' });
    const live = await a.issue({ userId: 'u2' });

    await gate.hold();
    await end(a, ended);
    await admin.sendCommand(['DEL', stream]);
    await gate.open();
    await expectClosedUntilExpired(b, ended, live);
  });

  it('a feed whose stream was deleted and written again while it was cut off answers 503', async () => {
    const a = instanceA();
    const gate = newGate();
    const b = instanceB(gate);
    await b.auth.watchRevocations();
    const first = await a.issue({ userId: 'u0' });
    await end(a, first);
    await waitFor('B to read the first entry', async () => (await b.get('/checked', first)).status === 401);
    const ended = await a.issue({ userId: 'u1' });
    const live = await a.issue({ userId: 'u2' });
    const other = await a.issue({ userId: 'u3' });

    await gate.hold();
    await end(a, ended);
    await admin.sendCommand(['DEL', stream]);
    await end(a, other);
    await gate.open();
    await waitFor('B to read the new stream', async () => (await b.get('/checked', other)).status === 401);
    await expectClosedUntilExpired(b, ended, live);
  });

  it('reads a stream recreated with lower ids from its start (a Redis whose clock was behind)', async () => {
    const a = instanceA();
    const gate = newGate();
    const b = instanceB(gate);
    await b.auth.watchRevocations();
    const first = await a.issue({ userId: 'u0' });
    await end(a, first);
    await waitFor('B to read the first entry', async () => (await b.get('/checked', first)).status === 401);
    const later = await a.issue({ userId: 'u3' });
    const live = await a.issue({ userId: 'u2' });

    await gate.hold();
    await admin.sendCommand(['DEL', stream]);
    const sid = decode(later.accessToken).payload.sid as string;
    await admin.sendCommand(['XADD', stream, '1-1', 'k', 's', 'id', sid, 'at', String(await redisNow())]);
    await gate.open();
    await waitFor(
      'B to read the entry below its last id',
      async () => (await b.get('/checked', later)).status === 401,
      5000,
    );
    expect((await b.get('/checked', live)).status, 'and the deletion is a gap').to.equal(503);
  });

  it('an instance that starts after entries were trimmed answers 503 until they could no longer matter', async () => {
    const a = instanceA();
    const ended = await a.issue({ userId: 'u1' });
    const live = await a.issue({ userId: 'u2' });
    const other = await a.issue({ userId: 'u3' });
    await end(a, ended);
    await end(a, other);
    const ids = await streamIds();
    await admin.sendCommand(['XTRIM', stream, 'MINID', ids[1]!]);

    const b = instanceB(newGate());
    await b.auth.watchRevocations();
    expect((await b.get('/checked', other)).status, 'the entry it read').to.equal(401);
    await expectClosedUntilExpired(b, ended, live);
  });

  it('an instance that starts on an untrimmed stream, or on none, trusts it at once', async () => {
    const a = instanceA();
    const live = await a.issue({ userId: 'u2' });
    const fresh = instanceB(newGate());
    await fresh.auth.watchRevocations();
    expect((await fresh.get('/checked', live)).status, 'no stream yet').to.equal(200);

    const ended = await a.issue({ userId: 'u1' });
    await end(a, ended);
    const b = instanceB(newGate());
    await b.auth.watchRevocations();
    expect((await b.get('/checked', ended)).status).to.equal(401);
    expect((await b.get('/checked', live)).status).to.equal(200);
  });

  it('a trim that takes only entries the feed has read is no gap', async () => {
    const a = instanceA();
    const gate = newGate();
    const b = instanceB(gate);
    await b.auth.watchRevocations();
    const live = await a.issue({ userId: 'live' });
    for (let i = 0; i < 3; i += 1) {
      const ended = await a.issue({ userId: `u${i}` });
      await end(a, ended);
      await waitFor(`B to read entry ${i}`, async () => (await b.get('/checked', ended)).status === 401);
      const [last] = (await streamIds()).slice(-1);
      const [ms, seq] = last!.split('-');
      // Everything up to and including B's last id.
      await admin.sendCommand(['XTRIM', stream, 'MINID', `${ms}-${Number(seq) + 1}`]);
      expect(await streamIds()).to.deep.equal([]);
      await gate.nextSteps(2);
      expect((await b.get('/checked', live)).status, `after trim ${i}`).to.equal(200);
    }
  });
});
