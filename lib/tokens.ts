import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { InvalidRequestError, TokenExpiredError, TokenInvalidError } from './errors.js';
import { MAX_TOKEN_LENGTH } from './constants.js';
import { lowS, withLowS } from './ecdsa.js';
import { PROTOTYPE_NAMES, RESERVED_CLAIMS } from './input.js';
import { isObject } from './option-checks.js';
import type { KeyConfig, RingKey } from './keys.js';
import type { Config } from './options.js';
import type { Claims } from './types.js';

/**
 * Three base64url segments and nothing else. Checked before any decoding, so
 * a non-ASCII character or a stray byte is refused as `token_invalid` and
 * never reaches a byte-length-sensitive compare or a lenient decoder.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * True when the signature segment is the one canonical base64url spelling of
 * its bytes. Base64url leaves unused low bits in the last character, so up to
 * 15 other spellings decode to the same bytes; a lenient decoder would
 * accept each of them as a valid signature.
 */
function canonicalSignature(token: string): boolean {
  const signature = token.slice(token.lastIndexOf('.') + 1);
  return Buffer.from(signature, 'base64url').toString('base64url') === signature;
}

/**
 * 96 random bits as 16 base64url characters: ids for sessions and tokens.
 * They need to be unique, not secret (tokens are signed); short ids keep
 * Redis memory per session low.
 */
export function newId(): string {
  return randomBytes(12).toString('base64url');
}

export interface VerifiedClaims {
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

/**
 * Signs a token with the signing key (a ring's first, whose `kid` goes in
 * the header) and the kind's own `typ`. Payload key order is fixed, so an
 * HMAC token signed twice with the same key from the same claims is the same
 * string. An ECDSA signature is written low-s (see ecdsa.ts), the only
 * spelling `verify` accepts.
 */
export function sign(
  key: KeyConfig,
  config: Config,
  claims: Claims,
  ids: { sub: string; sid: string; jti: string; iat: number; exp: number },
): string {
  const payload: Record<string, unknown> = { ...claims, ...ids };
  if (config.issuer !== undefined) payload.iss = config.issuer;
  if (config.audience !== undefined) payload.aud = config.audience;
  return withLowS(
    key.algorithm,
    jwt.sign(payload, key.signing.signKey, { algorithm: key.algorithm, header: { ...key.signHeader } }),
  );
}

const invalid = (message = 'token is invalid', cause?: unknown): TokenInvalidError =>
  new TokenInvalidError(message, cause === undefined ? undefined : { cause });

/**
 * The key for a token whose header segment is not one `sign` writes: with a
 * ring, the one its `kid` names (none: the ring's `legacy` key, if any); the
 * single key otherwise (its `kid`, if any, ignored as before rings). Unknown
 * or malformed: undefined, and the token is refused like a forged one.
 */
function keyFor(headerSegment: string, key: KeyConfig): RingKey | undefined {
  if (!key.ring) return key.unkeyed;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(headerSegment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(header)) return undefined;
  const { kid } = header;
  if (kid === undefined) return key.unkeyed;
  return typeof kid === 'string' ? key.byKid.get(kid) : undefined;
}

/**
 * Checks the signature with the pinned algorithm and returns the header's
 * `typ` and the decoded payload; claims are not checked here.
 *
 * `token` is already known to be three base64url segments. Fast path: a
 * token whose header segment is exactly one these keys write
 * (`{"alg":"HS256","typ":"at+jwt","kid":"k1"}`) finds its key with one Map
 * lookup and is checked with one HMAC and a constant-time compare of the
 * canonical base64url signature (ASCII, so equal string lengths are equal
 * byte lengths). Anything else (asymmetric keys, another header) goes
 * through jsonwebtoken with the key its `kid` names, pinned to the one
 * algorithm, so `alg: none` and algorithm swaps are refused on both paths.
 * An ECDSA signature's high-s twin is refused there too (one spelling per
 * token).
 */
function checkSignature(token: string, key: KeyConfig): { typ: unknown; payload: unknown } {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const headerSegment = token.slice(0, first);
  const known = key.byHeader.get(headerSegment);
  if (key.hmac !== undefined && known !== undefined) {
    const expected = createHmac(key.hmac, known.verifyKey).update(token.slice(0, second)).digest('base64url');
    const given = token.slice(second + 1);
    if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
      throw invalid();
    }
    try {
      return {
        typ: key.typ,
        payload: JSON.parse(Buffer.from(token.slice(first + 1, second), 'base64url').toString('utf8')),
      };
    } catch (error) {
      throw invalid('token is invalid', error);
    }
  }
  if (!canonicalSignature(token) || !lowS(key.algorithm, token.slice(second + 1))) throw invalid();
  const verifier = known ?? keyFor(headerSegment, key);
  if (verifier === undefined) throw invalid();
  try {
    const decoded = jwt.verify(token, verifier.verifyKey, {
      algorithms: [key.algorithm],
      complete: true,
      ignoreExpiration: true,
      ignoreNotBefore: true,
    });
    return { typ: decoded.header.typ, payload: decoded.payload };
  } catch (error) {
    throw invalid('token is invalid', error);
  }
}

/**
 * Verifies signature, pinned algorithm, `typ`, the required claims, `nbf`,
 * `exp`, `iss` and `aud`. Never touches the store. Throws
 * `TokenExpiredError` (only for a genuine token), `TokenInvalidError`, or
 * `InvalidRequestError` when `token` is not a non-empty string.
 */
export function verify(
  token: unknown,
  key: KeyConfig,
  config: Config,
  options: { ignoreExpiration?: boolean; name?: string } = {},
): VerifiedClaims {
  if (typeof token !== 'string' || token.length === 0) {
    throw new InvalidRequestError(`${options.name ?? 'token'} must be a non-empty string`);
  }
  if (token.length > MAX_TOKEN_LENGTH) throw invalid('token is too long');
  if (!COMPACT_JWS.test(token)) throw invalid();
  const { typ, payload } = checkSignature(token, key);
  if (typ !== key.typ) throw invalid('token is of the wrong type');
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw invalid('token payload is not an object');
  }
  const claims = payload as Record<string, unknown>;
  const { sub, sid, jti, iat, exp, nbf } = claims;
  // Exactly what `sign` writes: non-empty ids and whole-second times (no 1e309 that never expires).
  if (
    !nonEmpty(sub) ||
    !nonEmpty(sid) ||
    !nonEmpty(jti) ||
    !wholeSeconds(iat) ||
    !wholeSeconds(exp) ||
    (nbf !== undefined && !wholeSeconds(nbf))
  ) {
    throw invalid('token is missing required claims');
  }
  const now = config.now();
  const tolerance = config.clockTolerance;
  if (nbf !== undefined && nbf > now + tolerance) throw invalid('token is not valid yet');
  if (options.ignoreExpiration !== true && now >= exp + tolerance) throw new TokenExpiredError('token has expired');
  if (config.issuer !== undefined && claims.iss !== config.issuer) throw invalid();
  if (
    config.audience !== undefined &&
    claims.aud !== config.audience &&
    !(Array.isArray(claims.aud) && claims.aud.includes(config.audience))
  ) {
    throw invalid();
  }
  return claims as VerifiedClaims;
}

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';
const wholeSeconds = (value: unknown): value is number => Number.isSafeInteger(value);

/**
 * The caller's claims of a verified access token, without the package's own
 * (or prototype names, never signed here). A plain loop: it runs on every
 * token verified (entries, filter and fromEntries cost three arrays). Every
 * `Object.prototype` name is left out, `__proto__` among them, so the
 * assignment only ever creates own properties.
 */
export function customClaims(payload: Record<string, unknown>): Claims {
  const claims: Claims = {};
  for (const name of Object.keys(payload)) {
    if (!RESERVED_CLAIMS.has(name) && !PROTOTYPE_NAMES.has(name)) claims[name] = payload[name];
  }
  return claims;
}
