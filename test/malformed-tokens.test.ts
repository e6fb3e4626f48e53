/**
 * Malformed and mutated tokens, as properties (fast-check): whatever string
 * or bytes reach `verifyAccessToken`, `refresh` or `revoke`, the only failure
 * is a `TokenPairError` (so the adapters answer 4xx, never 500), and only a
 * genuine token passes. Run for every algorithm family.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import {
  createTokenAuth,
  MemorySessionStore,
  TokenPairError,
  type AccessTokenOptions,
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';
import { ACCESS, REFRESH, T0 } from './helpers/token-auth.js';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** What a mutation may put in: the next base64url character, and what does not belong in a token at all. */
const FOREIGN = ['\u00e9', '\u0080', '\u00ff', '\u0000', '.', '=', '+', '/', ' ', '\ud800', '\u{1f600}'];

const keys: Array<[string, AccessTokenOptions]> = [
  ['HS256', { secret: ACCESS }],
  ['ES256', { privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, algorithm: 'ES256' }],
  ['RS256', { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, algorithm: 'RS256' }],
  ['PS256', { privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, algorithm: 'PS256' }],
];

/** The error a call threw, or undefined if it returned. */
async function failure(call: () => unknown): Promise<unknown> {
  try {
    await call();
    return undefined;
  } catch (error) {
    return error;
  }
}

function expectRefused(error: unknown, what: string): void {
  expect(error, `${what} was accepted`).to.not.equal(undefined);
  expect(error, `${what} threw ${String(error)}`).to.be.instanceOf(TokenPairError);
  expect((error as TokenPairError).status, what).to.be.oneOf([400, 401]);
}

/** Every one-character change of `token`: each position replaced (twice), deleted, and a character inserted. */
function* mutations(token: string): Generator<string> {
  for (let i = 0; i < token.length; i += 1) {
    const here = token[i]!;
    const next = BASE64URL[(BASE64URL.indexOf(here) + 1) % BASE64URL.length]!;
    yield token.slice(0, i) + next + token.slice(i + 1);
    yield token.slice(0, i) + FOREIGN[i % FOREIGN.length]! + token.slice(i + 1);
    yield token.slice(0, i) + token.slice(i + 1);
    yield token.slice(0, i) + FOREIGN[(i + 3) % FOREIGN.length]! + token.slice(i);
  }
}

/** The 63 other spellings of the signature's last character. */
function lastCharVariants(token: string): string[] {
  return Array.from(BASE64URL)
    .filter((c) => c !== token.at(-1))
    .map((c) => token.slice(0, -1) + c);
}

/** Arbitrary text and raw bytes (as an HTTP header's latin1 or a body's UTF-8 would carry them). */
const junk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 400 }),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes).toString('utf8')),
  // Three dot-separated segments, to reach the signature check.
  fc
    .tuple(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 90 }))
    .map((parts) => parts.join('.')),
);

describe('malformed and mutated tokens (properties)', function () {
  this.timeout(60_000);

  for (const [name, accessToken] of keys) {
    describe(`with ${name} access tokens`, () => {
      let store: MemorySessionStore;
      let auth: TokenAuth;
      let pair: TokenPair;

      beforeEach(async () => {
        store = new MemorySessionStore();
        auth = createTokenAuth({ accessToken, refreshToken: { secret: REFRESH }, store });
        pair = await auth.issue({ userId: 'alice', claims: { role: 'admin' } });
      });
      afterEach(() => store.close());

      it('verifyAccessToken throws only TokenPairErrors for arbitrary strings and bytes', () => {
        fc.assert(
          fc.property(junk, (text) => {
            expectRefused(
              syncFailure(() => auth.verifyAccessToken(text)),
              JSON.stringify(text),
            );
          }),
          { numRuns: 400 },
        );
      });

      it('verifyAccessToken refuses every one-character mutation of a genuine token, at every position', () => {
        expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('alice');
        let count = 0;
        for (const mutant of mutations(pair.accessToken)) {
          expectRefused(
            syncFailure(() => auth.verifyAccessToken(mutant)),
            JSON.stringify(mutant),
          );
          count += 1;
        }
        expect(count).to.equal(4 * pair.accessToken.length);
      });

      it('verifyAccessToken accepts only the canonical spelling of the signature', () => {
        const variants = lastCharVariants(pair.accessToken);
        expect(variants).to.have.length(63);
        for (const variant of variants)
          expectRefused(
            syncFailure(() => auth.verifyAccessToken(variant)),
            variant,
          );
        expect(auth.verifyAccessToken(pair.accessToken).userId, 'the genuine one still passes').to.equal('alice');
      });
    });
  }

  describe('refresh and revoke', () => {
    let store: MemorySessionStore;
    let auth: TokenAuth;
    let pair: TokenPair;

    beforeEach(async () => {
      store = new MemorySessionStore();
      auth = createTokenAuth({ accessToken: { secret: ACCESS }, refreshToken: { secret: REFRESH }, store });
      pair = await auth.issue({ userId: 'alice' });
    });
    afterEach(() => store.close());

    it('throw only TokenPairErrors for arbitrary strings and bytes, and leave the session alone', async () => {
      await fc.assert(
        fc.asyncProperty(junk, async (text) => {
          expectRefused(await failure(() => auth.refresh(text)), `refresh(${JSON.stringify(text)})`);
          expectRefused(await failure(() => auth.revoke(text)), `revoke(${JSON.stringify(text)})`);
        }),
        { numRuns: 300 },
      );
      const next = await auth.refresh(pair.refreshToken);
      expect(next.refreshToken).to.not.equal(pair.refreshToken);
    });

    it('refuse every one-character mutation of a genuine refresh token, and every other spelling of its signature', async () => {
      const spent: string[] = [];
      for (const mutant of [...mutations(pair.refreshToken), ...lastCharVariants(pair.refreshToken)]) {
        expectRefused(await failure(() => auth.refresh(mutant)), `refresh(${JSON.stringify(mutant)})`);
        expectRefused(await failure(() => auth.revoke(mutant)), `revoke(${JSON.stringify(mutant)})`);
        spent.push(mutant);
      }
      expect(spent.length).to.equal(4 * pair.refreshToken.length + 63);
      // Nothing above rotated or ended the session: the genuine token is still the current one.
      expect((await auth.refresh(pair.refreshToken)).tokenType).to.equal('Bearer');
    });
  });
});

describe('tokens the package would never sign, even with its own secret (a leaked secret)', () => {
  const store = new MemorySessionStore();
  // The core's clock stands still at T0, so the forged tokens are as fresh whenever this runs.
  const now = T0;
  const auth = createTokenAuth({
    accessToken: { secret: ACCESS },
    refreshToken: { secret: REFRESH },
    store,
    clock: () => now * 1000,
  });
  after(() => store.close());
  const good = { sub: 'u', sid: 's', jti: 'j', iat: now, exp: now + 60 };
  /** Signs the payload JSON as given (jsonwebtoken refuses some of these shapes). */
  const forgeRaw = (json: string): string => {
    const input = `${Buffer.from('{"alg":"HS256","typ":"at+jwt"}').toString('base64url')}.${Buffer.from(json).toString('base64url')}`;
    return `${input}.${createHmac('sha256', ACCESS).update(input).digest('base64url')}`;
  };
  const forge = (payload: Record<string, unknown>): string => forgeRaw(JSON.stringify(payload));

  it('refuses empty ids and times that are not whole seconds', () => {
    expect(auth.verifyAccessToken(forge(good)).userId, 'the well-formed one passes').to.equal('u');
    for (const [name, change] of [
      ['empty sub', { sub: '' }],
      ['empty sid', { sid: '' }],
      ['empty jti', { jti: '' }],
      ['fractional exp', { exp: now + 60.5 }],
      ['fractional iat', { iat: now - 0.5 }],
      ['exp beyond 2^53', { exp: 2 ** 60 }],
      ['fractional nbf', { nbf: now - 0.25 }],
    ] as const) {
      const token = forge({ ...good, ...change });
      expect(() => auth.verifyAccessToken(token), name).to.throw('token is missing required claims');
    }
  });

  it('drops prototype-named claims from req.auth.claims', () => {
    const token = forgeRaw(
      JSON.stringify({ ...good, role: 'x' }).replace('"role"', '"__proto__":{"admin":true},"constructor":1,"role"'),
    );
    const { claims } = auth.verifyAccessToken(token);
    expect(Object.keys(claims)).to.deep.equal(['role']);
    expect(Object.getPrototypeOf(claims)).to.equal(Object.prototype);
  });
});

function syncFailure(call: () => unknown): unknown {
  try {
    call();
    return undefined;
  } catch (error) {
    return error;
  }
}
