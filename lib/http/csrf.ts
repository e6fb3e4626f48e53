/** The transport choice and its CSRF checks, as decisions over a plain request. */
import { CookieAmbiguousError, CsrfRejectedError, TokenMissingError } from '../errors.js';
import { cookieValues } from './refresh-cookie.js';
import { COOKIE_MODE, type CookieTransport } from './transport.js';
import type { HttpRequest } from './types.js';

/**
 * How a request carries its refresh token: in the JSON body (as without a
 * transport) or in the cookie; `cookies` holds every value the Cookie header
 * gives the cookie's name, in order (more than one: ambiguous).
 */
export type Transported = { mode: 'body' } | { mode: 'cookie'; cookies: readonly string[] };

/**
 * Decides the transport of a request from its headers alone, before any
 * store work. A request that carries the refresh cookie or the transport
 * header is in cookie mode and must pass the CSRF checks (OWASP's Fetch
 * Metadata resource isolation, plus a custom header that a cross-site form
 * cannot send): the header set to `cookie`, and an `Origin` among
 * `allowedOrigins`, or no `Origin` and `Sec-Fetch-Site: same-origin`.
 * Throws `CsrfRejectedError` otherwise. Without a transport, always body.
 */
export function transportOf(request: HttpRequest, transport: CookieTransport | undefined): Transported {
  if (transport === undefined) return { mode: 'body' };
  const { headers } = request;
  const mode = headers[transport.header];
  const cookies = cookieValues(headers.cookie, transport.cookie.name);
  if (mode === undefined && cookies.length === 0) return { mode: 'body' };
  if (mode === undefined) {
    throw new CsrfRejectedError(
      `a request with the refresh cookie needs the ${transport.header}: ${COOKIE_MODE} header`,
    );
  }
  if (mode !== COOKIE_MODE) throw new CsrfRejectedError(`the ${transport.header} header must be ${COOKIE_MODE}`);
  const origin = headers.origin;
  if (origin === undefined) {
    if (headers['sec-fetch-site'] !== 'same-origin') {
      throw new CsrfRejectedError('a request without Origin must be Sec-Fetch-Site: same-origin');
    }
  } else if (typeof origin !== 'string' || !transport.allowedOrigins.includes(origin)) {
    throw new CsrfRejectedError("the request's Origin is not allowed");
  }
  return { mode: 'cookie', cookies };
}

/** `refreshToken` from a JSON body; `undefined` when absent (the core answers 400). */
function bodyToken(request: HttpRequest): unknown {
  const { body } = request;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>).refreshToken : undefined;
}

/**
 * The refresh token a request presents to the refresh or logout route: the
 * cookie's in cookie mode (401 `token_missing` when there is none; 400
 * `cookie_ambiguous` when the name comes more than once, whatever the
 * values; the body and query are never read then), else the JSON body's
 * `refreshToken` (`undefined` when absent: the core answers 400). Throws
 * `CsrfRejectedError` as `transportOf` does.
 */
export function presentedRefreshToken(
  request: HttpRequest,
  transport: CookieTransport | undefined,
): { token: unknown; cookie: boolean } {
  const transported = transportOf(request, transport);
  if (transported.mode === 'body') return { token: bodyToken(request), cookie: false };
  const [token, ...more] = transported.cookies;
  if (token === undefined) throw new TokenMissingError('no refresh token cookie');
  if (more.length > 0) throw new CookieAmbiguousError('the refresh cookie appears more than once; none was used');
  return { token, cookie: true };
}
