/**
 * The sample app on a real local Redis Sentinel set-up (1 master, 1 replica,
 * 3 sentinels), through the node-redis `createSentinel` client that
 * REDIS_SENTINELS and REDIS_SENTINEL_NAME configure (sample-app/redis.ts's
 * `connectRedisSentinel`): the end-to-end suite, and login, refresh, logout
 * and a checked route (checkRevocation on) that refuses the logged-out
 * session's access token once the revocation feed delivers it.
 */
import { expect } from 'chai';
import request from 'supertest';
import { connectRedisSentinel, type RedisSentinelClient } from '../sample-app/redis.js';
import { RedisSentinelSet, requireSentinel } from './helpers/redis-sentinel.js';
import { deleteSentinelPrefix } from './helpers/redis-sentinel-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { describeFlows } from './helpers/sample-app-flows.js';
import {
  appFactory,
  captureLogger,
  email,
  logIn,
  me,
  PASSWORD,
  refresh,
  signUp,
  type LogLine,
} from './helpers/sample-app.js';
import { command } from './helpers/redis-cluster.js';
import { refusedWithin, sessions } from './helpers/sample-app-sessions.js';

describe('sample app, on Redis Sentinel (node-redis createSentinel)', function () {
  this.timeout(60_000);
  let set: RedisSentinelSet;
  let client: RedisSentinelClient;
  const prefixes: string[] = [];
  const connectLog: LogLine[] = [];
  let started = 0;

  before(async function () {
    requireSentinel(this);
    started = Date.now();
    set = await RedisSentinelSet.start();
    client = await connectRedisSentinel({ sentinels: set.sentinels, name: set.name }, captureLogger(connectLog));
  });
  after(async () => {
    for (const prefix of prefixes) await deleteSentinelPrefix(set, prefix).catch(() => {});
    await client?.destroy();
    await set?.stop();
    if (started) console.log(`      Sentinel sample-app suite took ${Date.now() - started} ms`);
  });

  /** A fresh prefix for an app on the Sentinel client, deleted after the file. */
  function on(): { redis: { client: object; prefix: string } } {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    return { redis: { client, prefix } };
  }

  describe('end to end', () => {
    describeFlows('redis', on);
  });

  describe('Sentinel only', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    it('logs in, refreshes and logs out on the master; the checked route refuses the ended session', async () => {
      const sample = await apps.make(on());
      const health = (await request(sample.app).get('/health')).body as Record<string, unknown>;
      expect(health).to.include({ status: 'ok', store: 'redis', storeOk: true });
      const user = await signUp(sample, email('sentinel'));
      const session = await logIn(sample, user.email);
      expect((await me(sample, session.accessToken)).status).to.equal(200);
      const renewed = await refresh(sample, session.refreshToken);
      expect(renewed.status, JSON.stringify(renewed.body)).to.equal(200);
      const pair = renewed.body as { accessToken: string; refreshToken: string };
      expect((await sessions(sample, pair.accessToken)).status, 'the checked route, before logout').to.equal(200);
      const out = await request(sample.app).post('/auth/logout').send({ refreshToken: pair.refreshToken });
      expect(out.status).to.equal(204);
      await refusedWithin(sample, pair.accessToken);
      expect((await refresh(sample, pair.refreshToken)).status, 'the logged-out refresh token').to.equal(401);
      expect(connectLog.filter((line) => line.level === 'error')).to.deep.equal([]);
    });

    it('connects from sentinel (REDIS_SENTINELS), waits for a replica on every session write, close() disconnecting', async () => {
      const prefix = uniquePrefix();
      prefixes.push(prefix);
      const sample = await apps.make({ redis: { sentinel: { sentinels: set.sentinels, name: set.name }, prefix } });
      const user = await signUp(sample, email('own'));
      const session = await logIn(sample, user.email);
      expect((await refresh(sample, session.refreshToken)).status).to.equal(200);
      const replica = set.livePorts.find((port) => port !== set.masterPort)!;
      await command(replica, 'REPLICAOF', 'NO', 'ONE'); // no replica left: no write is acknowledged, so 503
      try {
        const res = await request(sample.app).post('/auth/login').send({ email: user.email, password: PASSWORD });
        expect(res.status, JSON.stringify(res.body)).to.equal(503);
      } finally {
        await command(replica, 'REPLICAOF', '127.0.0.1', String(set.masterPort));
      }
      await sample.close();
      expect((await request(sample.app).get('/health')).status).to.equal(503);
    });
  });
});
