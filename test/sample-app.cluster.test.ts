/**
 * The sample app on a real local Redis Cluster (3 primaries, 3 replicas):
 * the end-to-end suite with node-redis v5, v6 and ioredis cluster clients,
 * and what only a cluster shows (keys spread over the primaries, instances
 * sharing users, sessions, rate limits and revocations, REDIS_CLUSTER_URLS).
 */
import { expect } from 'chai';
import request from 'supertest';
import { RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import {
  connectCluster,
  deleteClusterPrefix,
  keysByMaster,
  type ClusterClientName,
  type ClusterSetup,
} from './helpers/redis-cluster-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { describeFlows } from './helpers/sample-app-flows.js';
import { appFactory, email, logIn, me, refresh, signUp } from './helpers/sample-app.js';

describe('sample app, on a Redis Cluster', function () {
  reportDuration('cluster sample-app suite');
  this.timeout(60_000);
  let cluster: RedisCluster;
  const setups = new Map<ClusterClientName, ClusterSetup>();
  const prefixes: Array<[ClusterClientName, string]> = [];

  before(async function () {
    requireCluster(this);
    cluster = await RedisCluster.start();
    for (const name of ['node-redis v5', 'node-redis v6', 'ioredis'] as const)
      setups.set(name, await connectCluster(name, cluster));
  });
  after(async () => {
    for (const [name, prefix] of prefixes)
      await deleteClusterPrefix(cluster, setups.get(name)!, prefix).catch(() => {});
    for (const setup of setups.values()) await setup.close();
    await cluster?.stop();
  });

  /** A fresh prefix for an app on `name`'s client, deleted after the file. */
  function on(name: ClusterClientName): { redis: { client: object; prefix: string } } {
    const prefix = uniquePrefix();
    prefixes.push([name, prefix]);
    return { redis: { client: setups.get(name)!.client, prefix } };
  }

  for (const name of ['node-redis v5', 'node-redis v6', 'ioredis'] as const) {
    describe(`end to end, with ${name}`, () => {
      describeFlows('redis cluster', () => on(name));
    });
  }

  describe('cluster only', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    it('spreads users and sessions over every primary; two instances share users, sessions and rate limits', async () => {
      const options = on('node-redis v5');
      const one = await apps.make({ ...options, loginRateLimit: 40, refreshRateLimit: 80 });
      const two = await apps.make({ ...options, loginRateLimit: 40, refreshRateLimit: 80 });
      const everyPrimary = async (): Promise<boolean> =>
        [...(await keysByMaster(cluster, options.redis.prefix)).values()].every((keys) =>
          keys.some((key) => key.includes('session:')),
        );
      // User ids are random: 12 leave one of 3 primaries empty ~2% of the time, so go on (up to 36,
      // within the shared login limit) until every primary holds a session: 36 miss all of one ~1e-6.
      const users = [];
      const sessions = [];
      for (let i = 0; i < 36 && (i < 12 || !(await everyPrimary())); i += 1) {
        users.push(await signUp(i % 2 ? one : two, email(`u${i}`)));
        sessions.push(await logIn(i % 2 ? two : one, users[i]!.email));
      }
      expect(await everyPrimary(), 'every primary holds sessions').to.equal(true);
      for (const [i, session] of sessions.entries()) {
        expect((await me(i % 2 ? one : two, session.accessToken)).status).to.equal(200);
        expect((await refresh(i % 2 ? one : two, session.refreshToken)).status).to.equal(200);
      }
      // A spent token is spent on every instance: reuse, after the grace window.
      apps.clock.advance(10);
      expect((await refresh(two, sessions[0]!.refreshToken)).body).to.include({ error: 'refresh_reused' });
      // The login count is one count across both instances (12 sign-ups' logins + this one and the next).
      const tight = { ...on('ioredis'), loginRateLimit: 2 };
      const a = await apps.make(tight);
      const b = await apps.make(tight);
      const codes = [];
      for (const app of [a, b, a])
        codes.push(
          (await request(app.app).post('/auth/login').send({ email: 'x@example.com', password: 'wrong password' }))
            .status,
        );
      expect(codes).to.deep.equal([401, 401, 429]);
    });

    it('refuses on a checked route, on another instance, the access token of a session logged out (checkRevocation on a cluster)', async () => {
      const options = on('ioredis');
      const one = await apps.make(options);
      const two = await apps.make(options);
      const user = await signUp(one, email());
      const session = await logIn(one, user.email);
      const sessions = (): request.Test =>
        request(two.app).get('/auth/sessions').set('Authorization', `Bearer ${session.accessToken}`);
      expect((await sessions()).status).to.equal(200);
      expect(
        (await request(one.app).post('/auth/logout').send({ refreshToken: session.refreshToken })).status,
      ).to.equal(204);
      // Each instance follows every shard's stream (polled every 250 ms at most): a generous deadline, no timing assert.
      let refused = await sessions();
      for (const deadline = performance.now() + 15_000; refused.status === 200 && performance.now() < deadline;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        refused = await sessions();
      }
      expect(refused.status).to.equal(401);
      expect(refused.body).to.include({ error: 'token_revoked' });
      // A route that checks the signature only still takes it until it expires.
      expect((await me(two, session.accessToken)).status).to.equal(200);
    });

    it('reports the cluster on /health, and connects from clusterUrls (REDIS_CLUSTER_URLS), close() disconnecting', async () => {
      const urls = cluster.urls.split(',').slice(0, 2);
      const sample = await apps.make({ redis: { clusterUrls: urls, prefix: uniquePrefix() } });
      const health = await request(sample.app).get('/health');
      expect(health.status).to.equal(200);
      expect(health.body).to.deep.include({ status: 'ok', store: 'redis cluster', storeOk: true });
      const user = await signUp(sample, email());
      expect((await logIn(sample, user.email)).refreshToken).to.be.a('string');
      await sample.close();
      expect((await request(sample.app).get('/health')).status).to.equal(503);
    });
  });
});
