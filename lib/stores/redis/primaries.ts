/**
 * The primaries of a Redis Cluster, as the application's cluster client
 * sees them (its slot map), so that `ping()` and `checkServer()` can ask
 * every one instead of whichever node a keyless command lands on.
 * node-redis v4, v5, v6 `createCluster()`: `.masters` (v4 before 4.6:
 * `.getMasters()`), `.getSlotMaster(slot)` and `.nodeClient(master)`;
 * ioredis `Cluster`: its `.slots` map and `.nodes('all')`.
 */
import { StoreUnavailableError } from '../../errors.js';
import type { SendCommand } from './connection.js';
import { slotOf } from './layout.js';

/** One primary of the cluster, by the client's slot map. */
export interface Primary {
  /** `host:port`, as the slot map names it. */
  node: string;
  /**
   * A hash tag whose slot this primary serves by the client's map (a key
   * `prefix{tag}name` is routed to it); undefined for a primary that serves
   * no slot.
   */
  tag: string | undefined;
  /** Sends one command to this primary alone, unrouted (for INFO: a command with no key). */
  send: SendCommand;
}

/** Lists the primaries now (the slot map changes with failovers). */
export type PrimaryLister = () => Primary[];

type Loose = Record<string, unknown>;
const isFunction = (value: unknown): value is (...args: never[]) => unknown => typeof value === 'function';

/** Tries before giving up on finding a tag for a primary: far more than a primary with one slot of 16384 needs. */
const TAG_TRIES = 1 << 18;

/**
 * One short tag per owner, in a slot it serves: `'0'`, `'1'`, ... hashed
 * until each owner has one. `ownerOf(slot)` names a slot's owner by the map.
 */
function tagsFor<T>(owners: readonly T[], ownerOf: (slot: number) => T | undefined): Map<T, string> {
  const tags = new Map<T, string>();
  const wanted = new Set(owners);
  for (let i = 0; i < TAG_TRIES && tags.size < wanted.size; i++) {
    const tag = String(i);
    const owner = ownerOf(slotOf(tag));
    if (owner !== undefined && wanted.has(owner) && !tags.has(owner)) tags.set(owner, tag);
  }
  return tags;
}

/**
 * A lister for a node-redis or ioredis cluster client; undefined for any
 * other client (a single server has one primary: itself).
 */
export function primaryLister(client: unknown): PrimaryLister | undefined {
  if (typeof client !== 'object' || client === null) return undefined;
  const c = client as Loose;
  if (c.isCluster === true && isFunction(c.nodes)) return ioredisPrimaries(c);
  if (isFunction(c.getSlotMaster) && isFunction(c.nodeClient)) return nodeRedisPrimaries(c);
  return undefined;
}

interface NodeRedisNode {
  host?: string;
  port?: number;
  address?: string;
}

interface NodeClient {
  sendCommand(args: string[]): Promise<unknown>;
}

function nodeRedisPrimaries(c: Loose): PrimaryLister {
  const getSlotMaster = c.getSlotMaster as (slot: number) => NodeRedisNode | undefined;
  const nodeClient = c.nodeClient as (node: NodeRedisNode) => NodeClient | Promise<NodeClient>;
  return () => {
    const masters = (
      isFunction(c.getMasters) && !('masters' in c) ? (c.getMasters as () => NodeRedisNode[]).call(c) : c.masters
    ) as NodeRedisNode[] | undefined;
    const list = masters ?? [];
    const tags = tagsFor(list, (slot) => {
      try {
        return getSlotMaster.call(c, slot);
      } catch {
        return undefined; // a slot the map has no owner for
      }
    });
    return list.map((master) => ({
      node: master.address ?? `${master.host}:${master.port}`,
      tag: tags.get(master),
      send: async (args: string[]) => {
        // nodeClient() connects a node it has no client for: never for a cluster client closed by its owner.
        if (c.isOpen === false) throw new Error('The cluster client is closed');
        return (await nodeClient.call(c, master)).sendCommand(args);
      },
    }));
  };
}

interface IoredisNode {
  options: { host?: string; port?: number };
  call(...args: string[]): Promise<unknown>;
}

function ioredisPrimaries(c: Loose): PrimaryLister {
  const nodes = c.nodes as (role: string) => IoredisNode[];
  return () => {
    // slot -> [primary, ...replicas], each `host:port`.
    const slots = (Array.isArray(c.slots) ? c.slots : []) as Array<string[] | undefined>;
    const owners = [...new Set(slots.map((keys) => keys?.[0]).filter((key) => key !== undefined))];
    const tags = tagsFor(owners, (slot) => slots[slot]?.[0]);
    return owners.map((node) => ({
      node,
      tag: tags.get(node),
      send: (args: string[]) => {
        const redis = nodes
          .call(c, 'all')
          .find(({ options }) => `${options.host ?? '127.0.0.1'}:${options.port ?? 6379}` === node);
        if (redis === undefined) return Promise.reject(new Error(`no connection to ${node}`));
        return redis.call(...args);
      },
    }));
  };
}

/** An error's message and its cause's, first line only. */
function why(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${text}${cause}`.split(/\r?\n/, 1)[0]!;
}

/**
 * Runs `task` on every primary at once and resolves its results in order;
 * rejects with one `StoreUnavailableError` naming every primary that failed
 * `what`, and why (the first failure is its `cause`).
 */
export async function onEveryPrimary<T>(
  primaries: Primary[],
  what: string,
  task: (primary: Primary) => Promise<T>,
): Promise<T[]> {
  const settled = await Promise.allSettled(primaries.map(task));
  const failed = settled.flatMap((result, i) =>
    result.status === 'rejected' ? [{ node: primaries[i]!.node, error: result.reason as unknown }] : [],
  );
  if (failed.length === 0) return settled.map((result) => (result as PromiseFulfilledResult<T>).value);
  throw new StoreUnavailableError(
    `Redis Cluster primary ${failed.map(({ node, error }) => `${node} failed ${what} (${why(error)})`).join('; ')}`,
    { cause: failed[0]!.error },
  );
}
