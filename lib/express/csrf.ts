import type { RequestHandler } from 'express';
import { transportOf } from '../http/csrf.js';
import { parseTransport, type CookieTransport } from '../http/transport.js';
import { plainRequest, sendError } from './http.js';

/**
 * A middleware that answers 403 `csrf_rejected` to a request that would
 * fail `sendTokenPair`'s checks, so that a login route can refuse it before
 * it checks a password or creates a session. Passes everything else on.
 */
export function csrfGuard(transport: CookieTransport): RequestHandler {
  const checked = parseTransport(transport, 'csrfGuard(transport): transport', false);
  return (req, res, next) => {
    try {
      transportOf(plainRequest(req), checked);
    } catch (error) {
      sendError(error, res, next);
      return;
    }
    next();
  };
}
