import type { KeyObject } from 'node:crypto';

/**
 * A duration: whole seconds (a number, or digits as a string: `'900'`, as
 * environment variables give them), or a string such as `'30s'`, `'15m'`,
 * `'12h'`, `'7d'`.
 */
export type Duration = number | `${number}` | `${number}${'s' | 'm' | 'h' | 'd'}`;

/** Key material for an HMAC algorithm: at least as many bytes as the hash (32 for HS256). */
export type Secret = string | Uint8Array | KeyObject;

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';
export type AsymmetricAlgorithm =
  | 'RS256' | 'RS384' | 'RS512'
  | 'PS256' | 'PS384' | 'PS512'
  | 'ES256' | 'ES384' | 'ES512';

export interface AccessTokenOptions {
  /** HMAC secret. Either this or `privateKey`. */
  secret?: Secret | undefined;
  /**
   * Private key (PEM or KeyObject) for an asymmetric `algorithm`, so that other
   * services can verify access tokens with the public key alone.
   */
  privateKey?: string | KeyObject | undefined;
  /** Default `'HS256'` (or `'ES256'` with a `privateKey`); the only algorithm ever accepted. */
  algorithm?: HmacAlgorithm | AsymmetricAlgorithm | undefined;
  /** Lifetime. Default `'15m'`. Access tokens cannot be revoked, so keep it short. */
  ttl?: Duration | undefined;
  /**
   * How many verified access tokens to remember, so that a client's repeat
   * requests skip the signature check. Default `10000` (a few MB at most);
   * `0` disables it. Expiry is still checked at every use.
   */
  cacheSize?: number | undefined;
}

export interface RefreshTokenOptions {
  /** HMAC secret, different from the access token's. Required. */
  secret?: Secret | undefined;
  /** Default `'HS256'`. */
  algorithm?: HmacAlgorithm | undefined;
  /** Lifetime of each refresh token; slides on every rotation. Default `'7d'`. */
  ttl?: Duration | undefined;
  /**
   * Hard limit on a session's life, however often it is refreshed.
   * Default `'30d'`; must be at least `ttl`.
   */
  maxLifetime?: Duration | undefined;
  /**
   * Seconds during which the refresh token that was just rotated out still
   * gets the same successor back (concurrent tabs, a lost response) instead of
   * counting as reuse. Default `5`; `0` disables it. Whole seconds.
   */
  reuseGrace?: number | undefined;
}

export interface TokenAuthOptions {
  accessToken: AccessTokenOptions;
  refreshToken: RefreshTokenOptions;
  /** Where sessions live: a `RedisSessionStore`, a `MemorySessionStore`, or your own. */
  store: SessionStore;
  /** `iss` claim written and required. Default: none. */
  issuer?: string | undefined;
  /** `aud` claim written and required. Default: none. */
  audience?: string | undefined;
  /**
   * Sessions one user may hold at once; a new login beyond it ends the
   * user's least recently used session. Default `100`.
   */
  maxSessionsPerUser?: number | undefined;
  /** Seconds of clock skew tolerated when checking `exp`/`nbf`. Default `0`. */
  clockTolerance?: number | undefined;
  /** Current time in milliseconds. Default `Date.now`; for tests. */
  clock?: (() => number) | undefined;
}

/** Client details kept with a session and passed with events. */
export interface SessionMeta {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** Extra claims copied into every access token of the session. */
export type Claims = Record<string, unknown>;

export interface IssueInput {
  userId: string | number;
  claims?: Claims | undefined;
  meta?: SessionMeta | undefined;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
}

/** What a verified access token says; set on `req.auth` by `requireAccessToken`. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  claims: Claims;
}

/**
 * A new session as handed to `SessionStore.create`. The store, not the
 * caller, fixes its times (see `SessionStore` on clocks).
 */
export interface NewSession {
  userId: string;
  sessionId: string;
  /** Id of its first refresh token. */
  jti: string;
  /** Seconds the first refresh token lives. */
  ttl: number;
  /** Seconds the session lives at most, however often it is refreshed (at least `ttl`). */
  maxLifetime: number;
  claims: Claims;
  meta: SessionMeta;
}

export interface RotateInput {
  userId: string;
  sessionId: string;
  /** The presented refresh token's id. */
  jti: string;
  /** Id for the successor, used only if the presented one is current. */
  nextJti: string;
  /** The caller's time, Unix seconds (see `SessionStore` on clocks). */
  now: number;
  /** Seconds the successor lives (capped by the session's absolute end). */
  ttl: number;
  /** Seconds the previous refresh token still maps to the current one. */
  grace: number;
}

export interface RevokeInput {
  userId: string;
  sessionId: string;
  /**
   * The presented refresh token's id. When it is neither the current one nor
   * the one rotated out within `grace` seconds, the session still ends but
   * the answer is `reused`. Without it (an admin ending a session) no reuse
   * check is made.
   */
  jti?: string | undefined;
  /** The caller's time, Unix seconds (see `SessionStore` on clocks). */
  now: number;
  grace: number;
}

/**
 * Outcome of `SessionStore.revoke`: `revoked` (a live session ended),
 * `reused` (it ended, and the presented token had been rotated out: a stolen
 * copy), `unknown` (no live session: already ended, expired or never there).
 */
export type RevokeResult = 'revoked' | 'reused' | 'unknown';

/** The refresh token that is now current in a session. Times are Unix seconds. */
export interface CurrentToken {
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Outcome of one atomic rotation:
 * - `rotated`: the presented token was current; `current` is its new successor.
 * - `grace`: the presented token was rotated out within the grace window;
 *   `current` is the successor it already has.
 * - `reused`: any other old token; the store has deleted the session.
 * - `unknown`: no such session (logged out, expired, never existed).
 */
export type RotateResult =
  | { status: 'rotated' | 'grace'; current: CurrentToken; claims: Claims }
  | { status: 'reused' | 'unknown' };

/**
 * Where sessions live. Every method is one atomic step. Implementations must
 * reject (not resolve) when they cannot tell whether the step happened, and
 * must settle promptly: the core puts no timeout of its own around them.
 *
 * Clocks: every method gets `now`, the calling process's time in Unix
 * seconds. A store shared by several processes should decide expiry, grace
 * and last use by one clock of its own instead (`RedisSessionStore` uses
 * Redis's `TIME`), so that the processes need not agree on the time; the
 * times it answers with are the ones written into refresh tokens.
 */
export interface SessionStore {
  /**
   * Store a new session in the user's index, first dropping the user's least
   * recently used sessions so that at most `maxSessions` remain. Resolves its
   * first refresh token's times.
   */
  create(session: NewSession, now: number, maxSessions: number): Promise<CurrentToken>;
  /** Decide and apply one refresh; see `RotateResult`. */
  rotate(input: RotateInput): Promise<RotateResult>;
  /** Delete one session; see `RevokeResult`. */
  revoke(input: RevokeInput): Promise<RevokeResult>;
  /** Delete every session of a user. Resolves how many live ones there were. */
  revokeAll(userId: string, now: number): Promise<number>;
  /** Resolve if the store answers (health checks). */
  ping?(): Promise<void>;
}

/** Events, for audit logs. They never carry a token or a secret. */
export interface TokenAuthEvents {
  issued: { userId: string; sessionId: string; meta: SessionMeta };
  refreshed: { userId: string; sessionId: string; meta: SessionMeta; grace: boolean };
  reuse_detected: { userId: string; sessionId: string; meta: SessionMeta };
  revoked: { userId: string; sessionId?: string; count: number };
}
export type TokenAuthEventName = keyof TokenAuthEvents;
