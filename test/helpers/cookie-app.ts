/**
 * The app the cookie-transport suites (test/cookie-transport.*.test.ts) run
 * against: a login route that answers with sendTokenPair behind csrfGuard,
 * and refreshHandler and logoutHandler given the cookie transport, all under
 * /auth. The store counts the calls that reach it, so a suite can assert that
 * a refused request did no store work.
 */
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import type express from 'express';
import request from 'supertest';
import {
  cookieTransport,
  csrfGuard,
  logoutHandler,
  MemorySessionStore,
  refreshHandler,
  requireAccessToken,
  sendTokenPair,
  type CookieTransport,
  type RefreshCookieOptions,
  type SessionStore,
  type TokenAuth,
} from '../../lib/index.js';
import { newAuth, recordError, type Test } from './express-app.js';

export const ORIGIN = 'https://app.example.com';
export const HEADER = 'x-token-transport';
/** The default refresh cookie: `__Host-`, so Path=/ and no Domain. */
export const COOKIE = '__Host-etp_refresh';

/** A parsed Set-Cookie line: name, value, and each attribute as written (flags as `true`). */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** Every Set-Cookie line of a response, parsed strictly (no attribute is dropped or renamed). */
export function setCookies(res: request.Response): SetCookie[] {
  const lines = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return lines.map((line) => {
    const [pair = '', ...rest] = line.split('; ');
    const at = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const attribute of rest) {
      const eq = attribute.indexOf('=');
      if (eq === -1) attributes[attribute] = true;
      else attributes[attribute.slice(0, eq)] = attribute.slice(eq + 1);
    }
    return { name: pair.slice(0, at), value: pair.slice(at + 1), attributes };
  });
}

/** The one refresh cookie a response set, checked attribute by attribute; its value. */
export function expectRefreshCookie(res: request.Response, maxAge: number): string {
  const cookies = setCookies(res);
  expect(cookies, 'exactly one Set-Cookie').to.have.length(1);
  const [cookie] = cookies as [SetCookie];
  expect(cookie.name).to.equal(COOKIE);
  expect(cookie.value).to.match(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  expect(cookie.attributes).to.deep.equal({
    'Max-Age': String(maxAge),
    Path: '/',
    HttpOnly: true,
    Secure: true,
    SameSite: 'Strict',
  });
  return cookie.value;
}

/** Asserts that a response cleared the refresh cookie (same name and path, Max-Age=0, empty value). */
export function expectClearedCookie(res: request.Response): void {
  expect(setCookies(res)).to.deep.equal([
    {
      name: COOKIE,
      value: '',
      attributes: { 'Max-Age': '0', Path: '/', HttpOnly: true, Secure: true, SameSite: 'Strict' },
    },
  ]);
}

export function expectNoCookie(res: request.Response): void {
  expect(res.headers['set-cookie'], 'no Set-Cookie').to.equal(undefined);
}

/** A MemorySessionStore whose every method call is counted in `calls`. */
export function countingStore(): { store: SessionStore; calls: string[]; close: () => void } {
  const inner = new MemorySessionStore();
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    calls,
    close: () => {
      inner.close();
    },
  };
}

export interface CookieApp {
  auth: TokenAuth;
  transport: CookieTransport;
  server: Server;
  /** Store methods called so far. */
  calls: string[];
  close: () => void;
}

/** The app with the default cookie, or with `cookie` as the transport's cookie options. */
export function startCookieApp(framework: typeof express, cookie?: RefreshCookieOptions): CookieApp {
  const { store, calls, close } = countingStore();
  const auth = newAuth(store);
  const transport = cookieTransport({ allowedOrigins: [ORIGIN, 'http://localhost:3000'], ...(cookie && { cookie }) });
  const app = framework();
  app.use(framework.json());
  app.post('/auth/login', csrfGuard(transport), (req, res, next) => {
    auth
      .issue({ userId: 'alice', claims: { role: 'admin' } })
      .then((pair) => {
        sendTokenPair(req, res, { ...pair, user: { id: 'alice' } }, transport);
      })
      .catch(next);
  });
  // The same login without csrfGuard: sendTokenPair's own checks.
  app.post('/auth/login-unguarded', (req, res, next) => {
    auth
      .issue({ userId: 'alice' })
      .then((pair) => {
        sendTokenPair(req, res, pair, transport);
      })
      .catch(next);
  });
  app.get('/me', requireAccessToken(auth), (req, res) => {
    res.json(req.auth);
  });
  app.post('/auth/refresh', refreshHandler(auth, { transport }));
  app.post('/auth/logout', logoutHandler(auth, { transport }));
  app.post('/auth/logout-all', requireAccessToken(auth), logoutHandler(auth, { transport, all: true }));
  app.use(recordError);
  return { auth, transport, server: createServer(app), calls, close };
}

/** Cookie-mode request headers from the allowed origin, with `cookie` as the refresh cookie (if given). */
export function cookieMode(test: Test, cookie?: string): Test {
  test.set(HEADER, 'cookie').set('Origin', ORIGIN).set('Sec-Fetch-Site', 'same-site');
  return cookie === undefined ? test : test.set('Cookie', `${COOKIE}=${cookie}`);
}
