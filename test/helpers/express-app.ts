/**
 * The app the Express adapter suites (test/express-adapters.*.test.ts) run
 * against: requireAccessToken, refreshHandler and logoutHandler in a tiny
 * app, on Express 5 and on Express 4. Time is moved with the `clock` option,
 * never slept through; every error answer is checked by `expectError`, which
 * also asserts that nothing reached the app's own error handler.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import {
  createTokenAuth,
  logoutHandler,
  MemorySessionStore,
  refreshHandler,
  requireAccessToken,
  type SessionStore,
  type TokenAuth,
  type TokenPair,
} from '../../lib/index.js';
import { payloadOf, type Payload } from './forged-tokens.js';

// Express 4 ships no types; it takes the same (req, res, next) middlewares, so
// it is typed as Express 5 here. It is CommonJS, hence require.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

export const frameworks: Array<[string, typeof express]> = [
  ['Express 5', express],
  ['Express 4', express4],
];

export const ACCESS_SECRET = 'access-secret-for-tests-0123456789';
export const REFRESH_SECRET = 'refresh-secret-for-tests-0123456789';
export const OTHER_SECRET = 'someone-elses-secret-0123456789abcdef';
export const ACCESS_TTL = 15 * 60;
export const REFRESH_TTL = 7 * 86_400;
export const REUSE_GRACE = 5;
/** The fixed "now" of every test, in milliseconds. */
export const T0 = Date.UTC(2030, 0, 1);

export type Test = request.Test;

/** A clock the tests move by hand. */
export const clock = {
  now: T0,
  advance(seconds: number): void {
    this.now += seconds * 1000;
  },
};

/** Errors that reached the app's own error handler rather than being answered by the package. */
export const unexpected: unknown[] = [];

export function recordError(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  unexpected.push(error);
  const status = (error as { status?: unknown }).status;
  res.status(typeof status === 'number' && status >= 400 && status < 500 ? status : 500).json({ error: 'app_error' });
}

/** What every test starts from: the clock at T0, no unexpected errors. */
export function resetTestState(): void {
  clock.now = T0;
  unexpected.length = 0;
}

export function newAuth(store: SessionStore): TokenAuth {
  return createTokenAuth({
    accessToken: { secret: ACCESS_SECRET, ttl: ACCESS_TTL },
    refreshToken: { secret: REFRESH_SECRET, ttl: REFRESH_TTL, reuseGrace: REUSE_GRACE },
    store,
    clock: () => clock.now,
  });
}

/**
 * The tiny app under test. Served with a large header limit and body limit so
 * that a 100 KB token reaches the package's own length check instead of
 * Node's 431 or express.json()'s 413.
 */
export function buildApp(framework: typeof express, auth: TokenAuth): Server {
  const app = framework();
  app.use(framework.json({ limit: '1mb' }));
  app.get('/me', requireAccessToken(auth), (req, res) => {
    res.json(req.auth);
  });
  app.post('/refresh', refreshHandler(auth));
  app.post('/logout', logoutHandler(auth));
  app.post('/logout-all', requireAccessToken(auth), logoutHandler(auth, { all: true }));
  app.post('/logout-all-standalone', logoutHandler(auth, { all: true }));
  app.use(recordError);
  return createServer({ maxHeaderSize: 256 * 1024 }, app);
}

/** A suite's app: a fresh store, its TokenAuth, and the server around them (the suite closes the store). */
export function startApp(framework: typeof express): { store: MemorySessionStore; auth: TokenAuth; server: Server } {
  const store = new MemorySessionStore();
  const auth = newAuth(store);
  return { store, auth, server: buildApp(framework, auth) };
}

/**
 * supertest with every request bounded: a response that never comes fails
 * its test in seconds and frees its socket, so mocha still exits.
 */
export function http(app: Parameters<typeof request>[0]): {
  get: (path: string) => Test;
  post: (path: string) => Test;
} {
  const agent = request(app);
  return {
    get: (path) => agent.get(path).timeout(15_000),
    post: (path) => agent.post(path).timeout(15_000),
  };
}

/** Asserts a JSON error answer: status, code, message and the headers that go with them. */
export function expectError(res: request.Response, status: number, code: string, message: string): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.headers['content-type']).to.match(/^application\/json/);
  expect(res.body).to.deep.equal({ error: code, message });
  expect(res.headers['cache-control']).to.equal('no-store');
  const challenge = res.headers['www-authenticate'];
  if (code === 'token_missing') {
    expect(challenge).to.equal('Bearer');
  } else if (status === 401) {
    expect(challenge).to.equal(`Bearer error="invalid_token", error_description="${message}"`);
  } else if (status === 400) {
    expect(challenge).to.equal(`Bearer error="invalid_request", error_description="${message}"`);
  } else {
    expect(challenge).to.equal(undefined);
  }
  if (status === 503) expect(res.headers['retry-after']).to.equal('1');
  expect(unexpected, 'errors that reached the app instead of an answer').to.deep.equal([]);
}

/** A fresh session of alice's, and the decoded claims of its tokens. */
export interface Kit {
  pair: TokenPair;
  access: Payload;
  refresh: Payload;
}

/** Sessions and requests on a suite's app; `current` gives the auth and server its `before` hook made. */
export function sessionRequests(current: () => { auth: TokenAuth; server: Server }): {
  login: (userId?: string) => Promise<TokenPair>;
  newKit: () => Promise<Kit>;
  me: (accessToken: string) => Test;
  refresh: (token: string) => Test;
  logout: (token: string) => Test;
} {
  async function login(userId = 'alice'): Promise<TokenPair> {
    return current().auth.issue({ userId, claims: { role: 'admin' } });
  }

  async function newKit(): Promise<Kit> {
    const pair = await login();
    return { pair, access: payloadOf(pair.accessToken), refresh: payloadOf(pair.refreshToken) };
  }

  const me = (accessToken: string): Test =>
    http(current().server).get('/me').set('Authorization', `Bearer ${accessToken}`);
  const refresh = (token: string): Test => http(current().server).post('/refresh').send({ refreshToken: token });
  const logout = (token: string): Test => http(current().server).post('/logout').send({ refreshToken: token });
  return { login, newKit, me, refresh, logout };
}

/**
 * An app with `GET /checked` (`requireAccessToken` with `checkRevocation`) and
 * `GET /plain` (signature only), both answering `{ ok: true }`: the pair the
 * revocation suites compare.
 */
export function checkedAndPlain(auth: TokenAuth): express.Express {
  const app = express();
  app.get('/checked', requireAccessToken(auth, { checkRevocation: true }), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/plain', requireAccessToken(auth), (_req, res) => {
    res.json({ ok: true });
  });
  return app;
}
