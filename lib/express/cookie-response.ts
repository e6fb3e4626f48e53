import type { NextFunction, Request, Response } from 'express';
import { issuedPairAnswer } from '../http/answers.js';
import { parseTransport, type CookieTransport } from '../http/transport.js';
import type { TokenPair } from '../types.js';
import { plainRequest, sendError, writeAnswer } from './http.js';

/** `sendError` for a writer without `next`: every error the decision throws is a `TokenPairError`. */
const unreachable: NextFunction = (error?: unknown) => {
  throw error;
};

/**
 * Sends a freshly issued pair from your own login route, with
 * `Cache-Control: no-store`. With a `transport`, a request that asks for
 * cookie mode (and passes the CSRF checks) gets the refresh token as the
 * HttpOnly cookie and the rest (with any extra fields of `pair`, e.g.
 * `user`) as JSON; a request with the cookie or header that fails them gets
 * 403 `csrf_rejected` (put `csrfGuard(transport)` before the route to refuse
 * it before any work). Anything else, or no `transport`: the JSON pair.
 */
// T lets `{ ...pair, user }` through TypeScript's excess-property check.
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
export function sendTokenPair<T extends TokenPair>(
  req: Request,
  res: Response,
  pair: T,
  transport?: CookieTransport,
): void {
  const checked = parseTransport(transport, 'sendTokenPair(req, res, pair, transport): transport');
  if (res.headersSent) return;
  try {
    writeAnswer(res, issuedPairAnswer(plainRequest(req), pair, checked, res.statusCode));
  } catch (error) {
    sendError(error, res, unreachable);
  }
}
