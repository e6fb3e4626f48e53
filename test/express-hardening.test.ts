/**
 * The Express adapters against what an attacker sends: malformed tokens on
 * every route (4xx, never 500), a user id smuggled into logout-all, a token
 * in the query string, and a stolen token used to log out. Run on Express 5
 * and Express 4.
 */
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
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

const express4 = createRequire(import.meta.url)('express4') as typeof express;

/** A genuine token with its signature spoiled by a character that is not base64url. */
const spoilers: Array<[string, (token: string) => string]> = [
  ['a non-ASCII character (\\u00e9) at the end of the signature', (t) => `${t.slice(0, -1)}\u00e9`],
  ['a raw byte 0x80 in the signature', (t) => `${t.slice(0, -2)}\u0080${t.slice(-1)}`],
  [
    'a raw byte 0xff in the middle of the signature',
    (t) => {
      const i = t.lastIndexOf('.') + 5;
      return `${t.slice(0, i)}\u00ff${t.slice(i + 1)}`;
    },
  ],
  ['a multi-byte character (\\u20ac, in a body) replacing one of the signature', (t) => `${t.slice(0, -1)}\u20ac`],
  ['a padding character', (t) => `${t.slice(0, -1)}=`],
  ['a standard-base64 "+"', (t) => `${t.slice(0, -1)}+`],
];

for (const [name, framework] of [
  ['Express 5', express],
  ['Express 4', express4],
] as const) {
  describe(`Express adapters against hostile input, on ${name}`, () => {
    let store: MemorySessionStore;
    let auth: TokenAuth;
    let app: express.Express;
    let crashes: unknown[];
    let events: string[];

    beforeEach(() => {
      store = new MemorySessionStore();
      auth = createTokenAuth({
        accessToken: { secret: ACCESS },
        refreshToken: { secret: REFRESH, reuseGrace: 5 },
        store,
      });
      events = [];
      auth.on('reuse_detected', ({ sessionId }) => events.push(`reuse_detected ${sessionId}`));
      auth.on('revoked', ({ sessionId, count }) => events.push(`revoked ${sessionId ?? 'all'} ${count}`));
      crashes = [];
      app = framework();
      app.use(framework.json());
      app.get('/me', requireAccessToken(auth), (req, res) => {
        res.json(req.auth);
      });
      app.post('/refresh', refreshHandler(auth));
      app.post('/logout', logoutHandler(auth));
      app.post('/logout-all', requireAccessToken(auth), logoutHandler(auth, { all: true }));
      app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        crashes.push(error);
        res.status(500).json({ error: 'internal_error' });
      });
    });
    afterEach(() => store.close());

    const sid = (pair: TokenPair): string =>
      (JSON.parse(Buffer.from(pair.accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;

    for (const [what, spoil] of spoilers) {
      it(`answers 401 token_invalid, never 500, to a token with ${what}, on every route`, async () => {
        const pair = await auth.issue({ userId: 'ann' });
        const bad = { access: spoil(pair.accessToken), refresh: spoil(pair.refreshToken) };
        // A header carries bytes up to 0xff (read back as latin1); a JSON body carries any character.
        const headerSafe = Buffer.from(bad.access, 'latin1').toString('latin1') === bad.access;
        const answers = [
          ...(headerSafe
            ? [
                await request(app).get('/me').set('Authorization', `Bearer ${bad.access}`),
                await request(app).post('/logout-all').set('Authorization', `Bearer ${bad.access}`),
              ]
            : []),
          await request(app).post('/refresh').send({ refreshToken: bad.refresh }),
          await request(app).post('/logout').send({ refreshToken: bad.refresh }),
        ];
        expect(answers).to.have.length(headerSafe ? 4 : 2);
        for (const res of answers) {
          expect(res.status, res.text).to.equal(401);
          expect(res.body).to.deep.equal({ error: 'token_invalid', message: 'token is invalid' });
        }
        expect(crashes).to.deep.equal([]);
        expect(
          (await request(app).post('/refresh').send({ refreshToken: pair.refreshToken })).status,
          'nothing was ended',
        ).to.equal(200);
      });
    }

    it("logout-all ends the bearer's own sessions only, whatever user id the body names", async () => {
      const mallory = await auth.issue({ userId: 'mallory' });
      const ann = await auth.issue({ userId: 'ann' });
      const res = await request(app)
        .post('/logout-all')
        .set('Authorization', `Bearer ${mallory.accessToken}`)
        .send({ userId: 'ann', sub: 'ann', user: { id: 'ann' } });
      expect(res.status).to.equal(204);
      expect(
        (await request(app).post('/refresh').send({ refreshToken: ann.refreshToken })).status,
        'ann is still logged in',
      ).to.equal(200);
      expect((await request(app).post('/refresh').send({ refreshToken: mallory.refreshToken })).body).to.have.property(
        'error',
        'token_revoked',
      );
    });

    it('refresh and logout never read the token from the query string (URLs end up in logs)', async () => {
      const pair = await auth.issue({ userId: 'ann' });
      const query = `refreshToken=${pair.refreshToken}`;
      for (const path of [`/refresh?${query}`, `/logout?${query}`]) {
        const res = await request(app).post(path).send({});
        expect(res.status, path).to.equal(400);
        expect(res.body).to.deep.equal({
          error: 'invalid_request',
          message: 'refreshToken must be a non-empty string',
        });
      }
      expect(
        (await request(app).post('/refresh').send({ refreshToken: pair.refreshToken })).status,
        'neither rotated nor ended',
      ).to.equal(200);
    });

    it('logout with a rotated-out refresh token ends the session and reports reuse', async () => {
      const first = await auth.issue({ userId: 'ann' });
      const second = (await request(app).post('/refresh').send({ refreshToken: first.refreshToken })).body as TokenPair;
      const third = (await request(app).post('/refresh').send({ refreshToken: second.refreshToken })).body as TokenPair;
      // `first` was rotated out two rotations ago: outside any grace window.
      events = [];
      expect((await request(app).post('/logout').send({ refreshToken: first.refreshToken })).status).to.equal(204);
      expect(events).to.deep.equal([`reuse_detected ${sid(first)}`, `revoked ${sid(first)} 1`]);
      expect((await request(app).post('/refresh').send({ refreshToken: third.refreshToken })).body).to.have.property(
        'error',
        'token_revoked',
      );
    });

    it('a response sent by someone else first (a timeout middleware) does not crash the process when the work finishes', async () => {
      const slow = new MemorySessionStore();
      const delayed = <T>(value: Promise<T>): Promise<T> =>
        new Promise((resolve) => setTimeout(() => resolve(value), 150));
      // Every store call but create settles 150 ms late (the work itself is done at once); revoke then fails.
      // `settled` names each late call once it has settled, so the test waits for them, not for a time.
      const settled: string[] = [];
      const slowStore = new Proxy(slow, {
        get(target, name) {
          const value: unknown = Reflect.get(target, name);
          if (typeof value !== 'function' || name === 'create')
            return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
          return (...args: unknown[]) =>
            delayed(Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)))
              .finally(() => {
                settled.push(String(name));
              })
              .then((result) => {
                if (name === 'revoke') throw new Error('connection reset');
                return result;
              });
        },
      });
      const slowAuth = createTokenAuth({
        accessToken: { secret: ACCESS },
        refreshToken: { secret: REFRESH },
        store: slowStore,
      });
      const timed = framework();
      timed.use((_req, res, next) => {
        setTimeout(() => {
          if (!res.headersSent) res.status(503).json({ error: 'timeout' });
        }, 30);
        next();
      });
      timed.use(framework.json());
      timed.post('/refresh', refreshHandler(slowAuth));
      timed.post('/logout', logoutHandler(slowAuth));
      timed.post('/logout-all', logoutHandler(slowAuth, { all: true }));
      timed.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
        crashes.push(error);
        res.end();
      });
      const failures: unknown[] = [];
      const record = (error: unknown): void => {
        failures.push(error);
      };
      process.on('unhandledRejection', record);
      process.on('uncaughtException', record);
      try {
        const pair = await slowAuth.issue({ userId: 'ann' });
        const other = await slowAuth.issue({ userId: 'bob' });
        for (const send of [
          () => request(timed).post('/refresh').send({ refreshToken: pair.refreshToken }), // succeeds late
          () => request(timed).post('/logout-all').set('Authorization', `Bearer ${pair.accessToken}`), // succeeds late
          () => request(timed).post('/logout').send({ refreshToken: other.refreshToken }), // fails late (503 after a 503)
        ]) {
          expect((await send()).status).to.equal(503);
        }
        // The store calls finish after the 503s: wait until all three have (on a busy machine, however
        // long that takes), then one more turn of the event loop for an unhandled rejection to show.
        while (!['rotate', 'revokeAll', 'revoke'].every((name) => settled.includes(name))) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await new Promise((resolve) => setImmediate(resolve));
        expect(failures, 'nothing escaped as an unhandled error').to.deep.equal([]);
        expect(crashes, 'nothing reached the error handler either').to.deep.equal([]);
        expect(await slowAuth.revokeAll('ann'), 'the late work did happen: logout-all ended the session').to.equal(0);
      } finally {
        process.off('unhandledRejection', record);
        process.off('uncaughtException', record);
        slow.close();
      }
    });

    it('logout with the just-rotated token inside the grace window is a plain logout, not reuse', async () => {
      const first = await auth.issue({ userId: 'ann' });
      const second = (await request(app).post('/refresh').send({ refreshToken: first.refreshToken })).body as TokenPair;
      events = [];
      expect((await request(app).post('/logout').send({ refreshToken: first.refreshToken })).status).to.equal(204);
      expect(events).to.deep.equal([`revoked ${sid(first)} 1`]);
      expect((await request(app).post('/refresh').send({ refreshToken: second.refreshToken })).body).to.have.property(
        'error',
        'token_revoked',
      );
    });
  });
}
