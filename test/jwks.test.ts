/**
 * The access keys' public JWK Set: `auth.jwks()` (core) and `jwksHandler`
 * (Express 4 and 5). Only public parameters, the ring's kids, never a
 * refresh key or a secret; caching headers and ETag; checked against jose,
 * an independent verifier.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import express from 'express';
import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import request from 'supertest';
import {
  createTokenAuth,
  jwkThumbprint,
  jwksHandler,
  MemorySessionStore,
  OptionError,
  type JwkSet,
  type TokenAuth,
  type TokenAuthOptions,
} from '../lib/index.js';

const express4 = createRequire(import.meta.url)('express4') as typeof express;
const REFRESH = 'refresh-secret-for-jwks-0123456789abc';
const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ec256b = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ec521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rsaPss = generateKeyPairSync('rsa-pss', {
  // @types/node declares saltLength a string; Node takes the number of bytes.
  modulusLength: 2048,
  hashAlgorithm: 'sha256',
  mgf1HashAlgorithm: 'sha256',
  saltLength: 32 as unknown as string,
}).privateKey;
/** Every private member a JWK can have (RFC 7518 §6). */
const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

describe('JWKS: the public access keys', () => {
  const store = new MemorySessionStore();
  after(() => store.close());
  const make = (
    accessToken: TokenAuthOptions['accessToken'],
    refreshToken: TokenAuthOptions['refreshToken'] = { secret: REFRESH },
  ): TokenAuth => createTokenAuth({ accessToken, refreshToken, store });
  /** The public JWK node makes of a private key, for comparison. */
  const publicOf = (key: KeyObject): Record<string, unknown> => createPublicKey(key).export({ format: 'jwk' });

  it('lists each key of the ring in order, with kid, alg, use and the public parameters only', () => {
    const auth = make(
      {
        keys: [
          { kid: 'k-2026', privateKey: ec256 },
          { kid: 'k-2025', privateKey: ec256b },
        ],
      },
      { keys: [{ kid: 'refresh-1', secret: REFRESH }] },
    );
    const { keys } = auth.jwks();
    expect(keys.map((jwk) => jwk.kid)).to.deep.equal(['k-2026', 'k-2025']);
    for (const [jwk, key] of [
      [keys[0]!, ec256],
      [keys[1]!, ec256b],
    ] as const) {
      expect(jwk).to.have.all.keys('kty', 'kid', 'alg', 'use', 'crv', 'x', 'y');
      expect(jwk).to.include({ kty: 'EC', alg: 'ES256', use: 'sig', crv: 'P-256' });
      const expected = publicOf(key);
      expect([jwk.x, jwk.y]).to.deep.equal([expected.x, expected.y]);
      for (const name of PRIVATE) expect(jwk, name).to.not.have.property(name);
    }
    const text = JSON.stringify(auth.jwks());
    expect(text).to.not.include(ec256.export({ format: 'jwk' }).d!);
    expect(text).to.not.include('refresh-1');
    expect(auth.jwks()).to.not.equal(auth.jwks()); // a new object each call: a caller's change cannot leak into the next
  });

  it('publishes RSA (RS256), RSA-PSS (PS256) and P-521 keys as n/e and crv/x/y', () => {
    const cases: Array<[TokenAuthOptions['accessToken'], string[], Record<string, unknown>]> = [
      [
        { keys: [{ kid: 'r', privateKey: rsa }], algorithm: 'RS256' },
        ['n', 'e'],
        { kty: 'RSA', alg: 'RS256', ...pick(publicOf(rsa), 'n', 'e') },
      ],
      [{ keys: [{ kid: 'p', privateKey: rsaPss }], algorithm: 'PS256' }, ['n', 'e'], { kty: 'RSA', alg: 'PS256' }],
      [
        { keys: [{ kid: 'e', privateKey: ec521 }], algorithm: 'ES512' },
        ['crv', 'x', 'y'],
        { kty: 'EC', alg: 'ES512', ...pick(publicOf(ec521), 'crv', 'x', 'y') },
      ],
    ];
    for (const [accessToken, members, expected] of cases) {
      const [jwk] = make(accessToken).jwks().keys;
      expect(jwk).to.have.all.keys('kty', 'kid', 'alg', 'use', ...members);
      expect(jwk).to.include({ use: 'sig', ...expected });
    }
  });

  it('gives the single privateKey its RFC 7638 thumbprint as kid, and an HMAC access key no entry at all', async () => {
    const single = make({ privateKey: ec256 });
    const [jwk] = single.jwks().keys;
    expect(jwk!.kid).to.equal(await calculateJwkThumbprint(publicOf(ec256), 'sha256'));
    expect(jwkThumbprint(ec256)).to.equal(jwk!.kid);
    expect(jwkThumbprint(rsaPss)).to.equal(
      await calculateJwkThumbprint(
        make({ keys: [{ kid: 'p', privateKey: rsaPss }], algorithm: 'PS256' }).jwks().keys[0] as JWK,
      ),
    );
    expect(make({ secret: 'access-secret-for-jwks-0123456789abc' }).jwks()).to.deep.equal({ keys: [] });
    expect(make({ keys: [{ kid: 'h', secret: 'access-secret-for-jwks-0123456789abc' }] }).jwks()).to.deep.equal({
      keys: [],
    });
  });

  it('verifies the access tokens with jose, key picked by kid (or alone, for the single key)', async () => {
    const cases: Array<[string, TokenAuthOptions['accessToken']]> = [
      [
        'ES256 ring',
        {
          keys: [
            { kid: 'a', privateKey: ec256 },
            { kid: 'b', privateKey: ec256b },
          ],
        },
      ],
      ['RS256 ring', { keys: [{ kid: 'r', privateKey: rsa }], algorithm: 'RS256' }],
      ['PS256 with an RSA-PSS key', { keys: [{ kid: 'p', privateKey: rsaPss }], algorithm: 'PS256' }],
      ['ES512 single key', { privateKey: ec521, algorithm: 'ES512' }],
    ];
    for (const [name, accessToken] of cases) {
      const auth = make(accessToken);
      const { accessToken: token, refreshToken } = await auth.issue({ userId: 'u1', claims: { role: 'admin' } });
      const keySet = createLocalJWKSet(auth.jwks());
      const { payload, protectedHeader } = await jwtVerify(token, keySet, { typ: 'at+jwt' });
      expect(payload, name).to.include({ sub: 'u1', role: 'admin' });
      expect(protectedHeader.kid, name).to.equal(accessToken.keys?.[0]?.kid);
      const refused = await jwtVerify(refreshToken, keySet).then(
        () => 'accepted',
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(refused, `${name}: a refresh token (HS256, which no JWK Set verifies)`).to.equal('ERR_JOSE_NOT_SUPPORTED');
    }
    // A token of the ring's second key, checked against the published set.
    const second = make({ keys: [{ kid: 'b', privateKey: ec256b }] });
    const token = (await second.issue({ userId: 'u2' })).accessToken;
    const keySet = createLocalJWKSet(
      make({
        keys: [
          { kid: 'a', privateKey: ec256 },
          { kid: 'b', privateKey: ec256b },
        ],
      }).jwks(),
    );
    expect((await jwtVerify(token, keySet)).payload.sub).to.equal('u2');
  });

  for (const [framework, factory] of [
    ['Express 5', express],
    ['Express 4', express4],
  ] as const) {
    describe(`jwksHandler on ${framework}`, () => {
      const auth = make({
        keys: [
          { kid: 'k1', privateKey: ec256 },
          { kid: 'k0', privateKey: ec256b },
        ],
      });
      const app = factory();
      app.get('/.well-known/jwks.json', jwksHandler(auth));

      it('answers the public set as JSON, publicly cacheable, with a strong ETag', async () => {
        const answer = await request(app).get('/.well-known/jwks.json');
        expect(answer.status).to.equal(200);
        expect(answer.headers['content-type']).to.equal('application/json; charset=utf-8');
        expect(answer.headers['cache-control']).to.equal('public, max-age=300, stale-while-revalidate=60');
        expect(answer.headers.etag).to.match(/^"[A-Za-z0-9_-]{43}"$/);
        const body = answer.body as JwkSet;
        expect(body).to.deep.equal(auth.jwks());
        expect(body.keys.map((jwk) => jwk.kid)).to.deep.equal(['k1', 'k0']);
        for (const jwk of body.keys) {
          for (const name of PRIVATE) expect(jwk, name).to.not.have.property(name);
        }
      });

      it('answers 304 with no body to a matching If-None-Match, and HEAD with headers only', async () => {
        const { headers } = await request(app).get('/.well-known/jwks.json');
        const cached = await request(app).get('/.well-known/jwks.json').set('If-None-Match', headers.etag!);
        expect(cached.status).to.equal(304);
        expect(cached.text).to.equal('');
        const stale = await request(app).get('/.well-known/jwks.json').set('If-None-Match', '"something-else"');
        expect(stale.status).to.equal(200);
        const head = await request(app).head('/.well-known/jwks.json');
        expect([head.status, head.headers.etag, head.text]).to.deep.equal([200, headers.etag, undefined]);
      });
    });
  }

  it('gives the same keys the same ETag in every instance, and other keys another', async () => {
    const etag = async (auth: TokenAuth): Promise<string | undefined> =>
      (await request(express().get('/j', jwksHandler(auth))).get('/j')).headers.etag;
    const ring = { keys: [{ kid: 'k', privateKey: ec256 }] };
    expect(await etag(make(ring))).to.equal(await etag(make(ring)));
    expect(await etag(make(ring))).to.not.equal(await etag(make({ keys: [{ kid: 'k', privateKey: ec256b }] })));
  });

  it('refuses HMAC access keys at wiring time, and anything but a TokenAuth', () => {
    const hmac = make({ keys: [{ kid: 'h', secret: 'access-secret-for-jwks-0123456789abc' }] });
    expect(() => jwksHandler(hmac)).to.throw(
      OptionError,
      'express-token-pair: jwksHandler(auth) publishes public keys, and the access tokens are signed with HMAC secrets, which must never be published',
    );
    expect(() => jwksHandler({} as never)).to.throw(
      TypeError,
      'express-token-pair: jwksHandler(auth) needs the object returned by createTokenAuth()',
    );
    expect(() => jwksHandler({ headers: {}, method: 'GET' } as never)).to.throw(
      TypeError,
      'jwksHandler was used as a middleware itself',
    );
  });
});

function pick(record: Record<string, unknown>, ...names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.map((name) => [name, record[name]]));
}
