import { OptionError, StoreUnavailableError } from '../errors.js';

/** Sends one raw command, e.g. `['EVALSHA', sha, '2', ...]`, and resolves its reply. */
export type SendCommand = (args: string[]) => Promise<unknown>;

/** The part of a node-redis (v4, v5, v6) client used here. */
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
 * Wraps a client (or a raw send function) so that every command settles
 * within `timeout` ms: a client that is not ready, a command that takes too
 * long, or one that fails rejects with `StoreUnavailableError` (503), the
 * Redis error kept as `cause`. `NOSCRIPT` passes through untouched, so that
 * script runners (this package's store, rate-limit-redis) can reload.
 * Caveat: a command already sent may still run after its timeout.
 */
export function boundedSendCommand(target: RedisClientLike | SendCommand, timeout: number): SendCommand {
  if (!Number.isSafeInteger(timeout) || timeout <= 0) {
    throw new OptionError(`timeout must be a positive whole number of milliseconds (got ${JSON.stringify(timeout)})`);
  }
  const send: SendCommand = typeof target === 'function' ? target : (args) => target.sendCommand(args);
  const ready = typeof target === 'function' ? () => true : () => target.isReady !== false;
  return async (args) => {
    if (!ready()) throw new StoreUnavailableError('Redis is not connected');
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`Redis did not answer within ${timeout} ms`)), timeout);
    });
    try {
      return await Promise.race([send(args), late]);
    } catch (error) {
      if (error instanceof StoreUnavailableError || isNoScript(error)) throw error;
      throw new StoreUnavailableError('Redis command failed', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  };
}
