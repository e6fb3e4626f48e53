/**
 * The cluster clients every Redis Cluster suite runs on (node-redis v4, v5,
 * v6 `createCluster` and ioredis `Cluster`), created as the README advises
 * (nothing queues while a node is down), a recording view of one, and the
 * per-prefix cleanup of a `RedisCluster` (SCAN on every master, one DEL per
 * key: never FLUSHALL).
 */
import { createCluster as createCluster5 } from 'redis';
import { createCluster as createCluster4 } from 'redis4';
import { createCluster as createCluster6 } from 'redis6';
import { Cluster } from 'ioredis';
import { command, type RedisCluster } from './redis-cluster.js';

/** A connected cluster client as the store gets it (`client`), and how a test uses and closes it. */
export interface ClusterSetup {
  readonly name: string;
  /** Handed to `new RedisSessionStore({ client })`. */
  readonly client: object;
  /** One command, routed by the client to the primary of `key`'s slot. */
  send(key: string, args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export type ClusterClientName = 'node-redis v4' | 'node-redis v5' | 'node-redis v6' | 'ioredis';

type NodeRedisCluster = {
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  sendCommand(key: string | undefined, readonly: boolean, args: string[]): Promise<unknown>;
  destroy?(): void;
  disconnect?(): Promise<void>;
};

async function nodeRedis(name: ClusterClientName, client: NodeRedisCluster): Promise<ClusterSetup> {
  client.on('error', () => {});
  client.on('node-error', () => {});
  await client.connect();
  let closed = false;
  return {
    name,
    client,
    send: (key, args) => client.sendCommand(key, false, args),
    close: async () => {
      if (closed) return;
      closed = true;
      // v5 and v6 have destroy(); v4 only disconnect(), which rejects if a node is already gone.
      if (client.destroy) client.destroy();
      else await client.disconnect!().catch(() => {});
    },
  };
}

/**
 * node-redis: `defaults: { disableOfflineQueue: true }` (the README's advice), and a
 * node connection that is lost retries every 100 ms (the default backs off to 2 s).
 */
function nodeRedisDefaults(): {
  disableOfflineQueue: true;
  socket: { reconnectStrategy: () => number; connectTimeout: number };
} {
  return { disableOfflineQueue: true, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } };
}

/** Creates and connects a cluster client of `name` on `cluster`. */
export async function connectCluster(name: ClusterClientName, cluster: RedisCluster): Promise<ClusterSetup> {
  const { rootNodes } = cluster;
  switch (name) {
    case 'node-redis v4':
      return nodeRedis(name, createCluster4({ rootNodes, defaults: nodeRedisDefaults() }));
    case 'node-redis v5':
      return nodeRedis(name, createCluster5({ rootNodes, defaults: nodeRedisDefaults() }));
    case 'node-redis v6':
      return nodeRedis(name, createCluster6({ rootNodes, defaults: nodeRedisDefaults() }));
    case 'ioredis': {
      const client = new Cluster(cluster.startupNodes, { enableOfflineQueue: false, lazyConnect: true });
      client.on('error', () => {});
      await client.connect();
      return {
        name,
        client,
        send: (_key, [commandName, ...rest]) => client.call(commandName!, ...rest),
        close: async () => {
          if (client.status !== 'end') client.disconnect();
        },
      };
    }
  }
}

export const CLUSTER_CLIENT_NAMES: readonly ClusterClientName[] = [
  'node-redis v5',
  'node-redis v6',
  'node-redis v4',
  'ioredis',
];

/** How many node connections a cluster client holds (node-redis: its known nodes; ioredis: its pool). */
export function nodeCount(setup: ClusterSetup): number {
  if (setup.client instanceof Cluster) return setup.client.nodes().length;
  return (setup.client as { nodeByAddress: Map<string, unknown> }).nodeByAddress.size;
}

/** The keys under `prefix` on each live master of `cluster`, by port (SCAN on every master). */
export async function keysByMaster(cluster: RedisCluster, prefix: string): Promise<Map<number, string[]>> {
  const found = new Map<number, string[]>();
  for (const master of cluster.masters()) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, page] = (await command(master.port, 'SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000')) as [
        string,
        string[],
      ];
      keys.push(...page);
      cursor = next;
    } while (cursor !== '0');
    found.set(master.port, keys);
  }
  return found;
}

/**
 * Deletes every key under `prefix` on every live master (found with SCAN on each),
 * one DEL per key (keys of many slots): sent to the master that holds it, or
 * through `via` (a connected client, which routes it) when given.
 */
export async function deleteClusterPrefix(cluster: RedisCluster, prefix: string): Promise<void>;
export async function deleteClusterPrefix(
  cluster: RedisCluster,
  via: Pick<ClusterSetup, 'send'>,
  prefix: string,
): Promise<void>;
export async function deleteClusterPrefix(
  cluster: RedisCluster,
  ...rest: [string] | [Pick<ClusterSetup, 'send'>, string]
): Promise<void> {
  const [via, prefix] = rest.length === 1 ? [undefined, rest[0]] : rest;
  await Promise.all(
    [...(await keysByMaster(cluster, prefix))].flatMap(([port, keys]) =>
      keys.map((key) => (via ? via.send(key, ['DEL', key]) : command(port, 'DEL', key))),
    ),
  );
}

/** One command a store sent through a `recording` client: the routing key it gave (node-redis), the command, its error. */
export interface SentCommand {
  /** The routing key passed to node-redis's `sendCommand(key, readonly, args)`; undefined for ioredis (it routes by args). */
  key: string | undefined;
  args: string[];
  error?: string;
}

/**
 * `setup.client` seen through a Proxy that logs into `log` every command sent
 * through it (node-redis `sendCommand`, ioredis `call`) and forwards it unchanged;
 * everything else (the client's kind, readiness, slot map) reads through.
 */
export function recording(setup: ClusterSetup, log: SentCommand[]): object {
  const target = setup.client as Record<string | symbol, unknown>;
  const settle = (entry: SentCommand, reply: Promise<unknown>): Promise<unknown> => {
    log.push(entry);
    return reply.catch((error: unknown) => {
      entry.error = String(error);
      throw error;
    });
  };
  const sendCommand = (key: string | undefined, readonly: boolean, args: string[]): Promise<unknown> =>
    settle(
      { key, args },
      (target.sendCommand as (...a: unknown[]) => Promise<unknown>).call(target, key, readonly, args),
    );
  const call = (...args: string[]): Promise<unknown> =>
    settle({ key: undefined, args }, (target.call as (...a: string[]) => Promise<unknown>).apply(target, args));
  return new Proxy(target, {
    get(object, property) {
      if (property === 'sendCommand' && setup.name !== 'ioredis') return sendCommand;
      if (property === 'call' && setup.name === 'ioredis') return call;
      const value: unknown = Reflect.get(object, property, object);
      // Bound to the client itself: node-redis v4 methods read private fields, which a Proxy `this` lacks.
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
    },
  });
}
