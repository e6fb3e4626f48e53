import type { NextFunction, Request, Response } from 'express';
import { parseBearer } from '../bearer.js';
import { TokenPairError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import type { SessionMeta } from '../types.js';

/**
 * Seconds a client is told to wait after a 503. Short on purpose: a refresh
 * that timed out may still have rotated in Redis, and its retry must arrive
 * within the reuse grace window (default 5 s; store timeout 1 s) to get the
 * same successor instead of counting as reuse.
 */
export const RETRY_AFTER = 1;

/**
 * Throws at wiring time if `auth` is not what `createTokenAuth()` returns,
 * with a plain hint for `app.use(requireAccessToken)` (no call).
 */
export function assertAuth(auth: unknown, name: string): asserts auth is TokenAuth {
  const core = auth as Partial<TokenAuth> | undefined;
  if (typeof core?.verifyAccessToken === 'function' && typeof core.refresh === 'function') return;
  const used = typeof auth === 'object' && auth !== null && 'headers' in auth && 'method' in auth;
  throw new TypeError(used
    ? `express-token-pair: ${name} was used as a middleware itself; call it: ${name}(auth)`
    : `express-token-pair: ${name}(auth) needs the object returned by createTokenAuth()`);
}

/** The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1). */
export function bearerToken(req: Request): string {
  return parseBearer(req.headers.authorization);
}

/** `refreshToken` from a JSON body; `undefined` when absent (the core answers 400). */
export function bodyToken(req: Request): unknown {
  const body: unknown = req.body;
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>).refreshToken : undefined;
}

export function requestMeta(req: Request): SessionMeta {
  return { ip: req.ip, userAgent: req.headers['user-agent'] };
}

/**
 * Writes the outcome of `work`: `ok(value)` on success, `sendError` on
 * failure. Nothing is written once the headers have gone out (a timeout
 * middleware answered first), and a throw in either step reaches `next`
 * rather than becoming an unhandled rejection.
 */
export function settle<T>(work: Promise<T>, res: Response, next: NextFunction, ok: (value: T) => void): void {
  work.then(
    (value) => { if (!res.headersSent) ok(value); },
    (error: unknown) => { sendError(error, res, next); },
  ).catch(next);
}

function quote(text: string): string {
  return text.replace(/["\\]/g, '');
}

/**
 * Answers a `TokenPairError` as `{ error, message }` with its status, an RFC
 * 6750 `WWW-Authenticate` on 400/401 (no error code when no token was
 * presented) and `Retry-After` on 503. Anything else goes to `next(err)`.
 */
export function sendError(error: unknown, res: Response, next: NextFunction): void {
  if (!(error instanceof TokenPairError)) {
    next(error);
    return;
  }
  // Someone answered already (a request-timeout middleware): there is no one left to tell.
  if (res.headersSent) return;
  res.status(error.status).set('Cache-Control', 'no-store');
  if (error.code === 'token_missing') {
    res.set('WWW-Authenticate', 'Bearer');
  } else if (error.status === 401 || error.status === 400) {
    const code = error.status === 400 ? 'invalid_request' : 'invalid_token';
    res.set('WWW-Authenticate', `Bearer error="${code}", error_description="${quote(error.message)}"`);
  } else if (error.status === 503) {
    res.set('Retry-After', String(RETRY_AFTER));
  }
  res.json({ error: error.code, message: error.message });
}
