/**
 * A DPoP verifier for one app instance: options checked once, a key cache
 * and a `jti` replay cache of its own, one clock for both. What the guarded
 * route's middleware will call; login and refresh check `jti` in the store
 * script instead (`replay: false`).
 */
import { OptionError } from '../errors.js';
import { DPOP_ALGORITHMS, isDpopAlgorithm, type DpopAlgorithm } from './algorithms.js';
import { dpopChallengeFor } from './challenge.js';
import { InvalidDpopProofError } from './errors.js';
import { DpopKeyCache } from './key-cache.js';
import { DEFAULT_IAT_WINDOW, verifyDpopProof, type DpopExpectation, type VerifiedDpopProof } from './proof.js';
import { DpopReplayCache } from './replay.js';

export interface DpopVerifierOptions {
  /** Proof algorithms accepted (default: all, ES256 first); listed in `algs` of the challenge. */
  algorithms?: readonly DpopAlgorithm[];
  /** Seconds `iat` may be from now, either side (default 60, at most 600). */
  iatWindow?: number;
  /** Parsed keys kept (default 10,000). */
  maxKeys?: number;
  /** Proofs remembered against replay (default 100,000); false: no replay check here (the caller checks `jti`). */
  replay?: { maxProofs?: number } | false;
  /** Now in Unix seconds (default: the system clock). */
  clock?: () => number;
}

/** What one request brings: see `DpopExpectation`. */
export type DpopRequest = Pick<DpopExpectation, 'method' | 'url' | 'accessToken' | 'nonce' | 'jkt'>;

export interface DpopVerifier {
  /** Verifies the proof and, unless `replay: false`, records its `jti` (a second use is `invalid_dpop_proof`). */
  verify(proof: string, request: DpopRequest): VerifiedDpopProof;
  /** The `WWW-Authenticate` value for a DPoP error thrown by `verify`, with this verifier's `algs`; undefined for others. */
  challenge(error: unknown): string | undefined;
  readonly algorithms: readonly DpopAlgorithm[];
}

const KNOWN = new Set(['algorithms', 'iatWindow', 'maxKeys', 'replay', 'clock']);

function parseAlgorithms(value: unknown): readonly DpopAlgorithm[] {
  if (value === undefined) return DPOP_ALGORITHMS;
  if (!Array.isArray(value) || value.length === 0 || !value.every(isDpopAlgorithm)) {
    throw new OptionError(`dpop.algorithms must be a non-empty list of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  return [...new Set(value)];
}

export function createDpopVerifier(options: DpopVerifierOptions = {}): DpopVerifier {
  if (typeof options !== 'object' || options === null) throw new OptionError('dpop options must be an object');
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new OptionError(`unknown option dpop.${name} (known: ${[...KNOWN].join(', ')})`);
  }
  const algorithms = parseAlgorithms(options.algorithms);
  const iatWindow = options.iatWindow ?? DEFAULT_IAT_WINDOW;
  if (typeof iatWindow !== 'number' || !Number.isFinite(iatWindow) || iatWindow < 1 || iatWindow > 600) {
    throw new OptionError(`dpop.iatWindow must be 1 to 600 seconds (got ${String(iatWindow)})`);
  }
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new OptionError('dpop.clock must be a function returning Unix seconds');
  }
  const clock = options.clock ?? (() => Date.now() / 1000);
  const keyCache = new DpopKeyCache({ maxKeys: options.maxKeys });
  const { replay } = options;
  if (replay !== undefined && replay !== false && (typeof replay !== 'object' || replay === null)) {
    throw new OptionError('dpop.replay must be { maxProofs } or false');
  }
  const seen = replay === false ? undefined : new DpopReplayCache({ maxProofs: replay?.maxProofs, iatWindow, clock });
  return {
    algorithms,
    verify(proof, request) {
      const verified = verifyDpopProof(proof, { ...request, now: clock(), iatWindow, algorithms, keyCache });
      const verdict = seen?.check(verified.jkt, verified.jti, verified.iat) ?? 'accepted';
      if (verdict === 'replayed') throw new InvalidDpopProofError('DPoP proof jti was already used');
      if (verdict === 'too_old') throw new InvalidDpopProofError('DPoP proof iat is too old to be checked for replay');
      return verified;
    },
    challenge: (error) => dpopChallengeFor(error, algorithms),
  };
}
