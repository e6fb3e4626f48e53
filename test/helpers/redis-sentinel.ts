/**
 * A private Redis Sentinel set-up for tests: one master and `replicas`
 * replicas (tools/redis-server.ts's `RedisServer`: free ports, no
 * persistence, their own temp dirs), watched by 3 sentinels (`redis-sentinel`,
 * quorum 2, `down-after-milliseconds` 1000) on free ports. Suites can SIGKILL
 * the master, wait until every live sentinel names the replica that took
 * over, and stop everything. Whenever `start` resolves, every replica is in
 * sync and every sentinel knows every replica and every other sentinel, so a
 * failover can start at once. Caveat: the 'exit' hook cannot run if the test
 * process itself is SIGKILLed; then the servers outlive it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer, redisUnavailableReason } from '../../tools/redis-server.js';
import { command, commands } from './redis-cluster.js';
import { freePort } from './drop-in.js';

const sentinelBinary = process.env.REDIS_SENTINEL ?? 'redis-sentinel';
const host = '127.0.0.1';

/** Why a Sentinel set cannot be started here (no redis-server or redis-sentinel), or undefined. */
export function sentinelUnavailableReason(): string | undefined {
  const server = redisUnavailableReason(true);
  if (server !== undefined) return server;
  const found = spawnSync(sentinelBinary, ['--version'], { encoding: 'utf8' });
  if (found.error || found.status !== 0)
    return `no ${sentinelBinary} binary found (install it: apt-get install -y redis-sentinel)`;
  return undefined;
}

/** Like `requireCluster`: outside CI skips the suite with a reason; in CI (CI set) a missing binary fails it. */
export function requireSentinel(context: Mocha.Context): void {
  const reason = sentinelUnavailableReason();
  if (reason === undefined) return;
  if (process.env.CI) throw new Error(`Redis Sentinel is required in CI: ${reason}`);
  console.warn(`    Redis Sentinel suite not run: ${reason}`);
  context.skip();
}

export interface SentinelSetOptions {
  /** The master's name the sentinels monitor; default 'mymaster'. */
  name?: string;
  /** Replicas of the master; default 1. With `waitForReplicas: 1`, use 2 to keep writes going after a failover. */
  replicas?: number;
  /** `down-after-milliseconds`; default 1000. */
  downAfter?: number;
  /** `failover-timeout`; default 3000. */
  failoverTimeout?: number;
}

type Reply = Awaited<ReturnType<typeof command>>;

/** A flat `[field, value, ...]` reply (SENTINEL REPLICAS items) as a record. */
const record = (reply: Reply): Record<string, string> => {
  const items = Array.isArray(reply) ? reply.map(String) : [];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < items.length; i += 2) out[items[i]!] = items[i + 1]!;
  return out;
};

/** `field:value` lines (INFO) as a record. */
const info = (text: Reply): Record<string, string> =>
  Object.fromEntries(
    String(text)
      .split('\r\n')
      .map((l) => l.split(':'))
      .filter((kv) => kv.length === 2),
  ) as Record<string, string>;

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Sentinel {
  port: number;
  dir: string;
  process: ChildProcess;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const kill of live) kill();
});

export class RedisSentinelSet {
  readonly name: string;
  readonly #servers: RedisServer[] = [];
  readonly #sentinels: Sentinel[] = [];
  readonly #killed = new Set<number>();
  #masterPort = 0;
  /** Synchronous, for the 'exit' hook: SIGKILL every process, remove every dir. */
  readonly #kill = (): void => {
    for (const s of this.#sentinels) {
      s.process.kill('SIGKILL');
      rmSync(s.dir, { recursive: true, force: true });
    }
    for (const server of this.#servers) {
      void server.kill(); // sends SIGKILL at once
      rmSync(server.dir, { recursive: true, force: true });
    }
  };

  private constructor(name: string) {
    this.name = name;
  }

  /** The sentinels' addresses, as `createSentinel`'s `sentinelRootNodes` and ioredis's `sentinels` take them. */
  get sentinels(): Array<{ host: string; port: number }> {
    return this.#sentinels.map((s) => ({ host, port: s.port }));
  }

  /** The master's port as of `start` or the last `waitForFailover` (not live). */
  get masterPort(): number {
    return this.#masterPort;
  }

  /** The ports of the servers not killed, master included. */
  get livePorts(): number[] {
    return this.#servers.map((s) => s.port).filter((p) => !this.#killed.has(p));
  }

  static async start(options: SentinelSetOptions = {}): Promise<RedisSentinelSet> {
    const set = new RedisSentinelSet(options.name ?? 'mymaster');
    live.add(set.#kill);
    try {
      await set.#start(options.replicas ?? 1, options.downAfter ?? 1000, options.failoverTimeout ?? 3000);
    } catch (error) {
      await set.stop();
      throw error;
    }
    return set;
  }

  async #start(replicas: number, downAfter: number, failoverTimeout: number): Promise<void> {
    for (let i = 0; i <= replicas; i++) this.#servers.push(await RedisServer.start());
    const [master, ...others] = this.#servers;
    this.#masterPort = master!.port;
    for (const server of this.#servers) await command(server.port, 'CONFIG', 'SET', 'repl-diskless-sync-delay', '0');
    for (const replica of others) await command(replica.port, 'REPLICAOF', host, String(this.#masterPort));
    await this.#waitForReplication(this.#masterPort, replicas, Date.now() + 20_000);
    const ports = new Set<number>(this.#servers.map((s) => s.port));
    while (this.#sentinels.length < 3) {
      const port = await freePort();
      if (ports.has(port)) continue;
      ports.add(port);
      this.#sentinels.push(await this.#spawnSentinel(port, downAfter, failoverTimeout));
    }
    await this.#until('the sentinels know each other and every replica', 30_000, async () => {
      for (const s of this.#sentinels) {
        const known = await command(s.port, 'SENTINEL', 'REPLICAS', this.name);
        if (!Array.isArray(known) || known.length < replicas)
          return `${s.port} knows ${Array.isArray(known) ? known.length : 0} replicas`;
        const peers = await command(s.port, 'SENTINEL', 'SENTINELS', this.name);
        if (!Array.isArray(peers) || peers.length < 2)
          return `${s.port} knows ${Array.isArray(peers) ? peers.length : 0} other sentinels`;
      }
      return undefined;
    });
  }

  async #spawnSentinel(port: number, downAfter: number, failoverTimeout: number): Promise<Sentinel> {
    const dir = mkdtempSync(join(tmpdir(), 'etp-redis-sentinel-'));
    const conf = join(dir, 'sentinel.conf'); // the sentinel rewrites it: it must be its own, writable
    writeFileSync(
      conf,
      [
        `port ${port}`,
        `bind ${host}`,
        'protected-mode no',
        `dir ${dir}`,
        `logfile ${join(dir, 'sentinel.log')}`,
        'loglevel warning',
        `sentinel monitor ${this.name} ${host} ${this.#masterPort} 2`,
        `sentinel down-after-milliseconds ${this.name} ${downAfter}`,
        `sentinel failover-timeout ${this.name} ${failoverTimeout}`,
        `sentinel parallel-syncs ${this.name} 1`,
        '',
      ].join('\n'),
    );
    const child = spawn(sentinelBinary, [conf], { stdio: 'ignore' });
    child.on('error', () => {}); // e.g. ENOENT: reported below as "did not answer"
    child.unref(); // a forgotten stop() must not hang mocha; the 'exit' hook kills it
    const sentinel = { port, dir, process: child };
    await this.#until(`sentinel on ${port} answers`, 5000, async () => {
      if (child.exitCode !== null) throw new Error(`redis-sentinel exited with ${child.exitCode} on port ${port}`);
      return (await command(port, 'PING')) === 'PONG' ? undefined : 'no PONG';
    }).catch((error: unknown) => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw error;
    });
    return sentinel;
  }

  /** SIGKILLs the current master, as a crash would. Resolves its port once it is gone. */
  async killMaster(): Promise<number> {
    const port = this.#masterPort;
    const server = this.#servers.find((s) => s.port === port)!;
    await server.kill();
    this.#killed.add(port);
    return port;
  }

  /**
   * Polls until every sentinel names a live master other than the one before
   * (its ROLE says master), and every other live server replicates from it
   * with its link up and in sync (a write there reaches them all). Resolves
   * the new master's port; rejects after `timeoutMs`.
   */
  async waitForFailover(timeoutMs = 60_000): Promise<number> {
    const before = this.#masterPort;
    let next = 0;
    await this.#until('a new master', timeoutMs, async () => {
      const named = await Promise.all(
        this.#sentinels.map(async (s) => {
          const reply = await command(s.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name);
          return Array.isArray(reply) ? Number(reply[1]) : 0;
        }),
      );
      next = named[0]!;
      if (named.some((p) => p !== next)) return `sentinels disagree: ${named.join(', ')}`;
      if (next === before || this.#killed.has(next)) return `sentinels still name ${next}`;
      const role = await command(next, 'ROLE');
      if (!Array.isArray(role) || role[0] !== 'master') return `${next} is not a master yet`;
      for (const port of this.livePorts.filter((p) => p !== next)) {
        const replication = info(await command(port, 'INFO', 'replication'));
        if (replication.master_port !== String(next) || replication.master_link_status !== 'up')
          return `${port} does not replicate from ${next} yet`;
      }
      return undefined;
    });
    this.#masterPort = next;
    await this.#waitForReplication(next, this.livePorts.length - 1, Date.now() + timeoutMs);
    return next;
  }

  /** SENTINEL REPLICAS as seen by the first sentinel: each replica's fields. */
  async replicas(): Promise<Array<Record<string, string>>> {
    const reply = await command(this.#sentinels[0]!.port, 'SENTINEL', 'REPLICAS', this.name);
    return Array.isArray(reply) ? reply.map(record) : [];
  }

  /** Kills every process and removes every dir; safe to call twice. */
  async stop(): Promise<void> {
    live.delete(this.#kill);
    await Promise.all([
      ...this.#sentinels.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.process.exitCode !== null || s.process.signalCode !== null) {
              resolve();
              return;
            }
            s.process.once('exit', () => resolve());
            s.process.kill('SIGKILL');
          }),
      ),
      ...this.#servers.map((s) => s.stop()),
    ]);
    for (const s of this.#sentinels) rmSync(s.dir, { recursive: true, force: true });
  }

  /** Resolves once a write to the master on `port` reached `replicas` replicas (SET, DEL, WAIT); rejects at `deadline`. */
  async #waitForReplication(port: number, replicas: number, deadline: number): Promise<void> {
    const key = 'etp-harness:sentinel-sync';
    let acked = 0;
    while (Date.now() < deadline) {
      const replies = await commands(
        port,
        [
          ['SET', key, '1'],
          ['DEL', key],
          ['WAIT', String(replicas), '200'],
        ],
        2000,
      ).catch(() => [0, 0, 0]);
      acked = Number(replies[2]);
      if (acked >= replicas) return;
      await pause(50);
    }
    throw new Error(`writes to master ${port} did not reach its ${replicas} replica(s) in time (last WAIT: ${acked})`);
  }

  /** Polls `check` (undefined: done; a string: why not yet; a throw counts as not yet) until `timeoutMs`. */
  async #until(what: string, timeoutMs: number, check: () => Promise<string | undefined>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let why = '';
    for (;;) {
      try {
        const reason = await check();
        if (reason === undefined) return;
        why = reason;
      } catch (error) {
        why = String(error);
      }
      if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms (${why})`);
      await pause(50);
    }
  }
}
