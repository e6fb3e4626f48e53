import { StoreUnavailableError } from '../errors.js';
import type { Claims, RotateInput, RotateResult, SessionRecord, SessionStore } from '../types.js';
import { scripts, type Script } from './scripts.js';

/** Sends one raw command, e.g. `['EVALSHA', sha, '2', ...]`, and resolves its reply. */
export type SendCommand = (args: string[]) => Promise<unknown>;

/** The part of a node-redis (v4, v5, v6) client this store uses. */
export interface RedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  /** node-redis sets this; when `false` the store fails fast instead of queueing. */
  readonly isReady?: boolean;
}

export interface RedisSessionStoreOptions {
  /** Your connected node-redis client. Either this or `sendCommand`. */
  client?: RedisClientLike;
  /**
   * A function that sends one raw command, for ioredis
   * (`(args) => redis.call(...args)`) or a cluster client.
   */
  sendCommand?: SendCommand;
  /** Key prefix. Default `'etp:'`. Must not contain `{` or `}`. */
  prefix?: string;
  /**
   * Milliseconds to wait for Redis before failing with `StoreUnavailableError`
   * (503). Default `1000`. Caveat: a command already sent may still run after
   * the timeout; create your client with `disableOfflineQueue: true` so that
   * nothing is queued while Redis is down.
   */
  timeout?: number;
}

function fail(message: string): never {
  throw new TypeError(`express-token-pair: RedisSessionStore: ${message}`);
}

/**
 * Sessions in Redis: a hash per session and a sorted-set index per user,
 * under one hash tag per user. Every operation is one Lua script run with
 * EVALSHA (EVAL only after a NOSCRIPT), so each is one round trip and atomic.
 * Replies are read the same under RESP2 and RESP3.
 */
export class RedisSessionStore implements SessionStore {
  readonly #send: SendCommand;
  readonly #ready: () => boolean;
  readonly #prefix: string;
  readonly #timeout: number;

  constructor(options: RedisSessionStoreOptions) {
    const { client, sendCommand, prefix = 'etp:', timeout = 1000 } = options ?? fail('options are required');
    for (const key of Object.keys(options)) {
      if (!['client', 'sendCommand', 'prefix', 'timeout'].includes(key)) fail(`unknown option ${key}`);
    }
    if (client !== undefined && sendCommand !== undefined) fail('pass client or sendCommand, not both');
    if (client !== undefined) {
      if (typeof client?.sendCommand !== 'function') fail('client must be a node-redis client (it has no sendCommand)');
      this.#send = (args) => client.sendCommand(args);
      this.#ready = () => client.isReady !== false;
    } else if (typeof sendCommand === 'function') {
      this.#send = sendCommand;
      this.#ready = () => true;
    } else {
      fail('client or sendCommand is required');
    }
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) fail('prefix must be a string without { or }');
    if (!Number.isSafeInteger(timeout) || timeout <= 0) fail('timeout must be a positive whole number of milliseconds');
    this.#prefix = prefix;
    this.#timeout = timeout;
  }

  #tag(userId: string): string {
    return `${this.#prefix}{${userId}}:`;
  }

  /** Runs a command within the timeout; every failure is `StoreUnavailableError`. */
  async #command(args: string[]): Promise<unknown> {
    if (!this.#ready()) throw new StoreUnavailableError('Redis client is not connected');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailableError(`Redis did not answer within ${this.#timeout} ms`)), this.#timeout);
    });
    try {
      return await Promise.race([this.#send(args), timeout]);
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError('Redis command failed', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** EVALSHA; on NOSCRIPT only (Redis restarted or flushed its scripts), EVAL once. */
  async #run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.#command(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError) || !String((error.cause as Error | undefined)?.message).startsWith('NOSCRIPT')) {
        throw error;
      }
      return this.#command(['EVAL', script.source, ...tail]);
    }
  }

  async create(session: SessionRecord, now: number): Promise<void> {
    const tag = this.#tag(session.userId);
    const claims = Object.keys(session.claims).length === 0 ? '' : JSON.stringify(session.claims);
    await this.#run(scripts.create, [`${tag}s:${session.sessionId}`, `${tag}i`], [
      session.sessionId, String(now), session.jti, session.userId, String(session.createdAt),
      String(session.refreshExpiresAt), String(session.expiresAt), claims,
      session.meta.ip ?? '', session.meta.userAgent ?? '',
    ]);
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const tag = this.#tag(input.userId);
    const reply = await this.#run(scripts.rotate, [`${tag}s:${input.sessionId}`, `${tag}i`], [
      input.jti, input.nextJti, String(input.now), String(input.ttl), String(input.grace), input.sessionId,
    ]);
    if (!Array.isArray(reply)) throw new StoreUnavailableError('unexpected reply from Redis');
    const [status, jti, issuedAt, expiresAt, claims] = reply.map(String);
    if (status === 'rotated' || status === 'grace') {
      return {
        status,
        current: { jti: jti!, issuedAt: Number(issuedAt), expiresAt: Number(expiresAt) },
        claims: JSON.parse(claims!) as Claims,
      };
    }
    if (status === 'reused' || status === 'unknown') return { status };
    throw new StoreUnavailableError('unexpected reply from Redis');
  }

  async revoke(userId: string, sessionId: string): Promise<boolean> {
    const tag = this.#tag(userId);
    const reply = await this.#run(scripts.revoke, [`${tag}s:${sessionId}`, `${tag}i`], [sessionId]);
    return Number(reply) > 0;
  }

  async revokeAll(userId: string): Promise<number> {
    const tag = this.#tag(userId);
    return Number(await this.#run(scripts.revokeAll, [`${tag}i`], [`${tag}s:`]));
  }

  async ping(): Promise<void> {
    await this.#command(['PING']);
  }
}
