/**
 * requireAccessToken over HTTP, on Express 5 and on Express 4: what it lets
 * through and sets as req.auth, its Bearer challenges, and its linear-time
 * header parsing, expiry to the second, and refusal of algorithm confusion.
 * The app and its helpers are in test/helpers/express-app.ts.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import type { Server } from 'node:http';
import { expect } from 'chai';
import { parseBearer } from '../lib/http/bearer.js';
import { ACCESS_TYP, createTokenAuth, MemorySessionStore, type AuthContext, type TokenAuth } from '../lib/index.js';
import {
  ACCESS_SECRET,
  ACCESS_TTL,
  buildApp,
  clock,
  expectError,
  frameworks,
  http,
  REFRESH_SECRET,
  resetTestState,
  sessionRequests,
  startApp,
  unexpected,
} from './helpers/express-app.js';
import { base64url, payloadOf, signRaw } from './helpers/forged-tokens.js';

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

    const { newKit, me } = sessionRequests(() => ({ auth, server }));

    describe('requireAccessToken', function () {
      it('lets a valid token through and sets req.auth to its user, session and claims', async function () {
        const { pair, access } = await newKit();
        const res = await me(pair.accessToken).expect(200);
        expect(res.body).to.deep.equal({
          userId: 'alice',
          sessionId: access.sid,
          claims: { role: 'admin' },
          issuedAt: access.iat,
        });
        expect(unexpected).to.deep.equal([]);
      });

      it('accepts the scheme in any case and extra spaces before the token', async function () {
        const { pair } = await newKit();
        for (const value of [
          `bearer ${pair.accessToken}`,
          `BEARER ${pair.accessToken}`,
          `Bearer   ${pair.accessToken}`,
        ]) {
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
        expect(res.headers['www-authenticate']).to.equal(
          'Bearer error="invalid_token", error_description="token is invalid"',
        );
      });

      it('answers 400 invalid_request to "Authorization: Bearer" without a token', async function () {
        const res = await http(server).get('/me').set('Authorization', 'Bearer');
        expectError(res, 400, 'invalid_request', 'malformed Authorization header');
        expect(res.headers['www-authenticate']).to.equal(
          'Bearer error="invalid_request", error_description="malformed Authorization header"',
        );
      });

      it('reads a 15 KB header of spaces in linear time (no regex backtracking)', async function () {
        const value = (spaces: number): string => `Bearer${' '.repeat(spaces)}abc def`;
        for (let i = 0; i < 3; i += 1) {
          expectError(
            await http(server).get('/me').set('Authorization', value(15_000)),
            400,
            'invalid_request',
            'malformed Authorization header',
          );
        }
        // Sixteen times the spaces: about sixteen times the work when linear, 256 times when quadratic. Each size
        // is timed at its fastest of several runs, which a busy machine only slows, so the ratio holds under load.
        const fastest = (header: string): number => {
          let best = Infinity;
          for (let run = 0; run < 7; run += 1) {
            const started = performance.now();
            for (let i = 0; i < 20; i += 1)
              expect(() => parseBearer(header)).to.throw('malformed Authorization header');
            best = Math.min(best, performance.now() - started);
          }
          return best;
        };
        const [small, large] = [fastest(value(50_000)), fastest(value(800_000))];
        expect(
          large / small,
          `${small.toFixed(2)} ms, then ${large.toFixed(2)} ms for 16 times the spaces`,
        ).to.be.below(64);
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
            accessToken: { privateKey, algorithm: 'ES256' },
            refreshToken: { secret: REFRESH_SECRET },
            store: asymmetricStore,
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
  });
}
