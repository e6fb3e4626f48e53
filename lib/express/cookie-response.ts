import { serialize } from 'cookie';
import type { NextFunction, Response, Request } from 'express';
import type { TokenPair } from '../types.js';
import { parseTransport, type CookieTransport } from './cookie-transport.js';
import { transportOf } from './csrf.js';
import { sendError } from './http.js';

/** Seconds the refresh token lives, `exp - iat` as the store's clock dated it (so no app clock is involved). */
function lifetime(refreshToken: string): number {
  const [, payload = ''] = refreshToken.split('.');
  const { iat, exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iat: number; exp: number };
  return Math.max(0, exp - iat);
}

function setCookie(res: Response, transport: CookieTransport, value: string, maxAge: number): void {
  const { name, path, domain, sameSite, secure } = transport.cookie;
  res.append('Set-Cookie', serialize(name, value, { path, domain, sameSite, secure, httpOnly: true, maxAge }));
}

/**
 * Answers a pair in cookie mode: the refresh token as the HttpOnly cookie
 * (Max-Age: its lifetime), everything else as JSON; never cached.
 */
export function sendCookiePair(res: Response, transport: CookieTransport, pair: TokenPair): void {
  const { refreshToken, ...body } = pair;
  setCookie(res, transport, refreshToken, lifetime(refreshToken));
  res.set('Cache-Control', 'no-store').json(body);
}

/** Tells the browser to drop the refresh cookie (same name, path and domain; Max-Age=0). */
export function clearRefreshCookie(res: Response, transport: CookieTransport): void {
  setCookie(res, transport, '', 0);
}

/** `sendError` for a writer without `next`: every error it is given is a `TokenPairError`. */
const unreachable: NextFunction = (error?: unknown) => {
  throw error;
};

/**
 * Sends a freshly issued pair from your own login route, with
 * `Cache-Control: no-store`. With a `transport`, a request that asks for
 * cookie mode (and passes the CSRF checks) gets the refresh token as the
 * HttpOnly cookie and the rest (with any extra fields of `pair`, e.g.
 * `user`) as JSON; a request with the cookie or header that fails them gets
 * 403 `csrf_rejected` (put `csrfGuard(transport)` before the route to refuse
 * it before any work). Anything else, or no `transport`: the JSON pair.
 */
// T lets `{ ...pair, user }` through TypeScript's excess-property check.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function sendTokenPair<T extends TokenPair>(req: Request, res: Response, pair: T, transport?: CookieTransport): void {
  const checked = parseTransport(transport, 'sendTokenPair(req, res, pair, transport): transport');
  if (res.headersSent) return;
  let mode: ReturnType<typeof transportOf>['mode'];
  try {
    mode = transportOf(req, checked).mode;
  } catch (error) {
    sendError(error, res, unreachable);
    return;
  }
  if (mode === 'cookie') sendCookiePair(res, checked!, pair);
  else res.set('Cache-Control', 'no-store').json(pair);
}
