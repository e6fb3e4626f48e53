import type { RequestHandler } from 'express';
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

/**
 * Lets a request through only with a valid `Authorization: Bearer` access
 * token, and sets `req.auth = { userId, sessionId, claims }`. Checks the
 * signature and claims alone: no store, so it keeps working while Redis is
 * down. Caveat: a logged-out session's access tokens stay valid until they
 * expire (`accessToken.ttl`).
 */
export function requireAccessToken(auth: TokenAuth): RequestHandler {
  assertAuth(auth, 'requireAccessToken');
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
