import type { DuplicableClient, FeedClient } from '../../revocation/redis-feed.js';

/**
 * node-redis Sentinel clients (`createSentinel`, v5 and v6): told apart from
 * a plain client by their master lease (`acquire`) and `getMasterNode`.
 */
export function isNodeRedisSentinel(c: Record<string, unknown>): boolean {
  return (
    typeof c.acquire === 'function' && typeof c.getMasterNode === 'function' && typeof c.sendCommand === 'function'
  );
}

/** A node-redis client, as the Sentinel client's `_execute` hands its current master connection. */
interface Sendable {
  sendCommand(args: string[]): Promise<unknown>;
}

type Run = (isReadonly: boolean, fn: (client: Sendable) => Promise<unknown>) => Promise<unknown>;

const isScript = (name: string | undefined): boolean => name === 'EVALSHA' || name === 'EVAL';

/**
 * Sends to the Sentinel client's current master. `WAIT` counts the replicas
 * that have every write of the connection it runs on, so it must run on the
 * connection of the script it follows: after a failover the client sends it,
 * or retries it, on a new master's fresh connection, where it would count no
 * write at all and acknowledge a write the failover lost. So a `WAIT` runs
 * only on the connection of the latest script, once (never retried), and
 * otherwise fails (a 503). Caveat: with `masterPoolSize` above 1 the next
 * command may take another pooled connection: `waitForReplicas` then fails
 * often; keep the default, 1.
 */
export function sentinelSend(sentinel: Record<string, unknown>): (args: string[]) => Promise<unknown> {
  const run = sentinel._execute as Run;
  /** The connection the latest script ran on. */
  let scripted: Sendable | undefined;
  return (args) => {
    const name = args[0]?.toUpperCase();
    if (name !== 'WAIT') {
      return run.call(sentinel, false, async (client) => {
        const reply = await client.sendCommand(args);
        if (isScript(name)) scripted = client;
        return reply;
      });
    }
    let tried = false;
    return run.call(sentinel, false, async (client) => {
      if (tried || client !== scripted) {
        throw new Error('WAIT not sent: the Sentinel client changed connections since the write it would wait for');
      }
      tried = true;
      return client.sendCommand(args);
    });
  };
}

/** Longest the feed waits for the Sentinel client to hand it the current master (it waits out a failover), ms. */
const RESOLVE_TIMEOUT = 5000;

/** The part of a node-redis client (the Sentinel client's master connection) duplicated here. */
interface NodeRedisClient {
  duplicate(overrides: object): FeedClient;
  readonly options?: { socket?: object } | undefined;
}

type Execute = (isReadonly: boolean, fn: (client: NodeRedisClient) => Promise<FeedClient>) => Promise<FeedClient>;

/**
 * Where the revocation feed of a node-redis Sentinel client opens its own
 * connection. `XREAD BLOCK` would hold one of the client's pooled master
 * connections (its only one, by default) and `MULTI` needs one to itself,
 * so the feed gets a plain client of its own: a duplicate of the Sentinel
 * client's current master connection (same options, same node-redis), made
 * on every (re)connect, so that after a failover, once the Sentinel client
 * follows the new master, the feed does too. A node that is no longer a
 * master (`ROLE`) is refused and the feed tries again. Caveat: relies on
 * `_execute`, which node-redis v5 and v6 mark internal.
 */
export function sentinelFeedSource(sentinel: Record<string, unknown>): DuplicableClient {
  const execute = sentinel._execute as Execute;
  return {
    duplicate(overrides) {
      let client: FeedClient | undefined;
      let destroyed = false;
      const listeners: Array<(error: Error) => void> = [];
      const drop = (c: FeedClient): void => {
        if (!c.isOpen) return;
        if (typeof c.destroy === 'function') c.destroy();
        else void c.disconnect?.().catch(() => {});
      };
      return {
        async connect() {
          const made = await bounded(
            execute.call(sentinel, false, (master) =>
              Promise.resolve(
                master.duplicate({
                  ...(overrides?.name ? { name: overrides.name } : {}),
                  socket: { ...master.options?.socket, ...overrides?.socket },
                }),
              ),
            ),
          );
          for (const listener of listeners) made.on('error', listener);
          client = made;
          try {
            await made.connect();
            const role = await made.sendCommand(['ROLE']);
            if (!Array.isArray(role) || String(role[0]) !== 'master')
              throw new Error('the Sentinel named a node that is no master');
            if (destroyed) throw new Error('revocation feed connection dropped while connecting');
          } catch (error) {
            drop(made);
            throw error;
          }
          return made;
        },
        sendCommand: (args) =>
          client === undefined ? Promise.reject(new Error('not connected')) : client.sendCommand(args),
        on(event, listener) {
          listeners.push(listener);
          client?.on(event, listener);
          return this;
        },
        get isOpen() {
          return !destroyed && client !== undefined && client.isOpen;
        },
        destroy() {
          destroyed = true;
          if (client !== undefined) drop(client);
        },
      };
    },
  };
}

/** `work`, or a rejection after `RESOLVE_TIMEOUT` ms (the Sentinel client waits for a master as long as it takes). */
function bounded<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no master from the Sentinel client in ${RESOLVE_TIMEOUT} ms`)),
      RESOLVE_TIMEOUT,
    );
    timer.unref();
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
