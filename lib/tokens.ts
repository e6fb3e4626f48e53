import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { InvalidRequestError, TokenExpiredError, TokenInvalidError } from './errors.js';
import type { Config, KeyConfig } from './options.js';
import type { Claims } from './types.js';

/** `typ` header of access tokens (RFC 9068). */
export const ACCESS_TYP = 'at+jwt';
/** `typ` header of refresh tokens: never accepted where an access token is expected. */
export const REFRESH_TYP = 'rt+jwt';

/** Longest token we try to parse; anything longer is rejected unread. */
export const MAX_TOKEN_LENGTH = 8192;

/** Claims no caller may set: the package owns them. */
export const RESERVED_CLAIMS = new Set(['sub', 'sid', 'jti', 'iat', 'exp', 'nbf', 'iss', 'aud', 'typ']);

/** 128 random bits, base64url: ids for sessions and tokens. */
export function newId(): string {
  return randomBytes(16).toString('base64url');
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
 * Signs a token. Payload key order is fixed, so an HMAC token signed twice
 * from the same claims is the same string (used to hand out the same
 * successor during the reuse grace window).
 */
export function sign(
  key: KeyConfig, typ: string, config: Config, claims: Claims,
  ids: { sub: string; sid: string; jti: string; iat: number; exp: number },
): string {
  const payload: Record<string, unknown> = { ...claims, ...ids };
  if (config.issuer !== undefined) payload.iss = config.issuer;
  if (config.audience !== undefined) payload.aud = config.audience;
  return jwt.sign(payload, key.signKey, { algorithm: key.algorithm, header: { alg: key.algorithm, typ } });
}

/**
 * Verifies signature, pinned algorithm, `typ`, `exp`, `iss`, `aud` and the
 * shape of the claims. Never touches the store. Throws `TokenExpiredError`
 * or `TokenInvalidError`.
 */
export function verify(
  token: unknown, key: KeyConfig, typ: string, config: Config, options: { ignoreExpiration?: boolean } = {},
): VerifiedClaims {
  if (typeof token !== 'string' || token.length === 0) {
    throw new InvalidRequestError('token must be a non-empty string');
  }
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenInvalidError('token is too long');
  let decoded: jwt.Jwt;
  try {
    decoded = jwt.verify(token, key.verifyKey, {
      algorithms: [key.algorithm],
      complete: true,
      clockTimestamp: Math.floor(config.clock() / 1000),
      clockTolerance: config.clockTolerance,
      ignoreExpiration: options.ignoreExpiration === true,
      ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
      ...(config.audience === undefined ? {} : { audience: config.audience }),
    });
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) {
      throw new TokenExpiredError('token has expired', { cause: error });
    }
    throw new TokenInvalidError('token is invalid', { cause: error });
  }
  const { header, payload } = decoded;
  if (header.typ !== typ) throw new TokenInvalidError('token is of the wrong type');
  if (typeof payload !== 'object' || payload === null) throw new TokenInvalidError('token payload is not an object');
  const { sub, sid, jti, iat, exp } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string'
    || typeof iat !== 'number' || typeof exp !== 'number') {
    throw new TokenInvalidError('token is missing required claims');
  }
  return payload as VerifiedClaims;
}

/** The caller's claims of a verified access token, without the package's own. */
export function customClaims(payload: Record<string, unknown>): Claims {
  const claims: Claims = {};
  for (const [name, value] of Object.entries(payload)) {
    if (!RESERVED_CLAIMS.has(name)) claims[name] = value;
  }
  return claims;
}
