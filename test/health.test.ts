/**
 * `auth.health()` (issue 15, item 4): a plain report of the store (its ping,
 * its `checkServer()` warnings) and of the revocation record this process
 * follows, whose `ready` is what `checkRevocation` would answer now. Never
 * rejects; never holds a secret or a token.
 */
import { expect } from 'chai';
import { createClient } from 'redis';
import {
  MemorySessionStore,
  RedisSessionStore,
  StoreUnavailableError,
  type AuthContext,
  type HealthReport,
  type Revocation,
  type RevocationFeed,
  type SessionStore,
  type TokenAuth,
} from '../lib/index.js';
import { privateRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, makeAuth, REFRESH, T0 } from './helpers/token-auth.js';

/** Polls `condition` every 20 ms; throws after `limit` ms (a bound on a wait, never on speed). */
async function until(what: string, condition: () => boolean | Promise<boolean>, limit = 15_000): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > limit) throw new Error(`not within ${limit} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Whether `checkRevocation` throws 503 for `context` (any other error fails the test). */
function blind(auth: TokenAuth, context: AuthContext): boolean {
  try {
    auth.checkRevocation(context);
    return false;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return true;
    throw error;
  }
}

/** The report survives JSON unchanged, and holds neither secret nor any of `tokens`. */
function expectPlain(report: HealthReport, tokens: string[] = []): void {
  const json = JSON.stringify(report);
  expect(JSON.parse(json)).to.deep.equal(report);
  for (const secret of [ACCESS, REFRESH, ...tokens]) expect(json).not.to.include(secret);
}

/**
 * A feed the test drives: no `streams()` (so the view builds one entry from
 * `lastContact()`), a contact time the test sets, and the `onGap` the view gave.
 */
class DrivenFeed implements RevocationFeed {
  contact = Date.now();
  onGap: ((through: number) => void) | undefined;
  async follow(
    _listener: (revocation: Revocation) => void,
    _since: number,
    options?: { onGap?: (through: number) => void },
  ): Promise<void> {
    this.onGap = options?.onGap;
  }
  lastContact(): number {
    return this.contact;
  }
  async close(): Promise<void> {}
}

/** A memory store whose ping, checkServer and feed the test replaces. */
function storeWith(extras: Partial<SessionStore> & Record<string, unknown>): SessionStore {
  const store = new MemorySessionStore();
  return Object.assign(Object.create(store) as SessionStore, {
    create: store.create.bind(store),
    rotate: store.rotate.bind(store),
    revoke: store.revoke.bind(store),
    revokeAll: store.revokeAll.bind(store),
    list: store.list.bind(store),
    ping: store.ping.bind(store),
    ...extras,
  });
}

describe('auth.health()', () => {
  let now = T0;
  beforeEach(() => {
    now = T0;
  });

  describe('with the memory store', () => {
    it('reports the store, and no revocations until the record is followed', async () => {
      const store = new MemorySessionStore();
      const auth = makeAuth(store, () => now);
      const report = await auth.health();
      expect(report).to.deep.equal({ ready: true, store: { ok: true, probed: true, kind: 'MemorySessionStore' } });
      expectPlain(report);
      store.close();
    });

    it('once followed, reports the record current, complete and ready, its one stream and last id', async () => {
      const store = new MemorySessionStore();
      const auth = makeAuth(store, () => now);
      await auth.watchRevocations();
      const pair = await auth.issue({ userId: 'u1' });
      await auth.revoke(pair.refreshToken);
      const report = await auth.health();
      expect(report.ready).to.equal(true);
      expect(report.revocations).to.deep.include({ current: true, complete: true, incompleteUntil: null, ready: true });
      expect(report.revocations!.streams).to.have.length(1);
      expect(report.revocations!.streams[0]).to.include({ name: 'memory', lastId: '1' });
      expect(report.revocations!.streams[0]!.lagMs).to.be.a('number').that.is.at.least(0);
      expectPlain(report, [pair.accessToken, pair.refreshToken]);
      await auth.close();
      store.close();
    });

    it('resolves, not rejects, once the store is closed: not ok, not ready, the error by code and message', async () => {
      const store = new MemorySessionStore();
      const auth = makeAuth(store, () => now);
      store.close();
      const report = await auth.health();
      expect(report.ready).to.equal(false);
      expect(report.store.ok).to.equal(false);
      expect(report.store.error?.code).to.equal('store_unavailable');
      expect(report.store.error?.message).to.be.a('string').and.not.equal('');
      expectPlain(report);
    });
  });

  describe('with a store of your own', () => {
    it('without ping(): ok but not probed; without a class name: no kind', async () => {
      const store = storeWith({ ping: undefined });
      const plain = { ...store, ping: undefined } as SessionStore;
      const auth = makeAuth(plain, () => now);
      const report = await auth.health();
      expect(report).to.deep.equal({ ready: true, store: { ok: true, probed: false } });
    });

    it("a failing ping(): its code and message with the cause's first line, URL credentials masked", async () => {
      const cause = new Error('connect ECONNREFUSED redis://admin:hunter2@10.0.0.1:6379\n    at stack line');
      const failures: Array<[() => Promise<void>, { code: string; message: string }]> = [
        [
          async () => {
            throw new StoreUnavailableError('Redis command failed', { cause });
          },
          {
            code: 'store_unavailable',
            message: 'Redis command failed: connect ECONNREFUSED redis://***@10.0.0.1:6379',
          },
        ],
        [
          async () => {
            throw new Error('boom');
          },
          { code: 'store_unavailable', message: 'boom' },
        ],
        [
          () => {
            throw new Error('thrown, not rejected');
          },
          { code: 'store_unavailable', message: 'thrown, not rejected' },
        ],
      ];
      for (const [ping, error] of failures) {
        const report = await makeAuth(storeWith({ ping }), () => now).health();
        expect(report.ready).to.equal(false);
        expect(report.store).to.deep.include({ ok: false, probed: true, error });
        expect(JSON.stringify(report)).not.to.include('hunter2');
      }
    });

    it("checkServer()'s warnings are reported; when it fails, the store stays ok but says why", async () => {
      const warning = { code: 'eviction_policy' as const, message: 'Redis maxmemory-policy is allkeys-lru' };
      const warned = await makeAuth(storeWith({ checkServer: async () => [warning] }), () => now).health();
      expect(warned.store).to.deep.include({ ok: true, warnings: [warning] });
      const failing = await makeAuth(
        storeWith({
          checkServer: async () => {
            throw new StoreUnavailableError('Redis did not answer within 1000 ms');
          },
        }),
        () => now,
      ).health();
      expect(failing.store).to.deep.include({
        ok: true,
        error: { code: 'store_unavailable', message: 'Redis did not answer within 1000 ms' },
      });
      expect(failing.store.warnings).to.equal(undefined);
    });

    it('revocations.ready is what checkRevocation answers: lag beyond revocationMaxLag, then a gap, until it closes', async () => {
      const feed = new DrivenFeed();
      const auth = makeAuth(storeWith({ revocations: () => feed }), () => now, { revocationMaxLag: 1000 });
      await auth.watchRevocations();
      const pair = await auth.issue({ userId: 'u1' });
      const context = auth.verifyAccessToken(pair.accessToken);
      const expectAgrees = async (
        expected: Partial<NonNullable<HealthReport['revocations']>>,
      ): Promise<NonNullable<HealthReport['revocations']>> => {
        const { revocations, ready } = await auth.health();
        expect(revocations).to.deep.include(expected);
        expect(revocations!.ready, 'ready agrees with checkRevocation').to.equal(!blind(auth, context));
        expect(ready).to.equal(revocations!.ready);
        return revocations!;
      };

      const fresh = await expectAgrees({ current: true, complete: true, incompleteUntil: null, ready: true });
      // A feed without streams(): one entry from lastContact().
      expect(fresh.streams).to.have.length(1);
      expect(fresh.streams[0]).to.include({ name: 'revocations', lastId: '' });

      feed.contact = Date.now() - 60_000;
      const behind = await expectAgrees({ current: false, complete: true, ready: false });
      expect(behind.streams[0]!.lagMs).to.be.at.least(60_000);

      feed.contact = 0;
      const never = await expectAgrees({ current: false, ready: false });
      expect(never.streams[0]!.lagMs, 'never heard from').to.equal(null);

      feed.contact = Date.now() + 60_000; // heard from "now" for the rest of the test, however slow it runs
      feed.onGap!(T0);
      const retention = auth.accessTokenTtl; // clockTolerance 0
      await expectAgrees({ current: true, complete: false, incompleteUntil: T0 + retention, ready: false });
      now = T0 + retention - 1;
      await expectAgrees({ complete: false, ready: false });
      now = T0 + retention;
      await expectAgrees({ current: true, complete: true, incompleteUntil: null, ready: true });
      await auth.close();
    });
  });

  describe('with a Redis store', function () {
    this.timeout(60_000);
    const redis = privateRedis();
    let auths: TokenAuth[] = [];
    afterEach(async () => {
      await Promise.all(auths.map((auth) => auth.close()));
      auths = [];
    });

    /** A store on its own client (reconnecting every 50 ms, no offline queue), and a TokenAuth on it. */
    async function redisAuth(): Promise<{ auth: TokenAuth; client: ReturnType<typeof createClient>; prefix: string }> {
      const client = createClient({
        url: redis.server.url,
        disableOfflineQueue: true,
        socket: { reconnectStrategy: () => 50 },
      });
      client.on('error', () => {});
      await client.connect();
      const prefix = uniquePrefix();
      const store = new RedisSessionStore({ client, prefix, timeout: 300 });
      const auth = makeAuth(store, () => Date.now() / 1000, { revocationMaxLag: 1000 });
      auths.push(auth);
      return { auth, client, prefix };
    }

    it('healthy: ok, its class and client kind, no warnings; the record followed, current and ready', async () => {
      const { auth, client, prefix } = await redisAuth();
      await auth.watchRevocations();
      const pair = await auth.issue({ userId: 'u1' });
      await auth.revoke(pair.refreshToken);
      const newest = await client.sendCommand<Array<[string, unknown]>>([
        'XREVRANGE',
        `${prefix}revocations`,
        '+',
        '-',
        'COUNT',
        '1',
      ]);
      const lastId = newest[0]![0];
      await until(
        'the feed to read the revocation',
        async () => (await auth.health()).revocations?.streams.some((stream) => stream.lastId === lastId) === true,
      );
      const report = await auth.health();
      expect(report.ready).to.equal(true);
      expect(report.store).to.deep.equal({
        ok: true,
        probed: true,
        kind: 'RedisSessionStore',
        client: 'node-redis',
        warnings: [],
      });
      expect(report.revocations).to.deep.include({ current: true, complete: true, incompleteUntil: null, ready: true });
      expect(report.revocations!.streams).to.have.length(1);
      expect(report.revocations!.streams[0]).to.include({ name: `${prefix}revocations`, lastId });
      expect(report.revocations!.streams[0]!.lagMs).to.be.a('number').at.least(0);
      expectPlain(report, [pair.accessToken, pair.refreshToken]);
      await auth.close();
      client.destroy();
    });

    it('reports an evicting maxmemory-policy as a warning', async () => {
      const { auth, client } = await redisAuth();
      await redis.client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru']);
      try {
        const report = await auth.health();
        expect(report.store.ok).to.equal(true);
        expect(report.store.warnings?.map((w) => w.code)).to.deep.equal(['eviction_policy']);
        expect(report.store.warnings?.[0]?.message).to.include('allkeys-lru');
      } finally {
        await redis.client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
      }
      client.destroy();
    });

    it('while Redis is frozen: store not ok, the record falls behind and is not ready; both recover after', async () => {
      const { auth, client } = await redisAuth();
      await auth.watchRevocations();
      const pair = await auth.issue({ userId: 'u1' });
      const context = auth.verifyAccessToken(pair.accessToken);
      redis.server.pause();
      let report: HealthReport | undefined;
      try {
        await until('the record to fall behind', async () => {
          report = await auth.health();
          return report.revocations?.current === false;
        });
        expect(report!.ready).to.equal(false);
        expect(report!.store.ok).to.equal(false);
        expect(report!.store.error?.code).to.equal('store_unavailable');
        expect(report!.revocations!.ready).to.equal(false);
        expect(blind(auth, context)).to.equal(true);
        expect(report!.revocations!.streams[0]!.lagMs).to.be.above(1000);
      } finally {
        redis.server.resume();
      }
      await until('health to recover', async () => (await auth.health()).ready);
      expect(blind(auth, context)).to.equal(false);
      await auth.close();
      client.destroy();
    });
  });
});
