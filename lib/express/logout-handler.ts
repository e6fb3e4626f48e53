import type { RequestHandler } from 'express';
import { logoutAnswer } from '../http/answers.js';
import { assertAuth, logoutSettings, type LogoutOptions } from '../http/wiring.js';
import type { TokenAuth } from '../token-auth.js';
import { plainRequest, settle } from './http.js';

/**
 * Logout: 204 once the session (or, with `all`, every session of the user)
 * is gone from the store; in cookie mode the 204 also clears the cookie.
 * Idempotent. 503 when the store is down: a logout is never reported that did
 * not happen (and the cookie stays).
 */
export function logoutHandler(auth: TokenAuth, options: LogoutOptions = {}): RequestHandler {
  assertAuth(auth, 'logoutHandler');
  const settings = logoutSettings(options);
  const dpop = { algorithms: auth.dpopAlgorithms ?? [], tokenEndpoint: true };
  return (req, res, next) => {
    settle(logoutAnswer(auth, settings, plainRequest(req), req.auth), res, next, dpop);
  };
}
