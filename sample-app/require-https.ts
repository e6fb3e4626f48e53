/**
 * Refuses requests that did not arrive over TLS (issue 18, item 15): a
 * password or a bearer token sent over plain HTTP is readable by anyone on
 * the path. Mounted first (after the request log line), so a refused request
 * is never parsed, rate-limited, looked up or answered by anything else.
 *
 * "Arrived over TLS" is Express's `req.secure`: the app's own TLS socket, or
 * `X-Forwarded-Proto: https` from a proxy that TRUST_PROXY trusts (from
 * anyone else the header is ignored, so a client cannot claim it).
 *
 * - GET and HEAD without an `Authorization` header (a page, a script, the
 *   JWKS): 308 to the same path on the app's https origin (the PUBLIC_ORIGIN
 *   whose host the request named, else the first https one; never a host
 *   taken from the request alone). With no https origin configured: 403.
 * - Anything else: 403 `https_required`. A token already sent in the clear
 *   is not silently accepted on a retry elsewhere: the client must change.
 * - GET and HEAD /health, /health/ready and /health/live pass: load
 *   balancers and Kubernetes probes check instances over plain HTTP, and the
 *   answers hold nothing secret (as Rails' `force_ssl` exempts its health
 *   check). Every other path is refused, `/health/` and `/health/x` too.
 *
 * HSTS (helmet, below this) then keeps browsers on https once they are there.
 */
import type { RequestHandler } from 'express';

const BODY = {
  error: 'https_required',
  message: 'this API is served over HTTPS only: plain HTTP would expose passwords and tokens to anyone on the network',
} as const;

const READS = new Set(['GET', 'HEAD']);
/** The health endpoints (health.ts), exactly: served over plain HTTP too. */
const PROBES = new Set(['/health', '/health/ready', '/health/live']);

/** `publicOrigins`: the app's origins (PUBLIC_ORIGIN); the https ones are where page requests are redirected. */
export function requireHttps(publicOrigins: readonly string[]): RequestHandler {
  const https = publicOrigins.map((origin) => new URL(origin)).filter((url) => url.protocol === 'https:');
  return (req, res, next) => {
    if (req.secure || (READS.has(req.method) && PROBES.has(req.path))) {
      next();
      return;
    }
    res.set('Cache-Control', 'no-store');
    const target =
      READS.has(req.method) && req.headers.authorization === undefined
        ? (https.find((url) => url.host === req.headers.host) ?? https[0])
        : undefined;
    if (target === undefined) {
      res.status(403).json(BODY);
      return;
    }
    // The origin's own, then the path as sent: `//evil.example` stays a path on this origin.
    const path = req.originalUrl.startsWith('/') ? req.originalUrl : '/';
    res.status(308).location(`${target.origin}${path}`).json(BODY);
  };
}
