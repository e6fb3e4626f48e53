/**
 * The Express adapters, on Express 5 and on Express 4, when misused (a
 * factory used as a middleware, a wrong argument, no body parser) and when
 * the session store fails: 503 store_unavailable, and nothing half done.
 */
import type { Server } from 'node:http';
import { expect } from 'chai';
import {
  logoutHandler,
  MemorySessionStore,
  OptionError,
  refreshHandler,
  requireAccessToken,
  type SessionStore,
  type TokenAuth,
} from '../lib/index.js';
import { NOT_A_STRING } from './helpers/bad-input.js';
import {
  buildApp,
  expectError,
  frameworks,
  http,
  newAuth,
  recordError,
  resetTestState,
  sessionRequests,
  startApp,
  unexpected,
} from './helpers/express-app.js';

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

  list(...args: Parameters<SessionStore['list']>): ReturnType<SessionStore['list']> {
    return this.#call(() => this.inner.list(...args));
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
      ({ store, auth, server } = startApp(framework));
    });

    after(function () {
      store.close();
    });

    beforeEach(resetTestState);

    const { newKit } = sessionRequests(() => ({ auth, server }));

    describe('wiring mistakes', function () {
      for (const [name, factory] of [
        ['requireAccessToken', requireAccessToken],
        ['refreshHandler', refreshHandler],
        ['logoutHandler', logoutHandler],
      ] as const) {
        it(`${name} used as a middleware itself: the error says to call it`, async function () {
          const app = framework();
          app.use(factory as never);
          app.get('/', (_req, res) => {
            res.send('reached');
          });
          app.use(recordError);
          const res = await http(app).get('/');
          expect(res.status).to.equal(500);
          expect(unexpected).to.have.lengthOf(1);
          expect(unexpected[0]).to.be.instanceOf(TypeError);
          expect((unexpected[0] as Error).message).to.equal(
            `express-token-pair: ${name} was used as a middleware itself; call it: ${name}(auth)`,
          );
        });

        it(`${name}() with something that is not a TokenAuth throws at construction`, function () {
          for (const notAuth of [{}, undefined, null, 'secret', { verifyAccessToken() {} }]) {
            expect(() => factory(notAuth as never), String(notAuth)).to.throw(
              TypeError,
              `express-token-pair: ${name}(auth) needs the object returned by createTokenAuth()`,
            );
          }
        });
      }

      it('logoutHandler with a non-boolean all throws at construction', function () {
        expect(() => logoutHandler(auth, { all: 'yes' as never })).to.throw(
          TypeError,
          'express-token-pair: logoutHandler option all must be a boolean',
        );
      });

      it('logoutHandler refuses a misspelled option rather than logging out one session only', function () {
        for (const typo of ['All', 'everywhere', 'allSessions']) {
          expect(() => logoutHandler(auth, { [typo]: true }), typo).to.throw(
            OptionError,
            `express-token-pair: logoutHandler: unknown option ${typo} (known: all, transport)`,
          );
        }
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
          expectError(
            await http(flakyServer).post('/refresh').send({ refreshToken: pair.refreshToken }),
            503,
            'store_unavailable',
            down,
          );
          expectError(
            await http(flakyServer).post('/logout').send({ refreshToken: pair.refreshToken }),
            503,
            'store_unavailable',
            down,
          );
          for (const route of ['/logout-all', '/logout-all-standalone']) {
            expectError(
              await http(flakyServer).post(route).set('Authorization', `Bearer ${pair.accessToken}`),
              503,
              'store_unavailable',
              down,
            );
          }
          // Nothing happened while the store was down: the session is intact and refreshes.
          failing.failing = 'no';
          expect(inner.size).to.equal(sessions);
          await http(flakyServer).post('/refresh').send({ refreshToken: pair.refreshToken }).expect(200);
        });
      }

      it('still answers client errors before touching the store', async function () {
        failing.failing = 'reject';
        expectError(
          await http(flakyServer).post('/refresh').send({ refreshToken: 42 }),
          400,
          'invalid_request',
          NOT_A_STRING.message,
        );
        expectError(
          await http(flakyServer).post('/logout').send({ refreshToken: 'garbage' }),
          401,
          'token_invalid',
          'token is invalid',
        );
      });
    });
  });
}
