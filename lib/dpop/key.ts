/**
 * The proof's JOSE header (RFC 9449 §4.2-4.3): `typ` exactly `dpop+jwt`, an
 * allowed asymmetric `alg`, and `jwk`, a public key of the type and curve
 * `alg` names, without any private member. Parsed once per header
 * (`DpopKeyCache`), so a returning client pays only the signature check.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { ALGORITHMS, isDpopAlgorithm, RSA_MAX_BITS, RSA_MIN_BITS, signatureChecker } from './algorithms.js';
import type { DpopAlgorithm } from './algorithms.js';
import { InvalidDpopProofError } from './errors.js';
import { parseObject } from './json.js';
import { jwkThumbprint, REQUIRED_MEMBERS } from './thumbprint.js';

/** Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
export const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** A parsed, checked proof header: what a cache hit gives back. */
export interface ProofKey {
  alg: DpopAlgorithm;
  /** RFC 7638 thumbprint of `jwk`. */
  jkt: string;
  key: KeyObject;
  check: (input: string, signature: Buffer) => boolean;
}

const refuse = (message: string, cause?: unknown): InvalidDpopProofError =>
  new InvalidDpopProofError(message, cause === undefined ? undefined : { cause });

/** A base64url string in its one canonical spelling, of `bytes` bytes when given. */
function canonicalBase64url(value: unknown, bytes?: number): value is string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) return false;
  const decoded = Buffer.from(value, 'base64url');
  return decoded.toString('base64url') === value && (bytes === undefined || decoded.length === bytes);
}

/** The checked public members of `jwk` for `alg`, ready for createPublicKey and the thumbprint. */
function publicMembers(jwk: Record<string, unknown>, alg: DpopAlgorithm): Record<string, string> {
  for (const name of PRIVATE_MEMBERS) {
    if (Object.hasOwn(jwk, name)) throw refuse(`DPoP proof jwk carries the private member ${name}`);
  }
  const spec = ALGORITHMS[alg];
  if (jwk.kty !== spec.kty) throw refuse(`DPoP proof jwk kty must be ${spec.kty} for ${alg}`);
  if (spec.crv !== undefined && jwk.crv !== spec.crv) throw refuse(`DPoP proof jwk crv must be ${spec.crv} for ${alg}`);
  if (jwk.alg !== undefined && jwk.alg !== alg) throw refuse('DPoP proof jwk alg differs from the header alg');
  if (jwk.use !== undefined && jwk.use !== 'sig') throw refuse('DPoP proof jwk use must be sig');
  const members: Record<string, string> = {};
  for (const name of REQUIRED_MEMBERS[spec.kty]) {
    const value = jwk[name];
    const ok =
      name === 'kty' || name === 'crv'
        ? typeof value === 'string'
        : name === 'n' || name === 'e'
          ? canonicalBase64url(value) && Buffer.from(value, 'base64url')[0] !== 0
          : canonicalBase64url(value, spec.size);
    if (!ok) throw refuse(`DPoP proof jwk member ${name} is not a canonical base64url value of the right size`);
    members[name] = value as string;
  }
  return members;
}

/** The public key of checked members; an EC point off its curve, or an RSA modulus out of bounds, is refused. */
function importKey(members: Record<string, string>): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: members, format: 'jwk' });
  } catch (error) {
    throw refuse('DPoP proof jwk is not a valid public key', error);
  }
  if (members.kty === 'RSA') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
      throw refuse(`DPoP proof RSA key must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits (got ${bits})`);
    }
  }
  return key;
}

/**
 * The checked header of a proof from its first segment. Throws
 * `InvalidDpopProofError` naming the first check that failed. Whether `alg`
 * is one this server accepts is checked by the caller, per request.
 */
export function parseProofHeader(segment: string): ProofKey {
  const header = parseObject(segment);
  if (header === undefined) throw refuse('DPoP proof header is not one JSON object');
  if (header.typ !== 'dpop+jwt') throw refuse('DPoP proof typ must be dpop+jwt');
  const { alg, jwk } = header;
  if (!isDpopAlgorithm(alg)) throw refuse('DPoP proof alg is not a supported asymmetric algorithm');
  if (header.crit !== undefined) throw refuse('DPoP proof header has crit extensions this server does not know');
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw refuse('DPoP proof header has no jwk');
  const members = publicMembers(jwk as Record<string, unknown>, alg);
  const key = importKey(members);
  return { alg, jkt: jwkThumbprint(members), key, check: signatureChecker(alg, key) };
}
