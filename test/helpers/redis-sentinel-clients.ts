/**
 * The Sentinel clients every Redis Sentinel suite runs on: node-redis v5 and
 * v6 `createSentinel`, and a plain ioredis `Redis` given `sentinels` and
 * `name`; created as the README advises (nothing queues while the master is
 * down, reconnects retry forever), and the per-prefix cleanup (SCAN and DEL
 * on the master: never FLUSHALL).
 */
import { createSentinel as createSentinel5 } from 'redis';
import { createSentinel as createSentinel6 } from 'redis6';
import { Redis } from 'ioredis';
import type { RedisSentinelSet } from './redis-sentinel.js';
import { command } from './redis-cluster.js';

export type SentinelClientName = 'node-redis v5 createSentinel' | 'node-redis v6 createSentinel' | 'ioredis sentinels';
export const SENTINEL_CLIENT_NAMES: SentinelClientName[] = [
  'node-redis v5 createSentinel',
  'node-redis v6 createSentinel',
  'ioredis sentinels',
];

/** A connected Sentinel client as the store gets it (`client`), and how a test closes it. */
export interface SentinelSetup {
  readonly name: SentinelClientName;
  /** Handed to `new RedisSessionStore({ client })`. */
  readonly client: object;
  close(): Promise<void>;
}

/** node-redis: no offline queue, a lost connection retried every 100 ms, 1 s to connect. */
const nodeClientOptions = {
  disableOfflineQueue: true,
  socket: { reconnectStrategy: () => 100, connectTimeout: 1000 },
} as const;

interface NodeRedisSentinel {
  connect(): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  destroy(): Promise<void>;
}

async function nodeRedis(name: SentinelClientName, client: NodeRedisSentinel): Promise<SentinelSetup> {
  client.on('error', () => {});
  await client.connect();
  let closed = false;
  return {
    name,
    client,
    close: async () => {
      if (closed) return;
      closed = true;
      await client.destroy().catch(() => {});
    },
  };
}

/** Creates and connects a Sentinel client of `name` on `set`. */
export async function connectSentinel(name: SentinelClientName, set: RedisSentinelSet): Promise<SentinelSetup> {
  const options = { name: set.name, sentinelRootNodes: set.sentinels, nodeClientOptions };
  switch (name) {
    case 'node-redis v5 createSentinel':
      return nodeRedis(name, createSentinel5(options));
    case 'node-redis v6 createSentinel':
      return nodeRedis(name, createSentinel6(options));
    case 'ioredis sentinels': {
      const client = new Redis({
        sentinels: set.sentinels,
        name: set.name,
        enableOfflineQueue: false,
        lazyConnect: true,
        retryStrategy: () => 100,
        sentinelRetryStrategy: () => 100,
      });
      client.on('error', () => {});
      await client.connect();
      return {
        name,
        client,
        close: async () => {
          client.disconnect();
        },
      };
    }
  }
}

/** Deletes every key under `prefix` on the set's current master (SCAN, then DEL each). */
export async function deleteSentinelPrefix(set: RedisSentinelSet, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const reply = await command(set.masterPort, 'SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000');
    const [next, keys] = reply as [string, string[]];
    for (const key of keys) await command(set.masterPort, 'DEL', key);
    cursor = next;
  } while (cursor !== '0');
}

/** Polls `condition` every 50 ms until it holds (a throw counts as not yet); fails naming `what` after `within` ms. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, within = 15_000): Promise<void> {
  const deadline = Date.now() + within;
  for (;;) {
    if (
      await Promise.resolve()
        .then(condition)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
