import type { Request, RequestHandler } from 'express';
import { CookieAmbiguousError, CsrfRejectedError, TokenMissingError } from '../errors.js';
import { COOKIE_MODE, parseTransport, type CookieTransport } from './cookie-transport.js';
import { bodyToken, sendError } from './http.js';

/**
 * How a request carries its refresh token: in the JSON body (as without a
 * transport) or in the cookie; `cookies` holds every value the Cookie header
 * gives the cookie's name, in order (more than one: ambiguous).
 */
export type Transported = { mode: 'body' } | { mode: 'cookie'; cookies: readonly string[] };

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
 * headers with "; "), read as the `cookie` package reads names: pairs split
 * at ";", the name before the first "=", spaces and tabs trimmed, compared
 * exactly (case-sensitive, not decoded). A pair without "=" is a nameless
 * cookie, never `name`. Unlike `parse(header)[name]`, which keeps the first,
 * it returns them all, so a repeat is seen instead of resolved by order.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  const values: string[] = [];
  for (const pair of header === undefined ? [] : header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && trim(pair.slice(0, eq)) === name) values.push(decode(trim(pair.slice(eq + 1))));
  }
  return values;
}

/**
 * Decides the transport of a request from its headers alone, before any
 * store work. A request that carries the refresh cookie or the transport
 * header is in cookie mode and must pass the CSRF checks (OWASP's Fetch
 * Metadata resource isolation, plus a custom header that a cross-site form
 * cannot send): the header set to `cookie`, and an `Origin` among
 * `allowedOrigins`, or no `Origin` and `Sec-Fetch-Site: same-origin`.
 * Throws `CsrfRejectedError` otherwise. Without a transport, always body.
 */
export function transportOf(req: Request, transport: CookieTransport | undefined): Transported {
  if (transport === undefined) return { mode: 'body' };
  const mode = req.headers[transport.header];
  const cookies = cookieValues(req.headers.cookie, transport.cookie.name);
  if (mode === undefined && cookies.length === 0) return { mode: 'body' };
  if (mode === undefined) {
    throw new CsrfRejectedError(`a request with the refresh cookie needs the ${transport.header}: ${COOKIE_MODE} header`);
  }
  if (mode !== COOKIE_MODE) throw new CsrfRejectedError(`the ${transport.header} header must be ${COOKIE_MODE}`);
  const origin = req.headers.origin;
  if (origin === undefined) {
    if (req.headers['sec-fetch-site'] !== 'same-origin') {
      throw new CsrfRejectedError('a request without Origin must be Sec-Fetch-Site: same-origin');
    }
  } else if (!transport.allowedOrigins.includes(origin)) {
    throw new CsrfRejectedError('the request\'s Origin is not allowed');
  }
  return { mode: 'cookie', cookies };
}

/**
 * The refresh token a request presents to the refresh or logout route: the
 * cookie's in cookie mode (401 `token_missing` when there is none; 400
 * `cookie_ambiguous` when the name comes more than once, whatever the
 * values; the body and query are never read then), else the JSON body's
 * `refreshToken` (`undefined` when absent: the core answers 400). Throws
 * `CsrfRejectedError` as `transportOf` does.
 */
export function presentedRefreshToken(req: Request, transport: CookieTransport | undefined): { token: unknown; cookie: boolean } {
  const transported = transportOf(req, transport);
  if (transported.mode === 'body') return { token: bodyToken(req), cookie: false };
  const [token, ...more] = transported.cookies;
  if (token === undefined) throw new TokenMissingError('no refresh token cookie');
  if (more.length > 0) throw new CookieAmbiguousError('the refresh cookie appears more than once; none was used');
  return { token, cookie: true };
}

/**
 * A middleware that answers 403 `csrf_rejected` to a request that would
 * fail `sendTokenPair`'s checks, so that a login route can refuse it before
 * it checks a password or creates a session. Passes everything else on.
 */
export function csrfGuard(transport: CookieTransport): RequestHandler {
  const checked = parseTransport(transport, 'csrfGuard(transport): transport', false);
  return (req, res, next) => {
    try {
      transportOf(req, checked);
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    next();
  };
}
