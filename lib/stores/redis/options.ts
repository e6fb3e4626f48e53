import { OptionError } from '../../errors.js';
import { connectionOf, type RedisConnection, type SendCommand } from './connection.js';

export interface RedisSessionStoreOptions {
  /**
   * Your connected client: node-redis (v4, v5, v6) `createClient()` or
   * `createCluster()`, or ioredis `new Redis()` or `new Cluster()`. Each
   * command goes to the primary serving its user's key. Anything else is
   * refused here (pass `sendCommand` for other clients). For
   * `checkRevocation`, the store opens one more connection with the
   * client's `duplicate()` (named `express-token-pair:revocations`); a
   * cluster client is used as it is (the feed polls with short scripts).
   * Caveat: create it so that nothing queues while Redis is down
   * (node-redis `disableOfflineQueue: true`, ioredis `enableOfflineQueue: false`);
   * the store fails at once, with 503, while the client is not ready.
   */
  client?: object | undefined;
  /**
   * A function that sends one raw command, for a client of another kind.
   * On a cluster it must route by the command's key: `args[3]` of the
   * `EVALSHA`/`EVAL` the store sends, or its second argument when given
   * (the `WAIT` of `waitForReplicas`, which names no key, and must go on the
   * connection that sent the script before it).
   */
  sendCommand?: SendCommand | undefined;
  /**
   * A second connection's sendCommand, for the revocation feed; needed only
   * for `checkRevocation` with `sendCommand` on one Redis. It sends `XREAD BLOCK`, which
   * holds its connection for up to a second at a time, so it must not be
   * the connection of `sendCommand`; and `MULTI`/`EXEC`, so it must send
   * every command on that one connection, in order. Not used with `cluster: true`.
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
   * Keep the revocation record, written in the same script as every ending,
   * that `checkRevocation` follows. Default `true`. On one Redis it is the
   * stream `<prefix>revocations`. On a Cluster it is one stream per shard
   * (`shards`), each in the slot of its users' keys, which then are
   * `<prefix>{<shard tag>}u:<userId>`. Caveat: `false` on a Cluster keeps
   * the layout of 0.3, `<prefix>{<userId>}` (its sessions stay valid), with
   * no `checkRevocation`; changing it on a running Cluster loses every
   * session (they are under the other layout's keys).
   */
  revocationRecord?: boolean | undefined;
  /**
   * How many revocation streams a Cluster store keeps (its users spread over
   * them by their key's slot). Default `16`; at most 1024. Each app instance
   * polls every one of them about 4 times a second, so more shards spread
   * the record's writes over more primaries but cost more polls. Caveat:
   * changing it moves every user to another key: every session is lost.
   * Only with a Cluster (`client` a cluster client, or `cluster: true`).
   */
  shards?: number | undefined;
  /**
   * For `sendCommand` only: `true` when it sends to a Redis Cluster (the
   * store then uses the sharded layout of `revocationRecord`). Default
   * `false`. A cluster `client` is recognised by itself.
   */
  cluster?: boolean | undefined;
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
   * A reconnect between a write and its `WAIT` fails the write (503; see
   * wait.ts); with `sendCommand` the store cannot see connections, so
   * `WAIT` is only as safe as your function: it must go on the script's
   * connection, or fail.
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
  'shards',
  'cluster',
  'waitForReplicas',
];

/** Largest `shards`: every instance polls every shard, so this bounds its polls. */
export const MAX_SHARDS = 1024;

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

/** Checks `cluster`, `revocationRecord` and `shards`: the key layout. */
function layoutOptions(
  options: RedisSessionStoreOptions,
  connection: RedisConnection | undefined,
): { cluster: boolean; revocationRecord: boolean; shards: number } {
  const { cluster: declared, revocationRecord = true, shards } = options;
  if (declared !== undefined && typeof declared !== 'boolean') fail('cluster must be a boolean');
  if (declared !== undefined && connection !== undefined) {
    fail(`cluster is for sendCommand only (the client says it is ${connection.cluster ? '' : 'not '}a cluster)`);
  }
  const cluster = connection?.cluster ?? declared ?? false;
  if (typeof revocationRecord !== 'boolean') fail('revocationRecord must be a boolean');
  if (shards !== undefined) {
    if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      fail(`shards must be a whole number from 1 to ${MAX_SHARDS} (got ${JSON.stringify(shards)})`);
    }
    if (!cluster) fail('shards is for a Redis Cluster only (one Redis keeps one revocation stream)');
    if (!revocationRecord) fail('shards needs the revocation record (revocationRecord: false keeps no shards)');
  }
  return {
    cluster,
    revocationRecord,
    shards: cluster && revocationRecord ? (shards ?? 16) : 0,
  };
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
  return {
    ...connection,
    ...layout,
    prefix,
    timeout,
    callerClock: clock === 'caller',
    waitForReplicas,
  };
}
