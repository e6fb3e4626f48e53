import { CredentialsChangedError, OptionError } from '../errors.js';
import { InvalidDpopProofError } from '../dpop/errors.js';
import { MemoryProofs } from './memory-proofs.js';
import type {
  CreateOptions,
  CurrentToken,
  Ending,
  NewSession,
  RevocationFeed,
  RevokeAllInput,
  RevokeInput,
  RevokeResult,
  RotateInput,
  RotateResult,
  SessionInfo,
  SessionStore,
} from '../store-types.js';
import type { Claims, SessionMeta } from '../types.js';
import { MemoryRevocations } from '../revocation/memory-feed.js';

interface Entry {
  userId: string;
  jti: string;
  previousJti: string | undefined;
  rotatedAt: number;
  /** The latest issue time of any token the session handed out (see `lostSuccessor`). */
  latestIssued: number;
  lastUsedAt: number;
  createdAt: number;
  refreshExpiresAt: number;
  expiresAt: number;
  claims: Claims;
  meta: SessionMeta;
  /** Start of the refresh-counting window, and refreshes in it. */
  windowStart: number;
  refreshes: number;
  /** The DPoP key thumbprint the session is bound to; undefined: unbound. */
  jkt: string | undefined;
}

/** The caller's time in ms (see `Ending.nowMs`). */
function msOf(ending: Ending): number {
  return ending.nowMs ?? ending.now * 1000;
}

function expired(entry: Entry, now: number): boolean {
  return entry.refreshExpiresAt <= now || entry.expiresAt <= now;
}

/**
 * A token issued after every token the session handed out: a successor the
 * store lost (see `RotateInput.issuedAt`). Against the high-water mark, not
 * the current token's time, so that a clock stepping back does not make a
 * stolen older token look like one.
 */
function lostSuccessor(entry: Entry, issuedAt: number | undefined): boolean {
  return issuedAt !== undefined && issuedAt > entry.latestIssued;
}

/** The presented jti was rotated out no more than `grace` seconds ago (a benign race, not theft). */
function inGrace(entry: Entry, jti: string, grace: number, now: number): boolean {
  const age = now - entry.rotatedAt;
  return jti === entry.previousJti && grace > 0 && age >= 0 && age <= grace;
}

export interface MemorySessionStoreOptions {
  /**
   * Milliseconds between sweeps of expired sessions. Default `60000`. The
   * timer is `unref()`'d. Sweeps use the latest time the core passed in (its
   * `clock`), so a test clock and the store agree.
   */
  sweepInterval?: number | undefined;
}

/**
 * Sessions in this process's memory, with the same semantics as the Redis
 * store. For development, tests and single-process apps: sessions are lost on
 * restart and not shared between processes. Call `close()` to stop its timer.
 */
export class MemorySessionStore implements SessionStore {
  readonly #sessions = new Map<string, Entry>();
  readonly #byUser = new Map<string, Set<string>>();
  readonly #timer: NodeJS.Timeout;
  readonly #revocations = new MemoryRevocations();
  readonly #proofs = new MemoryProofs();
  /** Keeps `jkt` and checks DPoP proofs (see `SessionStore.features`). */
  readonly features = { dpop: true } as const;
  /** Each user's credential cut-off (see `RevokeAllInput.credentialTtl`): Unix ms, and Unix seconds it is kept until. */
  readonly #cutOffs = new Map<string, { at: number; until: number }>();
  /** The latest time the core has passed in: sweeps follow its clock, not the wall clock. */
  #now = 0;
  #closed = false;

  constructor(options: MemorySessionStoreOptions = {}) {
    if (typeof options !== 'object' || options === null)
      throw new OptionError('MemorySessionStore: options must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'sweepInterval')
        throw new OptionError(`MemorySessionStore: unknown option ${key} (known: sweepInterval)`);
    }
    const interval = options.sweepInterval ?? 60_000;
    if (!Number.isSafeInteger(interval) || interval <= 0) {
      throw new OptionError(
        `MemorySessionStore: sweepInterval must be a positive whole number of milliseconds (got ${JSON.stringify(interval)})`,
      );
    }
    this.#timer = setInterval(() => this.#sweep(), interval);
    this.#timer.unref();
  }

  /** Live sessions held (expired ones count until the next sweep). */
  get size(): number {
    return this.#sessions.size;
  }

  async create(session: NewSession, options: CreateOptions): Promise<CurrentToken> {
    const now = this.#begin(options.now);
    if (options.authenticatedAge !== undefined) {
      const began = msOf(options) - options.authenticatedAge;
      const cutOff = this.#cutOffs.get(session.userId);
      if (cutOff !== undefined && cutOff.at >= began) {
        throw new CredentialsChangedError('the credentials changed after this login checked them; log in again');
      }
    }
    if (options.proof !== undefined && this.#proofs.replayed(session.userId, options.proof, now)) {
      throw new InvalidDpopProofError('DPoP proof jti was already used');
    }
    this.#sweepUser(session.userId, now);
    this.#evict(session.userId, options.maxSessions - 1, options);
    const expiresAt = now + session.maxLifetime;
    const refreshExpiresAt = Math.min(now + session.ttl, expiresAt);
    this.#sessions.set(session.sessionId, {
      userId: session.userId,
      jti: session.jti,
      previousJti: undefined,
      rotatedAt: now,
      latestIssued: now,
      lastUsedAt: now,
      createdAt: now,
      refreshExpiresAt,
      expiresAt,
      claims: structuredClone(session.claims),
      meta: { ...session.meta },
      windowStart: now,
      refreshes: 0,
      jkt: session.jkt,
    });
    let ids = this.#byUser.get(session.userId);
    if (!ids) this.#byUser.set(session.userId, (ids = new Set()));
    ids.add(session.sessionId);
    return { jti: session.jti, issuedAt: now, expiresAt: refreshExpiresAt };
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    const now = this.#begin(input.now);
    const { userId, sessionId, jti } = input;
    const entry = this.#live(userId, sessionId, now);
    if (!entry) return { status: 'unknown' };
    const { proof } = input;
    if (entry.jkt !== undefined && proof?.jkt !== entry.jkt) return { status: 'key_mismatch' };
    if (proof !== undefined && this.#proofs.replayed(userId, proof, now)) return { status: 'proof_replayed' };
    let status: 'rotated' | 'grace';
    if (jti === entry.jti || lostSuccessor(entry, input.issuedAt)) {
      status = 'rotated';
      entry.previousJti = jti;
      entry.jti = input.nextJti;
      entry.latestIssued = Math.max(entry.latestIssued, now, input.issuedAt ?? now);
      entry.rotatedAt = now;
      entry.refreshExpiresAt = Math.min(now + input.ttl, entry.expiresAt);
    } else if (inGrace(entry, jti, input.grace, now)) {
      status = 'grace';
    } else {
      this.#end(sessionId, userId, input);
      return { status: 'reused' };
    }
    const previousMeta = entry.meta;
    entry.meta = { ...previousMeta, ...input.meta };
    if (input.claims !== undefined) entry.claims = structuredClone(input.claims);
    if (now - entry.windowStart >= input.window || now < entry.windowStart) {
      entry.windowStart = now;
      entry.refreshes = 0;
    }
    entry.refreshes += 1;
    entry.lastUsedAt = now;
    return {
      status,
      current: { jti: entry.jti, issuedAt: entry.rotatedAt, expiresAt: entry.refreshExpiresAt },
      claims: structuredClone(entry.claims),
      previousMeta: { ...previousMeta },
      refreshes: entry.refreshes,
      ...(entry.jkt === undefined ? {} : { jkt: entry.jkt }),
    };
  }

  async revoke(input: RevokeInput): Promise<RevokeResult> {
    const now = this.#begin(input.now);
    const { userId, sessionId, jti } = input;
    const entry = this.#live(userId, sessionId, now);
    if (!entry) return 'unknown';
    this.#end(sessionId, userId, input);
    return jti === undefined ||
      jti === entry.jti ||
      inGrace(entry, jti, input.grace, now) ||
      lostSuccessor(entry, input.issuedAt)
      ? 'revoked'
      : 'reused';
  }

  async revokeAll(input: RevokeAllInput): Promise<number> {
    const now = this.#begin(input.now);
    const { userId, keepSessionId } = input;
    this.#sweepUser(userId, now);
    let count = 0;
    for (const id of [...(this.#byUser.get(userId) ?? [])]) {
      if (id === keepSessionId) continue;
      this.#end(id, userId, input);
      count += 1;
    }
    // Nothing ended, nothing recorded: a repeated logout-all must not grow the record.
    if (keepSessionId === undefined && count > 0)
      this.#revocations.record({ kind: 'user', id: userId, at: now }, input.revocationTtl);
    // The credential cut-off, though, is set even so: a login may be in flight for a user with no sessions.
    const was = this.#cutOffs.get(userId);
    this.#cutOffs.set(userId, {
      at: Math.max(was?.at ?? -Infinity, msOf(input)),
      until: Math.max(was?.until ?? -Infinity, now + input.credentialTtl),
    });
    return count;
  }

  async list(userId: string, now: number): Promise<SessionInfo[]> {
    this.#begin(now);
    this.#sweepUser(userId, now);
    return [...(this.#byUser.get(userId) ?? [])]
      .map((sessionId) => {
        const entry = this.#sessions.get(sessionId)!;
        return {
          sessionId,
          createdAt: entry.createdAt,
          lastUsedAt: entry.lastUsedAt,
          expiresAt: entry.refreshExpiresAt,
          ip: entry.meta.ip,
          userAgent: entry.meta.userAgent,
        };
      })
      .sort((a, b) => b.lastUsedAt - a.lastUsedAt || (a.sessionId < b.sessionId ? -1 : 1));
  }

  /** Revocations in this process: its feed never lags (see `RevocationFeed`). */
  revocations(): RevocationFeed {
    return this.#revocations.feed();
  }

  /** Resolves while the store is open. */
  async ping(): Promise<void> {
    this.#open();
  }

  /** Stops the sweep timer and drops every session; later calls reject (503 through the core). */
  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#sessions.clear();
    this.#byUser.clear();
    this.#revocations.clear();
    this.#cutOffs.clear();
    this.#proofs.clear();
  }

  #open(): void {
    if (this.#closed) throw new Error('MemorySessionStore is closed');
  }

  /** Every call starts here: refuses once closed, and keeps the latest time for the sweeps. */
  #begin(now: number): number {
    this.#open();
    this.#now = Math.max(this.#now, now);
    return now;
  }

  /** The session if it is this user's and live; an expired one is dropped. */
  #live(userId: string, sessionId: string, now: number): Entry | undefined {
    const entry = this.#sessions.get(sessionId);
    if (!entry || entry.userId !== userId) return undefined;
    if (!expired(entry, now)) return entry;
    this.#delete(sessionId, userId);
    return undefined;
  }

  /** Deletes a live session and records its revocation. */
  #end(sessionId: string, userId: string, ending: Ending): void {
    this.#delete(sessionId, userId);
    this.#revocations.record({ kind: 'session', id: sessionId, at: ending.now }, ending.revocationTtl);
  }

  #delete(sessionId: string, userId: string): void {
    this.#sessions.delete(sessionId);
    const ids = this.#byUser.get(userId);
    ids?.delete(sessionId);
    if (ids?.size === 0) this.#byUser.delete(userId);
  }

  #sweepUser(userId: string, now: number): void {
    for (const id of this.#byUser.get(userId) ?? []) {
      const entry = this.#sessions.get(id);
      if (!entry || expired(entry, now)) this.#delete(id, userId);
    }
  }

  /** Ends the user's least recently used sessions until at most `keep` remain (ties: lowest id). */
  #evict(userId: string, keep: number, ending: Ending): void {
    const ids = this.#byUser.get(userId);
    if (!ids || ids.size <= keep) return;
    const byUse = [...ids].sort(
      (a, b) => this.#sessions.get(a)!.lastUsedAt - this.#sessions.get(b)!.lastUsedAt || (a < b ? -1 : 1),
    );
    for (const id of byUse.slice(0, ids.size - keep)) this.#end(id, userId, ending);
  }

  #sweep(): void {
    for (const [id, entry] of this.#sessions) {
      if (expired(entry, this.#now)) this.#delete(id, entry.userId);
    }
    this.#revocations.trim(this.#now);
    this.#proofs.trim(this.#now);
    for (const [userId, { until }] of this.#cutOffs) if (until < this.#now) this.#cutOffs.delete(userId);
  }
}
