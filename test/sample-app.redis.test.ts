import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { MemoryUserStore, type StoredUser, type UserStore } from '../sample-app/users.js';
import { privateRedis, RedisServer, uniquePrefix } from './helpers/redis-server.js';
import { describeFlows } from './helpers/sample-app-flows.js';
import { appFactory, email, logIn, me, PASSWORD, refresh, signUp } from './helpers/sample-app.js';

/** Waits for `condition`, up to `within` ms on the monotonic clock (generous: a busy machine is slow, not wrong). */
async function until(condition: () => boolean, within = 15_000): Promise<void> {
  const deadline = performance.now() + within;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Polls /health until it answers `status` (Redis reconnects with a backoff). */
async function waitForHealth(sample: SampleApp, status: number, within = 30_000): Promise<void> {
  const deadline = performance.now() + within;
  for (;;) {
    if ((await request(sample.app).get('/health')).status === status) return;
    if (performance.now() > deadline) throw new Error(`/health did not answer ${status} within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('sample app, with Redis', function () {
  // Generous for a busy machine (Redis restarts, reconnects and bcrypt); the tests bound nothing by the clock.
  this.timeout(60_000);
  const redis = privateRedis();

  describe('end to end', () => {
    // Every app gets its own key prefix: a fresh set of users, sessions and counters.
    describeFlows('redis', () => ({ redis: { client: redis.client, prefix: uniquePrefix() } }));
  });

  describe('redis only', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    it('keeps users, sessions and rate-limit counts in Redis, shared by every instance', async () => {
      const prefix = uniquePrefix();
      const one = await apps.make({ redis: { client: redis.client, prefix }, loginRateLimit: 3 });
      const two = await apps.make({ redis: { client: redis.client, prefix }, loginRateLimit: 3 });
      const address = email();
      const user = await signUp(one, address);

      const stored = await redis.client.hGetAll(`${prefix}user:${address}`);
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
      expect(await redis.client.keys(`${prefix}session:*`), 'only the revocation record is left').to.deep.equal([
        `${prefix}session:revocations`,
      ]);

      // One count per IP for all instances: the login above was the 1st of 3.
      const statuses: number[] = [];
      for (const instance of [one, two, one, two]) {
        statuses.push(
          (await request(instance.app).post('/auth/login').send({ email: address, password: PASSWORD })).status,
        );
      }
      expect(statuses).to.deep.equal([200, 200, 429, 429]);
      expect(await redis.client.keys(`${prefix}ratelimit:login:*`)).to.have.length(1);
    });

    it('lets exactly one of many concurrent sign-ups with one email win', async () => {
      const prefix = uniquePrefix();
      const one = await apps.make({ redis: { client: redis.client, prefix } });
      const two = await apps.make({ redis: { client: redis.client, prefix } });
      const address = email();
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          request((i % 2 ? one : two).app)
            .post('/auth/register')
            .send({ email: address, password: `password-${i}` }),
        ),
      );
      expect(results.map((res) => res.status).sort()).to.deep.equal([201, 409, 409, 409, 409, 409, 409, 409]);
      expect(await redis.client.keys(`${prefix}user:*`)).to.have.length(1);
    });

    it("writes exactly the keys the README's sample app section documents, and its redis-cli line reads a session", async () => {
      const section =
        readFileSync('README.md', 'utf8')
          .split(/^## /m)
          .find((part) => part.startsWith('The sample app\n')) ?? '';
      const forms = [...section.matchAll(/^\| `(sample:[^`]+)` \|/gm)].map((match) => match[1] ?? '');
      expect(forms, 'key table in "## The sample app"').to.have.length(4);
      // `<anything>` in a documented form stands for one non-empty value.
      const pattern = (form: string): RegExp =>
        new RegExp(`^${form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[^>]+>/g, '.+')}$`);
      // The default prefix, as `npm start` uses it (this Redis is the suite's own).
      const sample = await apps.make({ redis: { client: redis.client }, loginRateLimit: 5, refreshRateLimit: 5 });
      try {
        const user = await signUp(sample, email());
        const session = await logIn(sample, user.email);
        expect((await refresh(sample, session.refreshToken)).status).to.equal(200);
        // A second session, logged out: the revocation record gets its first entry.
        const ended = await logIn(sample, user.email);
        expect(
          (await request(sample.app).post('/auth/logout').send({ refreshToken: ended.refreshToken })).status,
        ).to.equal(204);
        const keys = await redis.client.keys('sample:*');
        for (const key of keys)
          expect(
            forms.some((form) => pattern(form).test(key)),
            `undocumented key ${key}`,
          ).to.equal(true);
        for (const form of forms)
          expect(
            keys.some((key) => pattern(form).test(key)),
            `no key of the form ${form}`,
          ).to.equal(true);
        expect(keys).to.include(`sample:session:{${user.id}}`).and.include(`sample:user:${user.email}`);

        const line = /^redis-cli .*EVAL .*\$USER_ID.*$/m.exec(section)?.[0];
        expect(line, 'a redis-cli EVAL line using $USER_ID').to.be.a('string');
        // Only ever run against this suite's own server, never a default localhost:6379.
        expect(line).to.match(/^redis-cli -u "\$REDIS_URL" /);
        const result = spawnSync('sh', ['-c', line ?? ''], {
          encoding: 'utf8',
          env: { ...process.env, USER_ID: user.id, REDIS_URL: redis.server.url },
        });
        expect(result.status, result.stderr).to.equal(0);
        expect(Object.keys(JSON.parse(result.stdout) as object)).to.have.length(1); // one session
      } finally {
        const keys = await redis.client.keys('sample:*');
        if (keys.length > 0) await redis.client.del(keys);
      }
    });

    it('connects from a URL, and close() disconnects', async () => {
      const sample = await apps.make({ redis: { url: redis.server.url, prefix: uniquePrefix() } });
      expect((await request(sample.app).get('/health')).body).to.deep.include({
        status: 'ok',
        store: 'redis',
        storeOk: true,
      });
      await sample.close();
      const res = await request(sample.app).get('/health');
      expect(res.status).to.equal(503);
      expect(res.body).to.deep.include({ status: 'unavailable', store: 'redis', storeOk: false });
      const { report } = res.body as { report: { ready: boolean; store: { ok: boolean } } };
      expect(report, 'auth.health()').to.deep.include({ ready: false });
      expect(report.store).to.include({ ok: false });
    });

    it('warns at start-up of a maxmemory-policy that evicts session keys, naming the setting and the fix; /health is 503 on a replica', async () => {
      await redis.client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
      try {
        await apps.make({ redis: { client: redis.client, prefix: uniquePrefix() } });
      } finally {
        await redis.client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
      }
      const warnings = apps.logs.filter((line) => line.level === 'warn' && line.text.includes('maxmemory-policy'));
      expect(warnings.map((line) => line.text)).to.have.length(1);
      expect(warnings[0]!.text).to.match(
        /^Warning: Redis maxmemory-policy is allkeys-lru: .*Set maxmemory-policy noeviction/,
      );
      const quiet = apps.logs.length;
      const sample = await apps.make({ redis: { client: redis.client, prefix: uniquePrefix() } });
      expect(
        apps.logs.slice(quiet).filter((line) => line.text.includes('maxmemory-policy')),
        'noeviction: no warning',
      ).to.deep.equal([]);
      // A replica takes no writes: readiness fails, though PING would answer.
      const primary = await RedisServer.start();
      try {
        await redis.client.sendCommand(['REPLICAOF', '127.0.0.1', String(primary.port)]);
        expect((await request(sample.app).get('/health')).status).to.equal(503);
      } finally {
        await redis.client.sendCommand(['REPLICAOF', 'NO', 'ONE']);
        await primary.stop();
      }
      expect((await request(sample.app).get('/health')).status).to.equal(200);
    });

    describe('when Redis fails', () => {
      let own: RedisServer;
      before(async () => {
        own = await RedisServer.start();
      });
      after(async () => {
        await own?.stop();
      });

      it('answers 503 store_unavailable within the timeout while Redis is frozen; access tokens still work', async () => {
        // Limits off, so that the stores themselves meet the frozen Redis (the next test covers the limiter).
        const sample = await apps.make({
          redis: { url: own.url, prefix: uniquePrefix(), timeout: 300 },
          loginRateLimit: 0,
          refreshRateLimit: 0,
        });
        const address = email();
        await signUp(sample, address);
        const session = await logIn(sample, address);
        own.pause();
        // Redis stays frozen until the `finally` below: every answer here is a timeout firing
        // (without one, the request would hang and the test time out), so no clock is read.
        try {
          const login = await request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD });
          expect(login.status).to.equal(503);
          expect(login.body).to.include({ error: 'store_unavailable' });
          expect(login.headers['retry-after']).to.equal('1');
          const renewed = await refresh(sample, session.refreshToken);
          expect(renewed.status).to.equal(503);
          expect(renewed.body).to.include({ error: 'store_unavailable' });
          expect((await request(sample.app).get('/health')).body).to.include({ storeOk: false });
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

      it('fails closed when the rate limiter cannot reach Redis: login and register answer 503 before any password work', async () => {
        // Users in memory, so that only the limiter (and the sessions) depend on Redis.
        const memory = new MemoryUserStore();
        let calls = 0;
        const users: UserStore = {
          create: (user: StoredUser) => {
            calls += 1;
            return memory.create(user);
          },
          findByEmail: (address: string) => {
            calls += 1;
            return memory.findByEmail(address);
          },
          setPasswordHash: (...args) => {
            calls += 1;
            return memory.setPasswordHash(...args);
          },
        };
        const sample = await apps.make({ redis: { url: own.url, prefix: uniquePrefix() }, users, loginRateLimit: 5 });
        const address = email();
        await signUp(sample, address);
        calls = 0;
        await own.kill();
        try {
          await until(() =>
            apps.logs.some((line) => line.level === 'error' && line.text.startsWith('Redis connection error')),
          );
          const login = await request(sample.app)
            .post('/auth/login')
            .send({ email: address, password: 'a wrong password' });
          expect(login.status).to.equal(503);
          expect(login.body).to.include({ error: 'store_unavailable' });
          const register = await request(sample.app)
            .post('/auth/register')
            .send({ email: email(), password: PASSWORD });
          expect(register.status).to.equal(503);
          expect(calls, 'user store calls while the limiter was down').to.equal(0);
        } finally {
          await own.restart();
        }
        await waitForHealth(sample, 200);
      });

      it('fails fast while Redis is down, reconnects by itself, and works after a restart that lost the scripts', async () => {
        // "Fast" against a long store timeout: a command queued while disconnected would wait all of it.
        const timeout = 10_000;
        const sample = await apps.make({ redis: { url: own.url, prefix: uniquePrefix(), timeout }, loginRateLimit: 5 });
        const address = email();
        await signUp(sample, address);
        await own.kill();
        await until(() =>
          apps.logs.some((line) => line.level === 'error' && line.text.startsWith('Redis connection error')),
        );
        const started = performance.now();
        const login = await request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD });
        expect(login.status).to.equal(503);
        expect(login.body).to.include({ error: 'store_unavailable' });
        expect(performance.now() - started, 'refused at once, not after the store timeout').to.be.below(timeout / 2);

        await own.restart();
        await waitForHealth(sample, 200);
        expect(apps.logs.some((line) => line.text === 'Redis connection restored')).to.equal(true);
        // A fresh server: no users, no cached Lua scripts (NOSCRIPT is handled by both stores).
        await signUp(sample, address);
        const session = await logIn(sample, address);
        expect((await refresh(sample, session.refreshToken)).status).to.equal(200);
      });

      it('after a restart from an older snapshot, the newest refresh token is taken as current and the older one is reuse (as the README says)', async () => {
        const sample = await apps.make({ redis: { url: own.url, prefix: uniquePrefix() } });
        const address = email();
        await signUp(sample, address);
        const session = await logIn(sample, address);
        await own.save(); // the snapshot: the session as first issued
        apps.clock.advance(60);
        const rotated = await refresh(sample, session.refreshToken);
        expect(rotated.status).to.equal(200);
        await own.restart(); // loads the snapshot: the rotation is lost
        await waitForHealth(sample, 200);
        apps.clock.advance(10); // past the grace window
        // Issued after the token Redis holds as current: a successor Redis lost, not a replay.
        const newest = await refresh(sample, (rotated.body as { refreshToken: string }).refreshToken);
        expect(newest.status, JSON.stringify(newest.body)).to.equal(200);
        expect(apps.logs.some((line) => line.text.startsWith('refresh token reuse'))).to.equal(false);
        // The first token is older than the one taken over: a replay, and the session ends.
        const replay = await refresh(sample, session.refreshToken);
        expect(replay.body).to.include({ error: 'refresh_reused' });
        expect(apps.logs.some((line) => line.level === 'warn' && line.text.startsWith('refresh token reuse'))).to.equal(
          true,
        );
      });
    });
  });
});
