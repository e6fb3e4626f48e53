/**
 * checkRevocation while Redis is gone: a private redis-server killed (and
 * restarted from its saved data) or frozen under the app. Once the feed has
 * been silent for revocationMaxLag, routes with checkRevocation answer 503
 * store_unavailable while plain routes still answer 200; when Redis is back,
 * both recover and revocations are enforced again, those recorded before
 * the outage included.
 */
import { expect } from 'chai';
import request from 'supertest';
import { createClient } from 'redis';
import { createTokenAuth, RedisSessionStore, type TokenAuth, type TokenPair } from '../lib/index.js';
import { FEED_CONNECTION_NAME } from '../lib/revocation/redis-feed.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';
import type { Express } from 'express';
import { checkedAndPlain } from './helpers/express-app.js';

const MAX_LAG = 300;

type Client = ReturnType<typeof createClient>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('checkRevocation while Redis is down', function () {
  let server: RedisServer;
  let client: Client;
  let auth: TokenAuth;
  let app: Express;

  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
  });
  after(async () => server?.stop());

  /** The app under test: `/checked` (checkRevocation) and `/plain`, on a store with a 300 ms timeout. */
  async function start(maxLag: number): Promise<void> {
    await auth?.close();
    auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store: new RedisSessionStore({ client, prefix: uniquePrefix(), timeout: 300 }),
      revocationMaxLag: maxLag,
    });
    app = checkedAndPlain(auth);
    await auth.watchRevocations();
  }

  beforeEach(async () => {
    client = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } });
    client.on('error', () => {
      /* reconnects by itself */
    });
    await client.connect();
    await start(MAX_LAG);
  });
  afterEach(async () => {
    server.resume();
    await auth.close();
    if (client.isOpen) client.destroy();
  });

  const get = (path: string, pair: TokenPair) =>
    request(app).get(path).set('Authorization', `Bearer ${pair.accessToken}`).timeout(3000);

  /** Polls `path` until it answers `status` (`limit`: a bound on the wait, generous for a busy machine). */
  async function until(path: string, pair: TokenPair, status: number, limit = 15_000): Promise<void> {
    const started = performance.now();
    for (;;) {
      const res = await get(path, pair);
      if (res.status === status) return;
      if (performance.now() - started > limit)
        throw new Error(`${path} still answers ${res.status} ${res.text} after ${limit} ms`);
      await sleep(20);
    }
  }

  it('holds its view current while Redis is up, however idle (no spurious 503)', async function () {
    this.timeout(30_000);
    // The feed hears from Redis every maxLag / 4 however idle; with 2 s, only a process stalled for
    // 1.5 s could miss it. Idle for three times maxLag.
    await start(2000);
    const pair = await auth.issue({ userId: 'u1' });
    for (let i = 0; i < 15; i += 1) {
      expect((await get('/checked', pair)).status, `request ${i}`).to.equal(200);
      await sleep(400);
    }
  });

  it('answers 503 on checked routes once Redis has been gone for revocationMaxLag, 200 on plain ones; recovers after a restart', async function () {
    this.timeout(90_000);
    const live = await auth.issue({ userId: 'u1' });
    const ended = await auth.issue({ userId: 'u1' });
    const later = await auth.issue({ userId: 'u2' });
    await auth.revoke(ended.refreshToken);
    await until('/checked', ended, 401);
    await server.save();
    await server.kill();
    // Not before revocationMaxLag without word from the feed: test/revocation-guard.test.ts, on a held clock.
    await until('/checked', live, 503);
    const res = await get('/checked', live);
    expect(res.status).to.equal(503);
    expect(res.body).to.deep.equal({ error: 'store_unavailable', message: 'revocation record is not current' });
    expect(res.headers['retry-after']).to.equal('1');
    expect((await get('/plain', live)).status, 'plain route while Redis is down').to.equal(200);
    expect((await get('/plain', ended)).status, 'the trade-off: a plain route accepts an ended session').to.equal(200);
    expect((await get('/checked', ended)).status, 'never a pass for an ended session').to.equal(503);

    await server.restart();
    await until('/checked', live, 200);
    expect((await get('/checked', ended)).status, 'revoked before the outage, still refused').to.equal(401);
    expect((await get('/plain', live)).status).to.equal(200);
    await until('/checked', later, 200);
    let revoked = false;
    for (let tries = 0; tries < 50 && !revoked; tries += 1) {
      revoked = await auth.revokeSession('u2', auth.verifyAccessToken(later.accessToken).sessionId).catch(() => false);
      if (!revoked) await sleep(50);
    }
    expect(revoked, 'the store answers again').to.equal(true);
    await until('/checked', later, 401);
  });

  it('answers 503 while Redis is frozen, and recovers on one feed connection when it resumes', async function () {
    this.timeout(60_000);
    const pair = await auth.issue({ userId: 'u1' });
    server.pause();
    await until('/checked', pair, 503);
    expect((await get('/plain', pair)).status).to.equal(200);
    await sleep(3500); // longer than a read may take: the feed drops that connection and opens another
    server.resume();
    await until('/checked', pair, 200);
    // The dropped connection's close may reach Redis a moment after the new one opens.
    const feeds = async (): Promise<number> =>
      String(await client.sendCommand(['CLIENT', 'LIST']))
        .split('\n')
        .filter((line) => line.includes(` name=${FEED_CONNECTION_NAME} `)).length;
    const started = performance.now();
    while ((await feeds()) !== 1 && performance.now() - started < 15_000) await sleep(50);
    expect(await feeds(), 'feed connections').to.equal(1);
  });
});
