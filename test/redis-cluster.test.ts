/**
 * RedisSessionStore on a real Redis Cluster (3 masters + 3 replicas on local
 * ports, one for the whole file): the full store contract through every
 * cluster client (node-redis v5, v6, v4 `createCluster`, ioredis `Cluster`,
 * each passed as `client`), and what a cluster adds: every command the store
 * sends is one script on one slot's keys (so never CROSSSLOT), users' sessions land on
 * every master, `ping()` works, and the revocation record is kept, one stream
 * per shard in its users' slot (revocationRecord: false keeps 0.3's layout).
 */
import { expect } from 'chai';
import {
  createTokenAuth,
  OptionError,
  RedisSessionStore,
  StoreUnavailableError,
  type TokenAuth,
} from '../lib/index.js';
import { command, RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import {
  CLUSTER_CLIENT_NAMES,
  connectCluster,
  deleteClusterPrefix,
  keysByMaster,
  nodeCount,
  recording,
  type ClusterSetup,
  type SentCommand,
} from './helpers/redis-cluster-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { describeStoreContract } from '../lib/store-contract/index.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';
import { shardedLayout } from '../lib/stores/redis/layout.js';

/**
 * A key the store may name on a Cluster with the record (layout.ts): a shard's
 * `<prefix>{<tag>}` and then a user's sessions `u:<userId>`, cut-off `c:<userId>`,
 * its stream `revocations`; or a probe key (`<prefix>probe`, `<prefix>{<tag>}probe`: one per primary).
 */
const STORE_KEY = /^etp-test:[0-9a-f]{12}:(\{etp\d+-\d+\}(u:.*|c:.*|revocations)|(\{[^{}]+\})?probe)$/s;

/**
 * Every command in `log` is EVALSHA or EVAL with one slot's keys, routed by
 * the first: a probe key or a shard's stream (the feed's step) alone, or a
 * user's key, its credential cut-off, its DPoP proofs and its shard's stream (the same hash
 * tag); but for TIME (the store reads Redis's clock, no key). The only errors
 * are NOSCRIPT (answered with EVAL). Returns the counts.
 */
function expectOneKeyScripts(log: SentCommand[], routed: boolean): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { key, args, error } of log) {
    const what = JSON.stringify(args.slice(0, 4));
    counts.set(args[0]!, (counts.get(args[0]!) ?? 0) + 1);
    expect(error ?? '', what).not.to.match(/CROSSSLOT/);
    if (error !== undefined) expect(error, what).to.match(/NOSCRIPT/);
    if (args[0] === 'TIME') {
      expect(args, 'TIME carries nothing').to.deep.equal(['TIME']);
      continue;
    }
    expect(args[0], what).to.be.oneOf(['EVALSHA', 'EVAL']);
    expect(args[3], what).to.match(STORE_KEY);
    const user = /^(.*\})u:(.*)$/s.exec(args[3]!);
    const keys = user
      ? [args[3], `${user[1]!}c:${user[2]!}`, `${user[1]!}p:${user[2]!}`, `${user[1]!}revocations`]
      : [args[3]];
    expect(args.slice(2, 3 + keys.length), `${what}: its keys`).to.deep.equal([String(keys.length), ...keys]);
    if (routed) expect(key, `${what}: routed by its key`).to.equal(args[3]);
  }
  return counts;
}

describe('RedisSessionStore on a Redis Cluster (3 masters + 3 replicas)', function () {
  reportDuration('cluster store suite');
  this.timeout(60_000);
  let cluster: RedisCluster;

  before(async function () {
    requireCluster(this);
    const started = Date.now();
    cluster = await RedisCluster.start();
    console.log(`      cluster of ${cluster.nodes.length} nodes ready in ${Date.now() - started} ms`);
  });
  after(async () => cluster?.stop());

  for (const name of CLUSTER_CLIENT_NAMES) {
    describe(`with ${name}`, () => {
      /** What the stores of the contract below sent, through every test. */
      const sent: SentCommand[] = [];

      describe('the store contract', () => {
        describeStoreContract('(the revocation record sharded over the Cluster)', async () => {
          const setup = await connectCluster(name, cluster);
          const prefix = uniquePrefix();
          return {
            // One shard: the contract asks for every entry in the order made, which one stream keeps
            // (with more, each user's stay in order: test/revocation-cluster.test.ts).
            store: new RedisSessionStore({ client: recording(setup, sent), prefix, clock: 'caller', shards: 1 }),
            close: async () => {
              try {
                await deleteClusterPrefix(cluster, prefix);
              } finally {
                await setup.close(); // a client left open would keep reconnecting, and mocha running, once the cluster stops
              }
            },
          };
        });
      });

      describe('what a cluster adds', () => {
        let setup: ClusterSetup;
        let prefix: string;

        beforeEach(async () => {
          setup = await connectCluster(name, cluster);
          prefix = uniquePrefix();
        });
        afterEach(async () => {
          try {
            await deleteClusterPrefix(cluster, prefix);
          } finally {
            await setup.close();
          }
        });

        const authOn = (store: RedisSessionStore): TokenAuth =>
          createTokenAuth({ accessToken: { secret: ACCESS }, refreshToken: { secret: REFRESH }, store });

        it('sent nothing through the whole contract but one-key scripts (and TIME), routed by their key: never CROSSSLOT', () => {
          const counts = expectOneKeyScripts(sent, name !== 'ioredis');
          expect(counts.get('EVALSHA') ?? 0, 'the contract ran through the recording client').to.be.greaterThan(100);
        });

        it("spreads 60 users' sessions over all 3 masters, each key once, on the master of its slot; one key per script, EVAL too", async () => {
          // Scripts forgotten everywhere: every first EVALSHA gets NOSCRIPT, then the EVAL must be one-key too.
          for (const master of cluster.masters()) await command(master.port, 'SCRIPT', 'FLUSH');
          const log: SentCommand[] = [];
          const store = new RedisSessionStore({ client: recording(setup, log), prefix });
          const auth = authOn(store);
          const users = Array.from({ length: 60 }, (_, i) => `spread-${i}`);
          const pairs = await Promise.all(users.map((userId) => auth.issue({ userId })));
          const second = await auth.issue({ userId: users[0]! }); // a second session: the key turns into a hash
          const refreshed = await Promise.all(pairs.map((pair) => auth.refresh(pair.refreshToken)));
          expect(await auth.listSessions(users[0]!)).to.have.length(2);
          expect(await auth.revoke(refreshed[1]!.refreshToken)).to.equal(true);
          expect(await auth.revokeAll(users[0]!)).to.equal(2);
          await auth.ping();
          expect(second.refreshToken).to.be.a('string');

          // The probe keys ping() writes expire within 1 ms; SCAN may still list them.
          const byMaster = new Map(
            [...(await keysByMaster(cluster, prefix))].map(([port, keys]) => [
              port,
              keys.filter((k) => !/^[^{}]*(\{[^{}]+\})?probe$/.test(k)),
            ]),
          );
          const masters = cluster.masters().map((m) => m.port);
          expect([...byMaster.keys()].sort()).to.deep.equal(masters.sort());
          // users[0]'s logout-all left its credential cut-off; the endings of users[0] and users[1], their shards' streams.
          const layout = shardedLayout(prefix, 16);
          const live = [
            ...new Set([
              ...users.slice(2).map((u) => layout.user(u)),
              layout.cutOff(users[0]!),
              layout.stream(users[0]!)!,
              layout.stream(users[1]!)!,
            ]),
          ];
          for (const [port, keys] of byMaster) {
            expect(keys.length, `keys on master ${port}`).to.be.greaterThan(5);
            for (const key of keys) expect((await cluster.masterForKey(key)).port, key).to.equal(port);
          }
          expect([...byMaster.values()].flat().sort(), "every live user's key, once, and nothing else").to.deep.equal(
            live.sort(),
          );

          const counts = expectOneKeyScripts(log, name !== 'ioredis');
          expect(counts.get('EVAL') ?? 0, 'EVAL after NOSCRIPT on each master').to.be.greaterThan(0);
          expect(log.filter((c) => c.error?.includes('NOSCRIPT')).length).to.equal(counts.get('EVAL'));
        });

        it('with waitForReplicas: 1, sends WAIT to the primary of the user key after each write, and every write passes', async () => {
          /** WAITs run on each master (INFO commandstats), by port. */
          const waitsByMaster = async (): Promise<Map<number, number>> =>
            new Map(
              await Promise.all(
                cluster.masters().map(async (m): Promise<[number, number]> => {
                  const info = String(await command(m.port, 'INFO', 'commandstats'));
                  return [m.port, Number(/cmdstat_wait:calls=(\d+)/.exec(info)?.[1] ?? 0)];
                }),
              ),
            );
          const before = await waitsByMaster();
          const log: SentCommand[] = [];
          const auth = authOn(new RedisSessionStore({ client: recording(setup, log), prefix, waitForReplicas: 1 }));
          const users = Array.from({ length: 12 }, (_, i) => `waited-${i}`);
          const pairs = await Promise.all(users.map((userId) => auth.issue({ userId })));
          const refreshed = await Promise.all(pairs.map((pair) => auth.refresh(pair.refreshToken)));
          expect(await auth.revoke(refreshed[0]!.refreshToken)).to.equal(true);
          expect(await auth.revokeAll(users[1]!)).to.equal(1);
          // Each user's writes: a WAIT on the master of its key (login, refresh; users 0 and 1 one more each).
          const expected = new Map<number, number>();
          for (const [i, userId] of users.entries()) {
            const port = (await cluster.masterForKey(shardedLayout(prefix, 16).user(userId))).port;
            expected.set(port, (expected.get(port) ?? 0) + (i < 2 ? 3 : 2));
          }
          const after = await waitsByMaster();
          for (const [port, count] of after) {
            expect(count - before.get(port)!, `WAITs on master ${port}`).to.equal(expected.get(port) ?? 0);
          }
          // node-redis: routed by the user key (ioredis sends it in a pipeline after EXISTS of that key).
          for (const { key, args, error } of log.filter(({ args }) => args[0] === 'WAIT')) {
            expect(error).to.equal(undefined);
            expect(args.slice(0, 2)).to.deep.equal(['WAIT', '1']);
            expect(key, 'routed by the user key').to.match(/\}u:waited-\d+$/);
          }
        });

        it('answers auth.ping() and checkServer() (noeviction, Redis 7)', async () => {
          const store = new RedisSessionStore({ client: setup.client, prefix });
          await authOn(store).ping();
          await store.ping();
          expect(await store.checkServer()).to.deep.equal([]);
        });

        it('leaves a closed client closed: a call that fails after close() reopens no connection', async () => {
          const store = new RedisSessionStore({ client: setup.client, prefix });
          await store.ping();
          expect(nodeCount(setup), 'connected to the masters').to.be.greaterThan(0);
          await setup.close();
          expect(
            await store.ping().then(
              () => 'answered',
              (error: unknown) => error,
            ),
          ).to.be.instanceOf(StoreUnavailableError);
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(nodeCount(setup), 'node connections after close() and a failed ping').to.equal(0);
        });

        it('keeps the revocation record by default, one stream per shard; revocationRecord: false keeps the layout of 0.3', async () => {
          const store = new RedisSessionStore({ client: setup.client, prefix, shards: 4 });
          expect(store.clientKind).to.equal(name === 'ioredis' ? 'ioredis cluster' : 'node-redis cluster');
          const feed = store.revocations();
          expect(feed.streams!().map((row) => row.name)).to.deep.equal(shardedLayout(prefix, 4).streams);
          await feed.close();
          const auth = authOn(store);
          const pair = await auth.issue({ userId: 'with-stream' });
          expect(await auth.revoke(pair.refreshToken)).to.equal(true);
          const layout = shardedLayout(prefix, 4);
          expect([...(await keysByMaster(cluster, prefix)).values()].flat()).to.deep.equal([
            layout.stream('with-stream'),
          ]);
          expect(
            await command(
              (await cluster.masterForKey(layout.stream('with-stream')!)).port,
              'XLEN',
              layout.stream('with-stream')!,
            ),
          ).to.equal(1);

          const old = new RedisSessionStore({ client: setup.client, prefix: `${prefix}old:`, revocationRecord: false });
          expect(() => old.revocations()).to.throw(OptionError, 'checkRevocation needs the revocation record');
          expect(
            () => new RedisSessionStore({ client: setup.client, prefix, revocationRecord: false, shards: 4 }),
          ).to.throw(OptionError, 'RedisSessionStore: shards needs the revocation record');
          const oldAuth = authOn(old);
          const first = await oldAuth.issue({ userId: 'no-stream' });
          expect(await oldAuth.revoke(first.refreshToken)).to.equal(true);
          await oldAuth.issue({ userId: 'no-stream' });
          expect(await oldAuth.revokeAll('no-stream')).to.equal(1);
          expect(
            [...(await keysByMaster(cluster, `${prefix}old:`)).values()].flat(),
            'no session key left, no stream: only the credential cut-off, in the layout of 0.3',
          ).to.deep.equal([`${prefix}old:{no-stream}:cutoff`]);
        });
      });
    });
  }
});
