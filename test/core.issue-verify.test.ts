/**
 * TokenAuth without HTTP: what `issue` puts in a pair, and how
 * `verifyAccessToken` checks a token, on the HMAC fast path and the general
 * path alike. Time is the `now` each test sets (seconds).
 */
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { MemorySessionStore, type TokenAuth, type TokenAuthOptions } from '../lib/index.js';
import { ACCESS, decode, makeAuth, REFRESH, rejection, T0 } from './helpers/token-auth.js';

describe('TokenAuth (core)', () => {
  let store: MemorySessionStore;
  let now: number;
  let auth: TokenAuth;
  const make = (over: Partial<TokenAuthOptions> = {}): TokenAuth => makeAuth(store, () => now, over);

  beforeEach(() => {
    now = T0;
    store = new MemorySessionStore();
    auth = make();
  });
  afterEach(() => store.close());

  describe('issue', () => {
    it('returns a Bearer pair with typed, pinned tokens', async () => {
      const pair = await auth.issue({ userId: 42, claims: { role: 'admin' } });
      expect(pair.tokenType).to.equal('Bearer');
      expect(pair.expiresIn).to.equal(900);
      const access = decode(pair.accessToken);
      expect(access.header).to.deep.equal({ alg: 'HS256', typ: 'at+jwt' });
      expect(access.payload).to.include({ sub: '42', role: 'admin', iat: T0, exp: T0 + 900 });
      expect(access.payload.sid).to.be.a('string').with.length(16);
      expect(access.payload.jti).to.be.a('string').with.length(16);
      const refresh = decode(pair.refreshToken);
      expect(refresh.header).to.deep.equal({ alg: 'HS256', typ: 'rt+jwt' });
      expect(refresh.payload).to.have.all.keys('sub', 'sid', 'jti', 'iat', 'exp');
      expect(refresh.payload).to.include({ sub: '42', sid: access.payload.sid, exp: T0 + 7 * 86_400 });
      expect(refresh.payload.jti).to.not.equal(access.payload.jti);
    });

    it('signs with separate secrets', async () => {
      const pair = await auth.issue({ userId: 'u' });
      expect(() => jwt.verify(pair.accessToken, ACCESS, { algorithms: ['HS256'], clockTimestamp: T0 })).to.not.throw();
      expect(() => jwt.verify(pair.refreshToken, ACCESS, { algorithms: ['HS256'], clockTimestamp: T0 })).to.throw(
        'invalid signature',
      );
      expect(() =>
        jwt.verify(pair.refreshToken, REFRESH, { algorithms: ['HS256'], clockTimestamp: T0 }),
      ).to.not.throw();
    });

    it('writes and requires iss and aud when configured', async () => {
      const issuing = make({ issuer: 'https://auth.example', audience: 'api' });
      const pair = await issuing.issue({ userId: 'u' });
      expect(decode(pair.accessToken).payload).to.include({ iss: 'https://auth.example', aud: 'api' });
      expect(issuing.verifyAccessToken(pair.accessToken).userId).to.equal('u');
      const other = make({ issuer: 'https://other.example', audience: 'api' });
      expect((await rejection(() => other.verifyAccessToken(pair.accessToken))).code).to.equal('token_invalid');
      const plain = await auth.issue({ userId: 'u' });
      expect((await rejection(() => issuing.verifyAccessToken(plain.accessToken))).code).to.equal('token_invalid');
    });

    it('refuses reserved claims and bad user ids as programming errors', async () => {
      for (const claim of ['sub', 'sid', 'jti', 'exp', 'iat', 'iss', 'aud', 'nbf', 'typ']) {
        const error = await rejection(auth.issue({ userId: 'u', claims: { [claim]: 'x' } }));
        expect(error, claim).to.be.instanceOf(TypeError);
        expect(error.message).to.equal(`express-token-pair: claim "${claim}" is reserved`);
      }
      for (const userId of ['', 'x'.repeat(257), null, {}, Number.NaN, undefined]) {
        const error = await rejection(auth.issue({ userId: userId as never }));
        expect(error, String(userId)).to.be.instanceOf(TypeError);
        expect(error.message).to.match(/userId must be/);
      }
      expect(store.size, 'nothing was stored').to.equal(0);
    });
  });

  describe('verifyAccessToken', () => {
    it("returns who the token belongs to and the caller's claims only", async () => {
      const pair = await auth.issue({ userId: 'u1', claims: { role: 'editor', teams: [1, 2] } });
      const context = auth.verifyAccessToken(pair.accessToken);
      expect(context).to.deep.equal({
        userId: 'u1',
        sessionId: decode(pair.accessToken).payload.sid,
        claims: { role: 'editor', teams: [1, 2] },
        issuedAt: decode(pair.accessToken).payload.iat,
      });
    });

    it('expires at exactly the ttl, told apart from invalid', async () => {
      const pair = await auth.issue({ userId: 'u1' });
      now = T0 + 899;
      expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('u1');
      now = T0 + 900;
      const error = await rejection(() => auth.verifyAccessToken(pair.accessToken));
      expect(error.code).to.equal('token_expired');
      expect(error.status).to.equal(401);
      expect(error.message).to.equal('token has expired');
    });

    it('answers a repeated token from its cache yet still expires it at the exact second', async () => {
      for (const cacheSize of [10_000, 0]) {
        const checker = make({ accessToken: { secret: ACCESS, ttl: '15m', cacheSize } });
        now = T0;
        const pair = await checker.issue({ userId: 'u1' });
        const first = checker.verifyAccessToken(pair.accessToken);
        now = T0 + 899;
        const again = checker.verifyAccessToken(pair.accessToken);
        expect(again, `cacheSize ${cacheSize}`).to.deep.equal(first);
        expect(again === first, `cacheSize ${cacheSize}: same object only from the cache`).to.equal(cacheSize > 0);
        now = T0 + 900;
        expect(
          (await rejection(() => checker.verifyAccessToken(pair.accessToken))).code,
          `cacheSize ${cacheSize}`,
        ).to.equal('token_expired');
        now = T0 + 899;
        expect(checker.verifyAccessToken(pair.accessToken).userId, 'a clock going back finds it valid again').to.equal(
          'u1',
        );
      }
    });

    it('returns a frozen context, since requests share it', async () => {
      const pair = await auth.issue({ userId: 'u1', claims: { role: 'admin', teams: [1] } });
      const context = auth.verifyAccessToken(pair.accessToken);
      expect(Object.isFrozen(context)).to.equal(true);
      expect(() => {
        (context.claims as { role: string }).role = 'root';
      }).to.throw(TypeError);
      expect(() => {
        (context.claims.teams as number[]).push(2);
      }).to.throw(TypeError);
      expect(auth.verifyAccessToken(pair.accessToken).claims).to.deep.equal({ role: 'admin', teams: [1] });
    });

    it('never caches a token that failed', async () => {
      const pair = await auth.issue({ userId: 'u1' });
      const tampered = pair.accessToken.slice(0, -1) + (pair.accessToken.endsWith('A') ? 'B' : 'A');
      for (let i = 0; i < 2; i++) {
        expect((await rejection(() => auth.verifyAccessToken(tampered))).code).to.equal('token_invalid');
      }
    });

    it('honours clockTolerance', async () => {
      const tolerant = make({ clockTolerance: 30 });
      const pair = await tolerant.issue({ userId: 'u1' });
      now = T0 + 929;
      expect(tolerant.verifyAccessToken(pair.accessToken).userId).to.equal('u1');
      now = T0 + 930;
      expect((await rejection(() => tolerant.verifyAccessToken(pair.accessToken))).code).to.equal('token_expired');
    });

    it('never accepts a refresh token, and refresh never accepts an access token', async () => {
      const pair = await auth.issue({ userId: 'u1' });
      expect((await rejection(() => auth.verifyAccessToken(pair.refreshToken))).code).to.equal('token_invalid');
      expect((await rejection(auth.refresh(pair.accessToken))).code).to.equal('token_invalid');
    });

    it('rejects a token signed with the right secret but the wrong typ', async () => {
      const token = jwt.sign({ sub: 'u', sid: 's', jti: 'j' }, ACCESS, { algorithm: 'HS256', expiresIn: 60 });
      const error = await rejection(() => auth.verifyAccessToken(token));
      expect(error.code).to.equal('token_invalid');
      expect(error.message).to.equal('token is of the wrong type');
    });

    it('rejects a token with the right typ but without sid', async () => {
      const token = jwt.sign({ sub: 'u', jti: 'j' }, ACCESS, {
        algorithm: 'HS256',
        expiresIn: 60,
        header: { alg: 'HS256', typ: 'at+jwt' },
      });
      expect((await rejection(() => auth.verifyAccessToken(token))).message).to.equal(
        'token is missing required claims',
      );
    });
  });

  describe('verification, on the HMAC fast path and the general path alike', () => {
    const b64 = (value: unknown): string =>
      Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
    /** Signs exactly the given header and payload segments by hand. */
    const handSign = (header: unknown, payload: unknown, secret = ACCESS, hash = 'sha256'): string => {
      const input = `${b64(header)}.${b64(payload)}`;
      return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
    };
    const claims = { sub: 'u1', sid: 's1', jti: 'j1', iat: T0, exp: T0 + 60 };
    const ours = { alg: 'HS256', typ: 'at+jwt' };

    it('accepts a hand-signed token with our exact header (fast path) and with the keys reordered (general path)', () => {
      expect(auth.verifyAccessToken(handSign(ours, claims)).userId).to.equal('u1');
      expect(auth.verifyAccessToken(handSign({ typ: 'at+jwt', alg: 'HS256' }, claims)).userId).to.equal('u1');
    });

    const cases: Array<[string, () => string, string, string]> = [
      [
        'one flipped signature character',
        () => {
          const token = handSign(ours, claims);
          return token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1)!;
        },
        'token_invalid',
        'token is invalid',
      ],
      ['a signature with padding added', () => `${handSign(ours, claims)}=`, 'token_invalid', 'token is invalid'],
      ['a fourth segment', () => `${handSign(ours, claims)}.x`, 'token_invalid', 'token is invalid'],
      ['the refresh secret', () => handSign(ours, claims, REFRESH), 'token_invalid', 'token is invalid'],
      [
        'HS512 in the header, signed with HS512',
        () => handSign({ alg: 'HS512', typ: 'at+jwt' }, claims, ACCESS, 'sha512'),
        'token_invalid',
        'token is invalid',
      ],
      ['alg none', () => `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`, 'token_invalid', 'token is invalid'],
      ['no typ', () => handSign({ alg: 'HS256' }, claims), 'token_invalid', 'token is of the wrong type'],
      ['a payload that is not JSON', () => handSign(ours, 'not json'), 'token_invalid', 'token is invalid'],
      ['a payload that is an array', () => handSign(ours, [claims]), 'token_invalid', 'token payload is not an object'],
      [
        'a string exp',
        () => handSign(ours, { ...claims, exp: String(T0 + 60) }),
        'token_invalid',
        'token is missing required claims',
      ],
      [
        'nbf in the future',
        () => handSign(ours, { ...claims, nbf: T0 + 1 }),
        'token_invalid',
        'token is not valid yet',
      ],
      ['exp reached', () => handSign(ours, { ...claims, exp: T0 }), 'token_expired', 'token has expired'],
    ];

    it('refuses each tampered, swapped or malformed token with its code', async () => {
      for (const [name, make, code, message] of cases) {
        const error = await rejection(() => auth.verifyAccessToken(make()));
        expect(error.code, name).to.equal(code);
        expect(error.message, name).to.equal(message);
      }
    });

    it('takes aud as a string or an array containing ours', () => {
      const strict = make({ audience: 'api' });
      expect(strict.verifyAccessToken(handSign(ours, { ...claims, aud: ['other', 'api'] })).userId).to.equal('u1');
      expect(() => strict.verifyAccessToken(handSign(ours, { ...claims, aud: ['other'] }))).to.throw(
        'token is invalid',
      );
    });

    it('keeps a "__proto__" claim as plain data', () => {
      const token = handSign(
        ours,
        JSON.parse(`{"__proto__":{"admin":true},"sub":"u1","sid":"s","jti":"j","iat":${T0},"exp":${T0 + 60}}`),
      );
      const context = auth.verifyAccessToken(token);
      expect(Object.getPrototypeOf(context.claims)).to.equal(Object.prototype);
      expect((context.claims as { admin?: boolean }).admin).to.equal(undefined);
    });
  });
});
