import type { Claims, RotateInput, RotateResult, SessionMeta, SessionRecord, SessionStore } from '../types.js';

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

  constructor(options: MemorySessionStoreOptions = {}) {
    const interval = options.sweepInterval ?? 60_000;
    if (!Number.isSafeInteger(interval) || interval <= 0) {
      throw new TypeError('express-token-pair: sweepInterval must be a positive whole number of milliseconds');
    }
    this.#timer = setInterval(() => this.#sweep(), interval);
    this.#timer.unref();
  }

  /** Live sessions held (expired ones count until the next sweep). */
  get size(): number {
    return this.#sessions.size;
  }

  async create(session: SessionRecord, now: number, maxSessions: number): Promise<void> {
    this.#now = Math.max(this.#now, now);
    this.#sweepUser(session.userId, now);
    this.#evict(session.userId, maxSessions - 1);
    this.#sessions.set(session.sessionId, {
      userId: session.userId,
      jti: session.jti,
      previousJti: undefined,
      rotatedAt: now,
      lastUsedAt: now,
      createdAt: session.createdAt,
      refreshExpiresAt: session.refreshExpiresAt,
      expiresAt: session.expiresAt,
      claims: structuredClone(session.claims),
      meta: { ...session.meta },
    });
    let ids = this.#byUser.get(session.userId);
    if (!ids) this.#byUser.set(session.userId, (ids = new Set()));
    ids.add(session.sessionId);
  }

  async rotate(input: RotateInput): Promise<RotateResult> {
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
    } else if (jti === entry.previousJti && input.grace > 0 && now - entry.rotatedAt <= input.grace) {
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

  async revoke(userId: string, sessionId: string, now: number): Promise<boolean> {
    const entry = this.#sessions.get(sessionId);
    if (!entry || entry.userId !== userId) return false;
    this.#delete(sessionId, userId);
    return !expired(entry, now);
  }

  async revokeAll(userId: string, now: number): Promise<number> {
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

  async ping(): Promise<void> {}

  /** Stops the sweep timer and drops every session. */
  close(): void {
    clearInterval(this.#timer);
    this.#sessions.clear();
    this.#byUser.clear();
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
