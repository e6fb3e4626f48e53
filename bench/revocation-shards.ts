/**
 * The cost of following N revocation shards on a Redis Cluster
 * (`RedisSessionStore` `shards`, issue 15): `npx tsx bench/revocation-shards.ts
 * [--seconds 5] [--shards 1,16,64,256]`. On a private 3-master cluster, for
 * each shard count, one instance's feed (revocationMaxLag 1 s: a poll of every
 * shard every 250 ms), every shard's stream holding an entry, is measured: the step scripts it sends per second
 * (EVALSHA, commandstats), the commands Redis runs for them per second (a
 * step script runs 4 or 5), the Redis CPU it costs (INFO cpu, sys + user, all
 * masters, minus the idle cluster's), and the delay from a logout on another
 * client to the feed delivering it (20 logouts at spread phases of the poll).
 */
import { createCluster } from 'redis';
import { RedisSessionStore } from '../lib/index.js';
import { startCluster, type BenchCluster } from './redis-cluster.js';
import { median } from './stats.js';
import { shardOf } from '../lib/stores/redis/layout.js';

interface Totals {
  commands: number;
  evalsha: number;
  cpu: number;
}

function argument(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1]! : fallback;
}

async function totals(cluster: BenchCluster): Promise<Totals> {
  const sum: Totals = { commands: 0, evalsha: 0, cpu: 0 };
  for (const port of cluster.ports) {
    const text = String(await cluster.command(port, ['INFO', 'stats', 'cpu', 'commandstats']));
    const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
    sum.commands += field('total_commands_processed');
    sum.cpu += field('used_cpu_sys') + field('used_cpu_user');
    sum.evalsha += Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(text)?.[1] ?? 0);
  }
  return sum;
}

/** Per second over `seconds` of what happens meanwhile; INFO's own calls (one per master per reading) taken out. */
async function rates(cluster: BenchCluster, seconds: number): Promise<Totals> {
  const before = await totals(cluster);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const after = await totals(cluster);
  return {
    commands: (after.commands - before.commands - cluster.ports.length) / seconds,
    evalsha: (after.evalsha - before.evalsha) / seconds,
    cpu: (after.cpu - before.cpu) / seconds,
  };
}

async function connect(cluster: BenchCluster): Promise<ReturnType<typeof createCluster>> {
  const client = createCluster({ rootNodes: cluster.rootNodes, defaults: { disableOfflineQueue: true } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

async function measure(cluster: BenchCluster, shards: number, seconds: number, idleCpu: number): Promise<string[]> {
  const writerClient = await connect(cluster);
  const feedClient = await connect(cluster);
  const prefix = `etp-bench:shards${shards}:`;
  const writer = new RedisSessionStore({ client: writerClient, prefix, shards });
  const feed = new RedisSessionStore({ client: feedClient, prefix, shards }).revocations();
  const seen = new Map<string, number>();
  try {
    // One entry in every shard's stream, as a live deployment has: each step then reads XINFO and XRANGE too.
    const now = Math.floor(Date.now() / 1000);
    for (let shard = 0, k = 0; shard < shards; k += 1) {
      if (shardOf(`fill-${k}`, shards) !== shard) continue;
      const session = {
        userId: `fill-${k}`,
        sessionId: `f-${k}`,
        jti: 'j',
        ttl: 60,
        maxLifetime: 60,
        claims: {},
        meta: {},
      };
      await writer.create(session, { now, revocationTtl: 60, maxSessions: 5 });
      await writer.revoke({ now, revocationTtl: 60, userId: session.userId, sessionId: session.sessionId, grace: 0 });
      shard += 1;
    }
    await feed.follow((r) => seen.set(r.id, performance.now()), 0, { maxLag: 1000 });
    const rate = await rates(cluster, seconds);
    const delays: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const sessionId = `s-${shards}-${i}`;
      const now = Math.floor(Date.now() / 1000);
      const session = { userId: `u-${i}`, sessionId, jti: 'j', ttl: 60, maxLifetime: 60, claims: {}, meta: {} };
      await writer.create(session, { now, revocationTtl: 60, maxSessions: 5 });
      await new Promise((resolve) => setTimeout(resolve, (i * 53) % 250));
      await writer.revoke({ now, revocationTtl: 60, userId: session.userId, sessionId, grace: 0 });
      const ended = performance.now();
      while (!seen.has(sessionId)) await new Promise((resolve) => setTimeout(resolve, 1));
      delays.push(seen.get(sessionId)! - ended);
    }
    return [
      String(shards),
      rate.evalsha.toFixed(1),
      rate.commands.toFixed(0),
      `${(Math.max(0, rate.cpu - idleCpu) * 100).toFixed(2)} %`,
      `${median(delays).toFixed(0)} / ${Math.max(...delays).toFixed(0)} ms`,
    ];
  } finally {
    await feed.close();
    writerClient.destroy();
    feedClient.destroy();
  }
}

async function main(): Promise<void> {
  const seconds = Number(argument('seconds', '5'));
  const counts = argument('shards', '1,16,64,256').split(',').map(Number);
  const cluster = await startCluster(3);
  try {
    const idle = await rates(cluster, seconds);
    const rows = [['shards', 'step scripts/s', 'Redis commands/s', 'Redis CPU', 'delay median / max']];
    for (const shards of counts) {
      rows.push(await measure(cluster, shards, seconds, idle.cpu));
      process.stderr.write(`shards ${shards}: done\n`);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    console.log(`One instance following every shard (poll 250 ms), 3-master cluster, ${seconds} s per row;`);
    console.log(
      `idle cluster: ${idle.commands.toFixed(0)} commands/s, ${(idle.cpu * 100).toFixed(2)} % CPU (subtracted)`,
    );
    for (const row of rows) console.log(`| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`);
  } finally {
    cluster.stop();
  }
}

await main();
