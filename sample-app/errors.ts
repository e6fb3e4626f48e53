/**
 * Every error leaves the app as JSON `{ error, message }` with a stable
 * `error` code. Client mistakes get a 4xx that says what was wrong; a bug
 * gets a 500 that says nothing about the code (the details go to the log).
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { sendError, TokenPairError } from '../lib/index.js';
import type { PinoLogger } from './logger.js';

/** An expected failure of the app's own routes (validation, wrong password, ...). */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
  }
}

export const notFound: RequestHandler = (_req, res) => {
  res.status(404).json({ error: 'not_found', message: 'no such route' });
};

/**
 * Errors that carry an HTTP status: the body parser's (http-errors: a
 * `type` too), and the router's URIError for a route parameter that is not
 * valid percent-encoding (`/auth/sessions/%FF`: `status` 400, no `expose`).
 */
interface HttpError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
}

/**
 * The message for each kind of body-parser error. Fixed text only: the
 * parser's own messages quote the client's charset, content encoding or body
 * back (`unsupported charset "UTF-<IMG SRC=X>"`).
 */
const CLIENT_MESSAGES = new Map<unknown, string>([
  ['entity.parse.failed', 'body is not valid JSON'],
  ['entity.too.large', 'body is too large'],
  ['charset.unsupported', 'JSON must be encoded in UTF-8'],
  ['encoding.unsupported', 'unsupported content encoding'],
]);

/** The stable code for a client error that is not the app's own (invalid JSON, too large, a malformed URL...). */
function clientErrorCode(status: number): string {
  if (status === 404) return 'not_found';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  return 'invalid_request';
}

export function errorHandler(logger: PinoLogger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    // The library's errors (503 store_unavailable, 401s...) keep their own answer and headers.
    if (error instanceof TokenPairError) {
      sendError(error, res, next);
      return;
    }
    if (error instanceof AppError) {
      res.status(error.status).json({ error: error.code, message: error.message });
      return;
    }
    // Anything else carrying a 4xx is the client's mistake, whoever threw it (body parser, router,
    // serve-static): answered with its status and a fixed message, never its own (it may quote the request).
    const { status: given, statusCode, type } = (error ?? {}) as HttpError;
    const status = typeof given === 'number' ? given : statusCode;
    if (typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500) {
      const message =
        error instanceof URIError
          ? 'the URL is not valid percent-encoding'
          : (CLIENT_MESSAGES.get(type) ?? 'invalid request');
      res.status(status).json({ error: clientErrorCode(status), message });
      return;
    }
    // A bug. Log the stack (never the request body: it may hold a password), answer nothing specific.
    logger.error({ err: error }, `unexpected error on ${req.method} ${req.path}`);
    res.status(500).json({ error: 'internal_error', message: 'something went wrong' });
  };
}
