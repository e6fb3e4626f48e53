/**
 * refreshHandler and logoutHandler over HTTP, on Express 5 and on Express 4:
 * rotation and its grace window, reuse detection, logout of one session and,
 * with { all: true }, of every session of the user.
 */
import type { Server } from 'node:http';
import { expect } from 'chai';
import { logoutHandler, MemorySessionStore, REFRESH_TYP, type TokenAuth, type TokenPair } from '../lib/index.js';
import {
  ACCESS_TTL,
  clock,
  expectError,
  frameworks,
  http,
  OTHER_SECRET,
  recordError,
  REFRESH_TTL,
  resetTestState,
  REUSE_GRACE,
  sessionRequests,
  startApp,
  unexpected,
} from './helpers/express-app.js';
import { sign } from './helpers/forged-tokens.js';

for (const [frameworkName, framework] of frameworks) {
  describe(`Express adapters on ${frameworkName}`, function () {
    let store: MemorySessionStore;
    let auth: TokenAuth;
    let server: Server;

    before(function () {
      ({ store, auth, server } = startApp(framework));
    });

    after(function () {
      store.close();
    });

    beforeEach(resetTestState);

    const { login, newKit, me, refresh, logout } = sessionRequests(() => ({ auth, server }));

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
        expect(who.body).to.deep.equal({
          userId: 'alice',
          sessionId: access.sid,
          claims: { role: 'admin' },
          issuedAt: (access.iat as number) + 60,
        });
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
        expectError(
          await refresh(pair.refreshToken),
          401,
          'refresh_reused',
          'refresh token was already used; the session has been revoked',
        );
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

      it('with { all: true }: takes the user from req.auth when this auth verified it, without reading the header again', async function () {
        const app = framework();
        const frank = await login('frank');
        app.post(
          '/logout-all',
          (req, _res, next) => {
            req.auth = auth.verifyAccessToken(frank.accessToken); // as a cookie-reading guard of this auth would
            next();
          },
          logoutHandler(auth, { all: true }),
        );
        app.use(recordError);
        await http(app).post('/logout-all').expect(204);
        expectError(await refresh(frank.refreshToken), 401, 'token_revoked', 'session has ended');
      });

      it('with { all: true }: never trusts a req.auth another middleware set (express-jwt sets one too)', async function () {
        const app = framework();
        app.post(
          '/logout-all',
          (req, _res, next) => {
            req.auth = { userId: 'frank', sessionId: 'from-a-partner-token', claims: {}, issuedAt: 0 };
            next();
          },
          logoutHandler(auth, { all: true }),
        );
        app.use(recordError);
        const frank = await login('frank');
        expectError(await http(app).post('/logout-all'), 401, 'token_missing', 'no bearer token');
        const mallory = await login('mallory');
        await http(app).post('/logout-all').set('Authorization', `Bearer ${mallory.accessToken}`).expect(204);
        await refresh(frank.refreshToken).expect(200);
        expectError(await refresh(mallory.refreshToken), 401, 'token_revoked', 'session has ended');
      });

      it('with { all: true } after requireAccessToken: answers 401 token_missing without a token', async function () {
        expectError(await http(server).post('/logout-all'), 401, 'token_missing', 'no bearer token');
      });
    });
  });
}
