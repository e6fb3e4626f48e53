/** The glue: an Express request read into the plain shape, a decision written out. */
import type { NextFunction, Request, Response } from 'express';
import { errorAnswer } from '../http/error-answer.js';
import type { HttpAnswer, HttpRequest } from '../http/types.js';

export function plainRequest(req: Request): HttpRequest {
  return { method: req.method, url: req.originalUrl, headers: req.headers, body: req.body as unknown, ip: req.ip };
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
export function sendError(error: unknown, res: Response, next: NextFunction): void {
  const answer = errorAnswer(error);
  if (answer === undefined) next(error);
  else writeAnswer(res, answer);
}

/**
 * Writes the decision `work` comes to, or its `TokenPairError`; a throw in
 * either step reaches `next` rather than becoming an unhandled rejection.
 */
export function settle(work: Promise<HttpAnswer>, res: Response, next: NextFunction): void {
  work
    .then(
      (answer) => {
        writeAnswer(res, answer);
      },
      (error: unknown) => {
        sendError(error, res, next);
      },
    )
    .catch(next);
}
