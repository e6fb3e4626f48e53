/**
 * Verifies one DPoP proof (RFC 9449 §4.3) against the request it came with.
 * Framework-free: the HTTP layer passes the `DPoP` header's value, the
 * method, the request's absolute URL and, on a guarded route, the access
 * token. Replay (`jti` seen before) is not checked here: see replay.ts, or
 * the store script at login and refresh.
 */
import { createHash } from 'node:crypto';
import { OptionError, TokenInvalidError } from '../errors.js';
import { DPOP_ALGORITHMS, isDpopAlgorithm, type DpopAlgorithm } from './algorithms.js';
import { InvalidDpopProofError, UseDpopNonceError } from './errors.js';
import { normalizeHtu } from './htu.js';
import { parseObject } from './json.js';
import { DpopKeyCache } from './key-cache.js';

/** Longest proof read: an 8192-bit RSA proof is about 4 KB. */
export const MAX_PROOF_LENGTH = 8192;
/** Longest `jti` accepted, in characters (a UUID is 36; the replay cache holds each). */
export const MAX_JTI_LENGTH = 128;
/** Default `iat` window, seconds either side of now. */
export const DEFAULT_IAT_WINDOW = 60;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface DpopExpectation {
  /** The request's method as received (case-sensitive, RFC 9110 §9.1): `htm` must equal it. */
  method: string;
  /** The request's absolute URL as the client addressed it (query allowed, ignored): `htu` must name it. */
  url: string;
  /** On a guarded route, the access token presented: `ath` must be its hash. Absent: `ath` is not checked. */
  accessToken?: string;
  /** A required nonce (the current one, or a test for the ones still accepted); absent: none required. */
  nonce?: string | ((nonce: string) => boolean);
  /** Now, Unix seconds. */
  now: number;
  /** Seconds `iat` may be from `now`, either side. Default 60. */
  iatWindow?: number;
  /** Algorithms accepted; at least one. Default: all of DPOP_ALGORITHMS. */
  algorithms?: readonly DpopAlgorithm[];
  /** The thumbprint the access token is bound to (`cnf.jkt`): the proof's key must be that key (`invalid_token` if not). */
  jkt?: string;
  /** Parsed keys kept across calls; default: a module-wide cache of 10,000. */
  keyCache?: DpopKeyCache;
}

export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof's key: what a token is bound to (`cnf.jkt`). */
  jkt: string;
  jti: string;
  /** As sent (may be fractional). */
  iat: number;
  alg: DpopAlgorithm;
  htm: string;
  htu: string;
  nonce?: string;
}

const sharedKeys = new DpopKeyCache();

const refuse = (message: string): InvalidDpopProofError => new InvalidDpopProofError(message);

/** base64url(SHA-256(ASCII access token)): the `ath` of RFC 9449 §4.2. */
export function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'ascii').digest('base64url');
}

function checkExpectation(expect: DpopExpectation): { window: number; algorithms: readonly DpopAlgorithm[] } {
  const window = expect.iatWindow ?? DEFAULT_IAT_WINDOW;
  if (!Number.isFinite(window) || window < 0) throw new OptionError(`dpop iatWindow must be a number of seconds >= 0`);
  if (!Number.isFinite(expect.now)) throw new OptionError('dpop now must be Unix seconds');
  const algorithms = expect.algorithms ?? DPOP_ALGORITHMS;
  if (algorithms.length === 0 || !algorithms.every(isDpopAlgorithm)) {
    throw new OptionError(`dpop algorithms must be some of ${DPOP_ALGORITHMS.join(', ')}`);
  }
  return { window, algorithms };
}

/** The claims as RFC 9449 §4.2 types them, or a refusal naming the first that is not. */
function readClaims(payload: Record<string, unknown>): { jti: string; htm: string; htu: string; iat: number } {
  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw refuse(`DPoP proof jti must be a string of 1 to ${MAX_JTI_LENGTH} characters`);
  }
  if (typeof htm !== 'string') throw refuse('DPoP proof htm must be a string');
  if (typeof htu !== 'string') throw refuse('DPoP proof htu must be a string');
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw refuse('DPoP proof iat must be a number');
  return { jti, htm, htu, iat };
}

function checkNonce(expected: DpopExpectation['nonce'], nonce: unknown): void {
  if (expected === undefined) return;
  const ok = typeof nonce === 'string' && (typeof expected === 'string' ? nonce === expected : expected(nonce));
  if (!ok) throw new UseDpopNonceError('DPoP proof must carry the nonce sent in DPoP-Nonce');
}

/**
 * The checked proof, or a throw: `InvalidDpopProofError` for any failed
 * check, `UseDpopNonceError` for a proof good in all else that lacks the
 * required nonce, `TokenInvalidError` when `expect.jkt` is not its key, and
 * `OptionError` for a bad `expect` (a bug in the caller).
 *
 * Order: shape, header (typ, alg, jwk: cached), alg allowed, claims typed,
 * htm, htu, signature, iat window, ath, key binding, and nonce last, so a
 * client told `use_dpop_nonce` knows the retry with the nonce will pass.
 * The signature's exact bytes are not pinned (an ECDSA proof has a high-s
 * twin): replay is refused by `jti`, which the signature covers.
 */
export function verifyDpopProof(proof: string, expect: DpopExpectation): VerifiedDpopProof {
  const { window, algorithms } = checkExpectation(expect);
  if (typeof proof !== 'string' || proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) {
    throw refuse('DPoP proof is not one compact JWS');
  }
  const first = proof.indexOf('.');
  const second = proof.indexOf('.', first + 1);
  const key = (expect.keyCache ?? sharedKeys).get(proof.slice(0, first));
  if (!algorithms.includes(key.alg)) throw refuse(`DPoP proof alg ${key.alg} is not accepted here`);
  const payload = parseObject(proof.slice(first + 1, second));
  if (payload === undefined) throw refuse('DPoP proof payload is not one JSON object');
  const claims = readClaims(payload);
  if (claims.htm !== expect.method) throw refuse('DPoP proof htm does not match the request method');
  const url = normalizeHtu(expect.url);
  if (url === undefined || normalizeHtu(claims.htu) !== url)
    throw refuse('DPoP proof htu does not match the request URL');
  if (!key.check(proof.slice(0, second), Buffer.from(proof.slice(second + 1), 'base64url'))) {
    throw refuse('DPoP proof signature is invalid');
  }
  if (claims.iat < expect.now - window || claims.iat > expect.now + window) {
    throw refuse('DPoP proof iat is outside the accepted window');
  }
  if (expect.accessToken !== undefined && payload.ath !== accessTokenHash(expect.accessToken)) {
    throw refuse('DPoP proof ath does not match the access token');
  }
  if (expect.jkt !== undefined && key.jkt !== expect.jkt) {
    throw new TokenInvalidError('access token is bound to another DPoP key');
  }
  checkNonce(expect.nonce, payload.nonce);
  const verified: VerifiedDpopProof = { jkt: key.jkt, alg: key.alg, ...claims };
  if (typeof payload.nonce === 'string') verified.nonce = payload.nonce;
  return verified;
}
