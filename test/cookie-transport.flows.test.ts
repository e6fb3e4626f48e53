/**
 * The cookie transport over HTTP, on Express 5 and on Express 4: login,
 * refresh and logout in cookie mode (the refresh token only ever in the
 * HttpOnly cookie), and the JSON body mode unchanged beside it.
 */
import { expect } from 'chai';
import type { TokenPair } from '../lib/index.js';
import {
  cookieMode,
  expectClearedCookie,
  expectNoCookie,
  expectRefreshCookie,
  startCookieApp,
  type CookieApp,
} from './helpers/cookie-app.js';
import {
  ACCESS_TTL,
  clock,
  expectError,
  frameworks,
  http,
  REFRESH_TTL,
  resetTestState,
  REUSE_GRACE,
  unexpected,
  type Test,
} from './helpers/express-app.js';

for (const [frameworkName, framework] of frameworks) {
  describe(`Cookie transport on ${frameworkName}`, function () {
    let app: CookieApp;

    before(function () {
      app = startCookieApp(framework);
    });

    after(function () {
      app.close();
    });

    beforeEach(resetTestState);

    const post = (path: string): Test => http(app.server).post(path);
    /** A cookie-mode login; the refresh cookie it set. */
    async function login(): Promise<string> {
      const res = await cookieMode(post('/auth/login'));
      expect(res.status, res.text).to.equal(200);
      return expectRefreshCookie(res, REFRESH_TTL);
    }
    const refresh = (cookie: string): Test => cookieMode(post('/auth/refresh'), cookie);

    describe('body mode (no transport header, no cookie) is unchanged', function () {
      it('login answers the whole pair as JSON, no Set-Cookie', async function () {
        const res = await post('/auth/login');
        expect(res.status, res.text).to.equal(200);
        expect(res.headers['cache-control']).to.equal('no-store');
        expect(res.body).to.have.all.keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn', 'user');
        expectNoCookie(res);
      });

      it('refresh takes { refreshToken } and answers a new pair as JSON; logout answers 204', async function () {
        const pair = (await post('/auth/login')).body as TokenPair;
        const res = await post('/auth/refresh').send({ refreshToken: pair.refreshToken });
        expect(res.status, res.text).to.equal(200);
        expect(res.headers['cache-control']).to.equal('no-store');
        expect(res.body).to.have.all.keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn');
        expectNoCookie(res);
        const next = res.body as TokenPair;
        const out = await post('/auth/logout').send({ refreshToken: next.refreshToken });
        expect(out.status, out.text).to.equal(204);
        expectNoCookie(out);
        expectError(
          await post('/auth/refresh').send({ refreshToken: next.refreshToken }),
          401,
          'token_revoked',
          'session has ended',
        );
      });

      it('refresh without a token is still 400 invalid_request', async function () {
        expectError(
          await post('/auth/refresh').send({}),
          400,
          'invalid_request',
          'refreshToken must be a non-empty string',
        );
      });
    });

    describe('cookie mode', function () {
      it('login sets the __Host- refresh cookie (HttpOnly, Secure, SameSite=Strict, Path=/, no Domain, Max-Age) and keeps it out of the body', async function () {
        const res = await cookieMode(post('/auth/login'));
        expect(res.status, res.text).to.equal(200);
        expect(res.headers['cache-control']).to.equal('no-store');
        const cookie = expectRefreshCookie(res, REFRESH_TTL);
        expect(res.body).to.deep.equal({
          accessToken: (res.body as TokenPair).accessToken,
          tokenType: 'Bearer',
          expiresIn: ACCESS_TTL,
          user: { id: 'alice' },
        });
        expect(res.text).to.not.include(cookie);
        await http(app.server)
          .get('/me')
          .set('Authorization', `Bearer ${(res.body as TokenPair).accessToken}`)
          .expect(200);
      });

      it('refresh reads the cookie, rotates it, and sets the successor as the cookie', async function () {
        const first = await login();
        clock.advance(60);
        const res = await refresh(first);
        expect(res.status, res.text).to.equal(200);
        expect(res.headers['cache-control']).to.equal('no-store');
        const second = expectRefreshCookie(res, REFRESH_TTL);
        expect(second).to.not.equal(first);
        expect(res.body).to.have.all.keys('accessToken', 'tokenType', 'expiresIn');
        expect(res.text).to.not.include(second);
        const next = expectRefreshCookie(await refresh(second).expect(200), REFRESH_TTL);
        expect(next).to.not.equal(second);
      });

      it('a retry within the grace window sets the same successor again', async function () {
        const first = await login();
        const rotated = expectRefreshCookie(await refresh(first).expect(200), REFRESH_TTL);
        clock.advance(REUSE_GRACE);
        expect(expectRefreshCookie(await refresh(first).expect(200), REFRESH_TTL)).to.equal(rotated);
      });

      it('the old cookie after the grace window is refresh_reused, and the cookie is left alone', async function () {
        const first = await login();
        const rotated = expectRefreshCookie(await refresh(first).expect(200), REFRESH_TTL);
        clock.advance(REUSE_GRACE + 1);
        const res = await refresh(first);
        expectError(res, 401, 'refresh_reused', 'refresh token was already used; the session has been revoked');
        expectNoCookie(res);
        expectError(await refresh(rotated), 401, 'token_revoked', 'session has ended');
      });

      it('ignores a refresh token in the body: the cookie alone counts', async function () {
        const mine = await login();
        const other = await login();
        const res = await refresh(mine).send({ refreshToken: other });
        expectRefreshCookie(res, REFRESH_TTL);
        // `other` was not spent: it rotates (a spent one would be refresh_reused after the grace window).
        clock.advance(REUSE_GRACE + 1);
        expectRefreshCookie(await refresh(other).expect(200), REFRESH_TTL);
        // Without the cookie, a body token is not taken either.
        const third = await login();
        expectError(
          await cookieMode(post('/auth/refresh')).send({ refreshToken: third }),
          401,
          'token_missing',
          'no refresh token cookie',
        );
      });

      it('ignores a refresh token in the query string', async function () {
        const token = await login();
        expectError(
          await cookieMode(post(`/auth/refresh?refreshToken=${token}`)),
          401,
          'token_missing',
          'no refresh token cookie',
        );
      });

      for (const [name, cookie, status, code, message] of [
        ['a forged cookie', 'a.b.c', 401, 'token_invalid', 'token is invalid'],
        ['an empty cookie', '', 400, 'invalid_request', 'refreshToken must be a non-empty string'],
      ] as const) {
        it(`a failed refresh (${name}) never clears the cookie`, async function () {
          const res = await refresh(cookie);
          expectError(res, status, code, message);
          expectNoCookie(res);
        });
      }

      it('an expired cookie token answers token_expired without clearing the cookie', async function () {
        const token = await login();
        clock.advance(REFRESH_TTL + 1);
        const res = await refresh(token);
        expectError(res, 401, 'token_expired', 'token has expired');
        expectNoCookie(res);
      });

      it('concurrent refreshes with one cookie: one rotation, every answer sets the same successor', async function () {
        const first = await login();
        const before = app.calls.length;
        const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(first)));
        const successors = answers.map((res) => expectRefreshCookie(res, REFRESH_TTL));
        expect(new Set(successors).size).to.equal(1);
        expect(successors[0]).to.not.equal(first);
        expect(app.calls.slice(before)).to.deep.equal(Array(8).fill('rotate'));
        // The one successor is the session's current token: it rotates.
        clock.advance(REUSE_GRACE + 1);
        await refresh(successors[0]!).expect(200);
      });

      it('logout revokes the session, then clears the cookie (204)', async function () {
        const token = await login();
        const res = await cookieMode(post('/auth/logout'), token);
        expect(res.status, res.text).to.equal(204);
        expect(res.headers['cache-control']).to.equal('no-store');
        expectClearedCookie(res);
        expectError(await refresh(token), 401, 'token_revoked', 'session has ended');
      });

      it('logout without the cookie is 401 token_missing and clears nothing', async function () {
        const res = await cookieMode(post('/auth/logout'));
        expectError(res, 401, 'token_missing', 'no refresh token cookie');
        expectNoCookie(res);
      });

      it('logout-all ends every session of the user and clears the cookie', async function () {
        const phone = await login();
        const laptopRes = await cookieMode(post('/auth/login'));
        const laptop = expectRefreshCookie(laptopRes, REFRESH_TTL);
        const res = await cookieMode(post('/auth/logout-all'), laptop).set(
          'Authorization',
          `Bearer ${(laptopRes.body as TokenPair).accessToken}`,
        );
        expect(res.status, res.text).to.equal(204);
        expectClearedCookie(res);
        expectError(await refresh(phone), 401, 'token_revoked', 'session has ended');
        expectError(await refresh(laptop), 401, 'token_revoked', 'session has ended');
      });

      it('a logout the store could not do is 503 and keeps the cookie', async function () {
        const token = await login();
        app.close(); // the memory store now rejects every call
        try {
          const res = await cookieMode(post('/auth/logout'), token);
          expectError(res, 503, 'store_unavailable', 'session store is unavailable');
          expectNoCookie(res);
        } finally {
          app = startCookieApp(framework);
        }
      });

      it('works from http://localhost:3000 with the default Secure cookie', async function () {
        const res = await post('/auth/login').set('x-token-transport', 'cookie').set('Origin', 'http://localhost:3000');
        expect(res.status, res.text).to.equal(200);
        expectRefreshCookie(res, REFRESH_TTL);
        expect(unexpected).to.deep.equal([]);
      });
    });
  });
}
