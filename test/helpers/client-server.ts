/**
 * The server the client suites (test/client*.test.ts) run against: the
 * library's own createTokenAuth, MemorySessionStore, requireAccessToken,
 * refreshHandler and logoutHandler in body mode, on a random port, with a
 * clock the tests move by hand (60 s access tokens, 5 s reuse grace). It
 * counts every request by method and path, can hold a path until released,
 * and can answer the next refreshes with a 503 of its own.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  createTokenAuth,
  logoutHandler,
  MemorySessionStore,
  refreshHandler,
  requireAccessToken,
  type TokenAuth,
  type TokenPair,
} from '../../lib/index.js';
import type { RefreshTokenStore } from '../../lib/client/index.js';

export const ACCESS_TTL = 60;
export const REUSE_GRACE = 5;

export interface TestServer {
  base: string;
  auth: TokenAuth;
  clock: { now: number; advance(seconds: number): void };
  /** Requests received, by `METHOD /path`. */
  counts: Map<string, number>;
  count(key: string): number;
  /** Holds requests to `path` until the returned function is called. */
  hold(path: string): () => void;
  /** The next `n` refreshes answer 503 store_unavailable with this Retry-After. */
  unavailable(n: number, retryAfter: string): void;
  login(userId?: string): Promise<TokenPair>;
  reset(): void;
  close(): Promise<void>;
}

export async function startServer(): Promise<TestServer> {
  const clock = {
    now: Date.UTC(2030, 0, 1),
    advance(seconds: number) {
      this.now += seconds * 1000;
    },
  };
  const store = new MemorySessionStore();
  const auth = createTokenAuth({
    accessToken: { secret: 'client-tests-access-secret-0123456789', ttl: ACCESS_TTL },
    refreshToken: { secret: 'client-tests-refresh-secret-0123456789', ttl: '1d', reuseGrace: REUSE_GRACE },
    store,
    clock: () => clock.now,
  });
  await auth.watchRevocations();
  const counts = new Map<string, number>();
  const holds = new Map<string, Promise<void>>();
  let outage = { left: 0, retryAfter: '1' };

  const app = express();
  app.use((req, _res, next) => {
    const key = `${req.method} ${req.path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const held = holds.get(req.path);
    if (held)
      held.then(() => {
        next();
      }, next);
    else next();
  });
  // The raw body back, whatever its type: the client must send the same body twice.
  app.post('/echo', express.text({ type: () => true }), requireAccessToken(auth), (req, res) => {
    res.type('text').send(req.body as string);
  });
  app.use(express.json());
  app.post('/login', (req, res, next) => {
    const { password } = req.body as { password?: unknown };
    if (password !== 'secret') {
      res.status(401).json({ error: 'invalid_credentials' });
      return;
    }
    auth.issue({ userId: 'alice' }).then((pair) => {
      res.json(pair);
    }, next);
  });
  app.get('/me', requireAccessToken(auth), (req, res) => {
    res.json(req.auth);
  });
  app.get('/slow', requireAccessToken(auth), (req, res) => {
    res.json(req.auth);
  });
  app.get('/checked', requireAccessToken(auth, { checkRevocation: true }), (req, res) => {
    res.json(req.auth);
  });
  // A route that refuses every token, fresh ones included: the client must not loop on it.
  app.get('/always-401', (_req, res) => {
    res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').json({ error: 'token_expired' });
  });
  app.post(
    '/refresh',
    (_req, res, next) => {
      if (outage.left === 0) {
        next();
        return;
      }
      outage.left--;
      res.status(503).set('Retry-After', outage.retryAfter).json({ error: 'store_unavailable' });
    },
    refreshHandler(auth),
  );
  app.post('/logout', logoutHandler(auth));
  app.post('/logout-all', requireAccessToken(auth), logoutHandler(auth, { all: true }));

  const server: Server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    base: `http://127.0.0.1:${port}`,
    auth,
    clock,
    counts,
    count: (key) => counts.get(key) ?? 0,
    hold(path) {
      let release!: () => void;
      holds.set(
        path,
        new Promise((resolve) => {
          release = resolve;
        }),
      );
      return () => {
        holds.delete(path);
        release();
      };
    },
    unavailable(n, retryAfter) {
      outage = { left: n, retryAfter };
    },
    login: () => auth.issue({ userId: 'alice' }),
    reset() {
      counts.clear();
      outage = { left: 0, retryAfter: '1' };
      // Time only moves forward: a logout-all's cut-off must stay in the past of later logins.
      clock.advance(1);
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await auth.close();
      store.close();
    },
  };
}

/** A refresh token store in memory (one per tab, or shared by "tabs" as localStorage would be). */
export function memoryStore(initial?: string): RefreshTokenStore & { value: string | undefined; writes: number } {
  return {
    value: initial,
    writes: 0,
    get() {
      return this.value;
    },
    set(token) {
      this.value = token;
      this.writes++;
    },
  };
}

/**
 * Resolves once `condition()` holds (checked every 2 ms), or rejects after
 * `ms` (15 s: generous for a busy machine; a condition that holds returns at
 * once). Measured on the monotonic clock.
 */
export async function until(condition: () => boolean, ms = 15_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
