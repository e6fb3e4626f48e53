/**
 * The per-instance `jti` replay cache of a guarded route (RFC 9449 §11.1):
 * a proof is accepted once within its `iat` window, without a Redis call.
 *
 * Bounded: when full, the oldest entry goes, and the highest `iat` of an
 * evicted entry that was still live becomes a horizon: a proof whose `iat`
 * is at or below it is refused, since it may be that entry again. Eviction
 * never reopens a replay; under a flood the cost is that clients whose
 * clocks lag by more than the cache's span are refused until it passes.
 * O(1) per proof: one lookup, one insert, at most one eviction and two
 * expired entries dropped. An evicted entry raises the horizon to its `iat`
 * (one already expired raises it no further than the window refuses anyway).
 *
 * Caveat: per instance. A proof replayed to another instance of the app
 * within its window is accepted there once; server nonces (RFC 9449 §9)
 * close that window, since a nonce the servers rotate bounds a proof's life.
 */
import { OptionError } from '../errors.js';
import { DEFAULT_IAT_WINDOW } from './proof.js';

/** Default entries kept: 100,000 proofs (a few hundred bytes each at most). */
export const DEFAULT_MAX_PROOFS = 100_000;

/** `replayed`: seen before; `too_old`: outside the window, or at or below the eviction horizon. */
export type ReplayVerdict = 'accepted' | 'replayed' | 'too_old';

export interface ReplayCacheOptions {
  /** Proofs remembered (default 100,000). */
  maxProofs?: number;
  /** The `iat` window the proofs were checked with, seconds either side (default 60): an entry lives until `iat + iatWindow`. */
  iatWindow?: number;
  /** Now, in Unix seconds (default: the system clock); the same clock the proofs' `iat` was checked against. */
  clock?: () => number;
}

export class DpopReplayCache {
  /** Key (scope and jti) -> iat, oldest inserted first. */
  readonly #seen = new Map<string, number>();
  readonly #max: number;
  readonly #window: number;
  readonly #clock: () => number;
  #horizon = -Infinity;

  constructor(options: ReplayCacheOptions = {}) {
    const max = options.maxProofs ?? DEFAULT_MAX_PROOFS;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new OptionError(`dpop maxProofs must be a whole number >= 1 (got ${String(max)})`);
    }
    const window = options.iatWindow ?? DEFAULT_IAT_WINDOW;
    if (!Number.isFinite(window) || window < 0) {
      throw new OptionError(`dpop iatWindow must be a number of seconds >= 0 (got ${String(window)})`);
    }
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new OptionError('dpop clock must be a function returning Unix seconds');
    }
    this.#max = max;
    this.#window = window;
    this.#clock = options.clock ?? (() => Date.now() / 1000);
  }

  /**
   * Records the proof `jti` of key `jkt` issued at `iat`, or says why not.
   * Scoped by key: two clients' `jti` never collide.
   */
  check(jkt: string, jti: string, iat: number): ReplayVerdict {
    const now = this.#clock();
    for (let dropped = 0; dropped < 2; dropped++) {
      const oldest = this.#seen.entries().next().value;
      if (oldest === undefined || oldest[1] + this.#window >= now) break;
      this.#seen.delete(oldest[0]);
    }
    if (iat + this.#window < now || iat <= this.#horizon) return 'too_old';
    const key = `${jkt}.${jti}`;
    if (this.#seen.has(key)) return 'replayed';
    if (this.#seen.size >= this.#max) {
      const [evicted, evictedIat] = this.#seen.entries().next().value!;
      this.#seen.delete(evicted);
      if (evictedIat > this.#horizon) this.#horizon = evictedIat;
    }
    this.#seen.set(key, iat);
    return 'accepted';
  }

  /** Proofs held now. */
  get size(): number {
    return this.#seen.size;
  }

  /** The eviction horizon: proofs with an `iat` at or below it are refused (-Infinity until a live entry is evicted). */
  get horizon(): number {
    return this.#horizon;
  }
}
