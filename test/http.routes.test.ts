/**
 * lib/http/ without any framework: the token routes as decisions (refresh,
 * logout, logout-all, a login's pair) over plain requests and a real core on
 * a memory store, and the refresh token's lifetime that the core hands over
 * with the pair (`refreshExpiresIn`, non-enumerable) for the cookie's Max-Age.
 */
import { expect } from 'chai';
import { issuedPairAnswer, logoutAnswer, pairAnswer, refreshAnswer } from '../lib/http/answers.js';
import { errorAnswer } from '../lib/http/error-answer.js';
import type { HttpAnswer, HttpRequest } from '../lib/http/types.js';
import { assertAuth, logoutSettings, refreshSettings } from '../lib/http/wiring.js';
import {
  CookieAmbiguousError,
  cookieTransport,
  createTokenAuth,
  CsrfRejectedError,
  InvalidRequestError,
  MemorySessionStore,
  OptionError,
  StoreUnavailableError,
  TokenMissingError,
  TokenRevokedError,
  type SessionStore,
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';

const ORIGIN = 'https://app.example.com';
const NAME = '__Host-etp_refresh';
const ACCESS_TTL = 900;
const REFRESH_TTL = 7 * 86_400;
const transport = cookieTransport({ allowedOrigins: [ORIGIN] });
const COOKIE_MODE = { 'x-token-transport': 'cookie', origin: ORIGIN };
const NO_STORE = { 'Cache-Control': 'no-store' };

const request = (headers: Record<string, string>, body?: unknown): HttpRequest => ({
  method: 'POST',
  url: '/auth',
  headers,
  body,
  ip: '203.0.113.9',
});
const withCookie = (token: string): HttpRequest => request({ ...COOKIE_MODE, cookie: `${NAME}=${token}` });
const setCookie = (token: string, maxAge: number): string =>
  `${NAME}=${token}; Max-Age=${maxAge}; Path=/; HttpOnly; Secure; SameSite=Strict`;

/** The pair a JSON body carries (what `res.json(pair)` sends). */
const json = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('lib/http: the token routes as decisions, no framework', function () {
  const now = { ms: Date.UTC(2030, 0, 1) };
  let inner: MemorySessionStore;
  let down = false;
  let auth: TokenAuth;

  before(function () {
    inner = new MemorySessionStore();
    const store = new Proxy(inner, {
      get(target, property, receiver): unknown {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown =>
          down && property !== 'create'
            ? Promise.reject(new Error('connect ECONNREFUSED'))
            : (value as (...a: unknown[]) => unknown).apply(target, args);
      },
    }) as SessionStore;
    auth = createTokenAuth({
      accessToken: { secret: 'access-secret-for-tests-0123456789', ttl: ACCESS_TTL },
      refreshToken: { secret: 'refresh-secret-for-tests-0123456789', ttl: REFRESH_TTL },
      store,
      clock: () => now.ms,
    });
  });

  after(function () {
    inner.close();
  });

  afterEach(function () {
    down = false;
  });

  describe("the pair carries its refresh token's lifetime", function () {
    it('issue() and refresh() set refreshExpiresIn (exp - iat), non-enumerable: JSON, keys and spreads leave it out', async function () {
      const issued = await auth.issue({ userId: 'alice' });
      const refreshed = await auth.refresh(issued.refreshToken);
      for (const pair of [issued, refreshed]) {
        expect(pair.refreshExpiresIn).to.equal(REFRESH_TTL);
        const { iat, exp } = JSON.parse(Buffer.from(pair.refreshToken.split('.')[1]!, 'base64url').toString()) as {
          iat: number;
          exp: number;
        };
        expect(pair.refreshExpiresIn).to.equal(exp - iat);
        expect(Object.keys(pair)).to.deep.equal(['accessToken', 'refreshToken', 'tokenType', 'expiresIn']);
        expect(json(pair)).to.deep.equal({ ...pair });
      }
    });

    it("the cookie's Max-Age is that lifetime, whatever the token says", async function () {
      const pair = await auth.issue({ userId: 'alice' });
      const lying = Object.defineProperty({ ...pair }, 'refreshExpiresIn', { value: 42, enumerable: false });
      expect(pairAnswer(lying, transport).cookies).to.deep.equal([setCookie(pair.refreshToken, 42)]);
    });
  });

  describe('pairAnswer and issuedPairAnswer (sendTokenPair)', function () {
    it('body mode: the whole pair and any extra fields as JSON, no-store, no cookie', async function () {
      const pair = { ...(await auth.issue({ userId: 'alice' })), user: { id: 'alice' } };
      expect(pairAnswer(pair, undefined)).to.deep.equal({ status: 200, headers: NO_STORE, cookies: [], body: pair });
      expect(issuedPairAnswer(request({}), pair, transport, 201)).to.deep.equal({
        status: 201,
        headers: NO_STORE,
        cookies: [],
        body: pair,
      });
    });

    it('cookie mode: the refresh token as the cookie only, the rest as JSON', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      const { refreshToken, ...rest } = pair;
      const withUser = { ...pair, user: { id: 'alice' } };
      const answer = issuedPairAnswer(request(COOKIE_MODE), withUser, transport);
      expect(answer).to.deep.equal({
        status: 200,
        headers: NO_STORE,
        cookies: [setCookie(refreshToken, REFRESH_TTL)],
        body: { ...rest, user: { id: 'alice' } },
      });
    });

    it('a cookie-mode request that fails the CSRF checks is refused, before any token is sent', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      expect(() =>
        issuedPairAnswer(request({ 'x-token-transport': 'cookie', origin: 'https://evil.example' }), pair, transport),
      ).to.throw(CsrfRejectedError);
    });
  });

  describe('refreshAnswer', function () {
    it('body mode: 200 with the new pair as JSON, the old token rotated out', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      const answer = await refreshAnswer(auth, undefined, request({}, { refreshToken: pair.refreshToken }));
      expect(answer).to.include({ status: 200 });
      expect(answer.headers).to.deep.equal(NO_STORE);
      expect(answer.cookies).to.deep.equal([]);
      const next = answer.body as TokenPair;
      expect(next).to.have.all.keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn');
      expect(next.refreshToken).to.not.equal(pair.refreshToken);
      expect(auth.verifyAccessToken(next.accessToken).userId).to.equal('alice');
    });

    it('cookie mode: reads the cookie, answers the successor as the cookie (Max-Age its lifetime), the rest as JSON', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      const answer = await refreshAnswer(auth, transport, withCookie(pair.refreshToken));
      const [cookie] = answer.cookies;
      const successor = /^__Host-etp_refresh=([^;]+);/.exec(cookie ?? '')?.[1] ?? '';
      expect(answer.cookies).to.deep.equal([setCookie(successor, REFRESH_TTL)]);
      expect(answer.body).to.have.all.keys('accessToken', 'tokenType', 'expiresIn');
      expect(answer.status).to.equal(200);
      // The successor works; the presented token is now rotated out.
      expect((await refreshAnswer(auth, transport, withCookie(successor))).status).to.equal(200);
    });

    it('throws the refusal (the adapter answers it) and sets no cookie: no token, the name twice, a revoked session', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      const refused = async (req: HttpRequest): Promise<unknown> =>
        refreshAnswer(auth, transport, req).then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(await refused(request({}, {}))).to.be.instanceOf(InvalidRequestError);
      expect(await refused(request(COOKIE_MODE))).to.be.instanceOf(TokenMissingError);
      expect(await refused(request({ ...COOKIE_MODE, cookie: `${NAME}=a; ${NAME}=b` }))).to.be.instanceOf(
        CookieAmbiguousError,
      );
      await auth.revoke(pair.refreshToken);
      expect(await refused(withCookie(pair.refreshToken))).to.be.instanceOf(TokenRevokedError);
    });

    it('store down: StoreUnavailableError, which answers 503 with Retry-After', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      down = true;
      const error = await refreshAnswer(auth, transport, withCookie(pair.refreshToken)).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expect((errorAnswer(error) as HttpAnswer).headers).to.include({ 'Retry-After': '1' });
    });
  });

  describe('logoutAnswer', function () {
    const one = { all: false, transport };
    const all = { all: true, transport };

    it('body mode: 204, no body, no cookie; the session is gone', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      expect(await logoutAnswer(auth, one, request({}, { refreshToken: pair.refreshToken }))).to.deep.equal({
        status: 204,
        headers: NO_STORE,
        cookies: [],
      });
      expect(await auth.refresh(pair.refreshToken).catch((e: unknown) => e)).to.be.instanceOf(TokenRevokedError);
    });

    it('cookie mode: 204 that clears the cookie', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      expect(await logoutAnswer(auth, one, withCookie(pair.refreshToken))).to.deep.equal({
        status: 204,
        headers: NO_STORE,
        cookies: [setCookie('', 0)],
      });
    });

    it("all: the user of `known` when this auth verified it, else of the request's bearer token; clears one cookie, never a doubled name", async function () {
      const mine = await auth.issue({ userId: 'alice' });
      const theirs = await auth.issue({ userId: 'bob' });
      const bearer = { ...COOKIE_MODE, authorization: `Bearer ${mine.accessToken}` };
      expect((await logoutAnswer(auth, all, request({ ...bearer, cookie: `${NAME}=x` }))).cookies).to.deep.equal([
        setCookie('', 0),
      ]);
      expect(
        (await logoutAnswer(auth, all, request({ ...bearer, cookie: `${NAME}=x; ${NAME}=y` }))).cookies,
      ).to.deep.equal([]);
      // A context this auth did not make is not trusted: the header decides, and without one it is 401.
      const forged = { userId: 'bob', sessionId: 's', claims: {}, issuedAt: 0 };
      expect(await logoutAnswer(auth, all, request({}), forged).catch((e: unknown) => e)).to.be.instanceOf(
        TokenMissingError,
      );
      expect((await auth.refresh(theirs.refreshToken)).accessToken).to.be.a('string');
      expect(
        await logoutAnswer(
          auth,
          { all: true, transport: undefined },
          request({}),
          auth.verifyAccessToken(theirs.accessToken),
        ),
      ).to.deep.equal({ status: 204, headers: NO_STORE, cookies: [] });
    });

    it('store down: StoreUnavailableError, and no cookie cleared', async function () {
      const pair = await auth.issue({ userId: 'alice' });
      down = true;
      expect(await logoutAnswer(auth, one, withCookie(pair.refreshToken)).catch((e: unknown) => e)).to.be.instanceOf(
        StoreUnavailableError,
      );
    });
  });

  describe('wiring checks', function () {
    it('assertAuth refuses what is not a TokenAuth, with a hint when a handler was used as a middleware', function () {
      expect(() => {
        assertAuth({ headers: {}, method: 'GET' }, 'refreshHandler');
      }).to.throw(
        TypeError,
        'express-token-pair: refreshHandler was used as a middleware itself; call it: refreshHandler(auth)',
      );
      expect(() => {
        assertAuth({}, 'graphqlContext');
      }).to.throw(TypeError, 'express-token-pair: graphqlContext(auth) needs the object returned by createTokenAuth()');
      expect(() => {
        assertAuth(auth, 'x');
      }).to.not.throw();
    });

    it("the handlers' options: known keys only, typed, the transport what cookieTransport() returned", function () {
      expect(refreshSettings({})).to.equal(undefined);
      expect(refreshSettings({ transport })).to.equal(transport);
      expect(logoutSettings({})).to.deep.equal({ all: false, transport: undefined });
      expect(() => refreshSettings({ transprot: transport } as never)).to.throw(
        OptionError,
        'refreshHandler: unknown option transprot (known: transport)',
      );
      expect(() => logoutSettings({ all: 'yes' } as never)).to.throw(
        OptionError,
        'logoutHandler option all must be a boolean',
      );
      expect(() => logoutSettings({ transport: { ...transport } })).to.throw(
        OptionError,
        'logoutHandler option transport must be the object returned by cookieTransport()',
      );
    });
  });
});
