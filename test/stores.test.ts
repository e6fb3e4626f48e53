/**
 * The store contract (lib/store-contract/, exported as
 * `express-token-pair/store-contract`) against MemorySessionStore and
 * RedisSessionStore with every supported client setup: node-redis v4, v5
 * (RESP2 and RESP3) and v6, ioredis, and a sendCommand pair. Plus each
 * store's own options.
 */
import { expect } from 'chai';
import { createClient as createClient5 } from 'redis';
import { MemorySessionStore, OptionError, RedisSessionStore } from '../lib/index.js';
import { describeStoreContract } from '../lib/store-contract/index.js';
import { requireRedis, sharedRedis, uniquePrefix } from './helpers/redis-server.js';
import { CLIENT_SETUPS, clientStoreFixture, deletePrefixed } from './helpers/redis-clients.js';

describe('MemorySessionStore', () => {
  describeStoreContract('the store contract', () => {
    const store = new MemorySessionStore();
    return {
      store,
      close: () => {
        store.close();
      },
    };
  });

  it('sweeps expired sessions by the time the core passes in, not the wall clock', async () => {
    const store = new MemorySessionStore({ sweepInterval: 5 });
    const base = 4_000_000_000; // far from the wall clock, as a test clock may be
    const record = (sessionId: string, ttl: number) => ({
      userId: 'u',
      sessionId,
      jti: `j-${sessionId}`,
      ttl,
      maxLifetime: 1000,
      claims: {},
      meta: {},
    });
    try {
      await store.create(record('short', 10), { now: base, maxSessions: 100, revocationTtl: 900 });
      await store.create(record('long', 100), { now: base, maxSessions: 100, revocationTtl: 900 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(store.size, "nothing has expired yet by the core's clock").to.equal(2);
      await store.rotate({
        userId: 'u',
        sessionId: 'long',
        jti: 'j-long',
        nextJti: 'n',
        now: base + 10,
        ttl: 100,
        grace: 0,
        meta: {},
        window: 900,
        revocationTtl: 900,
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(store.size).to.equal(1);
    } finally {
      store.close();
    }
  });

  it('refuses bad options with an OptionError naming them', () => {
    expect(() => new MemorySessionStore({ sweepInterval: 0 })).to.throw(
      OptionError,
      'MemorySessionStore: sweepInterval must be',
    );
    expect(() => new MemorySessionStore({ sweepIntervall: 10 } as never)).to.throw(
      OptionError,
      'MemorySessionStore: unknown option sweepIntervall (known: sweepInterval)',
    );
    expect(() => new MemorySessionStore(null as never)).to.throw(OptionError, 'options must be an object');
  });
});

describe('RedisSessionStore', function () {
  let redis: { url: string; close: () => Promise<void> };

  before(async function () {
    requireRedis(this);
    redis = await sharedRedis();
  });
  after(async () => redis?.close());

  for (const [name, create] of CLIENT_SETUPS) {
    describeStoreContract(`the store contract with ${name}`, () => clientStoreFixture(create, redis.url));
  }

  describeStoreContract('the store contract with sendCommand and blockingSendCommand (ioredis, clusters)', async () => {
    const client = createClient5({ url: redis.url });
    const second = createClient5({ url: redis.url, RESP: 3 });
    await Promise.all([client.connect(), second.connect()]);
    const prefix = uniquePrefix();
    return {
      store: new RedisSessionStore({
        sendCommand: (args) => client.sendCommand(args),
        blockingSendCommand: (args) => second.sendCommand(args),
        prefix,
        clock: 'caller',
      }),
      close: async () => {
        await deletePrefixed(client, prefix);
        await client.close();
        second.destroy();
      },
    };
  });
});
