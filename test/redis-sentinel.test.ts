/**
 * RedisSessionStore on a real Redis Sentinel set-up (1 master, 1 replica, 3
 * sentinels on local ports, one set for the whole file): the full store
 * contract, revocation record and feed included, through every Sentinel
 * client (node-redis v5 and v6 `createSentinel`, ioredis `Redis` with
 * `sentinels` and `name`, each passed as `client`), and what Sentinel adds:
 * the client's kind, and a feed on a connection of its own, to the master.
 */
import { expect } from 'chai';
import { createTokenAuth, OptionError, RedisSessionStore } from '../lib/index.js';
import { describeStoreContract } from '../lib/store-contract/index.js';
import { RedisSentinelSet, requireSentinel } from './helpers/redis-sentinel.js';
import {
  connectSentinel,
  deleteSentinelPrefix,
  SENTINEL_CLIENT_NAMES,
  until,
  type SentinelSetup,
} from './helpers/redis-sentinel-clients.js';
import { command } from './helpers/redis-cluster.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

describe('RedisSessionStore on Redis Sentinel (1 master, 1 replica, 3 sentinels)', function () {
  this.timeout(60_000);
  let set: RedisSentinelSet;
  let suiteStarted = 0;

  before(async function () {
    requireSentinel(this);
    suiteStarted = Date.now();
    set = await RedisSentinelSet.start();
    console.log(`      Sentinel set ready in ${Date.now() - suiteStarted} ms`);
  });
  after(async () => {
    await set?.stop();
    if (suiteStarted) console.log(`      Sentinel suite took ${Date.now() - suiteStarted} ms`);
  });

  it('names the Sentinel clients it takes when given something else', () => {
    expect(() => new RedisSessionStore({ client: { connect() {} } })).to.throw(
      OptionError,
      'for Sentinel, a node-redis createSentinel client (v5, v6) or an ioredis client given sentinels and name',
    );
  });

  for (const name of SENTINEL_CLIENT_NAMES) {
    describe(`with ${name}`, () => {
      describe('the store contract', () => {
        describeStoreContract('(revocation record and feed included)', async () => {
          const setup = await connectSentinel(name, set);
          const prefix = uniquePrefix();
          const store = new RedisSessionStore({ client: setup.client, prefix, clock: 'caller' });
          return {
            store,
            close: async () => {
              try {
                await deleteSentinelPrefix(set, prefix);
              } finally {
                await setup.close();
              }
            },
          };
        });
      });

      describe('what Sentinel adds', () => {
        let setup: SentinelSetup;
        let prefix: string;
        beforeEach(async () => {
          setup = await connectSentinel(name, set);
          prefix = uniquePrefix();
        });
        afterEach(async () => {
          try {
            await deleteSentinelPrefix(set, prefix);
          } finally {
            await setup.close();
          }
        });

        it('is told apart at construction, and answers ping() and checkServer()', async () => {
          const store = new RedisSessionStore({ client: setup.client, prefix });
          expect(store.clientKind).to.equal(name === 'ioredis sentinels' ? 'ioredis' : 'node-redis sentinel');
          await store.ping();
          expect(await store.checkServer()).to.deep.equal([]);
        });

        it('writes to the master, and the replica follows', async () => {
          const auth = createTokenAuth({
            accessToken: { secret: ACCESS },
            refreshToken: { secret: REFRESH },
            store: new RedisSessionStore({ client: setup.client, prefix }),
          });
          await auth.issue({ userId: 'on-master' });
          const key = `${prefix}{on-master}`;
          expect(await command(set.masterPort, 'EXISTS', key)).to.equal(1);
          const replica = set.livePorts.find((p) => p !== set.masterPort)!;
          await until(async () => (await command(replica, 'EXISTS', key)) === 1, 'the replica has the session');
        });

        it('follows the revocation stream on a connection of its own, to the master, named', async () => {
          const store = new RedisSessionStore({ client: setup.client, prefix });
          const auth = createTokenAuth({
            accessToken: { secret: ACCESS },
            refreshToken: { secret: REFRESH },
            store,
          });
          const feed = store.revocations();
          const seen: string[] = [];
          try {
            await feed.follow((r) => seen.push(r.id), Date.now() / 1000);
            const pair = await auth.issue({ userId: 'feed' });
            const session = auth.verifyAccessToken(pair.accessToken).sessionId;
            expect(await auth.revoke(pair.refreshToken)).to.equal(true);
            await until(() => seen.includes(session), 'the feed delivers the revocation');
            const clients = String(await command(set.masterPort, 'CLIENT', 'LIST'));
            expect(clients, 'the feed connection on the master').to.include('name=express-token-pair:revocations');
          } finally {
            await feed.close();
          }
        });
      });
    });
  }
});
