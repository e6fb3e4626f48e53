import {
  RefreshReusedError, StoreUnavailableError, TokenExpiredError, TokenPairError, TokenRevokedError,
} from './errors.js';
import { TokenCache } from './token-cache.js';
import { parseOptions, type Config } from './options.js';
import { RESERVED_CLAIMS, customClaims, newId, sign, verify } from './tokens.js';
import type {
  AuthContext, Claims, CurrentToken, IssueInput, SessionMeta, TokenAuthEventName, TokenAuthEvents,
  TokenAuthOptions, TokenPair,
} from './types.js';

type Listener<E extends TokenAuthEventName> = (event: TokenAuthEvents[E]) => void;

const MAX_USER_ID = 256;
const MAX_IP = 64;
const MAX_USER_AGENT = 512;

function normalizeUserId(userId: unknown): string {
  const id = typeof userId === 'number' && Number.isFinite(userId) ? String(userId) : userId;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_USER_ID) {
    throw new TypeError(`express-token-pair: userId must be a non-empty string of at most ${MAX_USER_ID} characters, or a number`);
  }
  return id;
}

function normalizeClaims(claims: unknown): Claims {
  if (claims === undefined) return {};
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new TypeError('express-token-pair: claims must be a plain object');
  }
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) throw new TypeError(`express-token-pair: claim "${name}" is reserved`);
  }
  return JSON.parse(JSON.stringify(claims)) as Claims;
}

/** Keeps metadata small and of the right type; anything else is dropped. */
export function normalizeMeta(meta: SessionMeta | undefined): SessionMeta {
  const out: SessionMeta = {};
  if (typeof meta?.ip === 'string' && meta.ip) out.ip = meta.ip.slice(0, MAX_IP);
  if (typeof meta?.userAgent === 'string' && meta.userAgent) out.userAgent = meta.userAgent.slice(0, MAX_USER_AGENT);
  return out;
}

/**
 * The framework-free core: issues, verifies, rotates and revokes tokens.
 * Express middlewares, GraphQL resolvers or anything else call these.
 * Create it with `createTokenAuth(options)`.
 */
export class TokenAuth {
  readonly #config: Config;
  readonly #listeners = new Map<TokenAuthEventName, Set<Listener<never>>>();
  readonly #cache: TokenCache;

  constructor(options: TokenAuthOptions) {
    this.#config = parseOptions(options);
    this.#cache = new TokenCache(this.#config.access.cacheSize);
  }

  /** Seconds an access token lives; what `expiresIn` reports. */
  get accessTokenTtl(): number {
    return this.#config.access.ttl;
  }

  /**
   * Subscribes to an event. Listeners run synchronously after the step has
   * happened; one that throws does not change the outcome (the error becomes a
   * process warning).
   */
  on<E extends TokenAuthEventName>(event: E, listener: Listener<E>): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener);
    return this;
  }

  off<E extends TokenAuthEventName>(event: E, listener: Listener<E>): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  #emit<E extends TokenAuthEventName>(event: E, payload: TokenAuthEvents[E]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        process.emitWarning(`express-token-pair: a "${event}" listener threw: ${String(error)}`);
      }
    }
  }

  /** Runs a store call; any failure that is not ours means the store is unavailable. */
  async #store<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof TokenPairError) throw error;
      throw new StoreUnavailableError('session store is unavailable', { cause: error });
    }
  }

  #now(): number {
    return Math.floor(this.#config.clock() / 1000);
  }

  #pair(userId: string, sessionId: string, claims: Claims, refresh: CurrentToken, now: number): TokenPair {
    const { access } = this.#config;
    const accessToken = sign(access, this.#config, claims, {
      sub: userId, sid: sessionId, jti: newId(), iat: now, exp: now + access.ttl,
    });
    const refreshToken = sign(this.#config.refresh, this.#config, {}, {
      sub: userId, sid: sessionId, jti: refresh.jti, iat: refresh.issuedAt, exp: refresh.expiresAt,
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: access.ttl };
  }

  /**
   * Starts a session for a user you have already authenticated and returns
   * its first token pair. `claims` go into every access token of the session;
   * `meta` (IP, user agent) is kept with the session.
   */
  async issue(input: IssueInput): Promise<TokenPair> {
    const userId = normalizeUserId(input?.userId);
    const claims = normalizeClaims(input.claims);
    const meta = normalizeMeta(input.meta);
    const now = this.#now();
    const { ttl, maxLifetime } = this.#config.refresh;
    const sessionId = newId();
    const current: CurrentToken = { jti: newId(), issuedAt: now, expiresAt: now + ttl };
    await this.#store(() => this.#config.store.create({
      userId, sessionId, jti: current.jti, createdAt: now,
      refreshExpiresAt: current.expiresAt, expiresAt: now + maxLifetime, claims, meta,
    }, now, this.#config.maxSessionsPerUser));
    this.#emit('issued', { userId, sessionId, meta });
    return this.#pair(userId, sessionId, claims, current, now);
  }

  /**
   * Verifies an access token by signature and claims alone (no store) and
   * returns who it belongs to, frozen. Throws `TokenExpiredError`/
   * `TokenInvalidError`. A token verified before is answered from a small
   * cache (see `accessToken.cacheSize`), its expiry checked again each time.
   */
  verifyAccessToken(token: string): AuthContext {
    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      if (this.#now() < cached.exp + this.#config.clockTolerance) return cached.context;
      this.#cache.delete(token);
      throw new TokenExpiredError('token has expired');
    }
    const payload = verify(token, this.#config.access, this.#config);
    return this.#cache.set(token, { userId: payload.sub, sessionId: payload.sid, claims: customClaims(payload) }, payload.exp);
  }

  /**
   * Exchanges a refresh token for a new pair, rotating it in one atomic store
   * step. Reuse of a rotated-out token revokes the whole session and throws
   * `RefreshReusedError`; an ended session throws `TokenRevokedError`.
   */
  async refresh(refreshToken: string, meta?: SessionMeta): Promise<TokenPair> {
    const payload = verify(refreshToken, this.#config.refresh, this.#config, { name: 'refreshToken' });
    const { sub: userId, sid: sessionId } = payload;
    const now = this.#now();
    const result = await this.#store(() => this.#config.store.rotate({
      userId, sessionId, jti: payload.jti, nextJti: newId(), now,
      ttl: this.#config.refresh.ttl, grace: this.#config.refresh.grace,
    }));
    const who = { userId, sessionId, meta: normalizeMeta(meta) };
    switch (result.status) {
      case 'rotated':
      case 'grace':
        this.#emit('refreshed', { ...who, grace: result.status === 'grace' });
        return this.#pair(userId, sessionId, result.claims, result.current, now);
      case 'reused':
        this.#emit('reuse_detected', who);
        throw new RefreshReusedError('refresh token was already used; the session has been revoked');
      default:
        throw new TokenRevokedError('session has ended');
    }
  }

  /**
   * Ends the session a refresh token belongs to (logout). Idempotent: an
   * already-ended session still resolves. An expired but genuine token is
   * accepted; a forged one throws `TokenInvalidError`.
   */
  async revoke(refreshToken: string): Promise<boolean> {
    const payload = verify(refreshToken, this.#config.refresh, this.#config, { ignoreExpiration: true, name: 'refreshToken' });
    const existed = await this.#store(() => this.#config.store.revoke(payload.sub, payload.sid, this.#now()));
    this.#emit('revoked', { userId: payload.sub, sessionId: payload.sid, count: existed ? 1 : 0 });
    return existed;
  }

  /** Ends every session of a user (logout everywhere). Resolves how many ended. */
  async revokeAll(userId: string | number): Promise<number> {
    const id = normalizeUserId(userId);
    const count = await this.#store(() => this.#config.store.revokeAll(id, this.#now()));
    this.#emit('revoked', { userId: id, count });
    return count;
  }

  /** Resolves if the store answers; rejects with `StoreUnavailableError` if not. */
  async ping(): Promise<void> {
    const { store } = this.#config;
    if (store.ping) await this.#store(() => store.ping!());
  }
}

/** Validates the options once and returns the core every adapter uses. */
export function createTokenAuth(options: TokenAuthOptions): TokenAuth {
  return new TokenAuth(options);
}
