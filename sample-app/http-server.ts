/**
 * The HTTP server around the app, with timeouts, so that a slow or stalled
 * client cannot hold a connection (and its memory) open indefinitely.
 * Node's own defaults are generous: 60 s for headers, 5 minutes per request,
 * no limit on an idle socket, and the first two checked only every 30 s.
 * With TLS_CERT_FILE and TLS_KEY_FILE, the same server over TLS.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer, type Server as HttpsServer } from 'node:https';
import type { TlsFiles } from './config-https.js';

export interface ServerTimeouts {
  /** Milliseconds to receive the request line and headers (a "slowloris" client sends them a byte at a time). */
  headersTimeout: number;
  /** Milliseconds to receive the whole request, body included; bodies here are at most 10 kB. */
  requestTimeout: number;
  /** Milliseconds a socket may sit with no traffic either way (covers a client that stops reading the response). */
  idleTimeout: number;
  /**
   * Milliseconds an idle keep-alive connection stays open between requests.
   * Caveat: behind a load balancer, make it longer than the balancer's own
   * idle timeout, or the balancer may reuse a connection Node just closed.
   */
  keepAliveTimeout: number;
  /** How often Node checks the headers and request timeouts; they fire up to this late. */
  checkInterval: number;
}

export const DEFAULT_TIMEOUTS: Readonly<ServerTimeouts> = Object.freeze({
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  idleTimeout: 30_000,
  keepAliveTimeout: 5_000,
  checkInterval: 1_000,
});

/** The options both servers are created with (`timeouts` over the defaults). */
function serverOptions(timeouts: Partial<ServerTimeouts>) {
  const { headersTimeout, requestTimeout, checkInterval } = { ...DEFAULT_TIMEOUTS, ...timeouts };
  // Node refuses a headers timeout longer than the request timeout: a short request timeout shortens both.
  return {
    headersTimeout: Math.min(headersTimeout, requestTimeout),
    requestTimeout,
    connectionsCheckingInterval: checkInterval,
  };
}

/** The settings both servers take after creation: keep-alive and idle timeouts. */
function withTimeouts<T extends Server | HttpsServer>(server: T, timeouts: Partial<ServerTimeouts>): T {
  const { idleTimeout, keepAliveTimeout } = { ...DEFAULT_TIMEOUTS, ...timeouts };
  server.keepAliveTimeout = keepAliveTimeout;
  // With no 'timeout' listener, an idle socket is destroyed.
  server.setTimeout(idleTimeout);
  return server;
}

/** `http.createServer(app)` with `DEFAULT_TIMEOUTS`, any of them replaced by `timeouts` (tests use short ones). */
export function createHttpServer(app: RequestListener, timeouts: Partial<ServerTimeouts> = {}): Server {
  return withTimeouts(createServer(serverOptions(timeouts), app), timeouts);
}

/**
 * `https.createServer` with the certificate and key, and the same timeouts.
 * The TLS handshake gets the headers timeout too (Node's default is 120 s):
 * it comes before the headers, and a client that stalls in it holds a socket
 * all the same.
 */
export function createHttpsServer(
  app: RequestListener,
  tls: TlsFiles,
  timeouts: Partial<ServerTimeouts> = {},
): HttpsServer {
  const options = serverOptions(timeouts);
  return withTimeouts(
    createTlsServer({ ...options, cert: tls.cert, key: tls.key, handshakeTimeout: options.headersTimeout }, app),
    timeouts,
  );
}
