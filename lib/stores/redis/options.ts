import { OptionError } from '../../errors.js';
import { connectionOf, type RedisConnection, type SendCommand } from './connection.js';

export interface RedisSessionStoreOptions {
  /**
   * Your connected client: node-redis (v4, v5, v6) `createClient()` or
   * `createCluster()`, or ioredis `new Redis()` or `new Cluster()`. Each
   * command goes to the primary serving its user's key. Anything else is
   * refused here (pass `sendCommand` for other clients). For
   * `checkRevocation`, the store opens one more connection with the
   * client's `duplicate()` (named `express-token-pair:revocations`).
   * Caveat: create it so that nothing queues while Redis is down
   * (node-redis `disableOfflineQueue: true`, ioredis `enableOfflineQueue: false`);
   * the store fails at once, with 503, while the client is not ready.
   */
  client?: object | undefined;
  /**
   * A function that sends one raw command, for a client of another kind.
   * On a cluster it must route by the command's key: `args[3]` of the
   * `EVALSHA`/`EVAL` the store sends, or its second argument when given
   * (the `WAIT` of `waitForReplicas`, which names no key).
   */
  sendCommand?: SendCommand | undefined;
  /**
   * A second connection's sendCommand, for the revocation feed; needed only
   * for `checkRevocation` with `sendCommand` on one Redis. It sends `XREAD BLOCK`, which
   * holds its connection for up to a second at a time, so it must not be
   * the connection of `sendCommand`; and `MULTI`/`EXEC`, so it must send
   * every command on that one connection, in order.
   */
  blockingSendCommand?: SendCommand | undefined;
  /** Key prefix. Default `'etp:'`. Must not contain `{` or `}`. */
  prefix?: string | undefined;
  /**
   * Milliseconds to wait for Redis before failing with `StoreUnavailableError`
   * (503). Default `1000`. A script that Redis only runs after this (from a
   * client's queue, or resent after a reconnect) changes nothing: each one
   * carries a deadline it checks against Redis's clock.
   */
  timeout?: number | undefined;
  /**
   * Whose clock decides expiry, the reuse grace window and last use.
   * Default `'redis'`: Redis's own `TIME`, read inside each script, so that
   * app instances whose clocks disagree still decide alike. `'caller'`: the
   * time the core passes in (its `clock` option), for tests that move time
   * by hand; with several instances their clocks must then agree.
   */
  clock?: 'redis' | 'caller' | undefined;
  /**
   * Keep the revocation record (`<prefix>revocations`), written in the same
   * script as every ending, that `checkRevocation` follows. Default `true`,
   * but `false` with a cluster client: the stream would be in another
   * Cluster slot than the user keys, so on a Cluster there is no
   * `checkRevocation` (setting it `true` there is refused).
   */
  revocationRecord?: boolean | undefined;
  /**
   * After every script that writes (login, refresh, logout, revoke all),
   * `WAIT` until this many replicas have the write, else fail with
   * `StoreUnavailableError` (503): the write happened on the primary, but a
   * failover could lose it, so it is never answered as a success. Default
   * `0` (no wait): then a failover can lose an acknowledged logout, and the
   * ended session comes back (its refresh token works again), or a refresh,
   * whose new token is then refused. The wait lasts at most half of
   * `timeout`. Caveat: `WAIT` holds the connection it is sent on, so other
   * commands of your app sent on the same client wait behind it while a
   * replica is slow or down; and a replica that has a write still loses it
   * if a replica without it is promoted (set `min-replicas-to-write` too).
   */
  waitForReplicas?: number | undefined;
}

const OPTIONS = [
  'client',
  'sendCommand',
  'blockingSendCommand',
  'prefix',
  'timeout',
  'clock',
  'revocationRecord',
  'waitForReplicas',
];

/** The options, checked, with their defaults. */
export interface StoreConfig {
  connection: RedisConnection | undefined;
  sendCommand: SendCommand | undefined;
  blockingSendCommand: SendCommand | undefined;
  prefix: string;
  timeout: number;
  callerClock: boolean;
  revocationRecord: boolean;
  /** True on a Redis Cluster. */
  cluster: boolean;
  /** Shards of the record on a Cluster with a record; 0 otherwise (one stream, or none). */
  shards: number;
  waitForReplicas: number;
}

export function fail(message: string): never {
  throw new OptionError(`RedisSessionStore: ${message}`);
}

/** Checks `client`, `sendCommand` and `blockingSendCommand`: where the store sends. */
function connectionOptions(options: RedisSessionStoreOptions): {
  connection: RedisConnection | undefined;
  sendCommand: SendCommand | undefined;
  blockingSendCommand: SendCommand | undefined;
} {
  const { client, sendCommand, blockingSendCommand } = options;
  if (client !== undefined && sendCommand !== undefined) fail('pass client or sendCommand, not both');
  const connection = client === undefined ? undefined : connectionOf(client, 'RedisSessionStore: client');
  if (sendCommand !== undefined && typeof sendCommand !== 'function') fail('sendCommand must be a function');
  if (blockingSendCommand !== undefined && typeof blockingSendCommand !== 'function') {
    fail('blockingSendCommand must be a function');
  }
  if (blockingSendCommand !== undefined && blockingSendCommand === sendCommand) {
    fail('blockingSendCommand must send on a second connection, not the one of sendCommand');
  }
  if (connection === undefined && sendCommand === undefined) fail('client or sendCommand is required');
  return { connection, sendCommand, blockingSendCommand };
}

/** Checks `revocationRecord`; its default: kept, except on a cluster client. */
function layoutOptions(
  options: RedisSessionStoreOptions,
  connection: RedisConnection | undefined,
): { cluster: boolean; revocationRecord: boolean; shards: number } {
  const revocationRecord = options.revocationRecord ?? !connection?.cluster;
  if (typeof revocationRecord !== 'boolean') fail('revocationRecord must be a boolean');
  if (revocationRecord && connection?.cluster) {
    fail(
      `revocationRecord cannot be kept on a Redis Cluster (${connection.kind}): the stream would be in another slot` +
        ' than the user keys; leave it unset (false) and do without checkRevocation',
    );
  }
  return { cluster: connection?.cluster ?? false, revocationRecord, shards: 0 };
}

/** Checks every option, once, at construction; throws `OptionError` naming the first bad one. */
export function parseOptions(options: RedisSessionStoreOptions): StoreConfig {
  if (typeof options !== 'object' || options === null) fail('options are required: { client } or { sendCommand }');
  const { prefix = 'etp:', timeout = 1000, clock = 'redis', waitForReplicas = 0 } = options;
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) fail(`unknown option ${key} (known: ${OPTIONS.join(', ')})`);
  }
  const connection = connectionOptions(options);
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) fail('prefix must be a string without { or }');
  if (!Number.isSafeInteger(timeout) || timeout <= 0) fail('timeout must be a positive whole number of milliseconds');
  if (clock !== 'redis' && clock !== 'caller') fail(`clock must be 'redis' or 'caller' (got ${JSON.stringify(clock)})`);
  const layout = layoutOptions(options, connection.connection);
  if (!Number.isSafeInteger(waitForReplicas) || waitForReplicas < 0) {
    fail(`waitForReplicas must be a whole number, 0 or more (got ${JSON.stringify(waitForReplicas)})`);
  }
  return { ...connection, ...layout, prefix, timeout, callerClock: clock === 'caller', waitForReplicas };
}
