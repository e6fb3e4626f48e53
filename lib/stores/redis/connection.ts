import { OptionError } from '../../errors.js';
import type { DuplicableClient, FeedClient } from '../../revocation/redis-feed.js';
import { slotOf } from './layout.js';
import { isNodeRedisSentinel, sentinelFeedSource, sentinelSend } from './sentinel.js';
import { ioredisClusterMark, ioredisMark, nodeRedisClusterMark, nodeRedisMark, type ConnectionMark } from './wait.js';

/**
 * Sends one raw command, e.g. `['EVALSHA', sha, '2', ...]`, and resolves its
 * reply. `key`, when given, routes it on a node-redis cluster (for a command
 * that names no key of its own, like `WAIT` after a script on that key);
 * otherwise its first key does. An ioredis Cluster sends the command in a
 * pipeline after `EXISTS key`, so it goes to the same node; a single server
 * ignores `key`.
 */
export type SendCommand = (args: string[], key?: string) => Promise<unknown>;

/** A Redis client of a kind this package can use, told apart at construction. */
export type ClientKind = 'node-redis' | 'node-redis cluster' | 'node-redis sentinel' | 'ioredis' | 'ioredis cluster';

/** What the store needs of any client: one send, routed by the command's key. */
export interface RedisConnection {
  kind: ClientKind;
  /** Sends one raw command; on a cluster, to the primary serving its first key (or `key`, on node-redis). */
  send: SendCommand;
  /** False while the client knows it has no connection (commands then fail at once). */
  ready(): boolean;
  /** True for a Redis Cluster client: every script must stay in one slot. */
  cluster: boolean;
  /** Where the revocation feed opens its own connection; undefined for cluster clients. */
  feed: DuplicableClient | undefined;
  /**
   * Called after a command failed: has a node-redis cluster client reread its
   * slot map now. node-redis v4 and v5 reread it only on a MOVED reply, which
   * a dead primary never sends, so after a failover they would keep sending
   * its slots' commands to it for good; v6 rereads it by itself, but only
   * after 5 s of failed reconnections. At most once a second, and not once
   * the client is closed; undefined for the clients that need no help
   * (ioredis, single-node clients).
   */
  recover?: (() => void) | undefined;
  /**
   * Marks the connection a key's commands go out on (wait.ts): read before a
   * write script and after its `WAIT`, which counts nothing unless both ran
   * on one connection. Undefined for the Sentinel client, whose send refuses
   * such a `WAIT` itself (sentinel.ts).
   */
  mark?: ConnectionMark | undefined;
}

/** Least time between two slot-map rereads that `recover` asks for, ms. */
const RECOVER_INTERVAL = 1000;

/** The first key of a command, for routing: that of EVAL/EVALSHA, else the first argument. */
export function firstKey(args: string[]): string | undefined {
  const name = args[0]?.toUpperCase();
  if (name === 'EVAL' || name === 'EVALSHA' || name === 'EVAL_RO' || name === 'EVALSHA_RO') {
    return Number(args[2]) > 0 ? args[3] : undefined;
  }
  return args[1];
}

type AnyFunction = (...args: never[]) => unknown;
type Loose = Record<string, unknown>;
const isFunction = (value: unknown): value is AnyFunction => typeof value === 'function';

/**
 * Adapts a node-redis client or cluster (v4, v5, v6), a node-redis Sentinel
 * client (v5, v6), or an ioredis client (Sentinel too) or Cluster; throws
 * `OptionError` for anything else, naming `name`.
 */
export function connectionOf(client: unknown, name: string): RedisConnection {
  if (typeof client !== 'object' || client === null) throw new OptionError(`${name} must be a Redis client`);
  const c = client as Loose;
  if (typeof c.isCluster === 'boolean' && isFunction(c.call)) return ioredisConnection(c);
  if (isFunction(c.getSlotMaster) && isFunction(c.sendCommand)) return nodeRedisCluster(c);
  if (isNodeRedisSentinel(c)) return nodeRedisSentinel(c);
  if (isFunction(c.sendCommand)) return nodeRedisClient(c);
  throw new OptionError(
    `${name} must be a node-redis client or cluster (v4, v5, v6) or an ioredis client or Cluster` +
      ' (for any other client, pass sendCommand); for Sentinel, a node-redis createSentinel client (v5, v6)' +
      ' or an ioredis client given sentinels and name',
  );
}

function nodeRedisClient(c: Loose): RedisConnection {
  const send = c.sendCommand as (args: string[]) => Promise<unknown>;
  return {
    kind: 'node-redis',
    send: (args) => send.call(c, args),
    mark: nodeRedisMark(c),
    ready: () => c.isReady !== false,
    cluster: false,
    feed: isFunction(c.duplicate) ? (c as unknown as DuplicableClient) : undefined,
  };
}

/**
 * A node-redis Sentinel client (`createSentinel`): every command to the
 * current master, which the client follows through a failover, `WAIT` only
 * on its script's connection; the feed gets a connection of its own (see
 * sentinel.ts).
 */
function nodeRedisSentinel(c: Loose): RedisConnection {
  const send = sentinelSend(c);
  return {
    kind: 'node-redis sentinel',
    send,
    ready: () => c.isReady !== false,
    cluster: false,
    feed: sentinelFeedSource(c),
  };
}

function nodeRedisCluster(c: Loose): RedisConnection {
  const send = c.sendCommand as (key: string | undefined, readonly: boolean, args: string[]) => Promise<unknown>;
  /** The key of the last command that failed: its slot is the one whose primary may have changed. */
  let failedKey: string | undefined;
  /** When the last reread was asked, on the monotonic clock (a wall clock stepped back would hold it off). */
  let last = -Infinity;
  const reread = slotMapReread(c, send, () => failedKey);
  const open = (): boolean => c.isOpen !== false;
  return {
    recover: () => {
      if (!open() || performance.now() - last < RECOVER_INTERVAL) return;
      last = performance.now();
      reread();
    },
    kind: 'node-redis cluster',
    mark: nodeRedisClusterMark(c),
    send: (args, routing) => {
      const key = routing ?? firstKey(args);
      const sent =
        args[0]?.toUpperCase() === 'WAIT' && routing !== undefined
          ? waitOn(c, routing, args)
          : send.call(c, key, false, args);
      return sent.catch((error: unknown) => {
        if (key !== undefined) failedKey = key;
        throw error;
      });
    },
    // v6 has isReady; v4 and v5 only isOpen.
    ready: () => (typeof c.isReady === 'boolean' ? c.isReady : open()),
    cluster: true,
    feed: undefined,
  };
}

/**
 * `WAIT` on the connection of the primary serving `key` by the client's slot
 * map, the one its script went on (`nodeClient(getSlotMaster(slot))`, v4,
 * v5, v6): v6 sends a routed WAIT to every primary by its command policy
 * (all_shards, the least count), where a replica down on another shard would
 * fail every write.
 */
async function waitOn(c: Loose, key: string, args: string[]): Promise<unknown> {
  const master = (c.getSlotMaster as (slot: number) => object | undefined).call(c, slotOf(key));
  if (master === undefined) throw new Error(`no primary serves the slot of ${key}`);
  const client = await (c.nodeClient as (node: object) => Loose | Promise<Loose>).call(c, master);
  return (client.sendCommand as (args: string[]) => Promise<unknown>).call(client, args);
}

/**
 * How to have a node-redis cluster reread its slot map. v5 and v6 keep it in
 * `_slots`, whose `rediscover` starts from any node's options (a root node's
 * here). v4 keeps it in a private field, so it is made to reread it the way
 * it does by itself: `EXISTS <the key that failed>` sent to a random primary
 * (no routing key), which answers MOVED, since none of the primaries the
 * stale map names serves that key's slot any more (the one it names is gone);
 * on MOVED, v4 rereads its map and retries. When the random primary is the
 * dead one, the send just fails, and the next failure tries again.
 */
function slotMapReread(
  c: Loose,
  send: (key: string | undefined, readonly: boolean, args: string[]) => Promise<unknown>,
  failedKey: () => string | undefined,
): () => void {
  const slots = c._slots as { rediscover?: (startWith: { options: unknown }) => Promise<void> } | undefined;
  const roots = (c._options as { rootNodes?: unknown[] } | undefined)?.rootNodes;
  if (typeof slots?.rediscover === 'function' && Array.isArray(roots) && roots.length > 0) {
    return () => {
      const start = roots[Math.floor(Math.random() * roots.length)];
      void slots.rediscover!.call(slots, { options: start }).catch(() => {});
    };
  }
  return () => {
    const key = failedKey();
    if (key !== undefined) void send.call(c, undefined, true, ['EXISTS', key]).catch(() => {});
  };
}

function ioredisConnection(c: Loose): RedisConnection {
  const call = c.call as (...args: string[]) => Promise<unknown>;
  const cluster = c.isCluster === true;
  return {
    kind: cluster ? 'ioredis cluster' : 'ioredis',
    mark: cluster ? ioredisClusterMark(c) : ioredisMark(c),
    // ioredis routes a cluster command by its keys itself (EVALSHA's included); one that names no key
    // (WAIT) goes with an EXISTS of `key` in a pipeline, which ioredis sends to that key's primary.
    send: (args, key) => (cluster && key !== undefined ? pipelinedAfter(c, key, args) : call.apply(c, args)),
    ready: () => c.status === 'ready',
    cluster,
    feed: cluster || !isFunction(c.duplicate) ? undefined : ioredisFeedSource(c),
  };
}

/** `args` sent to the ioredis Cluster node serving `key`: a pipeline of `EXISTS key` then `args`; its reply. */
async function pipelinedAfter(c: Loose, key: string, args: string[]): Promise<unknown> {
  const pipeline = (c.pipeline as (commands: string[][]) => Loose).call(c, [
    ['exists', key],
    ['call', ...args],
  ]);
  const replies = (await (pipeline.exec as () => Promise<Array<[Error | null, unknown]>>).call(pipeline)) ?? [];
  const [error, reply] = replies[1] ?? [new Error('no reply from the ioredis pipeline'), undefined];
  if (error) throw error;
  return reply;
}

/** An ioredis client seen as a `DuplicableClient`: its duplicates as `FeedClient`s. */
function ioredisFeedSource(c: Loose): DuplicableClient {
  const duplicate = c.duplicate as (options: object) => Loose;
  return {
    duplicate(overrides) {
      // Connect when asked, never retry by itself, never queue: the feed resumes on its own.
      const dup = duplicate.call(c, {
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
        ...(overrides?.name ? { connectionName: overrides.name } : {}),
      });
      const call = dup.call as (...args: string[]) => Promise<unknown>;
      const feed: FeedClient = {
        connect: () => (dup.connect as () => Promise<unknown>).call(dup),
        sendCommand: (args) => call.apply(dup, args),
        on: (event, listener) =>
          (dup.on as (e: string, l: (error: Error) => void) => unknown).call(dup, event, listener),
        get isOpen() {
          return dup.status !== 'end' && dup.status !== 'close' && dup.status !== 'wait';
        },
        destroy: () => {
          (dup.disconnect as () => void).call(dup);
        },
      };
      return feed;
    },
  };
}
