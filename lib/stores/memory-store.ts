import { OptionError } from '../errors.js';
import type {
  Claims, CurrentToken, NewSession, RevokeInput, RevokeResult, RotateInput, RotateResult, SessionMeta, SessionStore,
} from '../types.js';

interface Entry {
  userId: string;
  jti: string;
  previousJti: string | undefined;
  rotatedAt: number;
  lastUsedAt: number;
  createdAt: number;
  refreshExpiresAt: number;
  expiresAt: number;
  claims: Claims;
  meta: SessionMeta;
}

function expired(entry: Entry, now: number): boolean {
  return entry.refreshExpiresAt <= now || entry.expiresAt <= now;
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
  /** The latest time the core has passed in: sweeps follow its clock, not the wall clock. */
  #now = 0;
  #closed = false;

  constructor(options: MemorySessionStoreOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new OptionError('MemorySessionStore: options must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'sweepInterval') throw new OptionError(`MemorySessionStore: unknown option ${key} (known: sweepInterval)`);
    }
    const interval = options.sweepInterval ?? 60_000;
    if (!Number.isSafeInteger(interval) || interval <= 0) {
      throw new OptionError(`MemorySessionStore: sweepInterval must be a positive whole number of milliseconds (got ${JSON.stringify(interval)})`);
    }
    this.#timer = setInterval(() => this.#sweep(), interval);
    this.#timer.unref();
  }

  /** Live sessions held (expired ones count until the next sweep). */
  get size(): number {
    return this.#sessions.size;
  }

  async create(session: NewSession, now: number, maxSessions: number): Promise<CurrentToken> {
    this.#open();
    this.#now = Math.max(this.#now, now);
    this.#sweepUser(session.userId, now);
    this.#evict(session.userId, maxSessions - 1);
    const expiresAt = now + session.maxLifetime;
    const refreshExpiresAt = Math.min(now + session.ttl, expiresAt);
    this.#sessions.set(session.sessionId, {
      userId: session.userId,
      jti: session.jti,
      previousJti: undefined,
      rotatedAt: now,
      lastUsedAt: now,
      createdAt: now,
      refreshExpiresAt,
      expiresAt,
      claims: structuredClone(session.claims),
      meta: { ...session.meta },
    });
    let ids = this.#byUser.get(session.userId);
    if (!ids) this.#byUser.set(session.userId, (ids = new Set()));
    ids.add(session.sessionId);
    return { jti: session.jti, issuedAt: now, expiresAt: refreshExpiresAt };
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
    this.#open();
    const { userId, sessionId, jti, now } = input;
    this.#now = Math.max(this.#now, now);
    const entry = this.#sessions.get(sessionId);
    if (!entry || entry.userId !== userId) return { status: 'unknown' };
    if (expired(entry, now)) {
      this.#delete(sessionId, entry.userId);
      return { status: 'unknown' };
    }
    let status: 'rotated' | 'grace';
    if (jti === entry.jti) {
      status = 'rotated';
      entry.previousJti = jti;
      entry.jti = input.nextJti;
      entry.rotatedAt = now;
      entry.lastUsedAt = now;
      entry.refreshExpiresAt = Math.min(now + input.ttl, entry.expiresAt);
    } else if (inGrace(entry, jti, input.grace, now)) {
      status = 'grace';
      entry.lastUsedAt = now;
    } else {
      this.#delete(sessionId, userId);
      return { status: 'reused' };
    }
    return {
      status,
      current: { jti: entry.jti, issuedAt: entry.rotatedAt, expiresAt: entry.refreshExpiresAt },
      claims: structuredClone(entry.claims),
    };
  }

  async revoke(input: RevokeInput): Promise<RevokeResult> {
    this.#open();
    const { userId, sessionId, jti, now } = input;
    this.#now = Math.max(this.#now, now);
    const entry = this.#sessions.get(sessionId);
    if (!entry || entry.userId !== userId) return 'unknown';
    this.#delete(sessionId, userId);
    if (expired(entry, now)) return 'unknown';
    return jti === undefined || jti === entry.jti || inGrace(entry, jti, input.grace, now) ? 'revoked' : 'reused';
  }

  async revokeAll(userId: string, now: number): Promise<number> {
    this.#open();
    const ids = this.#byUser.get(userId);
    if (!ids) return 0;
    let live = 0;
    for (const id of ids) {
      const entry = this.#sessions.get(id);
      if (entry && !expired(entry, now)) live += 1;
      this.#sessions.delete(id);
    }
    this.#byUser.delete(userId);
    return live;
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
  }

  #open(): void {
    if (this.#closed) throw new Error('MemorySessionStore is closed');
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

  /** Drops the user's least recently used sessions until at most `keep` remain (ties: lowest id). */
  #evict(userId: string, keep: number): void {
    const ids = this.#byUser.get(userId);
    if (!ids || ids.size <= keep) return;
    const byUse = [...ids].sort((a, b) =>
      this.#sessions.get(a)!.lastUsedAt - this.#sessions.get(b)!.lastUsedAt || (a < b ? -1 : 1));
    for (const id of byUse.slice(0, ids.size - keep)) this.#delete(id, userId);
  }

  #sweep(): void {
    for (const [id, entry] of this.#sessions) {
      if (expired(entry, this.#now)) this.#delete(id, entry.userId);
    }
  }
}
