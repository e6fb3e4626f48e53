/**
 * `waitForReplicas` never counts a write its `WAIT` did not follow: `WAIT`
 * counts the replicas that have the writes of the connection it runs on, so
 * one sent on a fresh connection (the client reconnected between the script
 * and its `WAIT`) answers at once with the connected replicas, for a write no
 * replica has. On real servers, for every client kind:
 * - the client reconnected before the `WAIT` left (its connection killed with
 *   CLIENT KILL ID after the script's reply, the `WAIT` held in the client
 *   until the client is connected again): 503, where it answered success;
 * - the `WAIT` blocked on the primary (every replica frozen by SIGSTOP, so
 *   it acknowledges nothing), its connection killed (CLIENT KILL ID), the
 *   replicas thawed: 503 (ioredis resends it on the new connection, where it
 *   answered success; node-redis fails it).
 * Each store first logs a user in with every replica up, on a fresh client
 * (an ioredis Cluster connects each node on its first command): that write
 * is acknowledged, so the check does not refuse a healthy write.
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { RedisSessionStore, StoreUnavailableError } from '../lib/index.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { command, RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import { CLUSTER_CLIENT_NAMES, connectCluster } from './helpers/redis-cluster-clients.js';
import { until } from './helpers/redis-sentinel-clients.js';
import { slotOf } from '../lib/stores/redis/layout.js';

/** Long enough that neither the reconnect nor finding the blocked WAIT meets it (WAIT blocks for half). */
const TIMEOUT = 10_000;

type Loose = Record<string, unknown>;

/** The connection the next WAIT would go on: the server it is on, and its CLIENT ID asked through the client. */
interface Route {
  port: number;
  id: () => Promise<number>;
}

/** A client the store is given, with a hook run once just before the next WAIT leaves it. */
interface Subject {
  client: object;
  arm(beforeWait: (route: Route) => Promise<void>): void;
  close(): Promise<void>;
}

/** Kills the connection of `route` (CLIENT KILL ID) and resolves once the client has a new one. */
async function reconnect(route: Route): Promise<void> {
  const old = await route.id();
  await command(route.port, 'CLIENT', 'KILL', 'ID', String(old));
  // Each ask bounded: a command lost with the old connection may never settle (ioredis, autoResendUnfulfilledCommands: false).
  const id = (): Promise<number> =>
    Promise.race([route.id(), new Promise<number>((resolve) => setTimeout(() => resolve(old), 1000))]);
  await until(async () => (await id()) !== old, 'the client to reconnect');
}

/** Finds the WAIT blocked on one of `ports` (CLIENT LIST: cmd=wait, flags b) and kills its connection. */
async function killBlockedWait(ports: number[]): Promise<void> {
  await until(async () => {
    for (const port of ports) {
      const line = String(await command(port, 'CLIENT', 'LIST'))
        .split('\n')
        .find((row) => / flags=\w*b\w* /.test(row) && / cmd=wait /.test(row));
      const id = line === undefined ? undefined : /^id=(\d+) /.exec(line)?.[1];
      if (id === undefined) continue;
      await command(port, 'CLIENT', 'KILL', 'ID', id);
      return true;
    }
    return false;
  }, 'a blocked WAIT');
}

/** Replaces `name` on the client object with `wrap(original)` (methods bound to the client). */
function replace(client: object, name: string, wrap: (original: (...args: never[]) => unknown) => unknown): void {
  const c = client as Loose;
  const original = (c[name] as (...args: unknown[]) => unknown).bind(c);
  c[name] = wrap(original);
}

async function nodeRedisSubject(port: number): Promise<Subject> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  let armed: ((route: Route) => Promise<void>) | undefined;
  replace(client, 'sendCommand', (original) => {
    const send = original as unknown as (args: string[]) => Promise<unknown>;
    return async (args: string[]) => {
      const hook = armed;
      if (hook !== undefined && args[0] === 'WAIT') {
        armed = undefined;
        await hook({ port, id: async () => Number(await send(['CLIENT', 'ID'])) });
      }
      return send(args);
    };
  });
  return { client, arm: (hook) => void (armed = hook), close: async () => client.destroy() };
}

async function ioredisSubject(port: number, options: RedisOptions): Promise<Subject> {
  const client = new Redis(port, '127.0.0.1', { ...options, retryStrategy: () => 50, lazyConnect: true });
  client.on('error', () => {});
  await client.connect();
  let armed: ((route: Route) => Promise<void>) | undefined;
  replace(client, 'call', (original) => {
    const call = original as unknown as (...args: string[]) => Promise<unknown>;
    return async (...args: string[]) => {
      const hook = armed;
      if (hook !== undefined && args[0] === 'WAIT') {
        armed = undefined;
        await hook({ port, id: async () => Number(await call('CLIENT', 'ID')) });
      }
      return call(...args);
    };
  });
  return { client, arm: (hook) => void (armed = hook), close: async () => client.disconnect() };
}

/** A cluster client: the hook runs where the store sends WAIT (node-redis: `nodeClient`; ioredis: `pipeline`). */
async function clusterSubject(name: (typeof CLUSTER_CLIENT_NAMES)[number], cluster: RedisCluster): Promise<Subject> {
  const setup = await connectCluster(name, cluster);
  let armed: ((route: Route) => Promise<void>) | undefined;
  const take = (): ((route: Route) => Promise<void>) | undefined => {
    const hook = armed;
    armed = undefined;
    return hook;
  };
  if (setup.client instanceof Cluster) {
    const io = setup.client;
    replace(io, 'pipeline', (original) => (commands: string[][]) => {
      const pipeline = () => (original as unknown as (c: string[][]) => { exec(): Promise<unknown> })(commands);
      const hook = commands.some((args) => args[1] === 'WAIT') ? take() : undefined;
      if (hook === undefined) return pipeline();
      const key = commands[0]![1]!;
      const owner = (io as unknown as { slots: string[][] }).slots[slotOf(key)]![0]!;
      const port = Number(owner.split(':').pop());
      const id = async (): Promise<number> => {
        await io.call('EXISTS', key); // has the Cluster connect the node again
        const node = io.nodes('all').find((n) => n.options.port === port);
        if (node === undefined) throw new Error(`no connection to ${owner}`);
        return Number(await node.call('CLIENT', 'ID'));
      };
      return { exec: async () => (await hook({ port, id }), pipeline().exec()) };
    });
  } else {
    replace(setup.client, 'nodeClient', (original) => async (node: { port: number }) => {
      const client = (await (original as unknown as (n: object) => Promise<Loose>)(node)) as {
        sendCommand(args: string[]): Promise<unknown>;
      };
      const hook = take();
      if (hook !== undefined)
        await hook({ port: node.port, id: async () => Number(await client.sendCommand(['CLIENT', 'ID'])) });
      return client;
    });
  }
  return { client: setup.client, arm: (hook) => void (armed = hook), close: () => setup.close() };
}

const now = (): number => Math.floor(Date.now() / 1000);
const ending = () => ({ now: now(), revocationTtl: 900 });

/** A store on `client` waiting for 1 replica, and a session of a new user in it (made while the replicas are up). */
async function storeWithSession(client: object): Promise<{ store: RedisSessionStore; logout: () => Promise<unknown> }> {
  const store = new RedisSessionStore({ client, prefix: uniquePrefix(), timeout: TIMEOUT, waitForReplicas: 1 });
  const userId = `user-${randomUUID()}`;
  const sessionId = randomUUID();
  const session = { userId, sessionId, jti: randomUUID(), ttl: 600, maxLifetime: 3600, claims: {}, meta: {} };
  await store.create(session, { ...ending(), maxSessions: 10 });
  return { store, logout: () => store.revoke({ ...ending(), userId, sessionId, grace: 5 }) };
}

async function refusal(work: Promise<unknown>): Promise<StoreUnavailableError> {
  let reply: unknown;
  try {
    reply = await work;
  } catch (error) {
    expect(error).to.be.instanceOf(StoreUnavailableError);
    return error as StoreUnavailableError;
  }
  throw new Error(`expected a 503, the write was acknowledged: ${JSON.stringify(reply)}`);
}

const CHANGED = 'the connection to Redis changed between the write and its WAIT';

/** The two situations, on `subject`, its replicas frozen by `freeze` (undone by `thaw`), WAITs on `ports`. */
function itRefusesAWaitOnAnotherConnection(
  kind: string,
  make: () => Promise<Subject>,
  ports: () => number[],
  freeze: () => void,
  thaw: () => void,
): void {
  it(`${kind}: the client reconnected after the write, before its WAIT left: 503 (never acknowledged)`, async () => {
    const subject = await make();
    try {
      const { logout } = await storeWithSession(subject.client);
      subject.arm(reconnect);
      const error = await refusal(logout());
      expect(error.message).to.contain(CHANGED);
    } finally {
      await subject.close();
    }
  });

  it(`${kind}: the WAIT's connection killed while it blocks: 503 (never acknowledged)`, async () => {
    const subject = await make();
    try {
      const { logout } = await storeWithSession(subject.client);
      freeze();
      const answer = refusal(logout());
      await killBlockedWait(ports());
      // Replicas back at once: a WAIT the client resends on its new connection would be acknowledged.
      thaw();
      const error = await answer;
      console.log(`      (${kind}: ${error.message})`);
    } finally {
      thaw();
      await subject.close();
    }
  });
}

describe('RedisSessionStore waitForReplicas: a WAIT on another connection than its write (real servers)', function () {
  reportDuration('WAIT reconnect suite');
  this.timeout(120_000);

  describe('one primary and one replica', () => {
    let primary: RedisServer;
    let replica: RedisServer;

    before(async function () {
      requireRedis(this, true);
      primary = await RedisServer.start();
      replica = await RedisServer.start();
      await command(replica.port, 'REPLICAOF', '127.0.0.1', String(primary.port));
      await until(async () => {
        // Online, not just connected: a replica still in its first sync acknowledges no WAIT.
        const info = String(await command(primary.port, 'INFO', 'replication'));
        return /connected_slaves:1/.test(info) && /slave0:[^\r\n]*state=online/.test(info);
      }, 'the replica to come online');
    });

    after(async () => {
      await replica?.stop();
      await primary?.stop();
    });

    const subjects: Array<[string, () => Promise<Subject>]> = [
      ['node-redis v5', () => nodeRedisSubject(primary.port)],
      ['ioredis (enableOfflineQueue: false)', () => ioredisSubject(primary.port, { enableOfflineQueue: false })],
      ['ioredis (default options: autoResendUnfulfilledCommands)', () => ioredisSubject(primary.port, {})],
      [
        'ioredis (autoResendUnfulfilledCommands: false)',
        () => ioredisSubject(primary.port, { autoResendUnfulfilledCommands: false }),
      ],
    ];
    for (const [kind, make] of subjects) {
      itRefusesAWaitOnAnotherConnection(
        kind,
        make,
        () => [primary.port],
        () => replica.pause(),
        () => replica.resume(),
      );
    }
  });

  describe('a Redis Cluster (3 masters, 1 replica each)', () => {
    let cluster: RedisCluster;

    before(async function () {
      requireCluster(this);
      cluster = await RedisCluster.start();
    });

    after(async () => {
      await cluster?.stop();
    });

    const replicas = () => cluster.nodes.filter((node) => node.role === 'replica');
    for (const name of CLUSTER_CLIENT_NAMES) {
      itRefusesAWaitOnAnotherConnection(
        `${name} cluster`,
        () => clusterSubject(name, cluster),
        () => cluster.masters().map((master) => master.port),
        () => replicas().forEach((node) => node.process.kill('SIGSTOP')),
        () => replicas().forEach((node) => node.process.kill('SIGCONT')),
      );
    }
  });
});
