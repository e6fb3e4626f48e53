import {
  InputError, RefreshReusedError, StoreUnavailableError, TokenExpiredError, TokenPairError, TokenRevokedError,
} from './errors.js';
import { normalizeMeta, parseClaims, parseUserId } from './input.js';
import { TokenCache } from './token-cache.js';
import { parseOptions, type Config } from './options.js';
import { MAX_TOKEN_LENGTH } from './constants.js';
import { customClaims, newId, sign, verify } from './tokens.js';
import type {
  AuthContext, Claims, CurrentToken, IssueInput, SessionMeta, TokenAuthEventName, TokenAuthEvents,
  TokenAuthOptions, TokenPair,
} from './types.js';

type Listener<E extends TokenAuthEventName> = (event: TokenAuthEvents[E]) => void;

/**
 * The framework-free core: issues, verifies, rotates and revokes tokens.
 * Express middlewares, GraphQL resolvers or anything else call these.
 * Create it with `createTokenAuth(options)`.
 */
export class TokenAuth {
  readonly #config: Config;
  readonly #listeners = new Map<TokenAuthEventName, Set<Listener<never>>>();
  readonly #cache: TokenCache;
  /** Every context `verifyAccessToken` returned (the cache hands out the same objects again). */
  readonly #verified = new WeakSet<AuthContext>();

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
    return this.#config.now();
  }

  /**
   * Signs an access token. At `issue()` this runs before anything is stored,
   * so claims that cannot be signed, or that make a token longer than
   * `verify` accepts, are refused while nothing has happened yet.
   */
  #accessToken(userId: string, sessionId: string, claims: Claims, now: number): string {
    const { access } = this.#config;
    let token: string;
    try {
      token = sign(access, this.#config, claims, { sub: userId, sid: sessionId, jti: newId(), iat: now, exp: now + access.ttl });
    } catch (cause) {
      throw new InputError('claims could not be signed', { cause });
    }
    if (token.length > MAX_TOKEN_LENGTH) {
      throw new InputError(`claims make the access token ${token.length} characters long; the limit is ${MAX_TOKEN_LENGTH}`);
    }
    return token;
  }

  #pair(userId: string, sessionId: string, accessToken: string, refresh: CurrentToken): TokenPair {
    const refreshToken = sign(this.#config.refresh, this.#config, {}, {
      sub: userId, sid: sessionId, jti: refresh.jti, iat: refresh.issuedAt, exp: refresh.expiresAt,
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.#config.access.ttl };
  }

  /**
   * Starts a session for a user you have already authenticated and returns
   * its first token pair. `claims` go into every access token of the session;
   * `meta` (IP, user agent) is kept with the session. A bad `userId` or
   * `claims` throws `InputError` before anything is stored (see README for
   * the rules).
   */
  async issue(input: IssueInput): Promise<TokenPair> {
    if (typeof input !== 'object' || input === null) throw new InputError('issue() needs { userId, claims?, meta? }');
    const userId = parseUserId(input.userId);
    const claims = parseClaims(input.claims);
    const meta = normalizeMeta(input.meta);
    const now = this.#now();
    const sessionId = newId();
    const accessToken = this.#accessToken(userId, sessionId, claims, now);
    const { ttl, maxLifetime } = this.#config.refresh;
    const current = await this.#store(() => this.#config.store.create(
      { userId, sessionId, jti: newId(), ttl, maxLifetime, claims, meta }, now, this.#config.maxSessionsPerUser));
    this.#emit('issued', { userId, sessionId, meta });
    return this.#pair(userId, sessionId, accessToken, current);
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
    const context = this.#cache.set(token, { userId: payload.sub, sessionId: payload.sid, claims: customClaims(payload) }, payload.exp);
    this.#verified.add(context);
    return context;
  }

  /**
   * True if `context` came from this instance's `verifyAccessToken` (as
   * `req.auth` does when `requireAccessToken(auth)` set it). Another
   * middleware's `req.auth` (express-jwt sets one too) is not.
   */
  owns(context: unknown): context is AuthContext {
    return typeof context === 'object' && context !== null && this.#verified.has(context as AuthContext);
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
        return this.#pair(userId, sessionId, this.#accessToken(userId, sessionId, result.claims, now), result.current);
      case 'reused':
        this.#emit('reuse_detected', who);
        throw new RefreshReusedError('refresh token was already used; the session has been revoked');
      default:
        throw new TokenRevokedError('session has ended');
    }
  }

  /**
   * Ends the session a refresh token belongs to (logout). Idempotent: an
   * already-ended session still resolves, `false`. An expired but genuine
   * token is accepted; a forged one throws `TokenInvalidError`. A token that
   * had been rotated out (outside the grace window) still ends the session,
   * and also emits `reuse_detected`: someone else held a copy.
   */
  async revoke(refreshToken: string, meta?: SessionMeta): Promise<boolean> {
    const payload = verify(refreshToken, this.#config.refresh, this.#config, { ignoreExpiration: true, name: 'refreshToken' });
    const { sub: userId, sid: sessionId } = payload;
    const result = await this.#store(() => this.#config.store.revoke({
      userId, sessionId, jti: payload.jti, now: this.#now(), grace: this.#config.refresh.grace,
    }));
    if (result === 'reused') this.#emit('reuse_detected', { userId, sessionId, meta: normalizeMeta(meta) });
    this.#emit('revoked', { userId, sessionId, count: result === 'unknown' ? 0 : 1 });
    return result !== 'unknown';
  }

  /**
   * Ends every session of a user (logout everywhere). Resolves how many
   * ended. `userId` follows the rules of `issue()`.
   */
  async revokeAll(userId: string | number): Promise<number> {
    const id = parseUserId(userId);
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
