import { expect } from 'chai';
import { createClient } from 'redis';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import {
  appFactory, describeFlows, email, logIn, me, PASSWORD, refresh, signUp,
} from './helpers/sample-app.js';

type Client = ReturnType<typeof createClient>;

async function until(condition: () => boolean, within = 3000): Promise<void> {
  const deadline = Date.now() + within;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Polls /health until it answers `status` (Redis reconnects with a backoff). */
async function waitForHealth(sample: SampleApp, status: number, within = 8000): Promise<void> {
  const deadline = Date.now() + within;
  for (;;) {
    if ((await request(sample.app).get('/health')).status === status) return;
    if (Date.now() > deadline) throw new Error(`/health did not answer ${status} within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('sample app, with Redis', () => {
  let server: RedisServer;
  let client: Client;

  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
    client = createClient({ url: server.url, disableOfflineQueue: true });
    client.on('error', () => {});
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) await client.close();
    await server?.stop();
  });

  describe('end to end', () => {
    // Every app gets its own key prefix: a fresh set of users, sessions and counters.
    describeFlows('redis', () => ({ redis: { client, prefix: uniquePrefix() } }));
  });

  describe('redis only', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => { apps.reset(); });
    afterEach(() => apps.closeAll());

    it('keeps users, sessions and rate-limit counts in Redis, shared by every instance', async () => {
      const prefix = uniquePrefix();
      const one = await apps.make({ redis: { client, prefix }, loginRateLimit: 3 });
      const two = await apps.make({ redis: { client, prefix }, loginRateLimit: 3 });
      const address = email();
      const user = await signUp(one, address);

      const stored = await client.hGetAll(`${prefix}user:${address}`);
      expect(Object.keys(stored).sort()).to.deep.equal(['id', 'passwordHash']);
      expect(stored.id).to.equal(user.id);
      expect(stored.passwordHash).to.match(/^\$2[aby]\$04\$/);
      expect(JSON.stringify(stored)).to.not.include(PASSWORD);

      const session = await logIn(two, address);
      expect((await me(one, session.accessToken)).status).to.equal(200);
      const renewed = await refresh(one, session.refreshToken);
      expect(renewed.status).to.equal(200);
      // The spent token is spent on every instance, not only the one that rotated it.
      apps.clock.advance(10);
      expect((await refresh(two, session.refreshToken)).body).to.include({ error: 'refresh_reused' });
      expect(await client.keys(`${prefix}session:*`)).to.deep.equal([]);

      // One count per IP for all instances: the login above was the 1st of 3.
      const statuses: number[] = [];
      for (const instance of [one, two, one, two]) {
        statuses.push((await request(instance.app).post('/auth/login').send({ email: address, password: PASSWORD })).status);
      }
      expect(statuses).to.deep.equal([200, 200, 429, 429]);
      expect(await client.keys(`${prefix}ratelimit:login:*`)).to.have.length(1);
    });

    it('lets exactly one of many concurrent sign-ups with one email win', async () => {
      const prefix = uniquePrefix();
      const one = await apps.make({ redis: { client, prefix } });
      const two = await apps.make({ redis: { client, prefix } });
      const address = email();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
        request((i % 2 ? one : two).app).post('/auth/register').send({ email: address, password: `password-${i}` })));
      expect(results.map((res) => res.status).sort()).to.deep.equal([201, 409, 409, 409, 409, 409, 409, 409]);
      expect(await client.keys(`${prefix}user:*`)).to.have.length(1);
    });

    it('connects from a URL, and close() disconnects', async () => {
      const sample = await apps.make({ redis: { url: server.url, prefix: uniquePrefix() } });
      expect((await request(sample.app).get('/health')).body).to.deep.equal({ status: 'ok', store: 'redis', storeOk: true });
      await sample.close();
      const res = await request(sample.app).get('/health');
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.equal({ status: 'unavailable', store: 'redis', storeOk: false });
    });

    describe('when Redis fails', () => {
      let own: RedisServer;
      before(async () => { own = await RedisServer.start(); });
      after(async () => { await own?.stop(); });

      it('answers 503 store_unavailable within the timeout while Redis is frozen; access tokens still work', async () => {
        // Limits off, so that the stores themselves meet the frozen Redis (the next test covers the limiter).
        const sample = await apps.make({
          redis: { url: own.url, prefix: uniquePrefix(), timeout: 300 }, loginRateLimit: 0, refreshRateLimit: 0,
        });
        const address = email();
        await signUp(sample, address);
        const session = await logIn(sample, address);
        own.pause();
        try {
          const started = Date.now();
          const login = await request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD });
          expect(login.status).to.equal(503);
          expect(login.body).to.include({ error: 'store_unavailable' });
          expect(login.headers['retry-after']).to.equal('5');
          const renewed = await refresh(sample, session.refreshToken);
          expect(renewed.status).to.equal(503);
          expect(renewed.body).to.include({ error: 'store_unavailable' });
          expect((await request(sample.app).get('/health')).body).to.include({ storeOk: false });
          expect(Date.now() - started).to.be.below(3000);
          // Verified by signature alone: reading /me needs no Redis.
          expect((await me(sample, session.accessToken)).status).to.equal(200);
        } finally {
          own.resume();
        }
        await waitForHealth(sample, 200);
        // The timed-out rotation may still have run once Redis woke up; then the token's successor
        // was never delivered, and the grace window hands it out now: the session goes on.
        const retried = await refresh(sample, session.refreshToken);
        expect(retried.status).to.equal(200);
        expect((await me(sample, (retried.body as { accessToken: string }).accessToken)).status).to.equal(200);
      });

      it('fails fast while Redis is down, reconnects by itself, and works after a restart that lost the scripts', async () => {
        const sample = await apps.make({ redis: { url: own.url, prefix: uniquePrefix() }, loginRateLimit: 5 });
        const address = email();
        await signUp(sample, address);
        await own.kill();
        await until(() => apps.logs.some((line) => line.level === 'error' && line.text.startsWith('Redis connection error')));
        const started = Date.now();
        const login = await request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD });
        expect(login.status).to.equal(503);
        expect(login.body).to.include({ error: 'store_unavailable' });
        expect(Date.now() - started).to.be.below(500);

        await own.restart();
        await waitForHealth(sample, 200);
        expect(apps.logs.some((line) => line.text === 'Redis connection restored')).to.equal(true);
        // A fresh server: no users, no cached Lua scripts (NOSCRIPT is handled by both stores).
        await signUp(sample, address);
        const session = await logIn(sample, address);
        expect((await refresh(sample, session.refreshToken)).status).to.equal(200);
      });
    });
  });
});
