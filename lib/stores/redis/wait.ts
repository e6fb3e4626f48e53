/**
 * Which connection a write's `WAIT` ran on. `WAIT` counts the replicas that
 * have every write *of the connection it runs on*: on a fresh connection
 * (the client reconnected, or moved to a new primary, between the script and
 * its `WAIT`) it has nothing to wait for and answers at once with the number
 * of connected replicas, acknowledging a write a failover may have lost. So
 * the store marks the connection a key's commands go out on before sending
 * the script and again once `WAIT` has answered, and refuses the answer (503)
 * when the two marks differ. Reading a mark costs no round trip.
 *
 * What is compared, per client:
 * - ioredis client (Sentinel too): its socket (`stream`, replaced on every
 *   (re)connect, before any command is written on the new one);
 * - ioredis Cluster: the key's primary by the slot map, that node's
 *   connection object and its socket (nodes are recreated, not reconnected);
 * - node-redis client (v4, v5, v6): a count of its `connect`, `reconnecting`
 *   and `end` events (emitted before a new socket carries a command);
 * - node-redis cluster: the key's primary by the slot map (its address), its
 *   node client and that client's count as above.
 * Caveats: conservative, so a reconnect anywhere in that window fails the
 * write (503) even when both ran on the new connection; an ASK redirection
 * during a resharding is not seen (the slot map does not change).
 */
import { slotOf } from './layout.js';

/**
 * Marks the connection commands on `key` go out on now; the check it returns
 * is true while that is still the connection a command on `key` would use
 * and it never changed in between (no reconnect, no other primary).
 */
export type ConnectionMark = (key: string) => () => boolean;

type Loose = Record<string, unknown>;
type On = (event: string, listener: () => void) => unknown;

/** Clients seen so far, and how many times each emitted one of the events counted for it. */
const counts = new WeakMap<object, { count: number }>();

/**
 * How many times `client` emitted any of `events` since the first call for
 * it (listeners added then; never `error`, which would hide a missing
 * handler of the application's). Undefined for anything that is not an
 * event emitter (a node-redis v4 node client still connecting is a promise).
 */
function eventCount(client: unknown, events: readonly string[]): number | undefined {
  if (typeof client !== 'object' || client === null || typeof (client as Loose).on !== 'function') return undefined;
  if (typeof (client as Loose).then === 'function') return undefined;
  let seen = counts.get(client);
  if (seen === undefined) {
    const counter = { count: 0 };
    seen = counter;
    counts.set(client, counter);
    const on = (client as Loose).on as On;
    for (const event of events) {
      on.call(client, event, () => {
        counter.count++;
      });
    }
  }
  return seen.count;
}

/** node-redis emits these, synchronously, before a new socket carries any command (or as it closes for good). */
const NODE_REDIS_EVENTS = ['connect', 'reconnecting', 'end'];

/** A node-redis client (v4, v5, v6): its count of connection events (listening from now on). */
export function nodeRedisMark(c: Loose): ConnectionMark {
  eventCount(c, NODE_REDIS_EVENTS);
  return () => {
    const before = eventCount(c, NODE_REDIS_EVENTS);
    return () => eventCount(c, NODE_REDIS_EVENTS) === before;
  };
}

interface ShardNode {
  address?: string;
  host?: string;
  port?: number;
  client?: unknown;
}

/** A node-redis cluster (v4, v5, v6): the key's primary by the slot map (its address), its node client and its count. */
export function nodeRedisClusterMark(c: Loose): ConnectionMark {
  const getSlotMaster = c.getSlotMaster as (slot: number) => ShardNode | undefined;
  const now = (key: string): unknown[] => {
    let master: ShardNode | undefined;
    try {
      master = getSlotMaster.call(c, slotOf(key));
    } catch {
      return [undefined]; // an empty slot map (closed, or not yet discovered)
    }
    if (master === undefined) return [undefined];
    return [
      master.address ?? `${master.host}:${master.port}`,
      master.client,
      eventCount(master.client, NODE_REDIS_EVENTS),
    ];
  };
  return (key) => {
    const before = now(key);
    return () => before[0] !== undefined && sameValues(before, now(key));
  };
}

function sameValues(before: readonly unknown[], after: readonly unknown[]): boolean {
  return before.length === after.length && before.every((value, i) => Object.is(value, after[i]));
}

/** An ioredis client: its current socket (the store sends only while it is ready, so there is one). */
export function ioredisMark(c: Loose): ConnectionMark {
  return () => {
    const before = c.stream;
    return () => before !== undefined && c.stream === before;
  };
}

interface IoredisNode {
  options: { host?: string; port?: number };
  stream?: unknown;
}

/**
 * An ioredis Cluster: the key's primary by the slot map, that node's
 * connection object (the Cluster makes a new one rather than reconnect) and
 * its socket. A node not yet connected (the Cluster connects each on its
 * first command) sends the script on its first socket: then the check wants
 * exactly one `connect` since the mark.
 */
export function ioredisClusterMark(c: Loose): ConnectionMark {
  const nodes = c.nodes as (role: string) => IoredisNode[];
  const owner = (key: string): string | undefined =>
    ((Array.isArray(c.slots) ? c.slots : []) as Array<string[] | undefined>)[slotOf(key)]?.[0];
  const nodeOf = (address: string | undefined): IoredisNode | undefined =>
    nodes.call(c, 'all').find(({ options }) => `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}` === address);
  return (key) => {
    const address = owner(key);
    const node = nodeOf(address);
    if (node === undefined) return () => false;
    const stream = node.stream;
    const connects = eventCount(node, ['connect']);
    const same = (): boolean => owner(key) === address && nodeOf(address) === node;
    if (stream !== undefined) return () => same() && node.stream === stream;
    return () => same() && node.stream !== undefined && eventCount(node, ['connect']) === connects! + 1;
  };
}
