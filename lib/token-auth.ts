import {
  InputError,
  OptionError,
  RefreshReusedError,
  StoreUnavailableError,
  TokenExpiredError,
  TokenInvalidError,
  TokenPairError,
  TokenRevokedError,
} from './errors.js';
import { suspicions, TokenAuthEmitter } from './events.js';
import { authenticatedAge, MAX_AUTHENTICATED_AGE, normalizeMeta, parseClaims, parseUserId } from './input.js';
import { RevocationView } from './revocation/view.js';
import { healthReport, type HealthReport } from './health.js';
import { newBrand, TokenCache } from './token-cache.js';
import { parseOptions, type Config } from './options.js';
import { customClaims, newId, verify } from './tokens.js';
import { signAccessToken, signPair } from './token-pair.js';
import { publicJwks, type JwkSet } from './jwks.js';
import { checkGuardedProof, tokenEndpointProof, type DpopMode, type DpopPresentation } from './dpop-binding.js';
import { InvalidDpopProofError } from './dpop/errors.js';
import type { Ending, RevokeAllInput, SessionInfo } from './store-types.js';
import type { AuthContext, IssueInput, SessionMeta, TokenAuthOptions, TokenPair } from './types.js';

/**
 * The framework-free core: issues, verifies, rotates and revokes tokens, and
 * lists and ends sessions. Express middlewares, GraphQL resolvers or anything
 * else call these. Create it with `createTokenAuth(options)`.
 */
export class TokenAuth extends TokenAuthEmitter {
  readonly #config: Config;
  /** The `clock` option (validated by `parseOptions`): Unix ms. */
  readonly #clock: () => number;
  readonly #cache: TokenCache;
  /** Stamps every context `verifyAccessToken` returns (the cache hands out the same objects again). */
  readonly #verified = newBrand();
  #revocations: RevocationView | undefined;

  constructor(options: TokenAuthOptions) {
    super();
    this.#config = parseOptions(options);
    this.#clock = options.clock ?? Date.now;
    this.#cache = new TokenCache(this.#config.access.cacheSize);
  }

  /** Seconds an access token lives; what `expiresIn` reports. */
  get accessTokenTtl(): number {
    return this.#config.access.ttl;
  }

  /** The access keys' public JWK Set (see `jwksHandler`); `{ keys: [] }` with HMAC secrets. A new object each call. */
  jwks(): JwkSet {
    return publicJwks(this.#config.access);
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
   * The core's clock, Unix ms: the `clock` option, `Date.now` by default.
   * Read it when a credential check begins (before reading the stored
   * password hash), for `issue({ authenticatedAt })`.
   */
  now(): number {
    const ms: unknown = this.#clock();
    // As `Config.now`: a clock gone wrong fails closed.
    if (typeof ms !== 'number' || !Number.isFinite(ms))
      throw new Error(`express-token-pair: clock() returned ${String(ms)}, not milliseconds`);
    return ms;
  }

  /** What every store call that may end sessions needs: the time (one reading), and how long to remember an ending. */
  #ending(): Ending & { nowMs: number } {
    const nowMs = this.now();
    return {
      now: Math.floor(nowMs / 1000),
      nowMs,
      revocationTtl: this.#config.access.ttl + this.#config.clockTolerance,
    };
  }

  /** `revokeAll` for the store: the ending, and how long the user's credential cut-off must last. */
  #cutOff(userId: string, keepSessionId?: string): RevokeAllInput {
    // A second beyond the oldest check issue() accepts, so the cut-off outlives every check it can refuse.
    return { ...this.#ending(), userId, keepSessionId, credentialTtl: MAX_AUTHENTICATED_AGE + 1 };
  }

  /**
   * Starts a session for a user you have already authenticated and returns
   * its first token pair. `claims` go into every access token of the session;
   * `meta` (IP, user agent) is kept with the session. With `authenticatedAt`
   * (see `IssueInput`), a login whose credential check began before a
   * password change or `revokeAll` throws `CredentialsChangedError` (401).
   * A bad `userId`, `claims` or `authenticatedAt` throws `InputError` before
   * anything is stored (see README for the rules).
   */
  async issue(input: IssueInput): Promise<TokenPair> {
    if (typeof input !== 'object' || input === null)
      throw new InputError('issue() needs { userId, claims?, meta?, authenticatedAt? }');
    const userId = parseUserId(input.userId);
    const claims = parseClaims(input.claims);
    const meta = normalizeMeta(input.meta);
    const { dpop } = this.#config;
    const proof = tokenEndpointProof(dpop, input.dpop, dpop?.mode === 'required');
    const sessionId = newId();
    // A trial signing, so that claims that cannot become a token are refused before anything is stored.
    signAccessToken(this.#config, userId, sessionId, claims, this.#now());
    const { ttl, maxLifetime } = this.#config.refresh;
    const ending = this.#ending();
    // The check's age, not its time: a store with a clock of its own (Redis) places it on that clock.
    const age = input.authenticatedAt === undefined ? undefined : authenticatedAge(input.authenticatedAt, ending.nowMs);
    const current = await this.#store(() =>
      this.#config.store.create(
        { userId, sessionId, jti: newId(), ttl, maxLifetime, claims, meta, ...(proof ? { jkt: proof.jkt } : {}) },
        {
          ...ending,
          ...(proof ? { proof } : {}),
          maxSessions: this.#config.maxSessionsPerUser,
          ...(age === undefined ? {} : { authenticatedAge: age }),
        },
      ),
    );
    this.emit('issued', { userId, sessionId, meta });
    return signPair(this.#config, userId, sessionId, claims, current, proof?.jkt);
  }

  /**
   * Verifies an access token by signature and claims alone (no store) and
   * returns who it belongs to, frozen. Throws `TokenExpiredError`/
   * `TokenInvalidError`. A token verified before is answered from a small
   * cache (see `accessToken.cacheSize`), its expiry checked again each time.
   */
  verifyAccessToken(token: string, dpop?: DpopPresentation): AuthContext {
    const context = this.#verifyToken(token);
    checkGuardedProof(this.#config.dpop, token, context.jkt, dpop);
    return context;
  }

  #verifyToken(token: string): AuthContext {
    const cached = this.#cache.get(token);
    if (cached !== undefined) {
      if (this.#now() < cached.exp + this.#config.clockTolerance) return cached.context;
      this.#cache.delete(token);
      throw new TokenExpiredError('token has expired');
    }
    const payload = verify(token, this.#config.access, this.#config);
    const jkt = boundKey(payload.cnf);
    const context = this.#verified.stamp({
      userId: payload.sub,
      sessionId: payload.sid,
      claims: customClaims(payload),
      issuedAt: payload.iat,
      ...(jkt === undefined ? {} : { jkt }),
    });
    return this.#cache.set(token, context, payload.exp);
  }

  /** `'off'`, `'optional'` or `'required'`: the `dpop` option's mode. */
  get dpopMode(): DpopMode {
    return this.#config.dpop?.mode ?? 'off';
  }

  /** The DPoP proof algorithms accepted (for `WWW-Authenticate: DPoP algs="..."`); empty with DPoP off. */
  get dpopAlgorithms(): readonly string[] {
    return this.#config.dpop?.algorithms ?? [];
  }

  /**
   * True if `context` came from this instance's `verifyAccessToken` (as
   * `req.auth` does when `requireAccessToken(auth)` set it). Another
   * middleware's `req.auth` (express-jwt sets one too) is not.
   */
  owns(context: unknown): context is AuthContext {
    return typeof context === 'object' && context !== null && this.#verified.has(context);
  }

  /**
   * Exchanges a refresh token for a new pair, rotating it in one atomic store
   * step. Reuse of a rotated-out token revokes the whole session and throws
   * `RefreshReusedError`; an ended session throws `TokenRevokedError`.
   * `meta` (the client's IP and user agent) replaces the session's; a change,
   * or too many refreshes, emits `suspicious`.
   */
  async refresh(refreshToken: string, meta?: SessionMeta, dpop?: DpopPresentation): Promise<TokenPair> {
    const payload = verify(refreshToken, this.#config.refresh, this.#config, { name: 'refreshToken' });
    // Whether the session is bound is the store's to say: a proof is verified when sent, required only by the store.
    const proof = tokenEndpointProof(this.#config.dpop, dpop, false);
    const { sub: userId, sid: sessionId } = payload;
    const client = normalizeMeta(meta);
    // The refreshClaims hook runs before the rotation: one that throws leaves the token unspent.
    const hooked = await this.#config.refreshClaims?.({ userId, sessionId });
    const claims = hooked === undefined ? undefined : parseClaims(hooked);
    const result = await this.#store(() =>
      this.#config.store.rotate({
        ...this.#ending(),
        userId,
        sessionId,
        jti: payload.jti,
        issuedAt: payload.iat,
        nextJti: newId(),
        ttl: this.#config.refresh.ttl,
        grace: this.#config.refresh.grace,
        meta: client,
        claims,
        window: this.#config.access.ttl,
        ...(proof ? { proof } : {}),
      }),
    );
    const who = { userId, sessionId, meta: client };
    switch (result.status) {
      case 'rotated':
      case 'grace':
        this.emit('refreshed', { ...who, grace: result.status === 'grace' });
        for (const found of suspicions(
          result.previousMeta,
          client,
          result.refreshes,
          this.#config.suspiciousRefreshes,
          this.#config.access.ttl,
        )) {
          this.emit('suspicious', { ...who, ...found });
        }
        return signPair(this.#config, userId, sessionId, result.claims, result.current, result.jkt);
      case 'key_mismatch':
        throw new TokenInvalidError('refresh needs a DPoP proof by the key the session is bound to');
      case 'proof_replayed':
        throw new InvalidDpopProofError('DPoP proof jti was already used');
      case 'reused':
        this.emit('reuse_detected', who);
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
    const payload = verify(refreshToken, this.#config.refresh, this.#config, {
      ignoreExpiration: true,
      name: 'refreshToken',
    });
    const { sub: userId, sid: sessionId } = payload;
    const result = await this.#store(() =>
      this.#config.store.revoke({
        ...this.#ending(),
        userId,
        sessionId,
        jti: payload.jti,
        issuedAt: payload.iat,
        grace: this.#config.refresh.grace,
      }),
    );
    if (result === 'reused') this.emit('reuse_detected', { userId, sessionId, meta: normalizeMeta(meta) });
    this.emit('revoked', { userId, sessionId, count: result === 'unknown' ? 0 : 1 });
    return result !== 'unknown';
  }

  /**
   * Ends one session of a user by its id (a "sign out this device" button),
   * without its refresh token. Resolves `false` when the user has no such live
   * session, so an id of someone else's session ends nothing.
   */
  async revokeSession(userId: string | number, sessionId: string): Promise<boolean> {
    const id = parseUserId(userId);
    if (typeof sessionId !== 'string' || sessionId === '') throw new InputError('sessionId must be a non-empty string');
    const result = await this.#store(() =>
      this.#config.store.revoke({ ...this.#ending(), userId: id, sessionId, grace: 0 }),
    );
    this.emit('revoked', { userId: id, sessionId, count: result === 'unknown' ? 0 : 1 });
    return result !== 'unknown';
  }

  /**
   * Ends every session of a user (logout everywhere), and records a cut-off:
   * with `checkRevocation`, every access token issued before it is refused
   * (recorded only when a session ended), and a login whose credential check
   * began before it is refused (`issue()`'s `authenticatedAt`). Resolves how
   * many sessions ended. `userId` follows the rules of `issue()`.
   */
  async revokeAll(userId: string | number): Promise<number> {
    const id = parseUserId(userId);
    const count = await this.#store(() => this.#config.store.revokeAll(this.#cutOff(id)));
    this.emit('revoked', { userId: id, count });
    return count;
  }

  /**
   * Ends every session of a user but `keepSessionId` (after a password
   * change, or "sign out everywhere else"), and refuses every login whose
   * credential check began before it (`issue()`'s `authenticatedAt`), even
   * one still in flight. Call it after the new password hash is stored.
   * Resolves how many ended.
   */
  async revokeOtherSessions(userId: string | number, keepSessionId: string): Promise<number> {
    const id = parseUserId(userId);
    if (typeof keepSessionId !== 'string' || keepSessionId === '')
      throw new InputError('keepSessionId must be a non-empty string');
    const count = await this.#store(() => this.#config.store.revokeAll(this.#cutOff(id, keepSessionId)));
    this.emit('revoked', { userId: id, count });
    return count;
  }

  /** The user's live sessions, most recently used first (times in Unix seconds). */
  async listSessions(userId: string | number): Promise<SessionInfo[]> {
    const id = parseUserId(userId);
    return this.#store(() => this.#config.store.list(id, this.#now()));
  }

  /**
   * Starts following the store's revocation record (once), so that
   * `checkRevocation` can refuse the access tokens of ended sessions without
   * a store round trip. Resolves once caught up. `requireAccessToken(auth,
   * { checkRevocation: true })` calls it when it is created.
   */
  watchRevocations(): Promise<void> {
    if (this.#revocations === undefined) {
      const { store } = this.#config;
      if (typeof store.revocations !== 'function') {
        throw new OptionError(
          'checkRevocation needs a store with a revocation record (revocations()); this store has none',
        );
      }
      this.#revocations = new RevocationView(store.revocations(), {
        retention: this.#config.access.ttl + this.#config.clockTolerance,
        maxLag: this.#config.revocationMaxLag,
        now: () => this.#now(),
      });
    }
    return this.#revocations.ready();
  }

  /**
   * Throws `TokenRevokedError` if `context`'s session has ended (or its user
   * was cut off after the token was issued), and `StoreUnavailableError`
   * (503) while the revocation record is not current. Starts following the
   * record on first use. No store round trip.
   */
  checkRevocation(context: AuthContext): void {
    if (this.#revocations === undefined) void this.watchRevocations().catch(() => {});
    this.#revocations!.check(context);
  }

  /** Entries in this process's view of recent revocations (0 until `watchRevocations`). */
  get revocationViewSize(): number {
    return this.#revocations?.size ?? 0;
  }

  /** Stops following the revocation record. The store is yours to close. */
  async close(): Promise<void> {
    await this.#revocations?.close();
    this.#revocations = undefined;
  }

  /** Resolves if the store can take writes (not a replica, not loading, not full); else rejects with `StoreUnavailableError`. */
  async ping(): Promise<void> {
    const { store } = this.#config;
    if (store.ping) await this.#store(() => store.ping!());
  }

  /**
   * The store's health (its ping, and `checkServer()` warnings when it has
   * one) and, once the revocation record is followed, whether
   * `checkRevocation` would answer now: plain data for health checks, no
   * secret or token in it. Never rejects. See `HealthReport`.
   */
  health(): Promise<HealthReport> {
    return healthReport(this.#config.store, this.#revocations);
  }
}

/** The `cnf.jkt` of a verified payload (RFC 7800 / RFC 9449 §6.1), or undefined. */
function boundKey(cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined;
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as { jkt?: unknown }).jkt : undefined;
  if (typeof jkt !== 'string' || jkt === '') throw new TokenInvalidError('access token cnf is malformed');
  return jkt;
}

/** Validates the options once and returns the core every adapter uses. */
export function createTokenAuth(options: TokenAuthOptions): TokenAuth {
  return new TokenAuth(options);
}
