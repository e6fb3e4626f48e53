import { OptionError, StoreUnavailableError } from '../errors.js';
import type {
  CreateOptions, CurrentToken, Ending, NewSession, RevocationFeed, RevokeAllInput, RevokeInput, RevokeResult,
  RotateInput, RotateResult, SessionInfo, SessionStore,
} from '../store-types.js';
import type { Claims } from '../types.js';
import { scripts, type Script } from './scripts.js';
import { boundedSendCommand, isNoScript, type RedisClientLike, type SendCommand } from './bounded-send.js';
import { RedisRevocationFeed, type DuplicableClient } from './redis-revocation-feed.js';

export interface RedisSessionStoreOptions {
  /**
   * Your connected node-redis client. Either this or `sendCommand`. For
   * `checkRevocation`, the store opens one more connection with its
   * `duplicate()` (named `express-token-pair:revocations`).
   */
  client?: (RedisClientLike & Partial<DuplicableClient>) | undefined;
  /**
   * A function that sends one raw command, for ioredis
   * (`(args) => redis.call(...args)`) or a cluster client.
   */
  sendCommand?: SendCommand | undefined;
  /**
   * A second connection's sendCommand, for the revocation feed; needed only
   * for `checkRevocation`. It sends `XREAD BLOCK`, which holds its connection
   * for up to a second at a time, so it must not be the connection of
   * `sendCommand`. With ioredis: `(args) => second.call(...args)` where
   * `second = redis.duplicate()`. With `client` it is not needed.
   */
  blockingSendCommand?: SendCommand | undefined;
  /** Key prefix. Default `'etp:'`. Must not contain `{` or `}`. */
  prefix?: string | undefined;
  /**
   * Milliseconds to wait for Redis before failing with `StoreUnavailableError`
   * (503). Default `1000`. Caveat: a command already sent may still run after
   * the timeout; create your client with `disableOfflineQueue: true` so that
   * nothing is queued while Redis is down.
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
   * script as every ending, that `checkRevocation` follows. Default `true`.
   * Caveat: the stream is in another Redis Cluster slot than the user keys,
   * so on a Cluster set it `false` (and do without `checkRevocation`).
   */
  revocationRecord?: boolean | undefined;
}

const OPTIONS = ['client', 'sendCommand', 'blockingSendCommand', 'prefix', 'timeout', 'clock', 'revocationRecord'];

function fail(message: string): never {
  throw new OptionError(`RedisSessionStore: ${message}`);
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
  readonly #callerClock: boolean;
  /** The revocation stream every ending script appends to (see scripts.ts); undefined when off. */
  readonly #stream: string | undefined;
  /** Where the revocation feed reads: `blockingSendCommand`, or the client to duplicate. */
  readonly #feedSource: DuplicableClient | SendCommand | undefined;

  constructor(options: RedisSessionStoreOptions) {
    if (typeof options !== 'object' || options === null) fail('options are required: { client } or { sendCommand }');
    const {
      client, sendCommand, blockingSendCommand, prefix = 'etp:', timeout = 1000, clock = 'redis', revocationRecord = true,
    } = options;
    for (const key of Object.keys(options)) {
      if (!OPTIONS.includes(key)) fail(`unknown option ${key} (known: ${OPTIONS.join(', ')})`);
    }
    if (client !== undefined && sendCommand !== undefined) fail('pass client or sendCommand, not both');
    if (client !== undefined && typeof client?.sendCommand !== 'function') {
      fail('client must be a node-redis client (it has no sendCommand)');
    }
    if (sendCommand !== undefined && typeof sendCommand !== 'function') fail('sendCommand must be a function');
    if (blockingSendCommand !== undefined && typeof blockingSendCommand !== 'function') {
      fail('blockingSendCommand must be a function');
    }
    if (blockingSendCommand !== undefined && blockingSendCommand === sendCommand) {
      fail('blockingSendCommand must send on a second connection, not the one of sendCommand');
    }
    const target = client ?? sendCommand;
    if (target === undefined) fail('client or sendCommand is required');
    if (typeof prefix !== 'string' || /[{}]/.test(prefix)) fail('prefix must be a string without { or }');
    if (!Number.isSafeInteger(timeout) || timeout <= 0) fail('timeout must be a positive whole number of milliseconds');
    if (clock !== 'redis' && clock !== 'caller') fail(`clock must be 'redis' or 'caller' (got ${JSON.stringify(clock)})`);
    if (typeof revocationRecord !== 'boolean') fail('revocationRecord must be a boolean');
    this.#send = boundedSendCommand(target, timeout);
    this.#prefix = prefix;
    this.#callerClock = clock === 'caller';
    this.#stream = revocationRecord ? `${prefix}revocations` : undefined;
    this.#feedSource = blockingSendCommand
      ?? (typeof client?.duplicate === 'function' ? client as DuplicableClient : undefined);
  }

  /** The user's one key; `{userId}` is its Redis Cluster hash tag. */
  #key(userId: string): string {
    return `${this.#prefix}{${userId}}`;
  }

  /** ARGV[1] of every script: the caller's time, or '' for Redis's own. */
  #time(now: number): string {
    return this.#callerClock ? String(now) : '';
  }

  /** ARGV[1] and [2] of every script: the time and the revocation ttl. */
  #ending(ending: Ending): [string, string] {
    return [this.#time(ending.now), String(ending.revocationTtl)];
  }

  /** EVALSHA; on NOSCRIPT only (Redis restarted or flushed its scripts), EVAL once. */
  async #run(script: Script, userId: string, args: string[]): Promise<unknown> {
    const keys = this.#stream === undefined ? [this.#key(userId)] : [this.#key(userId), this.#stream];
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.#send(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.#send(['EVAL', script.source, ...tail]);
    }
  }

  async create(session: NewSession, options: CreateOptions): Promise<CurrentToken> {
    const reply = await this.#run(scripts.create, session.userId, [
      ...this.#ending(options), session.sessionId, session.jti, String(session.ttl), String(session.maxLifetime),
      claimsJson(session.claims), session.meta.ip ?? '', session.meta.userAgent ?? '', String(options.maxSessions),
    ]);
    const [issuedAt, expiresAt] = Array.isArray(reply) ? reply.map(Number) : [];
    if (!Number.isSafeInteger(issuedAt) || !Number.isSafeInteger(expiresAt)) unexpected();
    return { jti: session.jti, issuedAt: issuedAt!, expiresAt: expiresAt! };
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const reply = await this.#run(scripts.rotate, input.userId, [
      ...this.#ending(input), input.sessionId, input.jti, input.nextJti, String(input.ttl), String(input.grace),
      input.meta.ip ?? '', input.meta.userAgent ?? '', input.claims === undefined ? '0' : '1',
      input.claims === undefined ? '' : claimsJson(input.claims), String(input.window),
    ]);
    if (!Array.isArray(reply)) unexpected();
    const [status, jti, issuedAt, expiresAt, claims, ip, userAgent, refreshes] = reply.map(String);
    if (status === 'rotated' || status === 'grace') {
      return {
        status,
        current: { jti: jti!, issuedAt: Number(issuedAt), expiresAt: Number(expiresAt) },
        claims: claims ? JSON.parse(claims) as Claims : {},
        previousMeta: { ...ip ? { ip } : {}, ...userAgent ? { userAgent } : {} },
        refreshes: Number(refreshes),
      };
    }
    if (status === 'reused' || status === 'unknown') return { status };
    unexpected();
  }

  async revoke(input: RevokeInput): Promise<RevokeResult> {
    const reply = String(await this.#run(scripts.revoke, input.userId, [
      ...this.#ending(input), input.sessionId, input.jti ?? '', String(input.grace),
    ]));
    if (reply === 'revoked' || reply === 'reused' || reply === 'unknown') return reply;
    unexpected();
  }

  async revokeAll(input: RevokeAllInput): Promise<number> {
    return Number(await this.#run(scripts.revokeAll, input.userId, [
      ...this.#ending(input), input.userId, input.keepSessionId ?? '',
    ]));
  }

  async list(userId: string, now: number): Promise<SessionInfo[]> {
    const reply = await this.#run(scripts.list, userId, [this.#time(now), '0']);
    if (!Array.isArray(reply)) unexpected();
    return reply.map((row: unknown) => {
      if (!Array.isArray(row)) unexpected();
      const [sessionId, createdAt, lastUsedAt, expiresAt, ip, userAgent] = row.map(String);
      return {
        sessionId: sessionId!, createdAt: Number(createdAt), lastUsedAt: Number(lastUsedAt), expiresAt: Number(expiresAt),
        ip: ip || undefined, userAgent: userAgent || undefined,
      };
    }).sort((a, b) => b.lastUsedAt - a.lastUsedAt || (a.sessionId < b.sessionId ? -1 : 1));
  }

  /**
   * A new follower of the revocation stream, on a connection of its own
   * (see `RedisRevocationFeed`). Throws `OptionError` when the store was
   * given `sendCommand` without `blockingSendCommand`.
   */
  revocations(): RevocationFeed {
    if (this.#stream === undefined) fail('checkRevocation needs the revocation record; this store has revocationRecord: false');
    if (this.#feedSource === undefined) {
      fail('checkRevocation needs blockingSendCommand (a second connection\'s sendCommand, for the revocation feed)'
        + ' or a node-redis client (it has duplicate())');
    }
    return new RedisRevocationFeed(this.#feedSource, this.#stream);
  }

  async ping(): Promise<void> {
    await this.#send(['PING']);
  }
}

function claimsJson(claims: Claims): string {
  return Object.keys(claims).length === 0 ? '' : JSON.stringify(claims);
}

function unexpected(): never {
  throw new StoreUnavailableError('unexpected reply from Redis');
}
