import type { RequestHandler } from 'express';
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import type { AuthContext } from '../types.js';
import { assertAuth, bearerToken, sendError } from './http.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireAccessToken`: who the verified access token belongs to. */
      auth?: AuthContext;
    }
  }
}

export interface RequireAccessTokenOptions {
  /**
   * Also refuse (401 `token_revoked`) the access tokens of sessions that have
   * ended: logout, reuse detection, `revokeSession`, `revokeOtherSessions`,
   * `revokeAll`, eviction. Checked against this process's view of the store's
   * revocation record (`auth.watchRevocations()`, started here), so no store
   * round trip per request. While that view is not current (starting, or no
   * word from the store for `revocationMaxLag`) such routes answer 503
   * `store_unavailable`. Default `false`: signature and claims alone.
   */
  checkRevocation?: boolean | undefined;
}

/**
 * Lets a request through only with a valid `Authorization: Bearer` access
 * token, and sets `req.auth = { userId, sessionId, claims, issuedAt }`.
 * Checks the signature and claims alone: no store, so it keeps working while
 * Redis is down. Caveat: a logged-out session's access tokens stay valid
 * until they expire (`accessToken.ttl`), unless `checkRevocation` is on.
 */
export function requireAccessToken(auth: TokenAuth, options: RequireAccessTokenOptions = {}): RequestHandler {
  assertAuth(auth, 'requireAccessToken');
  if (typeof options !== 'object' || options === null) throw new OptionError('requireAccessToken options must be an object');
  for (const key of Object.keys(options)) {
    if (key !== 'checkRevocation') throw new OptionError(`requireAccessToken: unknown option ${key} (known: checkRevocation)`);
  }
  const checkRevocation = options.checkRevocation ?? false;
  if (typeof checkRevocation !== 'boolean') throw new OptionError('requireAccessToken option checkRevocation must be a boolean');
  if (!checkRevocation) {
    return (req, res, next) => {
      try {
        req.auth = auth.verifyAccessToken(bearerToken(req));
      } catch (error) {
        sendError(error, res, next);
        return;
      }
      next();
    };
  }
  // A store without a revocation record throws here, at start-up. A feed that cannot start yet is no
  // rejection to report: requests answer 503 until the view is current.
  auth.watchRevocations().catch(() => {});
  return (req, res, next) => {
    try {
      const context = auth.verifyAccessToken(bearerToken(req));
      auth.checkRevocation(context);
      req.auth = context;
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    next();
  };
}
