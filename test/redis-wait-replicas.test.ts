/**
 * `waitForReplicas`: every write (create, rotate, revoke, revokeAll) is
 * answered only once that many replicas have it (`WAIT`), else 503, on a real
 * primary and replica (two private redis-servers, REPLICAOF).
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { OptionError, RedisSessionStore, StoreUnavailableError } from '../lib/index.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';

const TIMEOUT = 1000;

describe('RedisSessionStore waitForReplicas (real primary and replica)', function () {
  this.timeout(60_000);
  let primary: RedisServer;
  let replica: RedisServer;
  let client: ReturnType<typeof createClient>;
  let io: Redis;

  before(async function () {
    requireRedis(this, true);
    primary = await RedisServer.start();
    replica = await RedisServer.start();
    client = createClient({ url: primary.url, disableOfflineQueue: true });
    client.on('error', () => {});
    await client.connect();
    io = new Redis(primary.port, '127.0.0.1', { enableOfflineQueue: false, lazyConnect: true });
    await io.connect();
  });

  after(async () => {
    client?.destroy();
    io?.disconnect();
    await replica?.stop();
    await primary?.stop();
  });

  /** A fresh replica of the primary (restarted: an earlier test may have killed it). */
  async function replicaUp(): Promise<void> {
    await replica.restart();
    const link = createClient({ url: replica.url });
    link.on('error', () => {});
    await link.connect();
    try {
      await link.sendCommand(['REPLICAOF', '127.0.0.1', String(primary.port)]);
      await eventually(async () =>
        String(await link.sendCommand(['INFO', 'replication'])).includes('master_link_status:up'),
      );
    } finally {
      link.destroy();
    }
    // Connected is not enough: a replica still in its first sync acknowledges no WAIT (seen on a busy machine).
    await eventually(async () => {
      const info = String(await client.sendCommand(['INFO', 'replication']));
      return /connected_slaves:1/.test(info) && /slave0:[^\r\n]*state=online/.test(info);
    });
  }

  const now = (): number => Math.floor(Date.now() / 1000);
  const ending = () => ({ now: now(), revocationTtl: 900 });
  const session = (userId: string) => ({
    userId,
    sessionId: randomUUID(),
    jti: randomUUID(),
    ttl: 600,
    maxLifetime: 3600,
    claims: {},
    meta: {},
  });

  for (const kind of ['ioredis', 'node-redis'] as const) {
    const store = (): RedisSessionStore =>
      new RedisSessionStore({ client: kind === 'ioredis' ? io : client, prefix: uniquePrefix(), waitForReplicas: 1 });

    it(`${kind}: with the replica up, every write passes; with it gone, each answers 503 within about the timeout`, async () => {
      await replicaUp();
      const s = store();
      const first = session('alice');
      await s.create(first, { ...ending(), maxSessions: 10 });
      const rotated = await s.rotate({
        ...ending(),
        userId: 'alice',
        sessionId: first.sessionId,
        jti: first.jti,
        nextJti: randomUUID(),
        ttl: 600,
        grace: 5,
        meta: {},
        window: 60,
      });
      expect(rotated.status).to.equal('rotated');
      const second = session('alice');
      await s.create(second, { ...ending(), maxSessions: 10 });
      expect(await s.revoke({ ...ending(), userId: 'alice', sessionId: first.sessionId, grace: 5 })).to.equal(
        'revoked',
      );
      expect(await s.revokeAll({ ...ending(), userId: 'alice', credentialTtl: 301 })).to.equal(1);

      const bob = session('bob');
      await s.create(bob, { ...ending(), maxSessions: 10 });
      await replica.kill();
      await eventually(async () =>
        /connected_slaves:0/.test(String(await client.sendCommand(['INFO', 'replication']))),
      );
      const started = performance.now();
      const refresh = s.rotate({
        ...ending(),
        userId: 'bob',
        sessionId: bob.sessionId,
        jti: bob.jti,
        nextJti: randomUUID(),
        ttl: 600,
        grace: 5,
        meta: {},
        window: 60,
      });
      await expectUnavailable(refresh, 'only 0 of 1 Redis replicas acknowledged the write');
      const took = performance.now() - started;
      console.log(`      (${kind}: the refresh answered 503 after ${Math.round(took)} ms, timeout ${TIMEOUT} ms)`);
      expect(took).to.be.below(10 * TIMEOUT); // a generous bound: never hangs
      await expectUnavailable(
        s.revoke({ ...ending(), userId: 'bob', sessionId: bob.sessionId, grace: 5 }),
        'replicas acknowledged',
      );
      await expectUnavailable(s.create(session('carol'), { ...ending(), maxSessions: 10 }), 'replicas acknowledged');
      // The write happened on the primary (reading needs no replica): only its answer was withheld.
      expect(await s.list('carol', now())).to.have.length(1);
      await expectUnavailable(
        s.revokeAll({ ...ending(), userId: 'carol', credentialTtl: 301 }),
        'replicas acknowledged',
      );
      await replica.restart();
    });
  }

  it('refuses a waitForReplicas that is not a whole number, 0 or more', () => {
    for (const bad of [-1, 1.5, '1', NaN]) {
      expect(
        () => new RedisSessionStore({ sendCommand: async () => null, waitForReplicas: bad as never }),
        String(bad),
      ).to.throw(OptionError, 'RedisSessionStore: waitForReplicas must be a whole number, 0 or more');
    }
  });
});

async function expectUnavailable(work: Promise<unknown>, message: string): Promise<void> {
  let failure: unknown;
  try {
    await work;
  } catch (error) {
    failure = error;
  }
  expect(failure).to.be.instanceOf(StoreUnavailableError);
  expect((failure as Error).message).to.include(message);
}

/** Resolves once `condition` resolves true (polled every 20 ms), or rejects after a generous 15 s. */
async function eventually(condition: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 15_000;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
