/**
 * The RedisCluster test harness itself: a real 3-master, 3-replica cluster on
 * local ports, reachable from node-redis v5 and ioredis, that fails over when
 * a master is killed and takes the old master back as a replica.
 */
import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { RedisCluster, requireCluster } from './helpers/redis-cluster.js';

/** One command on a standalone (non-cluster) connection to one node. */
async function direct(port: number, args: string[]): Promise<unknown> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

describe('RedisCluster test harness (a real local Redis Cluster)', function () {
  this.timeout(60_000);
  let cluster: RedisCluster;
  let io: Cluster | undefined;
  /** Three keys, each served by a different master. */
  const keys: string[] = [];

  before(async function () {
    requireCluster(this);
    const started = Date.now();
    cluster = await RedisCluster.start();
    console.log(`      cluster of ${cluster.nodes.length} nodes ready in ${Date.now() - started} ms`);
  });

  after(async () => {
    io?.disconnect();
    await cluster?.stop();
    await cluster?.stop(); // twice is safe
  });

  it('starts 3 masters with 1 replica each, every node on its own port', () => {
    const masters = cluster.masters();
    expect(masters).to.have.length(3);
    expect(cluster.nodes.filter((n) => n.role === 'replica')).to.have.length(3);
    for (const master of masters) {
      const replicas = cluster.replicasOf(master);
      expect(replicas, `replicas of ${master.port}`).to.have.length(1);
      expect(replicas[0]!.masterPort).to.equal(master.port);
    }
    const ports = cluster.nodes.map((n) => n.port);
    expect(new Set(ports).size).to.equal(6);
    expect(cluster.urls).to.equal(ports.map((p) => `redis://127.0.0.1:${p}`).join(','));
    expect(cluster.startupNodes).to.deep.equal(ports.map((port) => ({ host: '127.0.0.1', port })));
  });

  it("serves keys in every master's slots through node-redis v5 createCluster and ioredis Cluster", async () => {
    const owners = new Map<number, string>();
    for (let i = 0; owners.size < 3 && i < 100; i++) {
      const owner = await cluster.masterForKey(`etp-cluster:${i}`);
      if (!owners.has(owner.port)) owners.set(owner.port, `etp-cluster:${i}`);
    }
    expect([...owners.keys()].sort()).to.deep.equal(
      cluster
        .masters()
        .map((m) => m.port)
        .sort(),
    );
    keys.push(...owners.values());

    const nodeRedis = createCluster({ rootNodes: cluster.rootNodes });
    nodeRedis.on('error', () => {});
    await nodeRedis.connect();
    io = new Cluster(cluster.startupNodes);
    io.on('error', () => {});
    try {
      for (const key of keys) {
        await nodeRedis.set(key, `node-redis ${key}`);
        expect(await io.get(key)).to.equal(`node-redis ${key}`);
        await io.set(key, `ioredis ${key}`);
        expect(await nodeRedis.get(key)).to.equal(`ioredis ${key}`);
      }
    } finally {
      nodeRedis.destroy();
    }
    // masterForKey names the node that really holds the key; another master redirects.
    for (const [port, key] of owners) {
      expect(await direct(port, ['GET', key])).to.equal(`ioredis ${key}`);
      const other = [...owners.keys()].find((p) => p !== port)!;
      const moved = await direct(other, ['GET', key]).then(
        () => 'served',
        (e: unknown) => String(e),
      );
      expect(moved)
        .to.match(/MOVED \d+ 127\.0\.0\.1:(\d+)/)
        .and.include(`:${port}`);
    }
  });

  let oldPort = 0;
  let promoted = 0;

  it('fails over when the master of a key is killed, and serves that slot again', async () => {
    const key = keys[0]!;
    const oldMaster = await cluster.masterForKey(key);
    const replica = cluster.replicasOf(oldMaster)[0]!.port;
    // The value written above must have reached the replica before the crash.
    expect(await direct(oldMaster.port, ['WAIT', '1', '2000'])).to.equal(1);

    oldPort = await cluster.killMaster(key);
    expect(oldPort).to.equal(oldMaster.port);
    expect(cluster.nodes.find((n) => n.port === oldPort)!.alive).to.be.false;
    const took = await cluster.waitForFailover(oldPort);
    console.log(`      failover of master ${oldPort} to replica ${replica} took ${took} ms`);

    promoted = (await cluster.masterForKey(key)).port;
    expect(promoted, 'the new master of the slot').to.equal(replica);
    expect(cluster.nodes.find((n) => n.port === replica)!.role).to.equal('master');
    expect(cluster.masters()).to.have.length(3);
    expect(await io!.get(key), 'the value from before the crash').to.equal(`ioredis ${key}`);
    await io!.set(key, 'after failover');
    expect(await io!.get(key)).to.equal('after failover');
    expect(await direct(promoted, ['GET', key])).to.equal('after failover');
  });

  it('restartNode brings the killed master back as a replica of the promoted one', async () => {
    expect(oldPort, 'the failover test ran').to.not.equal(0);
    await cluster.restartNode(oldPort);
    const back = cluster.nodes.find((n) => n.port === oldPort)!;
    expect(back.alive).to.be.true;
    expect(back.role).to.equal('replica');
    expect(back.masterPort).to.equal(promoted);
    expect(cluster.replicasOf(promoted).map((n) => n.port)).to.deep.equal([oldPort]);
    expect(await direct(oldPort, ['INFO', 'replication'])).to.match(/master_link_status:up/);
  });
});
