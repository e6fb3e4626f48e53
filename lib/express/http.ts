/** The glue: an Express request read into the plain shape, a decision written out. */
import type { NextFunction, Request, Response } from 'express';
import type { DpopPresentation } from '../dpop-binding.js';
import { errorAnswer, type DpopAnswering } from '../http/error-answer.js';
import type { HttpAnswer, HttpRequest } from '../http/types.js';

export function plainRequest(req: Request): HttpRequest {
  return {
    method: req.method,
    url: req.originalUrl,
    headers: req.headers,
    body: req.body as unknown,
    ip: req.ip,
    origin: origin(req),
  };
}

/**
 * The request's DPoP proof (its `DPoP` header; repeated ones arrive joined
 * and are refused), method and absolute URL, for `auth.issue({ dpop })` in
 * a login route (refreshHandler and requireAccessToken read it
 * themselves). The URL's origin is `req.protocol` and `req.get('host')`:
 * behind a proxy set Express's `trust proxy`, or `dpop.publicUrl`.
 */
export function dpopPresentation(req: Request): DpopPresentation {
  return { proof: req.headers.dpop, method: req.method, url: `${origin(req)}${req.originalUrl}` };
}

/**
 * `scheme://host[:port]` as the client addressed it: `req.protocol`, and the
 * Host header or, from a trusted proxy, the first X-Forwarded-Host, as
 * Express 4's `req.hostname` decides it, but with the port kept (Express 4
 * has no `req.host` with a port; Express 5's `req.host` is this).
 */
function origin(req: Request): string {
  const trust = req.app.get('trust proxy fn') as ((address: string | undefined, i: number) => boolean) | undefined;
  let host = req.get('x-forwarded-host');
  if (host === undefined || typeof trust !== 'function' || !trust(req.socket.remoteAddress, 0)) host = req.get('host');
  else host = host.split(',')[0]!.trim();
  return `${req.protocol}://${host ?? ''}`;
}

/** Writes a decision, unless someone answered already (a request-timeout middleware). */
export function writeAnswer(res: Response, answer: HttpAnswer): void {
  if (res.headersSent) return;
  res.status(answer.status).set(answer.headers);
  for (const cookie of answer.cookies) res.append('Set-Cookie', cookie);
  if (answer.body === undefined) res.end();
  else res.json(answer.body);
}

/**
 * Answers a `TokenPairError` as `{ error, message }` with its status, an RFC
 * 6750 `WWW-Authenticate` on 400/401 (no error code when no token was
 * presented) and `Retry-After` on 503. Anything else goes to `next(err)`.
 */
export function sendError(error: unknown, res: Response, next: NextFunction, dpop?: DpopAnswering): void {
  const answer = errorAnswer(error, dpop);
  if (answer === undefined) next(error);
  else writeAnswer(res, answer);
}

/**
 * Writes the decision `work` comes to, or its `TokenPairError`; a throw in
 * either step reaches `next` rather than becoming an unhandled rejection.
 */
export function settle(work: Promise<HttpAnswer>, res: Response, next: NextFunction, dpop?: DpopAnswering): void {
  work
    .then(
      (answer) => {
        writeAnswer(res, answer);
      },
      (error: unknown) => {
        sendError(error, res, next, dpop);
      },
    )
    .catch(next);
}
