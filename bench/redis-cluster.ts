/**
 * A private Redis Cluster for the bench: `masters` redis-server processes
 * with cluster mode on free ports (no replicas, no persistence, one temp dir
 * each), joined by `redis-cli --cluster create`. Never touches a Redis you
 * run. (The tests' harness, test/helpers/redis-cluster.ts, also kills and
 * restarts nodes; bench never imports test/.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

const host = '127.0.0.1';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface BenchCluster {
  ports: number[];
  rootNodes: Array<{ url: string }>;
  /** One command on the node on `port` (a fresh connection). */
  command(port: number, args: string[]): Promise<unknown>;
  stop(): void;
}

/** Starts the cluster; resolves once every node says cluster_state:ok. */
export async function startCluster(masters = 3): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'etp-bench-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < masters; i += 1) ports.push(await freePort());
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      process.env.REDIS_SERVER ?? 'redis-server',
      [
        ...['--port', String(port), '--bind', host, '--protected-mode', 'no', '--cluster-enabled', 'yes'],
        ...['--cluster-config-file', join(dir, `${port}.conf`), '--save', '', '--appendonly', 'no', '--dir', dir],
      ],
      { stdio: 'ignore' },
    ),
  );
  const stop = (): void => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const command = async (port: number, args: string[]): Promise<unknown> => {
    const client = createClient({ url: `redis://${host}:${port}` });
    client.on('error', () => {});
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  };
  try {
    for (const port of ports) await until(async () => (await command(port, ['PING']).catch(() => '')) === 'PONG');
    const create = spawnSync(
      process.env.REDIS_CLI ?? 'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `${host}:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const port of ports) {
      await until(async () => String(await command(port, ['CLUSTER', 'INFO'])).includes('cluster_state:ok'));
    }
  } catch (error) {
    stop();
    throw error;
  }
  return { ports, rootNodes: ports.map((p) => ({ url: `redis://${host}:${p}` })), command, stop };
}

async function until(condition: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('bench cluster: not ready in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
