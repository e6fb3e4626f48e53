import { OptionError, StoreUnavailableError } from '../../errors.js';
import { connectionOf, type SendCommand } from './connection.js';

export type { SendCommand } from './connection.js';

/**
 * The part of a node-redis (v4, v5, v6) client used here. An ioredis client
 * or Cluster, or a node-redis cluster, is taken as well (see `connectionOf`).
 */
export interface RedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  /** node-redis sets this; when `false`, commands fail at once instead of queueing. */
  readonly isReady?: boolean;
}

/** True for Redis's "script not loaded" error, the one error worth a retry (with EVAL). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Wraps a client (node-redis client or cluster, ioredis client or Cluster)
 * or a raw send function so that every command settles within `timeout` ms:
 * a client that is not ready, a command that takes too long, or one that
 * fails rejects with `StoreUnavailableError` (503), the Redis error kept as
 * `cause`. A cluster client gets each command routed by its first key.
 * `NOSCRIPT` passes through untouched, so that script runners (this
 * package's store, rate-limit-redis) can reload. Caveat: a command already
 * sent may still run after its timeout (the store's own scripts guard
 * against that with a deadline; other commands are not guarded). `ready`,
 * for a send function: false while it is known to have no connection.
 */
export function boundedSendCommand(
  target: RedisClientLike | SendCommand | object,
  timeout: number,
  ready: () => boolean = () => true,
): SendCommand {
  if (!Number.isSafeInteger(timeout) || timeout <= 0) {
    throw new OptionError(`timeout must be a positive whole number of milliseconds (got ${JSON.stringify(timeout)})`);
  }
  let send: SendCommand;
  if (typeof target === 'function') {
    send = target as SendCommand;
  } else {
    const connection = connectionOf(target, 'boundedSendCommand: client');
    send = connection.send;
    ready = () => connection.ready();
  }
  return async (args, key) => {
    if (!ready()) throw new StoreUnavailableError('Redis is not connected');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`Redis did not answer within ${timeout} ms`)), timeout);
    });
    try {
      return await Promise.race([key === undefined ? send(args) : send(args, key), late]);
    } catch (error) {
      if (error instanceof StoreUnavailableError || isNoScript(error)) throw error;
      throw new StoreUnavailableError('Redis command failed', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
}
