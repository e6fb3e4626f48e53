import type { RequestHandler } from 'express';
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import { clearRefreshCookie } from './cookie-response.js';
import { parseTransport, type CookieTransport } from './cookie-transport.js';
import { presentedRefreshToken, transportOf } from './csrf.js';
import { assertAuth, bearerToken, requestMeta, sendError, settle } from './http.js';

export interface LogoutOptions {
  /**
   * End every session of the user instead of one. The user comes from
   * `req.auth` when `requireAccessToken(auth)` (this same `auth`) set it, or
   * else from the request's own bearer access token: another middleware's
   * `req.auth` is never trusted. Default `false`: the session of the
   * `refreshToken` in the body (in cookie mode, of the cookie).
   */
  all?: boolean | undefined;
  /**
   * What `cookieTransport()` returned, to serve browsers in cookie mode too:
   * the refresh token comes from the cookie, and the 204 clears it. Default
   * none: the JSON body only.
   */
  transport?: CookieTransport | undefined;
}

/**
 * Logout: 204 once the session (or, with `all`, every session of the user)
 * is gone from the store; in cookie mode the 204 also clears the cookie.
 * Idempotent. 503 when the store is down: a logout is never reported that did
 * not happen (and the cookie stays).
 */
export function logoutHandler(auth: TokenAuth, options: LogoutOptions = {}): RequestHandler {
  assertAuth(auth, 'logoutHandler');
  if (typeof options !== 'object' || options === null) throw new OptionError('logoutHandler options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'all' && key !== 'transport') throw new OptionError(`logoutHandler: unknown option ${key} (known: all, transport)`);
  }
  const all = options.all ?? false;
  if (typeof all !== 'boolean') throw new OptionError('logoutHandler option all must be a boolean');
  const transport = parseTransport(options.transport, 'logoutHandler option transport');
  return (req, res, next) => {
    let done: Promise<unknown>;
    let cookie = false;
    try {
      if (all) {
        const transported = transportOf(req, transport);
        // With the name twice, clearing the host's own copy would leave a planted one alone in the jar.
        cookie = transported.mode === 'cookie' && transported.cookies.length < 2;
        done = auth.revokeAll((auth.owns(req.auth) ? req.auth : auth.verifyAccessToken(bearerToken(req))).userId);
      } else {
        const presented = presentedRefreshToken(req, transport);
        cookie = presented.cookie;
        done = auth.revoke(presented.token as string, requestMeta(req));
      }
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    settle(done, res, next, () => {
      if (cookie) clearRefreshCookie(res, transport!);
      res.status(204).set('Cache-Control', 'no-store').end();
    });
  };
}
