/**
 * One log line per request (pino-http), written when the response is done:
 * method, path, status, time taken, the client's IP and the request headers,
 * the `Authorization` and `Cookie` ones redacted (see logger.ts).
 */
import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { PinoLogger } from './logger.js';

/** The health endpoints (health.ts): silent while they answer 200. */
const PROBES = new Set(['/health', '/health/ready', '/health/live']);

/** The path without its query string: a client may put anything there, tokens included. */
function pathOf(url: string): string {
  const end = url.indexOf('?');
  return end === -1 ? url : url.slice(0, end);
}

export function requestLog(logger: PinoLogger): RequestHandler {
  return pinoHttp<Request, Response>({
    logger,
    // The request as the app sees it: `ip` follows TRUST_PROXY, as the rate limits do.
    serializers: {
      req: (req: { raw: Request; id: unknown; method: string; headers: unknown }) => ({
        id: req.id,
        method: req.method,
        url: pathOf(req.raw.originalUrl),
        ip: req.raw.ip,
        headers: req.headers,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // 5xx are errors; a healthy /health, /health/ready or /health/live (load balancers and
    // Kubernetes ask every few seconds) is not logged at all.
    customLogLevel: (req, res, error) => {
      if (error !== undefined || res.statusCode >= 500) return 'error';
      return PROBES.has(req.path) && res.statusCode === 200 ? 'silent' : 'info';
    },
    customSuccessMessage: (req, res) => `${req.method} ${pathOf(req.originalUrl)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${pathOf(req.originalUrl)} ${res.statusCode}`,
    // A 5xx line needs no stack of pino-http's own: a bug's error is logged by errors.ts.
    customErrorObject: (_req, _res, _error, value: { res: unknown; responseTime: unknown }) => ({
      res: value.res,
      responseTime: value.responseTime,
    }),
  });
}
