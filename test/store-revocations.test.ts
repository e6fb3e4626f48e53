/**
 * The revocation record as part of the store contract
 * (test/helpers/store-contract-revocations.ts), against MemorySessionStore
 * and RedisSessionStore with every supported client setup: node-redis v4,
 * v5 (RESP2 and RESP3) and v6 (whose XREAD comes back as a map), and a
 * sendCommand pair. Plus the store's own rules for the feed's connection.
 */
import { expect } from 'chai';
import { createClient as createClient5 } from 'redis';
import { MemorySessionStore, OptionError, RedisSessionStore } from '../lib/index.js';
import { parseRead } from '../lib/stores/redis-revocation-feed.js';
import { requireRedis, sharedRedis, uniquePrefix } from './helpers/redis-server.js';
import { revocationsContract } from './helpers/store-contract-revocations.js';
import { CLIENT_SETUPS, clientStoreFixture, deletePrefixed } from './helpers/redis-clients.js';

describe('Revocation record: MemorySessionStore', () => {
  revocationsContract(async () => {
    const store = new MemorySessionStore();
    return { store, close: async () => store.close() };
  });
});

describe('Revocation record: RedisSessionStore', function () {
  let redis: { url: string; close: () => Promise<void> };

  before(async function () {
    requireRedis(this);
    redis = await sharedRedis();
  });
  after(async () => redis?.close());

  for (const [name, create] of CLIENT_SETUPS) {
    describe(`with ${name}`, () => {
      revocationsContract(() => clientStoreFixture(create, redis.url));
    });
  }

  describe('with sendCommand and blockingSendCommand (ioredis, clusters)', () => {
    revocationsContract(async () => {
      const client = createClient5({ url: redis.url });
      const second = createClient5({ url: redis.url, RESP: 3 });
      await Promise.all([client.connect(), second.connect()]);
      const prefix = uniquePrefix();
      return {
        store: new RedisSessionStore({
          sendCommand: (args) => client.sendCommand(args),
          blockingSendCommand: (args) => second.sendCommand(args),
          prefix, clock: 'caller',
        }),
        close: async () => {
          await deletePrefixed(client, prefix);
          await client.close();
          second.destroy();
        },
      };
    });
  });

  it('refuses revocations() with sendCommand alone, naming blockingSendCommand', () => {
    const store = new RedisSessionStore({ sendCommand: async () => null });
    expect(() => store.revocations()).to.throw(OptionError,
      'express-token-pair: RedisSessionStore: checkRevocation needs blockingSendCommand (a second connection\'s sendCommand, for the revocation feed)');
  });

  it('refuses a blockingSendCommand that is not a function, or is the sendCommand itself', () => {
    const send = async () => null;
    expect(() => new RedisSessionStore({ sendCommand: send, blockingSendCommand: 'x' as never }))
      .to.throw(OptionError, 'RedisSessionStore: blockingSendCommand must be a function');
    expect(() => new RedisSessionStore({ sendCommand: send, blockingSendCommand: send }))
      .to.throw(OptionError, 'blockingSendCommand must send on a second connection, not the one of sendCommand');
  });
});

describe('Revocation feed: reading XREAD replies', () => {
  const entries = [['1-0', ['k', 's', 'id', 'sid-1', 'at', '100']], ['2-0', ['k', 'u', 'id', 'user-1', 'at', '101']]];
  const wanted = [
    ['1-0', { kind: 'session', id: 'sid-1', at: 100 }],
    ['2-0', { kind: 'user', id: 'user-1', at: 101 }],
  ];

  it('reads RESP2 arrays, RESP3 objects and Maps alike, and null as nothing', () => {
    const shapes: Array<[string, unknown]> = [
      ['RESP2', [['etp:revocations', entries]]],
      ['RESP3 object', { 'etp:revocations': entries }],
      ['RESP3 Map', new Map([['etp:revocations', entries]])],
      ['RESP3 map as a flat array', ['etp:revocations', entries]],
      ['Buffers', [[Buffer.from('etp:revocations'), entries.map(([id, f]) => [Buffer.from(id as string), (f as string[]).map((x) => Buffer.from(x))])]]],
    ];
    for (const [name, reply] of shapes) expect(parseRead(reply), name).to.deep.equal(wanted);
    expect(parseRead(null)).to.deep.equal([]);
  });

  it('passes over an entry that is not a revocation, keeping its id, and refuses a reply it cannot read', () => {
    expect(parseRead([['s', [['3-0', ['k', 'x', 'id', 'a', 'at', '1']], ['4-0', ['id', 'a']]]]]))
      .to.deep.equal([['3-0', undefined], ['4-0', undefined]]);
    for (const bad of ['OK', 42, [['s', 'nope']], [['s', [['only-id']]]]]) {
      expect(() => parseRead(bad), JSON.stringify(bad)).to.throw(Error);
    }
  });
});
