/**
 * Parsed proof keys, per instance, so that a client that comes back pays
 * only the signature check: no JSON, no JWK checks, no key import, no
 * thumbprint. Keyed by the proof's header segment, which holds the key and
 * `alg` and nothing per request, so one entry serves every proof of a client
 * (one entry per `jkt` for a client that keeps its header). Bounded: the
 * least recently used entry goes when full.
 */
import { OptionError } from '../errors.js';
import { parseProofHeader, type ProofKey } from './key.js';

/** Default number of parsed keys kept: about 10,000 clients, a few MB. */
export const DEFAULT_MAX_KEYS = 10_000;

export class DpopKeyCache {
  readonly #keys = new Map<string, ProofKey>();
  readonly #max: number;

  /**
   * `maxKeys`: parsed headers kept (default 10,000); 0 keeps none. A miss
   * costs a key import (tens of µs), never a wrong answer.
   */
  constructor(options: { maxKeys?: number } = {}) {
    const max = options.maxKeys ?? DEFAULT_MAX_KEYS;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new OptionError(`dpop maxKeys must be a whole number >= 0 (got ${String(max)})`);
    }
    this.#max = max;
  }

  /** The checked header for `segment`, parsed now or earlier; throws `InvalidDpopProofError` as parseProofHeader does. */
  get(segment: string): ProofKey {
    const known = this.#keys.get(segment);
    if (known !== undefined) {
      this.#keys.delete(segment);
      this.#keys.set(segment, known);
      return known;
    }
    const parsed = parseProofHeader(segment);
    if (this.#max > 0) {
      if (this.#keys.size >= this.#max) this.#keys.delete(this.#keys.keys().next().value!);
      this.#keys.set(segment, parsed);
    }
    return parsed;
  }

  get size(): number {
    return this.#keys.size;
  }
}
