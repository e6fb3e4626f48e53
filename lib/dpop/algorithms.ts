/**
 * The proof algorithms: asymmetric JWS algorithms node:crypto verifies
 * natively, each tied to one key type (and curve). `none` and the HMAC
 * algorithms are not among them, so no allow-list can name them.
 */
import { constants, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto';
import type { KeyType } from './thumbprint.js';

/** Algorithms a DPoP proof may be signed with. EdDSA means Ed25519 (not Ed448). */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'EdDSA' | 'RS256' | 'PS256';

export interface AlgorithmSpec {
  kty: KeyType;
  /** The curve `jwk.crv` must name (EC, OKP). */
  crv?: string;
  /** Bytes of one coordinate (EC) or of the public key (OKP). */
  size?: number;
  /** Digest for crypto.verify; null for EdDSA, which hashes itself. */
  hash: string | null;
  pss?: boolean;
}

export const ALGORITHMS: Readonly<Record<DpopAlgorithm, AlgorithmSpec>> = {
  ES256: { kty: 'EC', crv: 'P-256', size: 32, hash: 'sha256' },
  ES384: { kty: 'EC', crv: 'P-384', size: 48, hash: 'sha384' },
  ES512: { kty: 'EC', crv: 'P-521', size: 66, hash: 'sha512' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519', size: 32, hash: null },
  RS256: { kty: 'RSA', hash: 'sha256' },
  PS256: { kty: 'RSA', hash: 'sha256', pss: true },
};

/** Every algorithm this package verifies, in the order `algs` lists them by default. */
export const DPOP_ALGORITHMS: readonly DpopAlgorithm[] = Object.keys(ALGORITHMS) as DpopAlgorithm[];

export function isDpopAlgorithm(value: unknown): value is DpopAlgorithm {
  return typeof value === 'string' && Object.hasOwn(ALGORITHMS, value);
}

/** RSA moduli accepted, in bits: at least 2048 (RFC 7518 §3.3), at most 8192 so a proof cannot cost a server much. */
export const RSA_MIN_BITS = 2048;
export const RSA_MAX_BITS = 8192;

/**
 * A signature checker for a key already checked against `alg`: the JWS
 * signature bytes must have the algorithm's exact length (ECDSA as raw
 * r||s, RFC 7518 §3.4) and verify over the signing input. (OpenSSL 3
 * refuses a wrong length itself; the length check keeps that true whatever
 * the OpenSSL build, and no test here can tell the two apart.)
 */
export function signatureChecker(alg: DpopAlgorithm, key: KeyObject): (input: string, signature: Buffer) => boolean {
  const spec = ALGORITHMS[alg];
  let length: number;
  let input: KeyObject | VerifyKeyObjectInput = key;
  if (spec.kty === 'EC') {
    length = 2 * spec.size!;
    input = { key, dsaEncoding: 'ieee-p1363' };
  } else if (spec.kty === 'OKP') {
    length = 64;
  } else {
    length = Math.ceil(key.asymmetricKeyDetails!.modulusLength! / 8);
    if (spec.pss) {
      input = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };
    }
  }
  return (data, signature) => signature.length === length && verify(spec.hash, Buffer.from(data), input, signature);
}
