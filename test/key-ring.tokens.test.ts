/**
 * Tokens under key rings: signed by the first key with its kid, verified by
 * whichever key the kid names; an unknown kid is refused exactly like a
 * forged token (core and HTTP); access and refresh tokens never pass for
 * each other; a `legacy` key verifies the kid-less tokens of the single-key
 * form. Time is the `now` each test sets (seconds).
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import {
  MemorySessionStore,
  requireAccessToken,
  type RingKeyOptions,
  type TokenAuth,
  type TokenAuthOptions,
} from '../lib/index.js';
import { signRaw } from './helpers/forged-tokens.js';
import { decode, makeAuth, rejection, T0 } from './helpers/token-auth.js';

const SECRETS = {
  a0: 'access-key-zero-0123456789abcdefghij',
  a1: 'access-key-one-0123456789abcdefghijk',
  a2: 'access-key-two-0123456789abcdefghijk',
};
const R0 = 'refresh-key-zero-0123456789abcdefghij';
const R1 = 'refresh-key-one-0123456789abcdefghijk';
const ring = (...kids: Array<keyof typeof SECRETS>): RingKeyOptions[] =>
  kids.map((kid) => ({ kid, secret: SECRETS[kid] }));

describe('key rings: signing and verifying', () => {
  let store: MemorySessionStore;
  let now: number;
  const make = (over: Partial<TokenAuthOptions> = {}): TokenAuth =>
    makeAuth(store, () => now, {
      accessToken: { keys: ring('a0', 'a1', 'a2'), ttl: '15m' },
      refreshToken: {
        keys: [
          { kid: 'r0', secret: R0 },
          { kid: 'r1', secret: R1 },
        ],
        ttl: '7d',
        maxLifetime: '30d',
        reuseGrace: 5,
      },
      ...over,
    });
  /** Claims as `sign` writes them, for tokens built by hand. */
  const claims = (): Record<string, unknown> => ({
    sub: 'u',
    sid: 'session-id-0001',
    jti: 'token-id-000001',
    iat: now,
    exp: now + 900,
  });

  beforeEach(() => {
    now = T0;
    store = new MemorySessionStore();
  });
  afterEach(() => store.close());

  it('signs with the first key, writing its kid in the header in the one spelling the fast path expects', async () => {
    const pair = await make().issue({ userId: 'u' });
    const [accessHeader] = pair.accessToken.split('.');
    const [refreshHeader] = pair.refreshToken.split('.');
    expect(Buffer.from(accessHeader!, 'base64url').toString()).to.equal('{"alg":"HS256","typ":"at+jwt","kid":"a0"}');
    expect(Buffer.from(refreshHeader!, 'base64url').toString()).to.equal('{"alg":"HS256","typ":"rt+jwt","kid":"r0"}');
    expect(() =>
      jwt.verify(pair.accessToken, SECRETS.a0, { algorithms: ['HS256'], clockTimestamp: now }),
    ).to.not.throw();
    expect(() => jwt.verify(pair.accessToken, SECRETS.a1, { algorithms: ['HS256'] })).to.throw('invalid signature');
    expect(() => jwt.verify(pair.refreshToken, R0, { algorithms: ['HS256'], clockTimestamp: now })).to.not.throw();
  });

  it('verifies access and refresh tokens signed by any key of the ring', async () => {
    const auth = make();
    for (const kid of ['a0', 'a1', 'a2'] as const) {
      const signer = make({ accessToken: { keys: ring(kid) }, refreshToken: { keys: [{ kid: 'r1', secret: R1 }] } });
      const pair = await signer.issue({ userId: `user-${kid}` });
      expect(decode(pair.accessToken).header.kid).to.equal(kid);
      expect(auth.verifyAccessToken(pair.accessToken).userId, kid).to.equal(`user-${kid}`);
      const next = await auth.refresh(pair.refreshToken);
      expect(decode(next.refreshToken).header.kid, 'the successor is signed by the first key').to.equal('r0');
      expect(decode(next.accessToken).header.kid).to.equal('a0');
    }
  });

  it('does the same with a ring of EC keys (the general path), and leaves the single-key form without kid', async () => {
    const [e0, e1] = [
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    ];
    const auth = make({
      accessToken: {
        keys: [
          { kid: 'e0', privateKey: e0 },
          { kid: 'e1', privateKey: e1 },
        ],
      },
    });
    const own = await auth.issue({ userId: 'u0' });
    expect(decode(own.accessToken).header).to.deep.equal({ alg: 'ES256', typ: 'at+jwt', kid: 'e0' });
    const older = await make({ accessToken: { keys: [{ kid: 'e1', privateKey: e1 }] } }).issue({ userId: 'u1' });
    expect(auth.verifyAccessToken(own.accessToken).userId).to.equal('u0');
    expect(auth.verifyAccessToken(older.accessToken).userId).to.equal('u1');
    // e1's signature under e0's kid: the kid picks the key, and that key refuses it.
    const [, payload, signature] = older.accessToken.split('.');
    const relabelled = `${Buffer.from('{"alg":"ES256","typ":"at+jwt","kid":"e0"}').toString('base64url')}.${payload}.${signature}`;
    expect((await rejection(() => auth.verifyAccessToken(relabelled))).code).to.equal('token_invalid');
    const single = await makeAuth(store, () => now).issue({ userId: 'u' });
    expect(decode(single.accessToken).header).to.deep.equal({ alg: 'HS256', typ: 'at+jwt' });
    expect(decode(single.refreshToken).header).to.deep.equal({ alg: 'HS256', typ: 'rt+jwt' });
  });

  it('refuses a token whose kid names no key of the ring with the very error of a forged token', async () => {
    const auth = make();
    const forged = signRaw(
      { alg: 'HS256', typ: 'at+jwt', kid: 'a0' },
      JSON.stringify(claims()),
      'someone-elses-secret-0123456789abcdef',
    );
    const expected = await rejection(() => auth.verifyAccessToken(forged));
    expect(expected).to.include({ code: 'token_invalid', message: 'token is invalid', status: 401 });
    const unknown: Array<[string, Record<string, unknown>]> = [
      ['a removed key', { alg: 'HS256', typ: 'at+jwt', kid: 'a9' }],
      ['a refresh kid', { alg: 'HS256', typ: 'at+jwt', kid: 'r0' }],
      ['a prototype name', { alg: 'HS256', typ: 'at+jwt', kid: '__proto__' }],
      ['constructor', { alg: 'HS256', typ: 'at+jwt', kid: 'constructor' }],
      ['a number', { alg: 'HS256', typ: 'at+jwt', kid: 0 }],
      ['null', { alg: 'HS256', typ: 'at+jwt', kid: null }],
      ['an object', { alg: 'HS256', typ: 'at+jwt', kid: { a0: true } }],
      ['no kid at all', { alg: 'HS256', typ: 'at+jwt' }],
      ['the right kid spelled another way', { typ: 'at+jwt', alg: 'HS256', kid: 'a9' }],
    ];
    for (const [name, header] of unknown) {
      // Signed with a real ring secret: only the kid is wrong.
      const token = signRaw(header, JSON.stringify(claims()), SECRETS.a0);
      const error = await rejection(() => auth.verifyAccessToken(token));
      expect(error.constructor, name).to.equal(expected.constructor);
      expect({ code: error.code, message: error.message }, name).to.deep.equal({
        code: 'token_invalid',
        message: 'token is invalid',
      });
    }
    // The same header spelled differently still finds a0 through its kid (the general path).
    const reordered = signRaw({ kid: 'a0', typ: 'at+jwt', alg: 'HS256' }, JSON.stringify(claims()), SECRETS.a0);
    expect(auth.verifyAccessToken(reordered).userId).to.equal('u');
  });

  it('answers an unknown kid with 401 token_invalid over HTTP, like a forged token, never a 500', async () => {
    const auth = make();
    const app = express();
    app.get('/me', requireAccessToken(auth), (req, res) => {
      res.json({ userId: req.auth?.userId });
    });
    const errors: unknown[] = [];
    app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      errors.push(error);
      res.status(500).end();
    });
    const forged = signRaw(
      { alg: 'HS256', typ: 'at+jwt', kid: 'a1' },
      JSON.stringify(claims()),
      'someone-elses-secret-0123456789abcdef',
    );
    const unknownKid = signRaw({ alg: 'HS256', typ: 'at+jwt', kid: 'retired' }, JSON.stringify(claims()), SECRETS.a1);
    const forgedAnswer = await request(app).get('/me').set('Authorization', `Bearer ${forged}`);
    const unknownAnswer = await request(app).get('/me').set('Authorization', `Bearer ${unknownKid}`);
    for (const answer of [forgedAnswer, unknownAnswer]) {
      expect(answer.status).to.equal(401);
      expect(answer.body).to.deep.equal({ error: 'token_invalid', message: 'token is invalid' });
      expect(answer.headers['www-authenticate']).to.equal(
        'Bearer error="invalid_token", error_description="token is invalid"',
      );
    }
    const genuine = signRaw({ alg: 'HS256', typ: 'at+jwt', kid: 'a1' }, JSON.stringify(claims()), SECRETS.a1);
    const ok = await request(app).get('/me').set('Authorization', `Bearer ${genuine}`);
    expect([ok.status, ok.body]).to.deep.equal([200, { userId: 'u' }]);
    expect(errors).to.deep.equal([]);
  });

  it('refuses a refresh token with an unknown kid before touching the session', async () => {
    const auth = make();
    const pair = await auth.issue({ userId: 'u' });
    const { payload } = decode(pair.refreshToken);
    const relabelled = signRaw({ alg: 'HS256', typ: 'rt+jwt', kid: 'r9' }, JSON.stringify(payload), R0);
    for (const call of [() => auth.refresh(relabelled), () => auth.revoke(relabelled)]) {
      expect(await rejection(call)).to.include({ code: 'token_invalid', message: 'token is invalid' });
    }
    expect(decode((await auth.refresh(pair.refreshToken)).refreshToken).payload.sid).to.equal(payload.sid);
  });

  it('never takes an access token for a refresh token or the reverse, whichever ring key signed it', async () => {
    const auth = make();
    const pair = await auth.issue({ userId: 'u' });
    expect(await rejection(() => auth.verifyAccessToken(pair.refreshToken))).to.include({ code: 'token_invalid' });
    expect(await rejection(auth.refresh(pair.accessToken))).to.include({ code: 'token_invalid' });
    expect(await rejection(auth.revoke(pair.accessToken))).to.include({ code: 'token_invalid' });
    const { payload } = decode(pair.refreshToken);
    const body = JSON.stringify(payload);
    // Someone who holds one ring's secret cannot make a token of the other kind.
    const asAccess: Array<[string, string]> = [
      ['refresh key, access typ, refresh kid', signRaw({ alg: 'HS256', typ: 'at+jwt', kid: 'r0' }, body, R0)],
      ['refresh key, access typ, access kid', signRaw({ alg: 'HS256', typ: 'at+jwt', kid: 'a0' }, body, R0)],
      ['access key, refresh typ, access kid', signRaw({ alg: 'HS256', typ: 'rt+jwt', kid: 'a0' }, body, SECRETS.a0)],
    ];
    for (const [name, token] of asAccess) {
      expect(await rejection(() => auth.verifyAccessToken(token)), name).to.include({ code: 'token_invalid' });
    }
    const typed = await rejection(() => auth.verifyAccessToken(asAccess[2]![1]));
    expect(typed.message, 'the right key but the wrong typ').to.equal('token is of the wrong type');
    const asRefresh: Array<[string, string]> = [
      ['access key, refresh typ, access kid', signRaw({ alg: 'HS256', typ: 'rt+jwt', kid: 'a0' }, body, SECRETS.a0)],
      ['access key, refresh typ, refresh kid', signRaw({ alg: 'HS256', typ: 'rt+jwt', kid: 'r0' }, body, SECRETS.a0)],
      ['refresh key, access typ, refresh kid', signRaw({ alg: 'HS256', typ: 'at+jwt', kid: 'r0' }, body, R0)],
    ];
    for (const [name, token] of asRefresh) {
      expect(await rejection(auth.refresh(token)), name).to.include({ code: 'token_invalid' });
    }
    expect(decode((await auth.refresh(pair.refreshToken)).accessToken).header.kid, 'the session survived').to.equal(
      'a0',
    );
  });

  it('refuses a token without kid under a ring, unless one key is marked legacy (the move from a single secret)', async () => {
    const single = makeAuth(store, () => now, { accessToken: { secret: SECRETS.a0 }, refreshToken: { secret: R0 } });
    const before = await single.issue({ userId: 'u' });
    expect(decode(before.accessToken).header.kid).to.equal(undefined);
    const strict = make({
      accessToken: { keys: ring('a1', 'a0') },
      refreshToken: { keys: [{ kid: 'r0', secret: R0 }] },
    });
    expect(await rejection(() => strict.verifyAccessToken(before.accessToken))).to.include({
      code: 'token_invalid',
      message: 'token is invalid',
    });
    expect(await rejection(strict.refresh(before.refreshToken))).to.include({ code: 'token_invalid' });

    const migrating = make({
      accessToken: {
        keys: [
          { kid: 'a1', secret: SECRETS.a1 },
          { kid: 'a0', secret: SECRETS.a0, legacy: true },
        ],
      },
      refreshToken: { keys: [{ kid: 'r0', secret: R0, legacy: true }] },
    });
    expect(migrating.verifyAccessToken(before.accessToken).userId).to.equal('u');
    const after = await migrating.refresh(before.refreshToken);
    expect([decode(after.accessToken).header.kid, decode(after.refreshToken).header.kid]).to.deep.equal(['a1', 'r0']);
    // Only the legacy key verifies kid-less tokens: one signed with a1 and no kid is refused.
    const unlabelled = signRaw({ alg: 'HS256', typ: 'at+jwt' }, JSON.stringify(claims()), SECRETS.a1);
    expect(await rejection(() => migrating.verifyAccessToken(unlabelled))).to.include({ code: 'token_invalid' });
    const viaLegacy = signRaw({ alg: 'HS256', typ: 'at+jwt' }, JSON.stringify(claims()), SECRETS.a0);
    expect(migrating.verifyAccessToken(viaLegacy).userId).to.equal('u');
  });
});
