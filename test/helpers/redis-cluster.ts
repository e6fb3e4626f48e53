/**
 * A private Redis Cluster for tests: N masters with R replicas each, as plain
 * `redis-server --cluster-enabled yes` processes on free ports (127.0.0.1, no
 * persistence, one temp dir per node), joined by `redis-cli --cluster create`.
 * Suites can kill a master, wait for its replica to take over, and bring the
 * old node back. Every replica is in sync whenever `start` and `restartNode`
 * resolve (a write to its master has reached it), so a master killed from
 * then on loses no acknowledged write. Caveat: the 'exit' hook cannot run if
 * the test process itself is SIGKILLed; then the servers outlive it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisUnavailableReason } from './redis-server.js';

const serverBinary = process.env.REDIS_SERVER ?? 'redis-server';
const cliBinary = process.env.REDIS_CLI ?? 'redis-cli';
const host = '127.0.0.1';

/** Why a cluster cannot be started here (no redis-server or redis-cli), or undefined. */
export function clusterUnavailableReason(): string | undefined {
  const server = redisUnavailableReason(true);
  if (server !== undefined) return server;
  const cli = spawnSync(cliBinary, ['--version'], { encoding: 'utf8' });
  if (cli.error || cli.status !== 0) return `no ${cliBinary} binary found (install it: apt-get install -y redis-tools)`;
  return undefined;
}

/** Like `requireRedis`: outside CI skips the suite with a reason; in CI (CI set) a missing binary fails it. */
/**
 * Prints how long the enclosing suite took (from its first before hook to its
 * last after hook), so that CI's log shows what the cluster suites cost.
 * Call it in the suite's body.
 */
export function reportDuration(what: string): void {
  let started = 0;
  before(() => {
    started = Date.now();
  });
  after(() => {
    if (started) console.log(`      ${what} took ${Date.now() - started} ms`);
  });
}

export function requireCluster(context: Mocha.Context): void {
  const reason = clusterUnavailableReason();
  if (reason === undefined) return;
  if (process.env.CI) throw new Error(`Redis Cluster is required in CI: ${reason}`);
  console.warn(`    Redis Cluster suite not run: ${reason}`);
  context.skip();
}

/**
 * `n` distinct free ports (all held open at once, so none repeats). Bus ports are
 * picked here too (`--cluster-port`): the default port + 10000 may be taken or > 65535.
 */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer().on('error', reject);
          server.listen(0, host, () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === 'object' && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

type Reply = string | number | null | Reply[];

/** Parses one RESP2 reply at `at`: [reply, next offset], or undefined if incomplete. Error replies throw. */
function parseReply(buf: Buffer, at: number): [Reply, number] | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return [line, next];
    case '-':
      throw new Error(line);
    case ':':
      return [Number(line), next];
    case '$': {
      const size = Number(line);
      if (size < 0) return [null, next];
      return buf.length < next + size + 2 ? undefined : [buf.toString('utf8', next, next + size), next + size + 2];
    }
    case '*': {
      const items: Reply[] = [];
      let pos = next;
      for (let i = 0; i < Number(line); i++) {
        const item = parseReply(buf, pos);
        if (!item) return undefined;
        [items[i], pos] = item;
      }
      return [items, pos];
    }
    default:
      throw new Error(`unexpected RESP reply: ${buf.toString('utf8', at, eol)}`);
  }
}

/** Runs one command on 127.0.0.1:`port` over a fresh connection (rejects on error reply, refusal or timeout). */
export async function command(port: number, ...args: string[]): Promise<Reply> {
  return (await commands(port, [args]))[0]!;
}

/**
 * Runs `list` in order on one fresh connection to 127.0.0.1:`port` (one write), and
 * resolves with their replies; rejects on any error reply, refusal, or after `timeoutMs`.
 */
export function commands(port: number, list: string[][], timeoutMs = 1000): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const socket = createConnection({ port, host });
    const what = list.map((args) => args[0]).join('+');
    const fail = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`${what} on ${port} timed out`)));
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`${what} on ${port}: connection closed`)));
    socket.on('connect', () =>
      socket.write(
        list
          .map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`)
          .join(''),
      ),
    );
    socket.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      try {
        const replies: Reply[] = [];
        for (let at = 0; replies.length < list.length;) {
          const parsed = parseReply(buf, at);
          if (!parsed) return;
          replies.push(parsed[0]);
          at = parsed[1];
        }
        socket.destroy();
        resolve(replies);
      } catch (error) {
        fail(error as Error);
      }
    });
  });
}

/** `field:value` lines (INFO, CLUSTER INFO) as a record. */
const fields = (text: Reply): Record<string, string> =>
  Object.fromEntries(
    String(text)
      .split('\r\n')
      .map((l) => l.split(':'))
      .filter((kv) => kv.length === 2),
  ) as Record<string, string>;

export interface ClusterNode {
  readonly port: number;
  /** Role as of the last `start`/`waitForFailover`/`restartNode` (not live). */
  readonly role: 'master' | 'replica';
  /** A replica's master port (undefined for a master). */
  readonly masterPort: number | undefined;
  /** False between `killMaster` and `restartNode`. */
  readonly alive: boolean;
  readonly process: ChildProcess;
  readonly dir: string;
}

interface NodeState {
  port: number;
  bus: number;
  dir: string;
  process: ChildProcess;
  role: 'master' | 'replica';
  masterPort: number | undefined;
  alive: boolean;
  killedAt?: number;
}

/** One node's CLUSTER NODES line: port, flags, master id, slots. */
interface View {
  id: string;
  port: number;
  flags: string[];
  master: string;
  link: string;
  slots: number;
}

const live = new Set<() => void>();
process.on('exit', () => {
  for (const kill of live) kill();
});

export class RedisCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'etp-redis-cluster-'));
  #nodes: NodeState[] = [];
  #kill = (): void => {
    for (const node of this.#nodes) node.process.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  };

  private constructor() {
    live.add(this.#kill);
  }

  /**
   * Starts `masters` masters with `replicasPerMaster` replicas each (default 3 × 1)
   * and resolves once all 16384 slots are served, every node says cluster_state:ok,
   * every replica's link is up and each master's writes reach its replicas (see
   * `restartNode`). Retries twice if a port was taken meanwhile.
   */
  static async start({ masters = 3, replicasPerMaster = 1 } = {}): Promise<RedisCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = new RedisCluster();
      try {
        const count = masters * (1 + replicasPerMaster);
        const ports = await freePorts(2 * count);
        cluster.#nodes = Array.from({ length: count }, (_, i) => ({
          port: ports[i]!,
          bus: ports[count + i]!,
          dir: join(cluster.dir, String(ports[i])),
          process: undefined as unknown as ChildProcess,
          role: 'master' as const,
          masterPort: undefined,
          alive: true,
        }));
        await Promise.all(cluster.#nodes.map((node) => cluster.#spawn(node)));
        cluster.#create(replicasPerMaster);
        await cluster.#waitUntil('cluster ready', 30_000, (views) => {
          const [myMasters, myReplicas] = [
            views.filter((v) => v.flags.includes('master')),
            views.filter((v) => v.flags.includes('slave')),
          ];
          if (myMasters.length !== masters || myReplicas.length !== count - masters)
            return `${myMasters.length} masters, ${myReplicas.length} replicas`;
          return myMasters.every((m) => myReplicas.filter((r) => r.master === m.id).length === replicasPerMaster)
            ? undefined
            : 'uneven replicas';
        });
        if (replicasPerMaster > 0) {
          const deadline = Date.now() + 10_000;
          for (const master of cluster.masters()) await cluster.#waitForReplication(master.port, deadline);
        }
        return cluster;
      } catch (error) {
        await cluster.stop();
        if (attempt >= 3 || !String(error).includes('exited')) throw error;
      }
    }
  }

  /** Every node, killed ones included. */
  get nodes(): readonly ClusterNode[] {
    return this.#nodes;
  }
  /** Live masters, by port. */
  masters(): ClusterNode[] {
    return this.#nodes.filter((n) => n.alive && n.role === 'master').sort((a, b) => a.port - b.port);
  }
  /** The live replicas of `master` (a node or its port). */
  replicasOf(master: ClusterNode | number): ClusterNode[] {
    const port = typeof master === 'number' ? master : master.port;
    return this.#nodes.filter((n) => n.alive && n.masterPort === port);
  }
  /** Live nodes as node-redis `createCluster({ rootNodes })` wants them. */
  get rootNodes(): Array<{ url: string }> {
    return this.#live().map((n) => ({ url: `redis://${host}:${n.port}` }));
  }
  /** Live nodes as ioredis `new Cluster(startupNodes)` wants them. */
  get startupNodes(): Array<{ host: string; port: number }> {
    return this.#live().map((n) => ({ host, port: n.port }));
  }
  /** Live nodes as one comma list: `redis://127.0.0.1:p1,redis://127.0.0.1:p2,...`. */
  get urls(): string {
    return this.rootNodes.map((n) => n.url).join(',');
  }

  /** The live master serving `key`'s slot (CLUSTER KEYSLOT, then `masterForSlot`, asked of one live node). */
  async masterForKey(key: string): Promise<ClusterNode> {
    const asked = this.#live()[0]!.port;
    return this.masterForSlot(Number(await command(asked, 'CLUSTER', 'KEYSLOT', key)), asked);
  }

  /** SIGKILLs a master: the one on `target` (a port), or serving `target` (a key); default the first. Resolves with its port. */
  async killMaster(target?: number | string): Promise<number> {
    const node =
      typeof target === 'string'
        ? await this.masterForKey(target)
        : target === undefined
          ? this.masters()[0]
          : this.#nodes.find((n) => n.port === target);
    if (!node || !node.alive || node.role !== 'master') throw new Error(`no live master for ${target}`);
    const state = this.#nodes.find((n) => n.port === node.port)!;
    await new Promise((resolve) => {
      state.process.once('exit', resolve);
      state.process.kill('SIGKILL');
    });
    Object.assign(state, { alive: false, killedAt: Date.now() });
    return state.port;
  }

  /**
   * Resolves once a former replica of the killed master on `oldPort` serves its slots
   * and every survivor says cluster_state:ok, with the ms since the kill (timeout default 20 s).
   */
  async waitForFailover(oldPort: number, timeoutMs = 20_000): Promise<number> {
    const old = this.#nodes.find((n) => n.port === oldPort);
    if (!old || old.alive || old.killedAt === undefined) throw new Error(`node ${oldPort} was not killed`);
    const formerReplicas = new Set(this.#nodes.filter((n) => n.masterPort === oldPort).map((n) => n.port));
    await this.#waitUntil(`failover of ${oldPort}`, timeoutMs, (views) =>
      views.some((v) => formerReplicas.has(v.port) && v.flags.includes('master') && v.slots > 0)
        ? undefined
        : 'no replica promoted',
    );
    return Date.now() - old.killedAt;
  }

  /**
   * Starts a killed node again (same port, dir and nodes.conf); resolves once it
   * is a replica with its link up and its master's writes reach it. The link
   * being up is not enough: after a diskless full sync (how a rejoining node
   * gets its data), the master starts streaming writes on the replica's first
   * REPLCONF ACK after it has reaped its RDB child; the ACK the replica sends
   * as soon as it has loaded the data often comes before that, and the next
   * one up to a second later. A master killed meanwhile takes the writes it
   * acknowledged in that time with it (Redis replicates asynchronously).
   */
  async restartNode(port: number, timeoutMs = 20_000): Promise<void> {
    const node = this.#nodes.find((n) => n.port === port);
    if (!node || node.alive) throw new Error(`node ${port} is not a killed node of this cluster`);
    const deadline = Date.now() + timeoutMs;
    await this.#spawn(node);
    node.alive = true;
    await this.#waitUntil(`rejoin of ${port}`, timeoutMs, (views) =>
      views.find((v) => v.port === port)?.flags.includes('slave') ? undefined : `${port} is not a replica yet`,
    );
    await this.#waitForReplication(node.masterPort!, deadline);
  }

  /**
   * Reshards one slot to the master on `toPort`, as `redis-cli --cluster reshard`
   * does: IMPORTING on the target, MIGRATING on the source, its keys moved with
   * MIGRATE (DUMP/RESTORE: a stream keeps its ids and counters), then SETSLOT
   * NODE on every master. `keys: 'drop'` deletes the slot's keys on the source
   * instead of moving them (a reshard that loses its data). Resolves once every
   * live node agrees, with the source's port.
   */
  async moveSlot(
    slot: number,
    toPort: number,
    { keys = 'migrate' }: { keys?: 'migrate' | 'drop' } = {},
  ): Promise<number> {
    const source = await this.masterForSlot(slot);
    if (source.port === toPort) throw new Error(`slot ${slot} is already on ${toPort}`);
    const id = async (port: number): Promise<string> => String(await command(port, 'CLUSTER', 'MYID'));
    const [sourceId, targetId] = [await id(source.port), await id(toPort)];
    await command(toPort, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', sourceId);
    await command(source.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', targetId);
    for (;;) {
      const found = (await command(source.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '100')) as string[];
      if (found.length === 0) break;
      if (keys === 'drop') await command(source.port, 'DEL', ...found);
      else await command(source.port, 'MIGRATE', host, String(toPort), '', '0', '5000', 'KEYS', ...found);
    }
    for (const port of [toPort, source.port, ...this.masters().map((m) => m.port)]) {
      await command(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', targetId);
    }
    await this.#waitUntil(`slot ${slot} on ${toPort}`, 20_000, () => undefined);
    for (;;) {
      const views = await Promise.all(this.#live().map((n) => this.masterForSlot(slot, n.port)));
      if (views.every((n) => n.port === toPort)) return source.port;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The live master serving `slot`, as the node on `askPort` (default: a live one) sees it (CLUSTER SHARDS). */
  async masterForSlot(slot: number, askPort = this.#live()[0]!.port): Promise<ClusterNode> {
    const map = (flat: Reply): Map<string, Reply> => {
      const list = flat as Reply[];
      return new Map(list.flatMap((v, i) => (i % 2 === 0 ? [[String(v), list[i + 1]!] as const] : [])));
    };
    for (const shard of (await command(askPort, 'CLUSTER', 'SHARDS')) as Reply[]) {
      const ranges = map(shard).get('slots') as number[];
      if (!ranges.some((start, i) => i % 2 === 0 && start <= slot && slot <= ranges[i + 1]!)) continue;
      const master = (map(shard).get('nodes') as Reply[])
        .map(map)
        .find((n) => n.get('role') === 'master' && n.get('health') === 'online');
      const node = this.#nodes.find((n) => n.port === Number(master?.get('port')));
      if (node) return node;
    }
    throw new Error(`no online master serves slot ${slot}`);
  }

  /** Kills every node and removes the temp dirs. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(
      this.#nodes.map((n) =>
        n.process.exitCode !== null || n.process.signalCode !== null
          ? Promise.resolve()
          : new Promise((resolve) => {
              n.process.once('exit', resolve);
              n.process.kill('SIGKILL');
            }),
      ),
    );
    for (const n of this.#nodes) n.alive = false;
    this.#kill();
    live.delete(this.#kill);
  }

  #live(): NodeState[] {
    return this.#nodes.filter((n) => n.alive);
  }

  /**
   * Resolves once a write to the master on `port` has reached every live replica
   * of it: SET and DEL of a key in its slots (no key is left), then WAIT for
   * that many replicas, on one connection; again until they all acknowledge it,
   * or rejects at `deadline`.
   */
  async #waitForReplication(port: number, deadline: number): Promise<void> {
    const replicas = this.replicasOf(port).length;
    let key: string | undefined;
    for (let i = 0; key === undefined; i++) {
      if (i === 1000) throw new Error(`master ${port} serves no slot`);
      if ((await this.masterForKey(`etp-harness:sync:${i}`)).port === port) key = `etp-harness:sync:${i}`;
    }
    let acked = 0;
    while (Date.now() < deadline) {
      acked = Number(
        (
          await commands(
            port,
            [
              ['SET', key, '1'],
              ['DEL', key],
              ['WAIT', String(replicas), '200'],
            ],
            2000,
          )
        )[2],
      );
      if (acked >= replicas) return;
    }
    throw new Error(`writes to master ${port} did not reach its ${replicas} replica(s) in time (last WAIT: ${acked})`);
  }

  async #spawn(node: NodeState): Promise<void> {
    mkdirSync(node.dir, { recursive: true });
    node.process = spawn(
      serverBinary,
      [
        '--port',
        String(node.port),
        '--cluster-port',
        String(node.bus),
        '--bind',
        host,
        '--protected-mode',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(node.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '1000',
        // Any replica may take over at once (no data-age check); no replica shuffling between masters.
        '--cluster-replica-validity-factor',
        '0',
        '--cluster-allow-replica-migration',
        'no',
        '--save',
        '',
        '--appendonly',
        'no',
        '--repl-diskless-sync-delay',
        '0',
        '--dir',
        node.dir,
        '--loglevel',
        'warning',
        '--logfile',
        join(node.dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    node.process.on('error', () => {}); // e.g. ENOENT: reported below as "did not answer"
    node.process.unref(); // a forgotten stop() must not hang mocha; the 'exit' hook kills it
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (node.process.exitCode !== null)
        throw new Error(`redis-server exited with ${node.process.exitCode} on port ${node.port}`);
      if (
        await command(node.port, 'PING').then(
          (r) => r === 'PONG',
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`redis-server did not answer on port ${node.port}`);
  }

  /** `redis-cli --cluster create` with no stdin (CI has none): --cluster-yes answers its prompt. Blocks ~1-2 s. */
  #create(replicas: number): void {
    const args = [
      '--cluster',
      'create',
      ...this.#nodes.map((n) => `${host}:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ];
    const run = spawnSync(cliBinary, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30_000 });
    const output = `${run.stdout}${run.stderr}`;
    if (run.status !== 0 || !output.includes('[OK] All 16384 slots covered'))
      throw new Error(`redis-cli --cluster create failed (${run.status}):\n${output}`);
  }

  /** CLUSTER NODES as seen by `port`. */
  async #views(port: number): Promise<View[]> {
    return String(await command(port, 'CLUSTER', 'NODES'))
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, master, , , , link, ...slots] = line.split(' ');
        return {
          id: id!,
          port: Number(/:(\d+)@/.exec(address!)?.[1]),
          flags: flags!.split(','),
          master: master!,
          link: link!,
          slots: slots.length,
        };
      });
  }

  /**
   * Polls until every live node says cluster_state:ok with 16384 slots ok, sees
   * every other live node connected and healthy, agrees with the first on each
   * live node's role, each replica's link is up, and `extra` (given the first
   * live node's view) returns undefined. Then refreshes `nodes`' roles.
   */
  async #waitUntil(what: string, timeoutMs: number, extra: (views: View[]) => string | undefined): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ports = new Set(this.#live().map((n) => n.port));
    const roleOf = (views: View[], v: View): string =>
      v.flags.includes('master') ? 'master' : `replica of ${views.find((m) => m.id === v.master)?.port}`;
    let why = '';
    for (;;) {
      try {
        const views = await Promise.all([...ports].map((p) => this.#views(p)));
        const first = views[0]!.filter((v) => ports.has(v.port));
        why = extra(first) ?? '';
        for (const [i, port] of [...ports].entries()) {
          const info = fields(await command(port, 'CLUSTER', 'INFO'));
          if (info.cluster_state !== 'ok' || info.cluster_slots_ok !== '16384')
            why ||= `${port}: state ${info.cluster_state}, ${info.cluster_slots_ok} slots ok`;
          for (const v of views[i]!.filter((w) => ports.has(w.port))) {
            const agreed = first.find((w) => w.port === v.port);
            if (v.link !== 'connected' || v.flags.some((f) => f.startsWith('fail') || f === 'handshake'))
              why ||= `${port} sees ${v.port} as ${v.flags.join(',')} ${v.link}`;
            else if (!agreed || roleOf(views[i]!, v) !== roleOf(views[0]!, agreed))
              why ||= `${port} and ${[...ports][0]} disagree on ${v.port}`;
          }
          const me = views[i]!.find((v) => v.flags.includes('myself'));
          if (
            me?.flags.includes('slave') &&
            fields(await command(port, 'INFO', 'replication')).master_link_status !== 'up'
          )
            why ||= `${port}: link to master down`;
        }
        if (!why) {
          for (const node of this.#live()) {
            const v = first.find((w) => w.port === node.port)!;
            node.role = v.flags.includes('master') ? 'master' : 'replica';
            node.masterPort = node.role === 'master' ? undefined : views[0]!.find((m) => m.id === v.master)?.port;
          }
          return;
        }
      } catch (error) {
        why = String(error);
      }
      if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms (${why})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
