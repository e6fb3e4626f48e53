import { StoreUnavailableError } from '../errors.js';
import type { Claims, RotateInput, RotateResult, SessionRecord, SessionStore } from '../types.js';
import { scripts, type Script } from './scripts.js';
import { boundedSendCommand, isNoScript, type RedisClientLike, type SendCommand } from './bounded-send.js';

export interface RedisSessionStoreOptions {
  /** Your connected node-redis client. Either this or `sendCommand`. */
  client?: RedisClientLike | undefined;
  /**
   * A function that sends one raw command, for ioredis
   * (`(args) => redis.call(...args)`) or a cluster client.
   */
  sendCommand?: SendCommand | undefined;
  /** Key prefix. Default `'etp:'`. Must not contain `{` or `}`. */
  prefix?: string | undefined;
  /**
   * Milliseconds to wait for Redis before failing with `StoreUnavailableError`
   * (503). Default `1000`. Caveat: a command already sent may still run after
   * the timeout; create your client with `disableOfflineQueue: true` so that
   * nothing is queued while Redis is down.
   */
  timeout?: number | undefined;
}

function fail(message: string): never {
  throw new TypeError(`express-token-pair: RedisSessionStore: ${message}`);
}

/**
 * Sessions in Redis: one key per user holding all of that user's sessions
 * (see scripts.ts for the layout). Every operation is one Lua script run
 * with EVALSHA (EVAL only after a NOSCRIPT), so each is one round trip and
 * atomic. Replies are read the same under RESP2 and RESP3.
 */
export class RedisSessionStore implements SessionStore {
  readonly #send: SendCommand;
  readonly #prefix: string;

  constructor(options: RedisSessionStoreOptions) {
    const { client, sendCommand, prefix = 'etp:', timeout = 1000 } = options ?? fail('options are required');
    for (const key of Object.keys(options)) {
      if (!['client', 'sendCommand', 'prefix', 'timeout'].includes(key)) fail(`unknown option ${key}`);
    }
    if (client !== undefined && sendCommand !== undefined) fail('pass client or sendCommand, not both');
    if (client !== undefined && typeof client?.sendCommand !== 'function') {
      fail('client must be a node-redis client (it has no sendCommand)');
    }
    const target = client ?? sendCommand;
    if (target === undefined) fail('client or sendCommand is required');
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) fail('prefix must be a string without { or }');
    if (!Number.isSafeInteger(timeout) || timeout <= 0) fail('timeout must be a positive whole number of milliseconds');
    this.#send = boundedSendCommand(target, timeout);
    this.#prefix = prefix;
  }

  /** The user's one key; `{userId}` is its Redis Cluster hash tag. */
  #key(userId: string): string {
    return `${this.#prefix}{${userId}}`;
  }

  /** EVALSHA; on NOSCRIPT only (Redis restarted or flushed its scripts), EVAL once. */
  async #run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.#send(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#send(['EVAL', script.source, ...tail]);
    }
  }

  async create(session: SessionRecord, now: number, maxSessions: number): Promise<void> {
    const claims = Object.keys(session.claims).length === 0 ? '' : JSON.stringify(session.claims);
    await this.#run(scripts.create, [this.#key(session.userId)], [
      session.sessionId, String(now), session.jti, String(session.createdAt), String(session.refreshExpiresAt),
      String(session.expiresAt), claims, session.meta.ip ?? '', session.meta.userAgent ?? '', String(maxSessions),
    ]);
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const reply = await this.#run(scripts.rotate, [this.#key(input.userId)], [
      input.sessionId, input.jti, input.nextJti, String(input.now), String(input.ttl), String(input.grace),
    ]);
    if (!Array.isArray(reply)) throw new StoreUnavailableError('unexpected reply from Redis');
    const [status, jti, issuedAt, expiresAt, claims] = reply.map(String);
    if (status === 'rotated' || status === 'grace') {
      return {
        status,
        current: { jti: jti!, issuedAt: Number(issuedAt), expiresAt: Number(expiresAt) },
        claims: claims ? JSON.parse(claims) as Claims : {},
      };
    }
    if (status === 'reused' || status === 'unknown') return { status };
    throw new StoreUnavailableError('unexpected reply from Redis');
  }

  async revoke(userId: string, sessionId: string, now: number): Promise<boolean> {
    return Number(await this.#run(scripts.revoke, [this.#key(userId)], [sessionId, String(now)])) > 0;
  }

  async revokeAll(userId: string, now: number): Promise<number> {
    return Number(await this.#run(scripts.revokeAll, [this.#key(userId)], [String(now)]));
  }

  async ping(): Promise<void> {
    await this.#send(['PING']);
  }
}
