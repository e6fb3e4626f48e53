import type { RequestHandler } from 'express';
import { refreshAnswer } from '../http/answers.js';
import { assertAuth, refreshSettings, type RefreshOptions } from '../http/wiring.js';
import type { TokenAuth } from '../token-auth.js';
import { plainRequest, settle } from './http.js';

/**
 * `POST { refreshToken }` -> 200 with a new pair; the old refresh token is
 * rotated out. Needs a JSON body parser (`express.json()`) before it.
 * Answers 400/401 with a stable code, 503 when the store is down, and 403
 * `csrf_rejected` to a cookie-mode request that fails the CSRF checks.
 */
export function refreshHandler(auth: TokenAuth, options: RefreshOptions = {}): RequestHandler {
  assertAuth(auth, 'refreshHandler');
  const transport = refreshSettings(options);
  const dpop = { algorithms: auth.dpopAlgorithms ?? [], tokenEndpoint: true };
  return (req, res, next) => {
    settle(refreshAnswer(auth, transport, plainRequest(req)), res, next, dpop);
  };
}
