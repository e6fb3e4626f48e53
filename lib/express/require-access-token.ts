import type { RequestHandler } from 'express';
import { bearerAuthenticator, type BearerAuthOptions } from '../http/bearer.js';
import { assertAuth, dpopOn } from '../http/wiring.js';
import type { TokenAuth } from '../token-auth.js';
import type { AuthContext } from '../types.js';
import { dpopPresentation, sendError } from './http.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by `requireAccessToken`: who the verified access token belongs to. */
      auth?: AuthContext;
    }
  }
}

/** See `BearerAuthOptions`: `checkRevocation`. */
export type RequireAccessTokenOptions = BearerAuthOptions;

/**
 * Lets a request through only with a valid `Authorization: Bearer` access
 * token, and sets `req.auth = { userId, sessionId, claims, issuedAt }`. With
 * `dpop` on, a DPoP-bound token comes as `Authorization: DPoP` with a `DPoP`
 * proof for this method and URL (`req.auth.jkt` is its key), and 401s carry
 * the `WWW-Authenticate: DPoP` challenge.
 * Checks the signature and claims alone: no store, so it keeps working while
 * Redis is down. Caveat: a logged-out session's access tokens stay valid
 * until they expire (`accessToken.ttl`), unless `checkRevocation` is on.
 */
export function requireAccessToken(auth: TokenAuth, options: RequireAccessTokenOptions = {}): RequestHandler {
  assertAuth(auth, 'requireAccessToken');
  const authenticate = bearerAuthenticator(auth, options, 'requireAccessToken');
  if (!dpopOn(auth)) {
    return (req, res, next) => {
      try {
        req.auth = authenticate(req.headers.authorization);
      } catch (error) {
        sendError(error, res, next);
        return;
      }
      next();
    };
  }
  const dpop = { algorithms: auth.dpopAlgorithms ?? [] };
  return (req, res, next) => {
    try {
      req.auth = authenticate(req.headers.authorization, dpopPresentation(req));
    } catch (error) {
      sendError(error, res, next, dpop);
      return;
    }
    next();
  };
}
