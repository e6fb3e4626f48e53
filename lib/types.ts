import type { DpopMode, DpopOptions, DpopPresentation } from './dpop-binding.js';
import type { KeyObject } from 'node:crypto';
import type { Claims, SessionMeta, SessionStore } from './store-types.js';

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
  'RS256' | 'RS384' | 'RS512' | 'PS256' | 'PS384' | 'PS512' | 'ES256' | 'ES384' | 'ES512';

/**
 * One key of a ring (`accessToken.keys`, `refreshToken.keys`). The ring's
 * first key signs every new token and writes its `kid` into the header;
 * every key verifies the tokens that name it. Rotate in three deployments
 * (README, "Rotating keys"): `[old, new]`, then `[new, old]`, then `[new]`
 * once the old key's tokens have expired.
 */
export interface RingKeyOptions {
  /**
   * The key's id, written as the header's `kid`: 1 to 64 printable ASCII
   * characters without spaces, unique in the ring and not used by the other
   * ring. Public (in every token and the JWKS): never derive it from a secret.
   */
  kid: string;
  /** HMAC secret, checked as the single `secret` is. Either this or `privateKey` (access keys only). */
  secret?: Secret | undefined;
  /** Private key (PEM or KeyObject), checked as the single `privateKey` is. Access keys only. */
  privateKey?: string | KeyObject | undefined;
  /**
   * Also verifies tokens that carry no `kid`: those signed while this key was
   * the single `secret` or `privateKey`, so moving to a ring logs no one out.
   * Default `false`: a ring refuses a token without `kid`. At most one per ring;
   * drop it once those tokens have expired.
   */
  legacy?: boolean | undefined;
}

/** A refresh ring's key: HMAC only (only this server reads refresh tokens). */
export type RefreshRingKeyOptions = Omit<RingKeyOptions, 'privateKey'>;

export interface AccessTokenOptions {
  /** HMAC secret. Either this, `privateKey` or `keys`. */
  secret?: Secret | undefined;
  /**
   * Private key (PEM or KeyObject) for an asymmetric `algorithm`, so that other
   * services can verify access tokens with the public key alone.
   */
  privateKey?: string | KeyObject | undefined;
  /**
   * A key ring instead of `secret`/`privateKey`: `[{ kid, secret }, ...]` or
   * `[{ kid, privateKey }, ...]` (one family, one `algorithm`). The first
   * signs, any verifies; every token names its key by `kid`, and a token whose
   * `kid` is not in the ring is `token_invalid`. Default: none.
   */
  keys?: readonly RingKeyOptions[] | undefined;
  /** Default `'HS256'` (or `'ES256'` with private keys); the only algorithm ever accepted. */
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
  /** HMAC secret, different from the access token's. Required, unless `keys`. */
  secret?: Secret | undefined;
  /**
   * A key ring instead of `secret`: `[{ kid, secret }, ...]`, the first
   * signing (see `AccessTokenOptions.keys`). No secret may also be an access
   * key. Rotate it over a refresh token's lifetime (`ttl`), not an access
   * token's. Default: none.
   */
  keys?: readonly RefreshRingKeyOptions[] | undefined;
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
  /**
   * Recomputes a session's claims at each refresh (a role changed), without
   * ending the session. Runs before the rotation, so a hook that throws
   * leaves the refresh token unspent; its error reaches the caller as is.
   * Returns the new claims (checked as at `issue()`), or `undefined` to keep
   * the session's. Default: none (claims stay as at login).
   */
  refreshClaims?:
    ((session: { userId: string; sessionId: string }) => Claims | undefined | Promise<Claims | undefined>) | undefined;
  /**
   * Rotations and grace answers of one session, within one access-token
   * lifetime, beyond which a `suspicious` event (reason `refresh_rate`)
   * fires: a client refreshes about once per access token. Default `10`.
   */
  suspiciousRefreshes?: number | undefined;
  /**
   * Milliseconds without word from the store's revocation record after which
   * `checkRevocation` answers 503 rather than let a possibly revoked token
   * through (routes without it keep working). Default `5000`.
   */
  revocationMaxLag?: number | undefined;
  /**
   * DPoP (RFC 9449): sender-constrained tokens. `'optional'`: a login with a
   * valid `DPoP` proof (`issue({ dpop })`) binds the session to the proof's
   * key: its access tokens carry `cnf.jkt` (`tokenType: 'DPoP'`), every
   * refresh needs a proof by that key (another key: 401, the session kept),
   * and guarded routes need `Authorization: DPoP` with a proof. A login
   * without one is a plain Bearer session. `'required'`: every login must
   * bind, and Bearer tokens are refused. Or `{ mode, algorithms, iatWindow,
   * publicUrl, maxKeys, maxProofs }` (see `DpopOptions`). Default `'off'`:
   * DPoP headers are ignored. Needs a store with `features.dpop`.
   */
  dpop?: DpopMode | DpopOptions | undefined;
}

export type { Claims, SessionMeta } from './store-types.js';

export interface IssueInput {
  userId: string | number;
  claims?: Claims | undefined;
  meta?: SessionMeta | undefined;
  /**
   * When the credential check behind this login began, in Unix ms by the
   * core's clock: read `auth.now()` before reading the stored password hash.
   * The login is then refused with `CredentialsChangedError` (401
   * `credentials_changed`), atomically with the store's create, if the
   * user's credentials were cut off at or after it: a password change
   * (`revokeOtherSessions`) or `revokeAll`, on any instance. So a login that
   * checked the old password while it changed never yields a session.
   * Default: none (no such check; pass it for every password login). At most
   * 5 minutes old and never ahead of the clock, or `InputError`.
   */
  authenticatedAt?: number | undefined;
  /**
   * The login request's DPoP proof, method and URL (Express:
   * `dpopPresentation(req)`): with `dpop` on, a valid proof binds the
   * session to its key. Refused (`invalid_dpop_proof`) when bad, or missing
   * in `required` mode. Ignored with `dpop` off.
   */
  dpop?: DpopPresentation | undefined;
}

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  /** `'DPoP'` for a session bound to a DPoP key (send `Authorization: DPoP` with a proof), else `'Bearer'`. */
  tokenType: 'Bearer' | 'DPoP';
  /** Seconds until the access token expires. */
  expiresIn: number;
  /**
   * Seconds the refresh token lives (its `exp - iat`, dated by the store's
   * clock): what the refresh cookie's Max-Age is. Set on the pairs that
   * `issue()` and `refresh()` return, as a non-enumerable property, so that
   * JSON bodies (`res.json(pair)`) stay as they were; caveat: a copy
   * (`{ ...pair }`, `JSON.parse`) does not keep it.
   */
  readonly refreshExpiresIn?: number;
}

/** What a verified access token says; set on `req.auth` by `requireAccessToken`. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  claims: Claims;
  /** The token's `iat`, Unix seconds (by the session store's clock). */
  issuedAt: number;
  /** DPoP: the RFC 7638 thumbprint of the key the token is bound to (`cnf.jkt`); absent for a Bearer token. */
  jkt?: string;
}

/** Events, for audit logs. They never carry a token or a secret. */
export interface TokenAuthEvents {
  issued: { userId: string; sessionId: string; meta: SessionMeta };
  refreshed: { userId: string; sessionId: string; meta: SessionMeta; grace: boolean };
  reuse_detected: { userId: string; sessionId: string; meta: SessionMeta };
  revoked: { userId: string; sessionId?: string; count: number };
  /**
   * Worth a look, not proof of theft: `refresh_rate` (more refreshes within
   * one access-token lifetime than `suspiciousRefreshes`), `ip_changed` or
   * `user_agent_changed` (a refresh, or a grace answer, from another client
   * than the session's last one). `detail` says what was seen, never a token.
   */
  suspicious: {
    userId: string;
    sessionId: string;
    meta: SessionMeta;
    reason: 'refresh_rate' | 'ip_changed' | 'user_agent_changed';
    detail: string;
  };
}
export type TokenAuthEventName = keyof TokenAuthEvents;
