import type { RequestHandler } from 'express';
import type { TokenAuth } from '../token-auth.js';
import { assertAuth, bodyToken, requestMeta, settle } from './http.js';

/**
 * `POST { refreshToken }` -> 200 with a new pair; the old refresh token is
 * rotated out. Needs a JSON body parser (`express.json()`) before it.
 * Answers 400/401 with a stable code, 503 when the store is down.
 */
export function refreshHandler(auth: TokenAuth): RequestHandler {
  assertAuth(auth, 'refreshHandler');
  return (req, res, next) => {
    settle(auth.refresh(bodyToken(req) as string, requestMeta(req)), res, next, (pair) => {
      res.status(200).set('Cache-Control', 'no-store').json(pair);
    });
  };
}
