/**
 * The sample app's health endpoints (issue 15, item 4): `/health` reports
 * `auth.health()` (200 while the store takes writes), `/health/ready` is 503
 * while the checked routes would be (store down, revocation record behind or
 * incomplete), `/health/live` is 200 while the process serves. All three
 * pass over plain HTTP under `httpsRequired`, and are not logged while 200.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { privateRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS_TTL, appFactory, email, logIn, SECRETS, signUp } from './helpers/sample-app.js';

const PROBES = ['/health', '/health/ready', '/health/live'] as const;

/** Polls `path` until it answers `status`; throws after `within` ms (a bound for a hang, not a measure of speed). */
async function until(sample: SampleApp, path: string, status: number, within = 30_000): Promise<request.Response> {
  const deadline = performance.now() + within;
  for (;;) {
    const res = await request(sample.app).get(path);
    if (res.status === status) return res;
    if (performance.now() > deadline) throw new Error(`${path} did not answer ${status} within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** No secret, password or token of the app in a body. */
function expectNoSecrets(body: unknown, tokens: string[] = []): void {
  const json = JSON.stringify(body);
  for (const secret of [SECRETS.accessTokenSecret, SECRETS.refreshTokenSecret, ...tokens])
    expect(json).not.to.include(secret);
}

describe('sample app health endpoints', function () {
  this.timeout(60_000);

  describe('in memory', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    it("/health: 200, the fields it always had and auth.health()'s report; no-store, no secret", async () => {
      const sample = await apps.make();
      const user = await signUp(sample, email());
      const pair = await logIn(sample, user.email);
      const res = await request(sample.app).get('/health');
      expect(res.status).to.equal(200);
      expect(res.headers['cache-control']).to.equal('no-store');
      const body = res.body as { report: { revocations: { streams: Array<{ lagMs: unknown }> } } };
      expect(body).to.deep.include({ status: 'ok', store: 'memory', storeOk: true });
      expect(body.report).to.deep.include({
        ready: true,
        store: { ok: true, probed: true, kind: 'MemorySessionStore' },
      });
      expect(body.report.revocations).to.deep.include({
        current: true,
        complete: true,
        incompleteUntil: null,
        ready: true,
      });
      expect(body.report.revocations.streams).to.have.length(1);
      expect(body.report.revocations.streams[0]).to.include({ name: 'memory', lastId: '0' });
      expectNoSecrets(res.body, [pair.accessToken, pair.refreshToken]);
    });

    it('/health/ready and /health/live: 200, no-store, GET and HEAD', async () => {
      const sample = await apps.make();
      const ready = await request(sample.app).get('/health/ready');
      expect([ready.status, ready.body]).to.deep.equal([200, { ready: true }]);
      const live = await request(sample.app).get('/health/live');
      expect([live.status, live.body]).to.deep.equal([200, { live: true }]);
      for (const path of PROBES) {
        expect((await request(sample.app).get(path)).headers['cache-control'], path).to.equal('no-store');
        expect((await request(sample.app).head(path)).status, `HEAD ${path}`).to.equal(200);
      }
    });

    it('once the store is closed: /health and /health/ready 503 (store_unavailable), /health/live still 200', async () => {
      const sample = await apps.make();
      await sample.close();
      const health = await request(sample.app).get('/health');
      expect(health.status).to.equal(503);
      expect(health.body).to.deep.include({ status: 'unavailable', store: 'memory', storeOk: false });
      expect((health.body as { report: { store: { error: { code: string } } } }).report.store.error.code).to.equal(
        'store_unavailable',
      );
      const ready = await request(sample.app).get('/health/ready');
      expect([ready.status, ready.body]).to.deep.equal([503, { ready: false, reason: 'store_unavailable' }]);
      expect((await request(sample.app).get('/health/live')).status).to.equal(200);
    });

    it('httpsRequired: the three pass over plain HTTP for GET and HEAD only, exactly those paths', async () => {
      const sample = await apps.make({ httpsRequired: true, publicOrigins: ['https://app.example.com'] });
      for (const path of PROBES) {
        expect((await request(sample.app).get(path)).status, `GET ${path}`).to.equal(200);
        expect((await request(sample.app).head(path)).status, `HEAD ${path}`).to.equal(200);
        expect((await request(sample.app).post(path)).status, `POST ${path}`).to.equal(403);
        expect((await request(sample.app).get(`${path}/`)).status, `GET ${path}/`).to.equal(308);
      }
      expect((await request(sample.app).get('/health/other')).status).to.equal(308);
    });

    it('a healthy probe is not logged; one that fails is, as an error', async () => {
      const sample = await apps.make();
      for (const path of PROBES) await request(sample.app).get(path);
      await request(sample.app).get('/nope');
      const logged = (): string[] => apps.logs.filter((line) => 'req' in line.fields).map((line) => line.text);
      const deadline = performance.now() + 15_000;
      while (!logged().includes('GET /nope 404') && performance.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(logged()).to.deep.equal(['GET /nope 404']);

      await sample.close();
      await request(sample.app).get('/health/ready');
      const until503 = performance.now() + 15_000;
      while (!logged().includes('GET /health/ready 503') && performance.now() < until503) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const failed = apps.logs.find((line) => line.text === 'GET /health/ready 503');
      expect(failed?.level).to.equal('error');
    });
  });

  describe('with Redis', () => {
    const redis = privateRedis();
    const apps = appFactory(() => ({}));
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    it('/health: the Redis store and its revocation stream, by name', async () => {
      const prefix = uniquePrefix();
      const sample = await apps.make({ redis: { client: redis.client, prefix } });
      const res = await request(sample.app).get('/health');
      expect(res.status).to.equal(200);
      const body = res.body as {
        report: { store: unknown; revocations: { ready: boolean; streams: Array<{ name: string }> } };
      };
      expect(body).to.deep.include({ status: 'ok', store: 'redis', storeOk: true });
      expect(body.report.store).to.deep.equal({
        ok: true,
        probed: true,
        kind: 'RedisSessionStore',
        client: 'node-redis',
        warnings: [],
      });
      expect(body.report.revocations.ready).to.equal(true);
      expect(body.report.revocations.streams.map((stream) => stream.name)).to.deep.equal([
        `${prefix}session:revocations`,
      ]);
    });

    it('while Redis is frozen: /health and /health/ready 503, /health/live 200; all 200 again after', async () => {
      const sample = await apps.make({ redis: { client: redis.client, prefix: uniquePrefix(), timeout: 300 } });
      expect((await request(sample.app).get('/health/ready')).status).to.equal(200);
      redis.server.pause();
      try {
        const health = await until(sample, '/health', 503);
        expect(health.body).to.deep.include({ status: 'unavailable', store: 'redis', storeOk: false });
        const ready = await request(sample.app).get('/health/ready');
        expect([ready.status, ready.body]).to.deep.equal([503, { ready: false, reason: 'store_unavailable' }]);
        expect((await request(sample.app).get('/health/live')).status).to.equal(200);
      } finally {
        redis.server.resume();
      }
      await until(sample, '/health/ready', 200);
      expect((await request(sample.app).get('/health')).status).to.equal(200);
    });

    it('an instance that starts after revocations were trimmed unread: store ok, not ready until the gap closes', async () => {
      const prefix = uniquePrefix();
      const stream = `${prefix}session:revocations`;
      const one = await apps.make({ redis: { client: redis.client, prefix } });
      const user = await signUp(one, email());
      for (let i = 0; i < 2; i++) {
        const pair = await logIn(one, user.email);
        expect((await request(one.app).post('/auth/logout').send({ refreshToken: pair.refreshToken })).status).to.equal(
          204,
        );
      }
      const ids = (await redis.client.sendCommand<Array<[string, unknown]>>(['XRANGE', stream, '-', '+'])).map(
        ([id]) => id,
      );
      expect(ids).to.have.length(2);
      await redis.client.sendCommand(['XTRIM', stream, 'MINID', ids[1]!]); // the first logout, gone unread

      const two = await apps.make({ redis: { client: redis.client, prefix } });
      const health = await request(two.app).get('/health');
      expect(health.status, 'the store is fine').to.equal(200);
      const revocations = (health.body as { report: { revocations: Record<string, unknown> } }).report.revocations;
      expect(revocations).to.deep.include({ current: true, complete: false, ready: false });
      expect(revocations.incompleteUntil).to.be.a('number');
      expect((health.body as { report: { ready: boolean } }).report.ready).to.equal(false);
      const ready = await request(two.app).get('/health/ready');
      expect([ready.status, ready.body]).to.deep.equal([503, { ready: false, reason: 'revocations_incomplete' }]);

      // Once every access token the lost entry could refuse has expired (on the app's clock), ready again.
      apps.clock.now = ((revocations.incompleteUntil as number) + 1) * 1000;
      expect(ACCESS_TTL).to.be.below(3600);
      const after = await request(two.app).get('/health/ready');
      expect([after.status, after.body]).to.deep.equal([200, { ready: true }]);
    });
  });
});
