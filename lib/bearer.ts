import { InvalidRequestError, TokenMissingError } from './errors.js';

/**
 * The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1), for
 * any framework: `TokenMissingError` with no header or another scheme,
 * `InvalidRequestError` for `Bearer` with no token or more than one. Splits
 * on spaces (no regex backtracking on long headers).
 */
export function parseBearer(header: string | null | undefined): string {
  if (typeof header !== 'string' || header === '') throw new TokenMissingError('no bearer token');
  const [scheme = '', token, ...rest] = header.trim().split(/ +/);
  if (scheme.toLowerCase() !== 'bearer') throw new TokenMissingError('no bearer token');
  if (token === undefined || rest.length > 0) throw new InvalidRequestError('malformed Authorization header');
  return token;
}
