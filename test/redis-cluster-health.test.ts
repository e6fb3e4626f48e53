/**
 * On a Redis Cluster, `ping()` and `checkServer()` ask every primary of the
 * client's slot map, not whichever node one key or a keyless command lands
 * on (issue 15, item 4): a probe write in a slot of each primary, INFO on
 * each. One cluster without replicas (so a killed primary stays dead), every
 * cluster client kind connected to it.
 */
import { expect } from 'chai';
import { RedisSessionStore, StoreUnavailableError, type TokenAuth } from '../lib/index.js';
import { slotOf } from '../lib/stores/redis/layout.js';
import { command, RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import {
  CLUSTER_CLIENT_NAMES,
  connectCluster,
  nodeCount,
  recording,
  type ClusterSetup,
  type SentCommand,
} from './helpers/redis-cluster-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { makeAuth } from './helpers/token-auth.js';

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('Redis Cluster: ping() and checkServer() ask every primary', function () {
  reportDuration('cluster health suite');
  this.timeout(120_000);
  let cluster: RedisCluster;
  const setups: ClusterSetup[] = [];
  const prefix = uniquePrefix();

  before(async function () {
    requireCluster(this);
    cluster = await RedisCluster.start({ masters: 3, replicasPerMaster: 0 });
    for (const name of CLUSTER_CLIENT_NAMES) setups.push(await connectCluster(name, cluster));
  });
  after(async () => {
    for (const setup of setups) await setup.close();
    await cluster?.stop();
  });

  const store = (client: object): RedisSessionStore => new RedisSessionStore({ client, prefix, timeout: 1000 });
  const ports = (): number[] => cluster.masters().map((master) => master.port);

  it('slotOf hashes a tag as Redis does (CLUSTER KEYSLOT)', async () => {
    const port = ports()[0]!;
    for (const tag of ['0', '1', '42', '999', '123456', 'probe', 'user:7']) {
      expect(slotOf(tag), tag).to.equal(Number(await command(port, 'CLUSTER', 'KEYSLOT', `etp:{${tag}}probe`)));
    }
  });

  for (const [i, name] of CLUSTER_CLIENT_NAMES.entries()) {
    it(`${name}: ping() writes one probe key on every primary, each in a slot it serves`, async () => {
      const log: SentCommand[] = [];
      await store(recording(setups[i]!, log)).ping();
      const probed = log.filter((sent) => sent.args[0] === 'EVALSHA' || sent.args[0] === 'EVAL');
      // EVALSHA, and EVAL after a NOSCRIPT (the first probe on a node): the same key.
      const keys = [...new Set(probed.map((sent) => sent.args[3]!))];
      for (const key of keys) expect(key).to.match(new RegExp(`^${prefix}\\{\\d+\\}probe$`));
      const served = await Promise.all(keys.map(async (key) => (await cluster.masterForKey(key)).port));
      expect([...new Set(served)].sort()).to.deep.equal(ports());
      expect(keys, 'one per primary').to.have.length(ports().length);
    });

    it(`${name}: checkServer() is empty on a sound cluster`, async () => {
      expect(await store(setups[i]!.client).checkServer()).to.deep.equal([]);
    });
  }

  it('checkServer() warns of one primary with maxmemory-policy allkeys-lru, naming that node (every client)', async () => {
    const port = ports()[1]!;
    await command(port, 'CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      for (const setup of setups) {
        const warnings = await store(setup.client).checkServer();
        expect(warnings, setup.name).to.have.length(1);
        expect(warnings[0], setup.name).to.include({ code: 'eviction_policy', node: `127.0.0.1:${port}` });
        expect(warnings[0]!.message, setup.name).to.match(new RegExp(`^127\\.0\\.0\\.1:${port}: .*allkeys-lru`));
      }
    } finally {
      await command(port, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('a closed client: ping() and checkServer() reject and reopen no node connection (every client)', async () => {
    for (const name of CLUSTER_CLIENT_NAMES) {
      const setup = await connectCluster(name, cluster);
      const sessions = store(setup.client);
      expect(await sessions.checkServer(), name).to.deep.equal([]);
      await setup.close();
      expect(await rejection(sessions.ping()), name).to.be.instanceOf(StoreUnavailableError);
      expect(await rejection(sessions.checkServer()), name).to.be.instanceOf(StoreUnavailableError);
      expect(nodeCount(setup), `${name}: node connections after close()`).to.equal(0);
    }
  });

  it('with one primary killed, ping() and checkServer() reject naming it, and auth.health() says so (every client)', async () => {
    // The primary that does NOT serve `<prefix>probe`: a probe of that one key alone would pass.
    const probeOwner = (await cluster.masterForKey(`${prefix}probe`)).port;
    const killed = await cluster.killMaster(ports().find((port) => port !== probeOwner));
    const auths: TokenAuth[] = [];
    try {
      for (const setup of setups) {
        const sessions = store(setup.client);
        const pinged = await rejection(sessions.ping());
        expect(pinged, setup.name).to.be.instanceOf(StoreUnavailableError);
        expect(pinged.message, setup.name).to.include(`127.0.0.1:${killed} failed the probe write`);
        const checked = await rejection(sessions.checkServer());
        expect(checked, setup.name).to.be.instanceOf(StoreUnavailableError);
        expect(checked.message, setup.name).to.include(`127.0.0.1:${killed} failed INFO`);

        const auth = makeAuth(sessions, () => Date.now() / 1000);
        auths.push(auth);
        const report = await auth.health();
        expect(report.ready, setup.name).to.equal(false);
        expect(report.store, setup.name).to.deep.include({ ok: false, kind: 'RedisSessionStore' });
        expect(report.store.error?.message, setup.name).to.include(`127.0.0.1:${killed}`);
      }
    } finally {
      await Promise.all(auths.map((auth) => auth.close()));
    }
  });
});
