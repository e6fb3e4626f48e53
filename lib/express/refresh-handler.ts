import type { RequestHandler } from 'express';
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import { sendCookiePair } from './cookie-response.js';
import { parseTransport, type CookieTransport } from './cookie-transport.js';
import { presentedRefreshToken } from './csrf.js';
import { assertAuth, requestMeta, sendError, settle } from './http.js';

export interface RefreshOptions {
  /**
   * What `cookieTransport()` returned, to serve browsers in cookie mode too:
   * the refresh token then comes from the cookie alone and the new one goes
   * back as the cookie, never in a body. A failed refresh leaves the cookie
   * alone (an older tab's 401 must not wipe a newer cookie). Default none:
   * the JSON body only.
   */
  transport?: CookieTransport | undefined;
}

/**
 * `POST { refreshToken }` -> 200 with a new pair; the old refresh token is
 * rotated out. Needs a JSON body parser (`express.json()`) before it.
 * Answers 400/401 with a stable code, 503 when the store is down, and 403
 * `csrf_rejected` to a cookie-mode request that fails the CSRF checks.
 */
export function refreshHandler(auth: TokenAuth, options: RefreshOptions = {}): RequestHandler {
  assertAuth(auth, 'refreshHandler');
  if (typeof options !== 'object' || options === null) throw new OptionError('refreshHandler options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'transport') throw new OptionError(`refreshHandler: unknown option ${key} (known: transport)`);
  }
  const transport = parseTransport(options.transport, 'refreshHandler option transport');
  return (req, res, next) => {
    let presented: ReturnType<typeof presentedRefreshToken>;
    try {
      presented = presentedRefreshToken(req, transport);
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    const { token, cookie } = presented;
    settle(auth.refresh(token as string, requestMeta(req)), res, next, (pair) => {
      res.status(200);
      if (cookie) sendCookiePair(res, transport!, pair);
      else res.set('Cache-Control', 'no-store').json(pair);
    });
  };
}
