/**
 * The HTTP behaviour of requireAccessToken, refreshHandler and logoutHandler,
 * run as one suite on Express 5 and on Express 4. A helper builds a tiny app
 * around the middlewares; time is moved with the `clock` option, never slept
 * through; every error is asserted by status, code and message.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import express, { type NextFunction, type Request, type Response } from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  ACCESS_TYP, REFRESH_TYP, createTokenAuth, logoutHandler, MemorySessionStore, refreshHandler, requireAccessToken,
  type AuthContext, type SessionStore, type TokenAuth, type TokenPair,
} from '../lib/index.js';

// Express 4 ships no types; it takes the same (req, res, next) middlewares, so
// it is typed as Express 5 here. It is CommonJS, hence require.
const express4 = createRequire(import.meta.url)('express4') as typeof express;

const frameworks: Array<[string, typeof express]> = [['Express 5', express], ['Express 4', express4]];

const ACCESS_SECRET = 'access-secret-for-tests-0123456789';
const REFRESH_SECRET = 'refresh-secret-for-tests-0123456789';
const OTHER_SECRET = 'someone-elses-secret-0123456789abcdef';
const ACCESS_TTL = 15 * 60;
const REFRESH_TTL = 7 * 86_400;
const REUSE_GRACE = 5;
/** The fixed "now" of every test, in milliseconds. */
const T0 = Date.UTC(2030, 0, 1);

type Payload = Record<string, unknown>;
type Test = request.Test;

/** A clock the tests move by hand. */
const clock = {
  now: T0,
  advance(seconds: number): void {
    this.now += seconds * 1000;
  },
};

/** Errors that reached the app's own error handler rather than being answered by the package. */
let unexpected: unknown[] = [];

function recordError(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  unexpected.push(error);
  const status = (error as { status?: unknown }).status;
  res.status(typeof status === 'number' && status >= 400 && status < 500 ? status : 500).json({ error: 'app_error' });
}

function newAuth(store: SessionStore): TokenAuth {
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
function buildApp(framework: typeof express, auth: TokenAuth): Server {
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

/**
 * supertest with every request bounded: a response that never comes fails
 * its test in seconds and frees its socket, so mocha still exits.
 */
function http(app: Parameters<typeof request>[0]): { get: (path: string) => Test; post: (path: string) => Test } {
  const agent = request(app);
  return {
    get: (path) => agent.get(path).timeout(3000),
    post: (path) => agent.post(path).timeout(3000),
  };
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function payloadOf(token: string): Payload {
  return jwt.decode(token) as Payload;
}

function sign(payload: Payload, key: string | KeyObject, typ: string, algorithm: jwt.Algorithm = 'HS256'): string {
  return jwt.sign(payload, key, { algorithm, header: { alg: algorithm, typ } });
}

/** An HS256 token signed by hand from a raw payload, for what jsonwebtoken refuses to sign. */
function signRaw(header: Payload, payload: string, secret: string): string {
  const input = `${base64url(header)}.${Buffer.from(payload).toString('base64url')}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

function signByHand(payload: Payload, secret: string, typ: string): string {
  return signRaw({ alg: 'HS256', typ }, JSON.stringify(payload), secret);
}

/** The same token with its payload changed and the original signature kept. */
function tamper(token: string, changes: Payload): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Payload;
  return [header, base64url({ ...claims, ...changes }), signature].join('.');
}

/** The same token with the last character of its signature changed. */
function flipLastChar(token: string): string {
  return token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
}

/** An `alg: none` token built by hand: header, payload, empty signature. */
function unsigned(payload: Payload, typ: string): string {
  return `${base64url({ alg: 'none', typ })}.${base64url(payload)}.`;
}

function without(payload: Payload, ...names: string[]): Payload {
  return Object.fromEntries(Object.entries(payload).filter(([name]) => !names.includes(name)));
}

const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

/** Asserts a JSON error answer: status, code, message and the headers that go with them. */
function expectError(res: request.Response, status: number, code: string, message: string): void {
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
  if (status === 503) expect(res.headers['retry-after']).to.equal('5');
  expect(unexpected, 'errors that reached the app instead of an answer').to.deep.equal([]);
}

/** A fresh session of alice's, and the decoded claims of its tokens. */
interface Kit {
  pair: TokenPair;
  access: Payload;
  refresh: Payload;
}

type Send = (req: Test, kit: Kit) => Test;

interface BadInput {
  name: string;
  send: Send;
  status: number;
  code: string;
  message: string;
  /** Seconds to move the clock before sending. */
  advance?: number;
}

const header = (value: string): Send => (req) => req.set('Authorization', value);
const bearer = (token: (kit: Kit) => string): Send => (req, kit) => req.set('Authorization', `Bearer ${token(kit)}`);
const body = (value: (kit: Kit) => unknown): Send => (req, kit) => req.send(value(kit) as object);
const refreshToken = (token: (kit: Kit) => unknown): Send => body((kit) => ({ refreshToken: token(kit) }));

const GARBAGE = ['garbage', 'a.b.c', '...', 'eyJhbGciOiJIUzI1NiJ9.e30.', 'eyJ%00.eyJ.x', '\u00e9t\u00e9'];
const INVALID = { status: 401, code: 'token_invalid', message: 'token is invalid' } as const;
const WRONG_TYPE = { status: 401, code: 'token_invalid', message: 'token is of the wrong type' } as const;
const MISSING_CLAIMS = { status: 401, code: 'token_invalid', message: 'token is missing required claims' } as const;
const TOO_LONG = { status: 401, code: 'token_invalid', message: 'token is too long' } as const;
const NOT_A_STRING = { status: 400, code: 'invalid_request', message: 'refreshToken must be a non-empty string' } as const;
const PADDING = 'x'.repeat(100 * 1024);

/** Bad `Authorization` headers, for every route that reads the access token. */
const badAccess: BadInput[] = [
  { name: 'no Authorization header', send: (req) => req, status: 401, code: 'token_missing', message: 'no bearer token' },
  { name: 'a Basic Authorization header', send: header('Basic dXNlcjpwYXNz'), status: 401, code: 'token_missing', message: 'no bearer token' },
  { name: '"Bearer" and no token', send: header('Bearer'), status: 400, code: 'invalid_request', message: 'malformed Authorization header' },
  { name: 'two words after "Bearer"', send: header('Bearer abc def'), status: 400, code: 'invalid_request', message: 'malformed Authorization header' },
  { name: '"Bearer" and only spaces', send: header('Bearer    '), status: 400, code: 'invalid_request', message: 'malformed Authorization header' },
  { name: 'a token signed with another secret', send: bearer((k) => sign(k.access, OTHER_SECRET, ACCESS_TYP)), ...INVALID },
  { name: 'a token whose payload was changed after signing', send: bearer((k) => tamper(k.pair.accessToken, { sub: 'mallory' })), ...INVALID },
  { name: 'an expired token', advance: ACCESS_TTL + 1, send: bearer((k) => k.pair.accessToken), status: 401, code: 'token_expired', message: 'token has expired' },
  { name: 'an expired token signed with another secret', advance: ACCESS_TTL + 1, send: bearer((k) => sign(k.access, OTHER_SECRET, ACCESS_TYP)), ...INVALID },
  { name: 'a token not valid before an hour from now', send: bearer((k) => sign({ ...k.access, nbf: (k.access.iat as number) + 3600 }, ACCESS_SECRET, ACCESS_TYP)), status: 401, code: 'token_invalid', message: 'token is not valid yet' },
  { name: 'a token with the last character of its signature changed', send: bearer((k) => flipLastChar(k.pair.accessToken)), ...INVALID },
  { name: 'a token with a fourth segment', send: bearer((k) => `${k.pair.accessToken}.AAAA`), ...INVALID },
  { name: 'a token whose header lists typ first and payload was changed', send: bearer((k) => tamper(signRaw({ typ: ACCESS_TYP, alg: 'HS256' }, JSON.stringify(k.access), ACCESS_SECRET), { sub: 'mallory' })), ...INVALID },
  { name: 'a validly signed token whose payload is not JSON', send: bearer(() => signRaw({ alg: 'HS256', typ: ACCESS_TYP }, 'not json', ACCESS_SECRET)), ...INVALID },
  { name: 'a validly signed token whose payload is an array', send: bearer(() => signRaw({ alg: 'HS256', typ: ACCESS_TYP }, '["alice"]', ACCESS_SECRET)), status: 401, code: 'token_invalid', message: 'token payload is not an object' },
  { name: 'an alg "none" token', send: bearer((k) => unsigned(k.access, ACCESS_TYP)), ...INVALID },
  { name: 'a refresh token', send: bearer((k) => k.pair.refreshToken), ...INVALID },
  { name: 'a refresh-typ token signed with the access secret', send: bearer((k) => sign(k.access, ACCESS_SECRET, REFRESH_TYP)), ...WRONG_TYPE },
  { name: 'a typ "JWT" token signed with the access secret', send: bearer((k) => sign(k.access, ACCESS_SECRET, 'JWT')), ...WRONG_TYPE },
  { name: 'an HS512 token (HS256 is pinned)', send: bearer((k) => sign(k.access, ACCESS_SECRET, ACCESS_TYP, 'HS512')), ...INVALID },
  { name: 'an RS256 token (HS256 is pinned)', send: bearer((k) => sign(k.access, rsaKey, ACCESS_TYP, 'RS256')), ...INVALID },
  ...GARBAGE.map((text): BadInput => ({ name: `the garbage ${JSON.stringify(text)}`, send: bearer(() => text), ...INVALID })),
  { name: 'a 100 KB token, validly signed', send: bearer((k) => sign({ ...k.access, pad: PADDING }, ACCESS_SECRET, ACCESS_TYP)), ...TOO_LONG },
  { name: 'a token without sid', send: bearer((k) => sign(without(k.access, 'sid'), ACCESS_SECRET, ACCESS_TYP)), ...MISSING_CLAIMS },
  { name: 'a token without exp', send: bearer((k) => sign(without(k.access, 'exp'), ACCESS_SECRET, ACCESS_TYP)), ...MISSING_CLAIMS },
  { name: 'a token whose sub is a number', send: bearer((k) => sign({ ...k.access, sub: 42 }, ACCESS_SECRET, ACCESS_TYP)), ...MISSING_CLAIMS },
];

/** Bad `{ refreshToken }` bodies, for refresh and logout. */
const badRefresh: BadInput[] = [
  { name: 'a token signed with another secret', send: refreshToken((k) => sign(k.refresh, OTHER_SECRET, REFRESH_TYP)), ...INVALID },
  { name: 'a token whose payload was changed after signing', send: refreshToken((k) => tamper(k.pair.refreshToken, { sid: 'someone-else' })), ...INVALID },
  { name: 'an alg "none" token', send: refreshToken((k) => unsigned(k.refresh, REFRESH_TYP)), ...INVALID },
  { name: 'an access token', send: refreshToken((k) => k.pair.accessToken), ...INVALID },
  { name: 'a token with the last character of its signature changed', send: refreshToken((k) => flipLastChar(k.pair.refreshToken)), ...INVALID },
  { name: 'an access-typ token signed with the refresh secret', send: refreshToken((k) => sign(k.refresh, REFRESH_SECRET, ACCESS_TYP)), ...WRONG_TYPE },
  { name: 'an HS512 token (HS256 is pinned)', send: refreshToken((k) => sign(k.refresh, REFRESH_SECRET, REFRESH_TYP, 'HS512')), ...INVALID },
  { name: 'an RS256 token (HS256 is pinned)', send: refreshToken((k) => sign(k.refresh, rsaKey, REFRESH_TYP, 'RS256')), ...INVALID },
  ...GARBAGE.map((text): BadInput => ({ name: `the garbage ${JSON.stringify(text)}`, send: refreshToken(() => text), ...INVALID })),
  { name: 'a 100 KB token, validly signed', send: refreshToken((k) => sign({ ...k.refresh, pad: PADDING }, REFRESH_SECRET, REFRESH_TYP)), ...TOO_LONG },
  { name: 'a token without jti', send: refreshToken((k) => sign(without(k.refresh, 'jti'), REFRESH_SECRET, REFRESH_TYP)), ...MISSING_CLAIMS },
  { name: 'a token whose iat is a string', send: refreshToken((k) => signByHand({ ...k.refresh, iat: 'yesterday' }, REFRESH_SECRET, REFRESH_TYP)), ...MISSING_CLAIMS },
  { name: 'refreshToken: a number', send: refreshToken(() => 12345), ...NOT_A_STRING },
  { name: 'refreshToken: an object', send: refreshToken((k) => ({ token: k.pair.refreshToken })), ...NOT_A_STRING },
  { name: 'refreshToken: an array', send: refreshToken((k) => [k.pair.refreshToken]), ...NOT_A_STRING },
  { name: 'refreshToken: null', send: refreshToken(() => null), ...NOT_A_STRING },
  { name: 'refreshToken: true', send: refreshToken(() => true), ...NOT_A_STRING },
  { name: 'refreshToken: an empty string', send: refreshToken(() => ''), ...NOT_A_STRING },
  { name: 'a JSON body without refreshToken', send: body(() => ({ token: 'x' })), ...NOT_A_STRING },
  { name: 'a JSON array body', send: body((k) => [k.pair.refreshToken]), ...NOT_A_STRING },
  { name: 'no body at all', send: (req) => req, ...NOT_A_STRING },
  { name: 'a text/plain body', send: (req, k) => req.set('Content-Type', 'text/plain').send(k.pair.refreshToken), ...NOT_A_STRING },
  {
    name: 'a form-encoded body',
    send: (req, k) => req.type('form').send(`refreshToken=${k.pair.refreshToken}`),
    ...NOT_A_STRING,
  },
];

/** An expired refresh token is refused by refresh, but logout accepts it (tested apart). */
const expiredRefresh: BadInput = {
  name: 'an expired token', advance: REFRESH_TTL + 1, send: refreshToken((k) => k.pair.refreshToken),
  status: 401, code: 'token_expired', message: 'token has expired',
};

const routes: Array<{ method: 'get' | 'post'; path: string; rows: BadInput[] }> = [
  { method: 'get', path: '/me', rows: badAccess },
  { method: 'post', path: '/logout-all-standalone', rows: badAccess },
  { method: 'post', path: '/refresh', rows: [...badRefresh, expiredRefresh] },
  { method: 'post', path: '/logout', rows: badRefresh },
];

/** A store whose every method fails, as a down Redis would: by rejecting, or by throwing outright. */
class FailingStore implements SessionStore {
  readonly inner = new MemorySessionStore();
  failing: 'no' | 'reject' | 'throw' = 'no';

  #call<T>(run: () => Promise<T>): Promise<T> {
    const error = new Error('connect ECONNREFUSED 127.0.0.1:6379');
    if (this.failing === 'throw') throw error;
    if (this.failing === 'reject') return Promise.reject(error);
    return run();
  }

  create(...args: Parameters<SessionStore['create']>): ReturnType<SessionStore['create']> {
    return this.#call(() => this.inner.create(...args));
  }

  rotate(...args: Parameters<SessionStore['rotate']>): ReturnType<SessionStore['rotate']> {
    return this.#call(() => this.inner.rotate(...args));
  }

  revoke(...args: Parameters<SessionStore['revoke']>): ReturnType<SessionStore['revoke']> {
    return this.#call(() => this.inner.revoke(...args));
  }

  revokeAll(...args: Parameters<SessionStore['revokeAll']>): ReturnType<SessionStore['revokeAll']> {
    return this.#call(() => this.inner.revokeAll(...args));
  }
}

for (const [frameworkName, framework] of frameworks) {
  describe(`Express adapters on ${frameworkName}`, function () {
    let store: MemorySessionStore;
    let auth: TokenAuth;
    let server: Server;

    before(function () {
      store = new MemorySessionStore();
      auth = newAuth(store);
      server = buildApp(framework, auth);
    });

    after(function () {
      store.close();
    });

    beforeEach(function () {
      clock.now = T0;
      unexpected = [];
    });

    async function login(userId = 'alice'): Promise<TokenPair> {
      return auth.issue({ userId, claims: { role: 'admin' } });
    }

    async function newKit(): Promise<Kit> {
      const pair = await login();
      return { pair, access: payloadOf(pair.accessToken), refresh: payloadOf(pair.refreshToken) };
    }

    const me = (accessToken: string): Test => http(server).get('/me').set('Authorization', `Bearer ${accessToken}`);
    const refresh = (token: string): Test => http(server).post('/refresh').send({ refreshToken: token });
    const logout = (token: string): Test => http(server).post('/logout').send({ refreshToken: token });

    describe('requireAccessToken', function () {
      it('lets a valid token through and sets req.auth to its user, session and claims', async function () {
        const { pair, access } = await newKit();
        const res = await me(pair.accessToken).expect(200);
        expect(res.body).to.deep.equal({ userId: 'alice', sessionId: access.sid, claims: { role: 'admin' } });
        expect(unexpected).to.deep.equal([]);
      });

      it('accepts the scheme in any case and extra spaces before the token', async function () {
        const { pair } = await newKit();
        for (const value of [`bearer ${pair.accessToken}`, `BEARER ${pair.accessToken}`, `Bearer   ${pair.accessToken}`]) {
          const res = await http(server).get('/me').set('Authorization', value);
          expect(res.status, value.slice(0, 10)).to.equal(200);
          expect((res.body as AuthContext).userId).to.equal('alice');
        }
      });

      it('accepts a genuine token whose header lists typ before alg', async function () {
        const { access } = await newKit();
        const token = signRaw({ typ: ACCESS_TYP, alg: 'HS256' }, JSON.stringify(access), ACCESS_SECRET);
        const res = await me(token).expect(200);
        expect((res.body as AuthContext).userId).to.equal('alice');
      });

      it('answers 401 with a bare Bearer challenge, no error code in it, when no token is presented', async function () {
        const res = await http(server).get('/me');
        expectError(res, 401, 'token_missing', 'no bearer token');
        expect(res.headers['www-authenticate']).to.equal('Bearer');
      });

      it('answers 401 Bearer error="invalid_token" with a description when a bad token is presented', async function () {
        const res = await me('not-a-token');
        expectError(res, 401, 'token_invalid', 'token is invalid');
        expect(res.headers['www-authenticate']).to.equal('Bearer error="invalid_token", error_description="token is invalid"');
      });

      it('answers 400 invalid_request to "Authorization: Bearer" without a token', async function () {
        const res = await http(server).get('/me').set('Authorization', 'Bearer');
        expectError(res, 400, 'invalid_request', 'malformed Authorization header');
        expect(res.headers['www-authenticate']).to.equal('Bearer error="invalid_request", error_description="malformed Authorization header"');
      });

      it('reads a 15 KB header of spaces in linear time (no regex backtracking)', async function () {
        const value = `Bearer${' '.repeat(15_000)}abc def`;
        const started = performance.now();
        for (let i = 0; i < 10; i += 1) {
          expectError(await http(server).get('/me').set('Authorization', value), 400, 'invalid_request',
            'malformed Authorization header');
        }
        expect(performance.now() - started, 'milliseconds for 10 requests').to.be.below(1500);
      });

      it('accepts a token until the second it expires', async function () {
        const { pair } = await newKit();
        clock.advance(ACCESS_TTL - 1);
        await me(pair.accessToken).expect(200);
        clock.advance(2);
        expectError(await me(pair.accessToken), 401, 'token_expired', 'token has expired');
      });

      it('refuses an HS256 token signed with the public key when access tokens are ES256 (algorithm confusion)', async function () {
        const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const asymmetricStore = new MemorySessionStore();
        try {
          const es256 = createTokenAuth({
            accessToken: { privateKey, algorithm: 'ES256' }, refreshToken: { secret: REFRESH_SECRET }, store: asymmetricStore,
            clock: () => clock.now,
          });
          const app = buildApp(framework, es256);
          const pair = await es256.issue({ userId: 'alice' });
          await http(app).get('/me').set('Authorization', `Bearer ${pair.accessToken}`).expect(200);
          const pem = publicKey.export({ type: 'spki', format: 'pem' });
          const claims = payloadOf(pair.accessToken);
          const forged = `${base64url({ alg: 'HS256', typ: ACCESS_TYP })}.${base64url(claims)}`;
          const signature = createHmac('sha256', pem).update(forged).digest('base64url');
          const res = await http(app).get('/me').set('Authorization', `Bearer ${forged}.${signature}`);
          expectError(res, 401, 'token_invalid', 'token is invalid');
        } finally {
          asymmetricStore.close();
        }
      });
    });

    describe('bad input', function () {
      let kit: Kit;

      beforeEach(async function () {
        kit = await newKit();
      });

      for (const { method, path, rows } of routes) {
        for (const row of rows) {
          it(`${method.toUpperCase()} ${path} with ${row.name}: ${row.status} ${row.code}`, async function () {
            if (row.advance !== undefined) clock.advance(row.advance);
            const res = await row.send(http(server)[method](path), kit);
            expectError(res, row.status, row.code, row.message);
          });
        }
      }

      it('leaves a body that is not valid JSON to express.json(), which answers 400', async function () {
        for (const path of ['/refresh', '/logout']) {
          const res = await http(server).post(path).set('Content-Type', 'application/json').send('{"refreshToken": ');
          expect(res.status).to.equal(400);
          expect(unexpected).to.have.lengthOf(1);
          expect((unexpected[0] as { type?: string }).type).to.equal('entity.parse.failed');
          unexpected = [];
        }
      });

      it('leaves the session usable after all of the above', async function () {
        for (const { method, path, rows } of routes) {
          for (const row of rows.filter((r) => r.advance === undefined)) {
            const res = await row.send(http(server)[method](path), kit);
            expect(res.status, `${path} ${row.name}`).to.equal(row.status);
          }
        }
        const res = await refresh(kit.pair.refreshToken).expect(200);
        expect((res.body as TokenPair).tokenType).to.equal('Bearer');
      });
    });

    describe('refreshHandler', function () {
      it('answers 200 with a new pair, not cached, and rotates the refresh token', async function () {
        const { pair, access } = await newKit();
        clock.advance(60);
        const res = await refresh(pair.refreshToken);
        expect(res.status, res.text).to.equal(200);
        expect(res.headers['cache-control']).to.equal('no-store');
        expect(res.headers['content-type']).to.match(/^application\/json/);
        const next = res.body as TokenPair;
        expect(next).to.have.all.keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn');
        expect(next.tokenType).to.equal('Bearer');
        expect(next.expiresIn).to.equal(ACCESS_TTL);
        expect(next.refreshToken).to.be.a('string').and.not.equal(pair.refreshToken);
        expect(next.accessToken).to.be.a('string').and.not.equal(pair.accessToken);
        const who = await me(next.accessToken).expect(200);
        expect(who.body).to.deep.equal({ userId: 'alice', sessionId: access.sid, claims: { role: 'admin' } });
        await refresh(next.refreshToken).expect(200);
      });

      it('gives a retry within the grace window the same refresh token back', async function () {
        const { pair } = await newKit();
        const first = await refresh(pair.refreshToken).expect(200);
        clock.advance(REUSE_GRACE);
        const retry = await refresh(pair.refreshToken).expect(200);
        expect((retry.body as TokenPair).refreshToken).to.equal((first.body as TokenPair).refreshToken);
      });

      it('answers 401 refresh_reused to a rotated-out token, and ends the session', async function () {
        const { pair } = await newKit();
        const rotated = await refresh(pair.refreshToken).expect(200);
        clock.advance(REUSE_GRACE + 1);
        expectError(await refresh(pair.refreshToken), 401, 'refresh_reused',
          'refresh token was already used; the session has been revoked');
        expectError(await refresh((rotated.body as TokenPair).refreshToken), 401, 'token_revoked', 'session has ended');
      });
    });

    describe('logoutHandler', function () {
      it('answers 204 with no body, then the refresh token is refused as revoked', async function () {
        const { pair } = await newKit();
        const res = await logout(pair.refreshToken);
        expect(res.status, res.text).to.equal(204);
        expect(res.text).to.equal('');
        expect(res.headers['cache-control']).to.equal('no-store');
        expectError(await refresh(pair.refreshToken), 401, 'token_revoked', 'session has ended');
      });

      it('answers 204 to a second logout of the same session', async function () {
        const { pair } = await newKit();
        await logout(pair.refreshToken).expect(204);
        await logout(pair.refreshToken).expect(204);
        expect(unexpected).to.deep.equal([]);
      });

      it('accepts an expired but genuine refresh token and ends its session', async function () {
        const { pair } = await newKit();
        const sizeBefore = store.size;
        clock.advance(REFRESH_TTL + 1);
        await logout(pair.refreshToken).expect(204);
        expect(store.size).to.equal(sizeBefore - 1);
      });

      it('answers 401 to a forged refresh token and ends nothing', async function () {
        const { pair, refresh: claims } = await newKit();
        expectError(await logout(sign(claims, OTHER_SECRET, REFRESH_TYP)), 401, 'token_invalid', 'token is invalid');
        await refresh(pair.refreshToken).expect(200);
      });

      it('leaves access tokens valid until they expire (the documented caveat)', async function () {
        const { pair } = await newKit();
        await logout(pair.refreshToken).expect(204);
        await me(pair.accessToken).expect(200);
      });

      for (const [route, description] of [
        ['/logout-all', 'after requireAccessToken'],
        ['/logout-all-standalone', 'standalone, with the Bearer header'],
      ] as const) {
        it(`with { all: true } ${description}: ends every session of the user and no one else's`, async function () {
          const phone = await login('carol');
          const laptop = await login('carol');
          const other = await login('dave');
          const res = await http(server).post(route).set('Authorization', `Bearer ${phone.accessToken}`);
          expect(res.status, res.text).to.equal(204);
          expect(res.headers['cache-control']).to.equal('no-store');
          expectError(await refresh(phone.refreshToken), 401, 'token_revoked', 'session has ended');
          expectError(await refresh(laptop.refreshToken), 401, 'token_revoked', 'session has ended');
          await refresh(other.refreshToken).expect(200);
        });
      }

      it('with { all: true }: takes the user from req.auth when something set it, without a header', async function () {
        const app = framework();
        app.post('/logout-all', (req, _res, next) => {
          req.auth = { userId: 'frank', sessionId: 'from-a-cookie', claims: {} };
          next();
        }, logoutHandler(auth, { all: true }));
        app.use(recordError);
        const session = await login('frank');
        await http(app).post('/logout-all').expect(204);
        expectError(await refresh(session.refreshToken), 401, 'token_revoked', 'session has ended');
      });

      it('with { all: true } after requireAccessToken: answers 401 token_missing without a token', async function () {
        expectError(await http(server).post('/logout-all'), 401, 'token_missing', 'no bearer token');
      });
    });

    describe('wiring mistakes', function () {
      for (const [name, factory] of [
        ['requireAccessToken', requireAccessToken],
        ['refreshHandler', refreshHandler],
        ['logoutHandler', logoutHandler],
      ] as const) {
        it(`${name} used as a middleware itself: the error says to call it`, async function () {
          const app = framework();
          app.use(factory as never);
          app.get('/', (_req, res) => { res.send('reached'); });
          app.use(recordError);
          const res = await http(app).get('/');
          expect(res.status).to.equal(500);
          expect(unexpected).to.have.lengthOf(1);
          expect(unexpected[0]).to.be.instanceOf(TypeError);
          expect((unexpected[0] as Error).message).to.equal(
            `express-token-pair: ${name} was used as a middleware itself; call it: ${name}(auth)`);
        });

        it(`${name}() with something that is not a TokenAuth throws at construction`, function () {
          for (const notAuth of [{}, undefined, null, 'secret', { verifyAccessToken() {} }]) {
            expect(() => factory(notAuth as never), String(notAuth)).to.throw(TypeError,
              `express-token-pair: ${name}(auth) needs the object returned by createTokenAuth()`);
          }
        });
      }

      it('logoutHandler with a non-boolean all throws at construction', function () {
        expect(() => logoutHandler(auth, { all: 'yes' as never })).to.throw(TypeError,
          'express-token-pair: logoutHandler option all must be a boolean');
      });

      it('refreshHandler without a body parser answers 400, not 500', async function () {
        const app = framework();
        app.post('/refresh', refreshHandler(auth));
        app.use(recordError);
        const { pair } = await newKit();
        const res = await http(app).post('/refresh').send({ refreshToken: pair.refreshToken });
        expectError(res, 400, 'invalid_request', NOT_A_STRING.message);
      });
    });

    describe('when the store fails', function () {
      let failing: FailingStore;
      let flakyAuth: TokenAuth;
      let flakyServer: Server;

      before(function () {
        failing = new FailingStore();
        flakyAuth = newAuth(failing);
        flakyServer = buildApp(framework, flakyAuth);
      });

      after(function () {
        failing.inner.close();
      });

      afterEach(function () {
        failing.failing = 'no';
      });

      for (const mode of ['reject', 'throw'] as const) {
        it(`(methods ${mode === 'reject' ? 'reject' : 'throw'}) refresh and logout answer 503 store_unavailable with Retry-After; requireAccessToken still lets tokens through`, async function () {
          const { inner } = failing;
          const pair = await flakyAuth.issue({ userId: 'erin' });
          const sessions = inner.size;
          failing.failing = mode;
          const res = await http(flakyServer).get('/me').set('Authorization', `Bearer ${pair.accessToken}`);
          expect(res.status, res.text).to.equal(200);
          const down = 'session store is unavailable';
          expectError(await http(flakyServer).post('/refresh').send({ refreshToken: pair.refreshToken }),
            503, 'store_unavailable', down);
          expectError(await http(flakyServer).post('/logout').send({ refreshToken: pair.refreshToken }),
            503, 'store_unavailable', down);
          for (const route of ['/logout-all', '/logout-all-standalone']) {
            expectError(await http(flakyServer).post(route).set('Authorization', `Bearer ${pair.accessToken}`),
              503, 'store_unavailable', down);
          }
          // Nothing happened while the store was down: the session is intact and refreshes.
          failing.failing = 'no';
          expect(inner.size).to.equal(sessions);
          await http(flakyServer).post('/refresh').send({ refreshToken: pair.refreshToken }).expect(200);
        });
      }

      it('still answers client errors before touching the store', async function () {
        failing.failing = 'reject';
        expectError(await http(flakyServer).post('/refresh').send({ refreshToken: 42 }),
          400, 'invalid_request', NOT_A_STRING.message);
        expectError(await http(flakyServer).post('/logout').send({ refreshToken: 'garbage' }),
          401, 'token_invalid', 'token is invalid');
      });
    });
  });
}
