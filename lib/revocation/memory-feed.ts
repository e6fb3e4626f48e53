import type { Revocation, RevocationFeed } from './types.js';
import type { FeedStream } from './view.js';

interface Kept {
  revocation: Revocation;
  /** Unix seconds after which no access token it could match is still valid. */
  until: number;
}

/**
 * The memory store's revocation record: in this process, so its feed never
 * lags and never drops. Entries leave once every token they could match has
 * expired.
 */
export class MemoryRevocations {
  #kept: Kept[] = [];
  /** How many revocations were recorded: the last one's id (its ordinal), for `streams()`. */
  #recorded = 0;
  readonly #listeners = new Set<(revocation: Revocation) => void>();

  record(revocation: Revocation, ttl: number): void {
    this.#kept.push({ revocation, until: revocation.at + ttl });
    this.#recorded += 1;
    for (const listener of this.#listeners) listener(revocation);
  }

  /** Drops the entries no token can match any more. */
  trim(now: number): void {
    if (this.#kept.some((kept) => kept.until <= now)) this.#kept = this.#kept.filter((kept) => kept.until > now);
  }

  clear(): void {
    this.#kept = [];
    this.#listeners.clear();
  }

  /**
   * A follower of this record. Its `streams()` reports one stream,
   * `'memory'`, always current; `lastId` is the ordinal of the latest
   * revocation recorded (`'0'` before any).
   */
  feed(): RevocationFeed & { streams(): FeedStream[] } {
    let listener: ((revocation: Revocation) => void) | undefined;
    return {
      streams: () => [{ name: 'memory', lastContact: Date.now(), lastId: String(this.#recorded) }],
      follow: async (next, since) => {
        for (const { revocation } of this.#kept) if (revocation.at >= since) next(revocation);
        listener = next;
        this.#listeners.add(next);
      },
      lastContact: () => Date.now(),
      close: async () => {
        if (listener) this.#listeners.delete(listener);
      },
    };
  }
}
