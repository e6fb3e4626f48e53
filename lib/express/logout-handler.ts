import type { RequestHandler } from 'express';
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import { assertAuth, bearerToken, bodyToken, requestMeta, sendError, settle } from './http.js';

export interface LogoutOptions {
  /**
   * End every session of the user instead of one. The user comes from
   * `req.auth` when `requireAccessToken(auth)` (this same `auth`) set it, or
   * else from the request's own bearer access token: another middleware's
   * `req.auth` is never trusted. Default `false`: the session of the
   * `refreshToken` in the body.
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
  if (typeof options !== 'object' || options === null) throw new OptionError('logoutHandler options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'all') throw new OptionError(`logoutHandler: unknown option ${key} (known: all)`);
  }
  const all = options.all ?? false;
  if (typeof all !== 'boolean') throw new OptionError('logoutHandler option all must be a boolean');
  return (req, res, next) => {
    let done: Promise<unknown>;
    try {
      done = all
        ? auth.revokeAll((auth.owns(req.auth) ? req.auth : auth.verifyAccessToken(bearerToken(req))).userId)
        : auth.revoke(bodyToken(req) as string, requestMeta(req));
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    settle(done, res, next, () => { res.status(204).set('Cache-Control', 'no-store').end(); });
  };
}
