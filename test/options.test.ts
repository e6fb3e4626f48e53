import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { createTokenAuth, MemorySessionStore, OptionError, type TokenAuthOptions } from '../lib/index.js';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

describe('createTokenAuth options', () => {
  const store = new MemorySessionStore();
  after(() => store.close());

  const valid = (): TokenAuthOptions => ({ accessToken: { secret: A }, refreshToken: { secret: B }, store });

  it('accepts the minimal options with the documented defaults', async () => {
    const auth = createTokenAuth(valid());
    expect(auth.accessTokenTtl).to.equal(900);
    const pair = await auth.issue({ userId: 'u1' });
    expect(pair.expiresIn).to.equal(900);
    const refresh = JSON.parse(Buffer.from(pair.refreshToken.split('.')[1]!, 'base64url').toString()) as {
      iat: number;
      exp: number;
    };
    expect(refresh.exp - refresh.iat).to.equal(7 * 86_400);
  });

  it("does not mutate the caller's options", () => {
    const options = valid();
    const copy = JSON.stringify({ ...options, store: undefined });
    createTokenAuth(options);
    expect(JSON.stringify({ ...options, store: undefined })).to.equal(copy);
  });

  const bad: Array<[string, (o: TokenAuthOptions) => unknown, string]> = [
    [
      'short access secret',
      (o) => (o.accessToken.secret = 'x'.repeat(11)),
      'accessToken.secret must be at least 32 bytes for HS256 (got 11)',
    ],
    [
      'short refresh secret',
      (o) => (o.refreshToken.secret = Buffer.alloc(31, 1)),
      'refreshToken.secret must be at least 32 bytes for HS256 (got 31)',
    ],
    [
      'HS512 with a 32-byte secret',
      (o) => (o.accessToken.algorithm = 'HS512'),
      'accessToken.secret must be at least 64 bytes for HS512 (got 32)',
    ],
    ['missing access secret', (o) => delete o.accessToken.secret, 'accessToken.secret is required'],
    ['missing refresh secret', (o) => delete o.refreshToken.secret, 'refreshToken.secret is required'],
    ['equal secrets', (o) => (o.refreshToken.secret = A), 'accessToken.secret and refreshToken.secret must differ'],
    [
      'unknown top-level option',
      (o) => ((o as unknown as Record<string, unknown>).secret = A),
      'unknown option secret',
    ],
    [
      'unknown nested option (typo)',
      (o) => ((o.accessToken as Record<string, unknown>).expiresIn = '1h'),
      'unknown option accessToken.expiresIn',
    ],
    ['malformed ttl', (o) => (o.accessToken.ttl = '15 minutes' as never), 'accessToken.ttl must be'],
    ['zero ttl', (o) => (o.refreshToken.ttl = 0), 'refreshToken.ttl must be'],
    ['fractional ttl', (o) => (o.refreshToken.ttl = 1.5), 'refreshToken.ttl must be'],
    [
      'maxLifetime below ttl',
      (o) => (o.refreshToken.maxLifetime = '1d'),
      'refreshToken.maxLifetime (86400s) must be at least refreshToken.ttl (604800s)',
    ],
    ['negative grace', (o) => (o.refreshToken.reuseGrace = -1), 'refreshToken.reuseGrace'],
    ['alg none', (o) => (o.accessToken.algorithm = 'none' as never), 'accessToken.algorithm "none" is not supported'],
    [
      'asymmetric refresh algorithm',
      (o) => (o.refreshToken.algorithm = 'RS256' as never),
      'refreshToken.algorithm "RS256" is not supported',
    ],
    [
      'asymmetric algorithm with a secret',
      (o) => (o.accessToken.algorithm = 'RS256'),
      'accessToken.algorithm RS256 signs with accessToken.privateKey, not a secret; use HS256/HS384/HS512 with accessToken.secret',
    ],
    [
      'a public key pasted as an HMAC secret (algorithm confusion)',
      (o) =>
        (o.accessToken.secret = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).export({
          type: 'spki',
          format: 'pem',
        }) as string),
      'accessToken.secret looks like a PEM key; an HMAC secret must be random bytes',
    ],
    [
      'a PEM refresh secret as a Buffer',
      (o) => (o.refreshToken.secret = Buffer.from(`-----BEGIN PUBLIC KEY-----\n${'A'.repeat(64)}`)),
      'refreshToken.secret looks like a PEM key',
    ],
    [
      'a grace window over a minute',
      (o) => (o.refreshToken.reuseGrace = 61),
      'refreshToken.reuseGrace must be a whole number from 0 to 60 (got 61)',
    ],
    [
      'a clock that returns NaN',
      (o) => (o.clock = () => Number.NaN),
      'clock must return milliseconds since the epoch (got NaN)',
    ],
    [
      'a clock that returns a bigint',
      (o) => (o.clock = (() => 1n) as never),
      'clock must return milliseconds since the epoch (got 1)',
    ],
    [
      'a clock that returns a string',
      (o) => (o.clock = (() => '1700000000000') as never),
      'clock must return milliseconds since the epoch',
    ],
    [
      'access ttl longer than refresh ttl',
      (o) => {
        o.accessToken.ttl = '8d';
      },
      'accessToken.ttl (691200s) must not be longer than refreshToken.ttl (604800s)',
    ],
    ['not a store', (o) => (o.store = {} as never), 'store must be a session store'],
    ['bad issuer', (o) => (o.issuer = ''), 'issuer must be a non-empty string'],
    ['bad clockTolerance', (o) => (o.clockTolerance = -1), 'clockTolerance must be'],
    [
      'bad cacheSize',
      (o) => (o.accessToken.cacheSize = -1),
      'accessToken.cacheSize must be a whole number from 0 to 1000000',
    ],
    [
      'bad maxSessionsPerUser',
      (o) => (o.maxSessionsPerUser = 0),
      'maxSessionsPerUser must be a whole number from 1 to 10000',
    ],
    ['secret and privateKey', (o) => (o.accessToken.privateKey = 'pem'), 'either secret or privateKey'],
  ];

  it('refuses each bad option at construction, naming it', () => {
    for (const [name, mutate, message] of bad) {
      const options = valid();
      options.accessToken = { ...options.accessToken };
      options.refreshToken = { ...options.refreshToken };
      mutate(options);
      expect(() => createTokenAuth(options), name).to.throw(OptionError, message);
      try {
        createTokenAuth(options);
      } catch (error) {
        expect((error as OptionError).code, name).to.equal('ERR_ETP_OPTION');
        expect((error as Error).message, name).to.match(/^express-token-pair: /);
      }
    }
  });

  it('fails closed when the clock goes wrong after start-up: an error, never an expired token accepted', async () => {
    let now = Date.now();
    const cached = createTokenAuth({ ...valid(), clock: () => now });
    const uncached = createTokenAuth({ ...valid(), clock: () => now, accessToken: { secret: A, cacheSize: 0 } });
    const pair = await cached.issue({ userId: 'u1' });
    expect(cached.verifyAccessToken(pair.accessToken).userId).to.equal('u1');
    now = Number.NaN;
    expect(() => cached.verifyAccessToken(pair.accessToken), 'a cache hit').to.throw(
      'clock() returned NaN, not milliseconds',
    );
    expect(() => uncached.verifyAccessToken(pair.accessToken), 'a full verification').to.throw(
      'clock() returned NaN, not milliseconds',
    );
    const failure = await cached.refresh(pair.refreshToken).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((failure as Error | undefined)?.message).to.include('clock() returned NaN');
  });

  it('refuses a missing options object', () => {
    expect(() => createTokenAuth(undefined as never)).to.throw(OptionError, 'needs an options object');
  });

  it('takes ttl strings in s, m, h and d, whole seconds, and whole seconds as digits (as environment variables give them)', () => {
    for (const [ttl, seconds] of [
      ['30s', 30],
      ['15m', 900],
      ['2h', 7200],
      ['1d', 86_400],
      [42, 42],
      ['900', 900],
    ] as const) {
      const auth = createTokenAuth({ ...valid(), accessToken: { secret: A, ttl } });
      expect(auth.accessTokenTtl, String(ttl)).to.equal(seconds);
    }
  });

  it('signs access tokens with an EC private key, so others can verify with the public key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const auth = createTokenAuth({ ...valid(), accessToken: { privateKey } });
    const pair = await auth.issue({ userId: 'u1' });
    const header = JSON.parse(Buffer.from(pair.accessToken.split('.')[0]!, 'base64url').toString()) as { alg: string };
    expect(header.alg).to.equal('ES256');
    expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('u1');
  });

  it('refuses a private key that does not fit the algorithm, naming the mismatch', () => {
    const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const rsaPss = generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    const cases: Array<[TokenAuthOptions['accessToken'], string]> = [
      [
        { privateKey: ec256, algorithm: 'RS256' },
        'accessToken.privateKey must be an RSA private key for RS256 (got ec key)',
      ],
      [
        { privateKey: ec256, algorithm: 'HS256' },
        'accessToken.algorithm HS256 signs with accessToken.secret, not a private key; use RS*, PS* or ES* with accessToken.privateKey',
      ],
      [
        { privateKey: ec384, algorithm: 'ES256' },
        'accessToken.privateKey must be on curve prime256v1 for ES256 (got secp384r1)',
      ],
      [{ privateKey: ec384 }, 'accessToken.privateKey must be on curve prime256v1 for ES256 (got secp384r1)'],
      [
        { privateKey: rsa1024, algorithm: 'RS256' },
        'accessToken.privateKey must be at least 2048 bits for RS256 (got 1024)',
      ],
      [
        { privateKey: rsaPss, algorithm: 'RS256' },
        'accessToken.privateKey must be an RSA private key for RS256 (got rsa-pss key)',
      ],
      [
        { privateKey: ed, algorithm: 'ES256' },
        'accessToken.privateKey must be an EC private key on curve prime256v1 for ES256 (got ed25519 key)',
      ],
      [
        { privateKey: rsaPss, algorithm: 'PS384' },
        'accessToken.privateKey must be an RSA-PSS key whose parameters are sha384, MGF1 sha384 and a 48-byte salt for PS384',
      ],
      [
        { privateKey: createPublicKey(ec256).export({ type: 'spki', format: 'pem' }) as string },
        'accessToken.privateKey is not a readable private key',
      ],
    ];
    for (const [accessToken, message] of cases) {
      expect(() => createTokenAuth({ ...valid(), accessToken }), message).to.throw(OptionError, message);
    }
  });

  it('accepts each key family with the algorithms it fits, and signs with them', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const rsaPss = generateKeyPairSync('rsa-pss', {
      // @types/node declares saltLength a string; Node takes the number of bytes.
      modulusLength: 2048,
      hashAlgorithm: 'sha384',
      mgf1HashAlgorithm: 'sha384',
      saltLength: 48 as unknown as string,
    }).privateKey;
    const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    for (const [privateKey, algorithm] of [
      [rsa, 'RS256'],
      [rsa, 'PS256'],
      [rsaPss, 'PS384'],
      [ec384, 'ES384'],
    ] as const) {
      const auth = createTokenAuth({ ...valid(), accessToken: { privateKey, algorithm } });
      const pair = await auth.issue({ userId: 'u1' });
      expect(auth.verifyAccessToken(pair.accessToken).userId, algorithm).to.equal('u1');
    }
  });
});
