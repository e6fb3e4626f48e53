import type { Revocation, RevocationFeed } from './types.js';

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
  readonly #listeners = new Set<(revocation: Revocation) => void>();

  record(revocation: Revocation, ttl: number): void {
    this.#kept.push({ revocation, until: revocation.at + ttl });
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

  feed(): RevocationFeed {
    let listener: ((revocation: Revocation) => void) | undefined;
    return {
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
