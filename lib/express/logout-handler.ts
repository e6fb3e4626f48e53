import type { RequestHandler } from 'express';
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import { assertAuth, bearerToken, bodyToken, requestMeta, sendError } from './http.js';

export interface LogoutOptions {
  /**
   * End every session of the user instead of one. The user comes from
   * `req.auth` (set by `requireAccessToken`) or else from the request's own
   * bearer access token. Default `false`: the session of the `refreshToken`
   * in the body.
   */
  all?: boolean | undefined;
}

/**
 * Logout: 204 once the session (or, with `all`, every session of the user)
 * is gone from the store. Idempotent. 503 when the store is down: a logout is
 * never reported that did not happen.
 */
export function logoutHandler(auth: TokenAuth, options: LogoutOptions = {}): RequestHandler {
  assertAuth(auth, 'logoutHandler');
  const all = options.all ?? false;
  if (typeof all !== 'boolean') throw new OptionError('logoutHandler option all must be a boolean');
  return (req, res, next) => {
    let done: Promise<unknown>;
    try {
      done = all
        ? auth.revokeAll((req.auth ?? auth.verifyAccessToken(bearerToken(req))).userId)
        : auth.revoke(bodyToken(req) as string, requestMeta(req));
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    done.then(
      () => { res.status(204).set('Cache-Control', 'no-store').end(); },
      (error: unknown) => { sendError(error, res, next); },
    );
  };
}
