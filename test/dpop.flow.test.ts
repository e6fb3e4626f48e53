/**
 * DPoP wired end to end (issue 16): `dpop` on createTokenAuth, a login route
 * with `dpopPresentation(req)`, `requireAccessToken`, `refreshHandler` and
 * `logoutHandler`, over Express 5 and 4, with proofs made by jose (an
 * independent implementation). Each attack of the threat model's DPoP table
 * has its test here, named for it.
 */
import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import type { Server } from 'node:http';
import { expect } from 'chai';
import type express from 'express';
import { calculateJwkThumbprint, decodeJwt, SignJWT, type JWK } from 'jose';
import {
  createTokenAuth,
  dpopPresentation,
  logoutHandler,
  MemorySessionStore,
  refreshHandler,
  requireAccessToken,
  type DpopOptions,
} from '../lib/index.js';
import {
  ACCESS_SECRET,
  clock,
  frameworks,
  http,
  recordError,
  REFRESH_SECRET,
  resetTestState,
  unexpected,
} from './helpers/express-app.js';

const HOST = 'api.example.test';
const ORIGIN = `http://${HOST}`;

interface Holder {
  privateKey: KeyObject;
  jwk: JWK;
  jkt: string;
}

async function holder(): Promise<Holder> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** A proof by `key` for `method` `url`, at the test clock's now, with `ath` when a token is given. */
function proof(
  key: Holder,
  method: string,
  url: string,
  options: { token?: string; iat?: number; jti?: string; jwk?: JWK } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {
    htm: method,
    htu: url,
    jti: options.jti ?? randomUUID(),
    iat: options.iat ?? Math.floor(clock.now / 1000),
  };
  if (options.token !== undefined) claims.ath = createHash('sha256').update(options.token).digest('base64url');
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: options.jwk ?? key.jwk })
    .sign(key.privateKey);
}

interface Pair {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
}

function build(framework: typeof express, dpop: DpopOptions['mode'] | DpopOptions) {
  const store = new MemorySessionStore();
  const auth = createTokenAuth({
    accessToken: { secret: ACCESS_SECRET, ttl: 900 },
    refreshToken: { secret: REFRESH_SECRET, ttl: 86_400 },
    store,
    clock: () => clock.now,
    dpop,
  });
  const app = framework();
  app.use(framework.json());
  app.post('/login', (req, res, next) => {
    auth.issue({ userId: 'ann', dpop: dpopPresentation(req) }).then((pair) => res.json(pair), next);
  });
  app.get('/me', requireAccessToken(auth), (req, res) => {
    res.json(req.auth);
  });
  app.post('/refresh', refreshHandler(auth));
  app.post('/logout', logoutHandler(auth));
  app.use((error: unknown, req: express.Request, res: express.Response, next: express.NextFunction) => {
    // The login route's DPoP refusals are the app's to answer; the sample app uses sendError.
    const code = (error as { code?: unknown }).code;
    if (code === 'invalid_dpop_proof') {
      res.status(400).json({ error: code });
      return;
    }
    recordError(error, req, res, next);
  });
  return { store, auth, server: app as unknown as Server };
}

describe('DPoP end to end (createTokenAuth dpop, requireAccessToken, refreshHandler)', () => {
  let key: Holder;
  let other: Holder;
  before(async () => {
    key = await holder();
    other = await holder();
  });
  beforeEach(resetTestState);
  afterEach(() => {
    expect(unexpected, 'errors that reached the app').to.deep.equal([]);
  });

  for (const [name, framework] of frameworks) {
    describe(name, () => {
      it('required: login binds, guarded calls prove, refresh rotates with the key, logout ends', async () => {
        const { server, store } = build(framework, 'required');
        const api = http(server);
        const login = await api
          .post('/login')
          .set('Host', HOST)
          .set('DPoP', await proof(key, 'POST', `${ORIGIN}/login`));
        expect(login.status, login.text).to.equal(200);
        const pair = login.body as Pair;
        expect(pair.tokenType).to.equal('DPoP');
        expect(decodeJwt(pair.accessToken).cnf).to.deep.equal({ jkt: key.jkt });
        const me = await api
          .get('/me')
          .set('Host', HOST)
          .set('Authorization', `DPoP ${pair.accessToken}`)
          .set('DPoP', await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken }));
        expect(me.status, me.text).to.equal(200);
        expect((me.body as { jkt?: string }).jkt).to.equal(key.jkt);
        clock.advance(901);
        const refreshed = await api
          .post('/refresh')
          .set('Host', HOST)
          .set('DPoP', await proof(key, 'POST', `${ORIGIN}/refresh`))
          .send({ refreshToken: pair.refreshToken });
        expect(refreshed.status, refreshed.text).to.equal(200);
        const next = refreshed.body as Pair;
        expect(next.tokenType).to.equal('DPoP');
        expect(decodeJwt(next.accessToken).cnf).to.deep.equal({ jkt: key.jkt });
        const again = await api
          .get('/me')
          .set('Host', HOST)
          .set('Authorization', `DPoP ${next.accessToken}`)
          .set('DPoP', await proof(key, 'GET', `${ORIGIN}/me`, { token: next.accessToken }));
        expect(again.status, again.text).to.equal(200);
        const out = await api.post('/logout').set('Host', HOST).send({ refreshToken: next.refreshToken });
        expect(out.status).to.equal(204);
        expect(store.size).to.equal(0);
        store.close();
      });
    });
  }

  describe('attacks (Express 5)', () => {
    const framework = frameworks[0]![1];
    let api: ReturnType<typeof http>;
    let app: ReturnType<typeof build>;
    let pair: Pair;

    const me = async (token: string, dpop: string | string[] | undefined, scheme = 'DPoP') => {
      let test = api.get('/me').set('Host', HOST).set('Authorization', `${scheme} ${token}`);
      // An array: one DPoP header line each (Node writes them apart).
      if (dpop !== undefined) test = test.set('DPoP', dpop as string);
      return test;
    };

    beforeEach(async () => {
      app = build(framework, 'optional');
      api = http(app.server);
      const login = await api
        .post('/login')
        .set('Host', HOST)
        .set('DPoP', await proof(key, 'POST', `${ORIGIN}/login`));
      pair = login.body as Pair;
      expect(pair.tokenType).to.equal('DPoP');
    });
    afterEach(() => app.store.close());

    const refused = (res: { status: number; headers: Record<string, string>; text: string }, error: string) => {
      expect(res.status, res.text).to.equal(401);
      expect(res.headers['www-authenticate']).to.include(`DPoP error="${error}"`);
      expect(res.headers['www-authenticate']).to.match(/algs="ES256[^"]*"/);
    };

    it('replayed proof: the same proof twice on a guarded route is refused the second time', async () => {
      const p = await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken });
      expect((await me(pair.accessToken, p)).status).to.equal(200);
      refused(await me(pair.accessToken, p), 'invalid_dpop_proof');
    });

    it('proof for another URL or method is refused', async () => {
      refused(
        await me(pair.accessToken, await proof(key, 'GET', `${ORIGIN}/admin`, { token: pair.accessToken })),
        'invalid_dpop_proof',
      );
      refused(
        await me(pair.accessToken, await proof(key, 'POST', `${ORIGIN}/me`, { token: pair.accessToken })),
        'invalid_dpop_proof',
      );
      refused(
        await me(pair.accessToken, await proof(key, 'GET', `https://${HOST}/me`, { token: pair.accessToken })),
        'invalid_dpop_proof',
      );
    });

    it('old iat: a proof made more than 60 s ago is refused', async () => {
      const iat = Math.floor(clock.now / 1000) - 61;
      refused(
        await me(pair.accessToken, await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken, iat })),
        'invalid_dpop_proof',
      );
      const fresh = Math.floor(clock.now / 1000) - 59;
      expect(
        (await me(pair.accessToken, await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken, iat: fresh })))
          .status,
      ).to.equal(200);
    });

    it('private jwk: a proof whose jwk carries the private key (d) is refused, at login too', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const full = privateKey.export({ format: 'jwk' }) as JWK;
      const leaky: Holder = { privateKey, jwk: full, jkt: '' };
      const res = await api
        .post('/login')
        .set('Host', HOST)
        .set('DPoP', await proof(leaky, 'POST', `${ORIGIN}/login`));
      expect(res.status, res.text).to.equal(400);
      expect((res.body as { error: string }).error).to.equal('invalid_dpop_proof');
    });

    it('a proof by another key (a stolen token used with the thief key) is refused', async () => {
      const res = await me(pair.accessToken, await proof(other, 'GET', `${ORIGIN}/me`, { token: pair.accessToken }));
      expect(res.status, res.text).to.equal(401);
      expect(res.headers['www-authenticate']).to.include('DPoP error="invalid_token"');
    });

    it('refresh with another key: 401, and the session is not revoked (the right key still refreshes)', async () => {
      const stolen = await api
        .post('/refresh')
        .set('Host', HOST)
        .set('DPoP', await proof(other, 'POST', `${ORIGIN}/refresh`))
        .send({ refreshToken: pair.refreshToken });
      expect(stolen.status, stolen.text).to.equal(401);
      const none = await api.post('/refresh').set('Host', HOST).send({ refreshToken: pair.refreshToken });
      expect(none.status, 'no proof at all').to.equal(401);
      const right = await api
        .post('/refresh')
        .set('Host', HOST)
        .set('DPoP', await proof(key, 'POST', `${ORIGIN}/refresh`))
        .send({ refreshToken: pair.refreshToken });
      expect(right.status, right.text).to.equal(200);
    });

    it('a replayed refresh request is refused (400) without counting as reuse: the session lives', async () => {
      const p = await proof(key, 'POST', `${ORIGIN}/refresh`);
      const first = await api
        .post('/refresh')
        .set('Host', HOST)
        .set('DPoP', p)
        .send({ refreshToken: pair.refreshToken });
      expect(first.status).to.equal(200);
      clock.advance(30);
      const replay = await api
        .post('/refresh')
        .set('Host', HOST)
        .set('DPoP', p)
        .send({ refreshToken: pair.refreshToken });
      expect(replay.status, replay.text).to.equal(400);
      expect((replay.body as { error: string }).error).to.equal('invalid_dpop_proof');
      const next = first.body as Pair;
      const later = await api
        .post('/refresh')
        .set('Host', HOST)
        .set('DPoP', await proof(key, 'POST', `${ORIGIN}/refresh`))
        .send({ refreshToken: next.refreshToken });
      expect(later.status, later.text).to.equal(200);
    });

    it('bound token sent as Bearer is refused, with or without a proof', async () => {
      const plain = await me(pair.accessToken, undefined, 'Bearer');
      expect(plain.status).to.equal(401);
      expect(plain.headers['www-authenticate']).to.match(/^Bearer error="invalid_token".*, DPoP error="invalid_token"/);
      const proved = await me(
        pair.accessToken,
        await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken }),
        'Bearer',
      );
      expect(proved.status).to.equal(401);
    });

    it('an unbound token sent as DPoP is refused; as Bearer it passes (optional mode)', async () => {
      const login = await api.post('/login').set('Host', HOST);
      const unbound = login.body as Pair;
      expect(unbound.tokenType).to.equal('Bearer');
      expect(decodeJwt(unbound.accessToken).cnf).to.equal(undefined);
      expect((await me(unbound.accessToken, undefined, 'Bearer')).status).to.equal(200);
      const res = await me(
        unbound.accessToken,
        await proof(key, 'GET', `${ORIGIN}/me`, { token: unbound.accessToken }),
      );
      expect(res.status).to.equal(401);
    });

    it('two DPoP headers, or one with two proofs joined, are refused', async () => {
      const a = await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken });
      const b = await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken });
      refused(await me(pair.accessToken, [a, b]), 'invalid_dpop_proof');
      refused(await me(pair.accessToken, `${a}, ${b}`), 'invalid_dpop_proof');
      expect((await me(pair.accessToken, b)).status, 'neither was spent').to.equal(200);
    });

    it('a DPoP scheme in any case, and a missing proof', async () => {
      const p = await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.accessToken });
      expect((await me(pair.accessToken, p, 'dpop')).status).to.equal(200);
      refused(await me(pair.accessToken, undefined), 'invalid_dpop_proof');
    });

    it('a proof without ath, or with the ath of another token, is refused', async () => {
      refused(await me(pair.accessToken, await proof(key, 'GET', `${ORIGIN}/me`)), 'invalid_dpop_proof');
      refused(
        await me(pair.accessToken, await proof(key, 'GET', `${ORIGIN}/me`, { token: pair.refreshToken })),
        'invalid_dpop_proof',
      );
    });

    it('a token with no credentials gets both challenges', async () => {
      const res = await api.get('/me').set('Host', HOST);
      expect(res.status).to.equal(401);
      expect(res.headers['www-authenticate']).to.match(/^Bearer, DPoP algs="/);
    });
  });

  describe('modes and URLs', () => {
    const framework = frameworks[0]![1];

    it('required: a login without a proof is refused (400), a Bearer token never passes', async () => {
      const app = build(framework, 'required');
      const api = http(app.server);
      const res = await api.post('/login').set('Host', HOST);
      expect(res.status).to.equal(400);
      expect(app.store.size).to.equal(0);
      app.store.close();
    });

    it('off: DPoP headers are ignored; the DPoP scheme is no credential; answers carry no DPoP challenge', async () => {
      const app = build(framework, 'off');
      const api = http(app.server);
      const login = await api
        .post('/login')
        .set('Host', HOST)
        .set('DPoP', await proof(key, 'POST', `${ORIGIN}/login`));
      const pair = login.body as Pair;
      expect(pair.tokenType).to.equal('Bearer');
      expect(decodeJwt(pair.accessToken).cnf).to.equal(undefined);
      const res = await api.get('/me').set('Host', HOST).set('Authorization', `DPoP ${pair.accessToken}`);
      expect(res.status).to.equal(401);
      expect(res.headers['www-authenticate']).to.equal('Bearer');
      app.store.close();
    });

    it('publicUrl: htu names the public origin, whatever the Host header says', async () => {
      const app = build(framework, { mode: 'required', publicUrl: 'https://api.example.com' });
      const api = http(app.server);
      const login = await api
        .post('/login')
        .set('Host', 'internal:8080')
        .set('DPoP', await proof(key, 'POST', 'https://api.example.com/login'));
      expect(login.status, login.text).to.equal(200);
      const wrong = await api
        .post('/login')
        .set('Host', 'internal:8080')
        .set('DPoP', await proof(key, 'POST', 'http://internal:8080/login'));
      expect(wrong.status).to.equal(400);
      app.store.close();
    });

    it('trust proxy: X-Forwarded-Proto and X-Forwarded-Host make the htu, only when trusted', async () => {
      for (const [name, each] of frameworks)
        for (const trusted of [true, false]) {
          const app = build(each, 'required');
          (app.server as unknown as express.Express).set('trust proxy', trusted);
          const api = http(app.server);
          const res = await api
            .post('/login')
            .set('Host', 'internal:8080')
            .set('X-Forwarded-Proto', 'https')
            .set('X-Forwarded-Host', 'api.example.com')
            .set('DPoP', await proof(key, 'POST', 'https://api.example.com/login'));
          expect(res.status, `${name}, trust proxy ${String(trusted)}`).to.equal(trusted ? 200 : 400);
          app.store.close();
        }
    });

    it('refuses bad dpop options, naming them', () => {
      const store = new MemorySessionStore();
      const make = (dpop: unknown) =>
        createTokenAuth({
          accessToken: { secret: ACCESS_SECRET },
          refreshToken: { secret: REFRESH_SECRET },
          store,
          dpop: dpop as DpopOptions,
        });
      expect(() => make('on')).to.throw(/dpop\.mode/);
      expect(() => make({ mode: 'required', publicUrl: 'https://x.example/api' })).to.throw(/dpop\.publicUrl/);
      expect(() => make({ mode: 'required', colour: 1 })).to.throw(/dpop\.colour/);
      expect(() => make({ mode: 'required', iatWindow: 0 })).to.throw(/iatWindow/);
      expect(() =>
        createTokenAuth({
          accessToken: { secret: ACCESS_SECRET },
          refreshToken: { secret: REFRESH_SECRET },
          // A store of the 0.5 interface: the methods, no features.dpop.
          store: {
            create: (...a: Parameters<MemorySessionStore['create']>) => store.create(...a),
            rotate: (...a: Parameters<MemorySessionStore['rotate']>) => store.rotate(...a),
            revoke: (...a: Parameters<MemorySessionStore['revoke']>) => store.revoke(...a),
            revokeAll: (...a: Parameters<MemorySessionStore['revokeAll']>) => store.revokeAll(...a),
            list: (...a: Parameters<MemorySessionStore['list']>) => store.list(...a),
          },
          dpop: 'optional',
        }),
      ).to.throw(/features\.dpop/);
      expect(make('off').dpopMode).to.equal('off');
      expect(make({ mode: 'optional' }).dpopMode).to.equal('optional');
      store.close();
    });
  });
});
