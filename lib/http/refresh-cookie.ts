/** The refresh cookie, all of it: read from a Cookie header, written with its lifetime, cleared. */
import { serialize } from 'cookie';
import type { TokenPair } from '../types.js';
import type { CookieTransport } from './transport.js';

function trim(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** The `cookie` package's value decoding: percent-decoded when valid, else as sent. */
function decode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Every value of the cookie `name` in a Cookie header (Node joins repeated
 * headers with "; "; a list is joined so too), read as the `cookie` package
 * reads names: pairs split at ";", the name before the first "=", spaces and
 * tabs trimmed, compared exactly (case-sensitive, not decoded). A pair
 * without "=" is a nameless cookie, never `name`. Unlike
 * `parse(header)[name]`, which keeps the first, it returns them all, so a
 * repeat is seen instead of resolved by order.
 */
export function cookieValues(header: string | readonly string[] | undefined, name: string): string[] {
  const values: string[] = [];
  const text = typeof header === 'string' ? header : header?.join('; ');
  for (const pair of text === undefined ? [] : text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && trim(pair.slice(0, eq)) === name) values.push(decode(trim(pair.slice(eq + 1))));
  }
  return values;
}

/** Set-Cookie for the refresh cookie: HttpOnly, the transport's attributes, this value and Max-Age. */
function setCookie(transport: CookieTransport, value: string, maxAge: number): string {
  const { name, path, domain, sameSite, secure } = transport.cookie;
  return serialize(name, value, { path, domain, sameSite, secure, httpOnly: true, maxAge });
}

/**
 * Seconds the pair's refresh token lives, as the store dated it (so no app
 * clock is involved): the core's `refreshExpiresIn`. A copy of the pair
 * (`{ ...pair, user }`) has lost that non-enumerable field, and then the
 * token's own `exp - iat` is read instead (not verified: the core signed it
 * a moment ago).
 */
function lifetime(pair: TokenPair): number {
  if (typeof pair.refreshExpiresIn === 'number') return pair.refreshExpiresIn;
  const [, payload = ''] = pair.refreshToken.split('.');
  const { iat, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat: number; exp: number };
  return Math.max(0, exp - iat);
}

/** Set-Cookie carrying the pair's refresh token, Max-Age its lifetime. */
export function writeRefreshCookie(transport: CookieTransport, pair: TokenPair): string {
  return setCookie(transport, pair.refreshToken, lifetime(pair));
}

/** Set-Cookie telling the browser to drop the refresh cookie (same name, path and domain; Max-Age=0). */
export function clearRefreshCookie(transport: CookieTransport): string {
  return setCookie(transport, '', 0);
}
