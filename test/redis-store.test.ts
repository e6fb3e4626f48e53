/**
 * RedisSessionStore against a private redis-server that these tests kill,
 * freeze and restart: fail-closed behaviour, one round trip per operation,
 * script reloading, key layout, and concurrency through HTTP.
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createClient } from 'redis';
import {
  createTokenAuth,
  logoutHandler,
  RedisSessionStore,
  refreshHandler,
  requireAccessToken,
  StoreUnavailableError,
  type TokenAuth,
} from '../lib/index.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

type Client = ReturnType<typeof createClient>;

/** Whole seconds a TTL can have lost since `mark` (a performance.now() reading), rounding included. */
function secondsSince(mark: number): number {
  return Math.ceil((performance.now() - mark) / 1000) + 1;
}

/** Waits for `condition`, up to 15 s on the monotonic clock (generous for a busy machine). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('RedisSessionStore on a real redis-server', function () {
  let server: RedisServer;
  let client: Client;
  let sent: string[][];
  let prefix: string;

  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
    client = createClient({
      url: server.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => 50 },
    });
    client.on('error', () => {
      /* reconnects by itself; tests watch isReady */
    });
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) client.destroy();
    await server?.stop();
  });

  beforeEach(() => {
    sent = [];
    prefix = uniquePrefix();
  });

  /**
   * A store whose commands are recorded in `sent`. Its timeout is 10 s unless
   * a test sets one: on a busy machine a script can take longer than a short
   * timeout, and the store then answers 503 (or Redis `late`) by design.
   */
  function makeAuth(options: { grace?: number; timeout?: number } = {}): TokenAuth {
    const counting = {
      get isReady() {
        return client.isReady;
      },
      sendCommand: (args: string[]) => {
        sent.push(args);
        return client.sendCommand(args);
      },
    };
    return createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH, reuseGrace: options.grace ?? 5 },
      store: new RedisSessionStore({ client: counting, prefix, timeout: options.timeout ?? 10_000 }),
    });
  }

  function makeApp(auth: TokenAuth): express.Express {
    const app = express();
    app.use(express.json());
    app.get('/me', requireAccessToken(auth), (req, res) => {
      res.json({ userId: req.auth!.userId });
    });
    app.post('/refresh', refreshHandler(auth));
    app.post('/logout', logoutHandler(auth));
    return app;
  }

  it('costs exactly one round trip per issue, refresh, logout and logout-all', async () => {
    const auth = makeAuth();
    // Load the scripts, as the first calls after any Redis start do.
    const warm = await auth.issue({ userId: 'u0' });
    await auth.revoke((await auth.refresh(warm.refreshToken)).refreshToken);
    await auth.revokeAll('u0');
    sent = [];
    const pair = await auth.issue({ userId: 'u1' });
    expect(sent.map((args) => args[0])).to.deep.equal(['EVALSHA']);
    sent = [];
    const next = await auth.refresh(pair.refreshToken);
    expect(sent).to.have.length(1);
    sent = [];
    await auth.revoke(next.refreshToken);
    expect(sent).to.have.length(1);
    sent = [];
    await auth.revokeAll('u1');
    expect(sent).to.have.length(1);
  });

  it('keeps a one-session user in a string, and each session of a user with more in a field of one hash', async () => {
    const auth = makeAuth();
    const meta = {
      ip: '203.0.113.5',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    };
    const first = await auth.issue({ userId: 'u1', claims: { role: 'admin' }, meta });
    expect(await client.sendCommand(['TYPE', `${prefix}{u1}`])).to.equal('string');
    const inspectOne = "return cjson.encode(cmsgpack.unpack(redis.call('GET', KEYS[1])))";
    const [sid, only] = JSON.parse(await client.sendCommand<string>(['EVAL', inspectOne, '1', `${prefix}{u1}`])) as [
      string,
      unknown[],
    ];
    const firstClaims = JSON.parse(Buffer.from(first.refreshToken.split('.')[1]!, 'base64url').toString()) as {
      sid: string;
      jti: string;
    };
    expect(sid).to.equal(firstClaims.sid);
    expect(only[0]).to.equal(firstClaims.jti);
    const written = performance.now(); // the key's expiry is set from here on
    const second = await auth.issue({ userId: 'u1', meta: {} });
    const rotated = await auth.refresh(first.refreshToken);
    const key = `${prefix}{u1}`;
    expect(await client.sendCommand(['KEYS', `${prefix}*`])).to.deep.equal([key]);
    expect(await client.sendCommand(['TYPE', key])).to.equal('hash');
    const inspect =
      "local out, f = {}, redis.call('HGETALL', KEYS[1]) " +
      'for i = 1, #f, 2 do out[f[i]] = cmsgpack.unpack(f[i + 1]) end return cjson.encode(out)';
    const sessions = JSON.parse(await client.sendCommand<string>(['EVAL', inspect, '1', key])) as Record<
      string,
      unknown[]
    >;
    const claimsOf = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as {
        sid: string;
        jti: string;
        iat: number;
        exp: number;
      };
    const one = claimsOf(rotated.refreshToken);
    const was = claimsOf(first.refreshToken);
    const two = claimsOf(second.refreshToken);
    expect(Object.keys(sessions).sort()).to.deep.equal([one.sid, two.sid].sort());
    expect(sessions[one.sid]).to.deep.equal([
      one.jti,
      was.jti,
      one.iat,
      one.iat,
      was.iat,
      one.exp,
      was.iat + 30 * 86_400,
      meta.ip,
      meta.userAgent,
      '{"role":"admin"}',
      was.iat,
      1,
    ]);
    expect(sessions[two.sid]).to.deep.equal([
      two.jti,
      '',
      two.iat,
      two.iat,
      two.iat,
      two.exp,
      two.iat + 30 * 86_400,
      '',
      '',
      '',
      two.iat,
      0,
    ]);
    expect(await client.ttl(key)).to.be.within(7 * 86_400 - secondsSince(written), 7 * 86_400);
    expect(await auth.revokeAll('u1')).to.equal(2);
    // The user key is gone; what is left is the revocation record (two sessions, one user cut-off)
    // and the user's credential cut-off.
    expect((await client.sendCommand<string[]>(['KEYS', `${prefix}*`])).sort()).to.deep.equal([
      `${prefix}revocations`,
      `${prefix}{u1}:cutoff`,
    ]);
    const record = await client.sendCommand<Array<[string, string[]]>>(['XRANGE', `${prefix}revocations`, '-', '+']);
    expect(record.map(([, fields]) => `${fields[1]} ${fields[3]}`).sort()).to.deep.equal(
      [`s ${one.sid}`, `s ${two.sid}`, 'u u1'].sort(),
    );
  });

  it('takes over a user key written by 0.1 (one map of every session) as a hash, sessions intact', async () => {
    const auth = makeAuth();
    const first = await auth.issue({ userId: 'u1', meta: { userAgent: 'one' } });
    const second = await auth.issue({ userId: 'u2', meta: { userAgent: 'two' } });
    // 0.1's layout: one string per user holding a MessagePack map from session id to session.
    const toOld =
      "local a = cmsgpack.unpack(redis.call('GET', KEYS[1])) local b = cmsgpack.unpack(redis.call('GET', KEYS[2])) " +
      "redis.call('DEL', KEYS[2]) redis.call('SET', KEYS[1], cmsgpack.pack({ [a[1]] = a[2], [b[1]] = b[2] }), 'EX', 600)";
    const written = performance.now();
    await client.sendCommand(['EVAL', toOld, '2', `${prefix}{u1}`, `${prefix}{u2}`]);
    expect(await client.sendCommand(['TYPE', `${prefix}{u1}`])).to.equal('string');
    const listed = await auth.listSessions('u1');
    expect(listed.map((x) => x.userAgent).sort()).to.deep.equal(['one', 'two']);
    expect(await client.sendCommand(['TYPE', `${prefix}{u1}`])).to.equal('hash');
    expect(await client.ttl(`${prefix}{u1}`)).to.be.within(600 - secondsSince(written), 600);
    const sid = (token: string) =>
      (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    // Both refresh tokens still rotate (the second one's session now filed under u1, as the map said).
    expect((await auth.refresh(first.refreshToken)).refreshToken).to.be.a('string');
    expect(listed.map((x) => x.sessionId).sort()).to.deep.equal(
      [sid(first.refreshToken), sid(second.refreshToken)].sort(),
    );
  });

  it('reloads its script once after NOSCRIPT, and retries nothing else', async () => {
    const auth = makeAuth();
    const pair = await auth.issue({ userId: 'u1' });
    await client.sendCommand(['SCRIPT', 'FLUSH']);
    sent = [];
    const next = await auth.refresh(pair.refreshToken);
    expect(sent.map((args) => args[0])).to.deep.equal(['EVALSHA', 'EVAL']);
    sent = [];
    await auth.refresh(next.refreshToken);
    expect(sent.map((args) => args[0])).to.deep.equal(['EVALSHA']);

    await client.sendCommand(['DEL', `${prefix}{u1}`]);
    await client.sendCommand(['RPUSH', `${prefix}{u1}`, 'not sessions']);
    sent = [];
    let error: unknown;
    try {
      await auth.refresh(next.refreshToken);
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(StoreUnavailableError);
    expect(String((error as Error).cause)).to.match(/WRONGTYPE/);
    expect(
      sent.map((args) => args[0]),
      'a script error is not retried',
    ).to.deep.equal(['EVALSHA']);
  });

  it('hands all concurrent refreshes of one token the same successor, and the session lives on', async () => {
    const auth = makeAuth();
    const app = makeApp(auth);
    const pair = await auth.issue({ userId: 'u1' });
    const responses = await Promise.all(
      Array.from({ length: 30 }, () => request(app).post('/refresh').send({ refreshToken: pair.refreshToken })),
    );
    expect(responses.map((r) => r.status)).to.deep.equal(responses.map(() => 200));
    const successors = new Set(responses.map((r) => (r.body as { refreshToken: string }).refreshToken));
    expect(successors.size).to.equal(1);
    const [successor] = [...successors];
    const again = await request(app).post('/refresh').send({ refreshToken: successor });
    expect(again.status).to.equal(200);
  });

  it('with grace 0, lets at most one concurrent refresh succeed and revokes the session', async () => {
    const auth = makeAuth({ grace: 0 });
    const app = makeApp(auth);
    const pair = await auth.issue({ userId: 'u1' });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => request(app).post('/refresh').send({ refreshToken: pair.refreshToken })),
    );
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).to.have.length(1);
    const codes = responses
      .filter((x) => x.status !== 200)
      .map((r) => `${r.status} ${(r.body as { error: string }).error}`);
    // The first loser finds the token rotated out (reuse: the session is
    // revoked); any later one finds no session at all.
    expect(codes[0]).to.equal('401 refresh_reused');
    for (const code of codes) expect(code).to.be.oneOf(['401 refresh_reused', '401 token_revoked']);
    const successor = (ok[0]!.body as { refreshToken: string }).refreshToken;
    const after = await request(app).post('/refresh').send({ refreshToken: successor });
    expect((after.body as { error: string }).error).to.equal('token_revoked');
  });

  it('fails closed with 503 while Redis is frozen, within the timeout', async () => {
    const auth = makeAuth({ timeout: 300 });
    const app = makeApp(auth);
    const pair = await auth.issue({ userId: 'u1' });
    server.pause();
    try {
      // Redis stays frozen until the `finally` below: any answer here is the store's
      // timeout firing (without one the request would hang and the test time out),
      // and not before the 300 ms it was given.
      const started = performance.now();
      const refresh = await request(app).post('/refresh').send({ refreshToken: pair.refreshToken });
      expect(performance.now() - started).to.be.at.least(290);
      expect(refresh.status).to.equal(503);
      expect(refresh.headers['retry-after']).to.equal('1');
      expect(refresh.body).to.deep.equal({ error: 'store_unavailable', message: 'Redis did not answer within 300 ms' });
      const me = await request(app).get('/me').set('Authorization', `Bearer ${pair.accessToken}`);
      expect(me.status).to.equal(200);
    } finally {
      server.resume();
    }
    // The frozen command ran once Redis woke up; retrying the same token is
    // answered from the grace window, as after any lost response.
    const retry = await request(app).post('/refresh').send({ refreshToken: pair.refreshToken });
    expect(retry.status).to.equal(200);
  });

  it('answers 503 while Redis is down, keeps guarding routes, and recovers with its data', async () => {
    const auth = makeAuth();
    const app = makeApp(auth);
    const pair = await auth.issue({ userId: 'u1' });
    await server.save();
    await server.kill();
    await until(() => !client.isReady, 'the client to notice');
    sent = [];

    const refresh = await request(app).post('/refresh').send({ refreshToken: pair.refreshToken });
    expect(refresh.status).to.equal(503);
    expect(refresh.headers['retry-after']).to.equal('1');
    expect((refresh.body as { error: string }).error).to.equal('store_unavailable');
    const logout = await request(app).post('/logout').send({ refreshToken: pair.refreshToken });
    expect(logout.status, 'a logout that did not happen is not a success').to.equal(503);
    const me = await request(app).get('/me').set('Authorization', `Bearer ${pair.accessToken}`);
    expect(me.status).to.equal(200);
    expect(sent, 'nothing is queued while disconnected').to.deep.equal([]);

    await server.restart();
    await until(() => client.isReady, 'the client to reconnect');
    const recovered = await request(app).post('/refresh').send({ refreshToken: pair.refreshToken });
    expect(recovered.status).to.equal(200);
    const out = await request(app)
      .post('/logout')
      .send({ refreshToken: (recovered.body as { refreshToken: string }).refreshToken });
    expect(out.status).to.equal(204);
  });
});
