/**
 * requireAccessToken(auth, { checkRevocation: true }) on Express 5 and 4,
 * over the memory store: the access tokens of every ended session are
 * refused (401 token_revoked), nobody else's; routes without the option
 * still accept them (the trade-off); 503 while the revocation view is not
 * current; bad options refused at start-up. Time is the helper's clock.
 */
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import type express from 'express';
import {
  MemorySessionStore,
  OptionError,
  refreshHandler,
  requireAccessToken,
  logoutHandler,
  type RevocationFeed,
  type SessionStore,
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';
import {
  clock,
  expectError,
  frameworks,
  http,
  newAuth,
  recordError,
  resetTestState,
  unexpected,
} from './helpers/express-app.js';

function buildApp(framework: typeof express, auth: TokenAuth): Server {
  const app = framework();
  app.use(framework.json());
  app.get('/checked', requireAccessToken(auth, { checkRevocation: true }), (req, res) => {
    res.json(req.auth);
  });
  app.get('/plain', requireAccessToken(auth), (req, res) => {
    res.json(req.auth);
  });
  app.post('/refresh', refreshHandler(auth));
  app.post('/logout', logoutHandler(auth));
  app.use(recordError);
  return createServer(app);
}

/** A memory store whose revocation feed the test holds: never caught up, failed, or silent since a given time. */
function storeWithFeed(follow: () => Promise<void>, lastContact: () => number): SessionStore {
  const store = new MemorySessionStore();
  const feed: RevocationFeed = { follow, lastContact, close: async () => {} };
  return Object.assign(store, { revocations: () => feed });
}

for (const [frameworkName, framework] of frameworks) {
  describe(`checkRevocation on ${frameworkName}`, function () {
    let store: MemorySessionStore;
    let auth: TokenAuth;
    let server: Server;

    beforeEach(function () {
      resetTestState();
      store = new MemorySessionStore();
      auth = newAuth(store);
      server = buildApp(framework, auth);
    });
    afterEach(async function () {
      await auth.close();
      store.close();
    });

    const login = (userId = 'alice'): Promise<TokenPair> => auth.issue({ userId });
    const get = (path: string, pair: TokenPair) =>
      http(server).get(path).set('Authorization', `Bearer ${pair.accessToken}`);
    const sessionOf = (pair: TokenPair) => auth.verifyAccessToken(pair.accessToken).sessionId;

    async function expectRevoked(pair: TokenPair, why: string): Promise<void> {
      expectError(await get('/checked', pair), 401, 'token_revoked', 'session has ended');
      expect((await get('/plain', pair)).status, `${why}: a route without checkRevocation still accepts it`).to.equal(
        200,
      );
    }

    async function expectAccepted(pair: TokenPair, why: string): Promise<void> {
      const res = await get('/checked', pair);
      expect(res.status, `${why}: ${res.text}`).to.equal(200);
      expect((res.body as { sessionId: string }).sessionId).to.equal(sessionOf(pair));
    }

    it('lets the tokens of live sessions through, and sets req.auth', async function () {
      const pair = await login();
      await expectAccepted(pair, 'live session');
      expect(unexpected).to.deep.equal([]);
    });

    it('refuses the access token of a logged-out session', async function () {
      const pair = await login();
      const other = await login();
      expect((await http(server).post('/logout').send({ refreshToken: pair.refreshToken })).status).to.equal(204);
      await expectRevoked(pair, 'logout');
      await expectAccepted(other, "the user's other session");
    });

    it('refuses every access token of a session ended by reuse detection', async function () {
      const first = await login();
      const second = await auth.refresh(first.refreshToken);
      await expectAccepted(second, 'after a plain refresh');
      clock.advance(6); // past the grace window
      const replay = await http(server).post('/refresh').send({ refreshToken: first.refreshToken });
      expectError(replay, 401, 'refresh_reused', 'refresh token was already used; the session has been revoked');
      await expectRevoked(first, 'reuse: the first access token');
      await expectRevoked(second, 'reuse: the second access token');
    });

    it("refuses a session ended by revokeSession, not the user's others", async function () {
      const ended = await login();
      const kept = await login();
      expect(await auth.revokeSession('alice', sessionOf(ended))).to.equal(true);
      await expectRevoked(ended, 'revokeSession');
      await expectAccepted(kept, 'another session');
    });

    it('refuses the other sessions after revokeOtherSessions (a password change), not the kept one', async function () {
      const kept = await login();
      const others = [await login(), await login()];
      const stranger = await login('bob');
      expect(await auth.revokeOtherSessions('alice', sessionOf(kept))).to.equal(2);
      for (const pair of others) await expectRevoked(pair, 'revokeOtherSessions');
      await expectAccepted(kept, 'the kept session');
      await expectAccepted(stranger, 'another user');
      const refreshed = await auth.refresh(kept.refreshToken);
      await expectAccepted(refreshed, 'the kept session, refreshed');
    });

    it('refuses every token of a user after revokeAll; tokens issued after it pass', async function () {
      const before = [await login(), await login()];
      const stranger = await login('bob');
      clock.advance(1);
      expect(await auth.revokeAll('alice')).to.equal(2);
      for (const pair of before) await expectRevoked(pair, 'revokeAll');
      await expectAccepted(stranger, 'another user');
      await expectAccepted(await login(), 'a login in the same second as revokeAll');
      clock.advance(1);
      await expectAccepted(await login(), 'a later login');
    });

    it('starts no feed on routes without the option', async function () {
      let asked = 0;
      const watched = Object.assign(new MemorySessionStore(), {
        revocations: () => {
          asked += 1;
          return store.revocations();
        },
      });
      const plain = newAuth(watched);
      requireAccessToken(plain);
      await plain.revokeAll('nobody');
      expect(asked).to.equal(0);
      expect(plain.revocationViewSize).to.equal(0);
      watched.close();
    });

    it('answers 503 store_unavailable while the view is not current, and plain routes still 200', async function () {
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown): void => {
        rejections.push(reason);
      };
      process.on('unhandledRejection', onRejection);
      try {
        const cases: Array<[string, () => Promise<void>, () => number]> = [
          ['never caught up', () => new Promise<void>(() => {}), () => Date.now()],
          ['failed to start', () => Promise.reject(new Error('connect ECONNREFUSED')), () => 0],
          // A second past the 5000 ms default (lastContact is read after the guard's own Date.now(), so leave a margin).
          ['caught up, then silent for longer than revocationMaxLag', async () => {}, () => Date.now() - 6000],
        ];
        for (const [name, follow, lastContact] of cases) {
          const stalled = newAuth(storeWithFeed(follow, lastContact));
          const app = buildApp(framework, stalled);
          const pair = await stalled.issue({ userId: 'alice' });
          await new Promise((resolve) => setImmediate(resolve));
          const res = await http(app).get('/checked').set('Authorization', `Bearer ${pair.accessToken}`);
          expectError(res, 503, 'store_unavailable', 'revocation record is not current');
          expect(
            (await http(app).get('/plain').set('Authorization', `Bearer ${pair.accessToken}`)).status,
            name,
          ).to.equal(200);
          await stalled.close();
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(rejections, 'unhandled rejections').to.deep.equal([]);
      } finally {
        process.off('unhandledRejection', onRejection);
      }
    });
  });
}

describe('requireAccessToken options', function () {
  it('refuses bad options at start-up, naming them', function () {
    const store = new MemorySessionStore();
    const auth = newAuth(store);
    const bad: Array<[unknown, string]> = [
      [{ checkRevocations: true }, 'requireAccessToken: unknown option checkRevocations (known: checkRevocation)'],
      [{ checkRevocation: 'yes' }, 'requireAccessToken option checkRevocation must be a boolean'],
      [null, 'requireAccessToken options must be an object'],
      ['checkRevocation', 'requireAccessToken options must be an object'],
    ];
    for (const [options, message] of bad) {
      expect(() => requireAccessToken(auth, options as never), JSON.stringify(options)).to.throw(
        OptionError,
        `express-token-pair: ${message}`,
      );
    }
    const noRecord: SessionStore = {
      create: store.create.bind(store),
      rotate: store.rotate.bind(store),
      revoke: store.revoke.bind(store),
      revokeAll: store.revokeAll.bind(store),
      list: store.list.bind(store),
    };
    expect(() => requireAccessToken(newAuth(noRecord), { checkRevocation: true })).to.throw(
      OptionError,
      'checkRevocation needs a store with a revocation record (revocations()); this store has none',
    );
    expect(() => requireAccessToken(newAuth(noRecord), { checkRevocation: false })).not.to.throw();
    store.close();
  });
});
