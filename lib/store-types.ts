/**
 * The session store interface and what its methods take and resolve.
 * `RedisSessionStore` and `MemorySessionStore` implement it; so can yours.
 * Both built-in stores pass the store contract, which yours can run too:
 * `describeStoreContract` from `express-token-pair/store-contract`.
 */
import type { RevocationFeed } from './revocation/types.js';

export type { Revocation, RevocationFeed } from './revocation/types.js';

/** Client details kept with a session and passed with events. */
export interface SessionMeta {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** Extra claims copied into every access token of the session. */
export type Claims = Record<string, unknown>;

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
  /**
   * DPoP: the RFC 7638 thumbprint of the key the session is bound to, for
   * its whole life (every refresh must prove that key; see
   * `RotateResult` `key_mismatch`). Undefined: an unbound (Bearer) session.
   */
  jkt?: string | undefined;
}

/**
 * A DPoP proof's use at login or refresh, for the store's replay check: a
 * `jti` already used by this user within `ttl` is refused, in the same
 * atomic step (so a check costs no extra round trip).
 */
export interface ProofUse {
  /** RFC 7638 thumbprint of the proof's key. */
  jkt: string;
  /** The proof's `jti` (at most 128 characters). */
  jti: string;
  /** Seconds to remember it: longer than a proof's `iat` window either side (2 x window + clock tolerance). */
  ttl: number;
}

/** What every call that may end sessions needs besides its own input. */
export interface Ending {
  /** The caller's time, Unix seconds (see `SessionStore` on clocks). */
  now: number;
  /**
   * The same time in Unix milliseconds (`now` is its whole seconds), for
   * credential cut-offs, which need ms (see `CreateOptions.authenticatedAge`).
   * Undefined: `now` × 1000.
   */
  nowMs?: number | undefined;
  /**
   * Seconds an ended session must stay on the revocation record: as long as
   * one of its access tokens may still verify (access-token ttl plus clock
   * tolerance).
   */
  revocationTtl: number;
}

export interface CreateOptions extends Ending {
  /** At most this many sessions per user: the least recently used ones beyond it end. */
  maxSessions: number;
  /**
   * Milliseconds since the credential check behind this login began, by the
   * caller's clock (`issue()`'s `authenticatedAt`). The store then takes the
   * check to have begun at its own now minus this age, in ms, by the clock it
   * decides time with, and refuses the login, storing nothing, by rejecting
   * with `CredentialsChangedError` when the user's credential cut-off
   * (`RevokeAllInput.credentialTtl`) is at or after that moment: the check
   * may have passed on a password that has since changed. Equal counts as
   * after. Undefined: no such check.
   */
  authenticatedAge?: number | undefined;
  /**
   * DPoP: the login's proof. Its `jti` used before by this user (within its
   * `ttl`) rejects with `InvalidDpopProofError`, storing nothing; else it is
   * remembered. Undefined: no proof.
   */
  proof?: ProofUse | undefined;
}

export interface RotateInput extends Ending {
  userId: string;
  sessionId: string;
  /** The presented refresh token's id. */
  jti: string;
  /** Id for the successor, used only if the presented one is current. */
  nextJti: string;
  /**
   * The presented token's `iat`. A token issued later than every token the
   * session ever handed out can only be a successor whose rotation the store
   * has since lost (a failover to a replica that had not received it, a
   * restore from an older snapshot): it is taken as the current one, not as
   * reuse. The bar is that high-water mark (the latest issue time the
   * session handed out, kept by the store), not the current token's
   * `issuedAt`: after the store's clock steps back, the current token can be
   * dated before a rotated-out one, and a stolen copy of that one must still
   * be reuse. Undefined: no such check.
   */
  issuedAt?: number | undefined;
  /** Seconds the successor lives (capped by the session's absolute end). */
  ttl: number;
  /** Seconds the previous refresh token still maps to the current one. */
  grace: number;
  /** The refreshing client's IP and user agent: they replace the session's. */
  meta: SessionMeta;
  /** New claims for the session (the `claimsOnRefresh` hook); undefined keeps them. */
  claims?: Claims | undefined;
  /** Seconds over which refreshes are counted (`RotateResult.refreshes`): the access-token ttl. */
  window: number;
  /**
   * DPoP: the refresh's proof (undefined: none presented). Checked before
   * anything else but the session's existence: a bound session with no
   * proof or another key's answers `key_mismatch`, a `jti` this user used
   * before answers `proof_replayed`; both change nothing (no rotation, no
   * reuse detection). An unbound session ignores the key (the proof's `jti`
   * is still remembered) and stays unbound.
   */
  proof?: ProofUse | undefined;
}

/** The refresh token that is now current in a session. Times are Unix seconds. */
export interface CurrentToken {
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

/**
 * Outcome of one atomic rotation:
 * - `key_mismatch`: the session is DPoP-bound and the proof is missing or by
 *   another key; nothing changed (a thief without the key cannot spend or
 *   end the session).
 * - `proof_replayed`: the proof's `jti` was used before; nothing changed.
 * - `rotated`: the presented token was current; `current` is its new successor.
 * - `grace`: the presented token was rotated out within the grace window;
 *   `current` is the successor it already has.
 * - `reused`: any other old token; the store has ended the session.
 * - `unknown`: no such session (logged out, expired, never existed).
 *
 * With `rotated` and `grace`: `claims` are the session's (new ones if given),
 * `previousMeta` the IP and user agent it had before this call, and
 * `refreshes` how many rotations and grace answers the session has had in the
 * current window, this one included.
 */
export type RotateResult =
  | {
      status: 'rotated' | 'grace';
      current: CurrentToken;
      claims: Claims;
      previousMeta: SessionMeta;
      refreshes: number;
      /** The thumbprint the session is bound to (DPoP); undefined: unbound. */
      jkt?: string | undefined;
    }
  | { status: 'reused' | 'unknown' | 'key_mismatch' | 'proof_replayed' };

export interface RevokeInput extends Ending {
  userId: string;
  sessionId: string;
  /**
   * The presented refresh token's id. When it is neither the current one nor
   * the one rotated out within `grace` seconds, the session still ends but
   * the answer is `reused`. Without it (a user ending one of their sessions
   * from a list) no reuse check is made.
   */
  jti?: string | undefined;
  /**
   * The presented token's `iat`, as at `rotate`: one later than every token
   * the session handed out (the high-water mark, not the current token's
   * `issuedAt`) is a successor the store lost, so the logout answers
   * `revoked`, not `reused`. Undefined: no such check.
   */
  issuedAt?: number | undefined;
  grace: number;
}

/**
 * Outcome of `SessionStore.revoke`: `revoked` (a live session ended),
 * `reused` (it ended, and the presented token had been rotated out: a stolen
 * copy), `unknown` (no live session: already ended, expired or never there).
 */
export type RevokeResult = 'revoked' | 'reused' | 'unknown';

export interface RevokeAllInput extends Ending {
  userId: string;
  /** End every session but this one (undefined: every session). */
  keepSessionId?: string | undefined;
  /**
   * Seconds to keep the user's credential cut-off: the time of this call, in
   * ms, against which `create` checks `authenticatedAge`. Written with or
   * without `keepSessionId`, and even when no session ends (a login in
   * flight counts whether or not the user has sessions); kept apart from the
   * revocation record, which gets nothing when nothing ends. A later cut-off
   * replaces an earlier one, never the reverse. It must outlive the oldest
   * credential check `issue()` accepts.
   */
  credentialTtl: number;
}

/** A live session as `SessionStore.list` shows it. Times are Unix seconds, by the store's clock. */
export interface SessionInfo {
  sessionId: string;
  createdAt: number;
  /** Last login or refresh (grace answers included). */
  lastUsedAt: number;
  /** When it ends unless refreshed first (never after its absolute end). */
  expiresAt: number;
  /** From the login, then from the latest refresh. */
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * Where sessions live. Every method is one atomic step. Implementations must
 * reject (not resolve) when they cannot tell whether the step happened, and
 * must settle promptly: the core puts no timeout of its own around them.
 *
 * Clocks: every method gets `now`, the calling process's time in Unix
 * seconds. A store shared by several processes should decide expiry, grace
 * and last use by one clock of its own instead (`RedisSessionStore` uses
 * Redis's `TIME`), so that the processes need not agree on the time; the
 * times it answers with are the ones written into tokens.
 *
 * Every call that ends sessions (eviction at `create`, reuse at `rotate`,
 * `revoke`, `revokeAll`) records them in the same atomic step, for
 * `revocations()`; a call that ends none records nothing. A step that cannot
 * record must change nothing.
 */
export interface SessionStore {
  /**
   * Stores a new session in the user's index, first ending the user's least
   * recently used sessions so that at most `maxSessions` remain. Resolves its
   * first refresh token's times. Rejects with `CredentialsChangedError`, and
   * changes nothing, when `authenticatedAge` began at or before the user's
   * credential cut-off.
   */
  create(session: NewSession, options: CreateOptions): Promise<CurrentToken>;
  /** Decides and applies one refresh; see `RotateResult`. */
  rotate(input: RotateInput): Promise<RotateResult>;
  /** Ends one session; see `RevokeResult`. */
  revoke(input: RevokeInput): Promise<RevokeResult>;
  /**
   * Ends every session of a user (or all but one) and sets the user's
   * credential cut-off (see `credentialTtl`). Resolves how many live ones ended.
   */
  revokeAll(input: RevokeAllInput): Promise<number>;
  /** The user's live sessions, most recently used first. */
  list(userId: string, now: number): Promise<SessionInfo[]>;
  /** The store's revocation record; needed only for `checkRevocation`. */
  revocations?(): RevocationFeed;
  /** Resolves if the store answers (health checks). */
  ping?(): Promise<void>;
  /**
   * What the store supports beyond the required methods. `dpop: true`: it
   * keeps `NewSession.jkt` and checks `proof` at `create` and `rotate`
   * (`createTokenAuth` refuses `dpop` with a store without it).
   */
  readonly features?: { readonly dpop?: boolean } | undefined;
}
