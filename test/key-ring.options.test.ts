/**
 * Key rings (`accessToken.keys`, `refreshToken.keys`): what createTokenAuth
 * accepts, and every refusal, by its exact message naming the option.
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { createTokenAuth, MemorySessionStore, OptionError, type TokenAuthOptions } from '../lib/index.js';
import { decode } from './helpers/token-auth.js';

const A0 = 'a'.repeat(32);
const A1 = 'b'.repeat(32);
const R0 = 'c'.repeat(32);
const R1 = 'd'.repeat(32);
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ec2 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
const pem = (key: typeof ec): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;

describe('key rings: options', () => {
  const store = new MemorySessionStore();
  after(() => store.close());

  const valid = (): TokenAuthOptions => ({
    accessToken: {
      keys: [
        { kid: 'a0', secret: A0 },
        { kid: 'a1', secret: A1 },
      ],
    },
    refreshToken: {
      keys: [
        { kid: 'r0', secret: R0 },
        { kid: 'r1', secret: R1 },
      ],
    },
    store,
  });

  it('accepts secret rings, private-key rings and a ring beside a single key, each signing with its first key', async () => {
    const cases: Array<[string, TokenAuthOptions, { alg: string; kid?: string }, { kid?: string }]> = [
      ['two secret rings', valid(), { alg: 'HS256', kid: 'a0' }, { kid: 'r0' }],
      [
        'an EC ring',
        {
          ...valid(),
          accessToken: {
            keys: [
              { kid: 'e1', privateKey: ec },
              { kid: 'e0', privateKey: pem(ec2) },
            ],
          },
        },
        { alg: 'ES256', kid: 'e1' },
        { kid: 'r0' },
      ],
      [
        'an RSA ring for PS256',
        { ...valid(), accessToken: { keys: [{ kid: 'p', privateKey: rsa }], algorithm: 'PS256' } },
        { alg: 'PS256', kid: 'p' },
        { kid: 'r0' },
      ],
      [
        'an access ring, a single refresh secret',
        { ...valid(), refreshToken: { secret: R0 } },
        { alg: 'HS256', kid: 'a0' },
        {},
      ],
      [
        'a single access secret, a refresh ring',
        { ...valid(), accessToken: { secret: A0 } },
        { alg: 'HS256' },
        { kid: 'r0' },
      ],
      [
        'HS512 rings',
        {
          ...valid(),
          accessToken: { keys: [{ kid: 'x', secret: 'x'.repeat(64) }], algorithm: 'HS512' },
          refreshToken: { keys: [{ kid: 'y', secret: 'y'.repeat(64) }], algorithm: 'HS384' },
        },
        { alg: 'HS512', kid: 'x' },
        { kid: 'y' },
      ],
    ];
    for (const [name, options, access, refresh] of cases) {
      const pair = await createTokenAuth(options).issue({ userId: 'u' });
      expect(decode(pair.accessToken).header, name).to.deep.equal({ ...access, typ: 'at+jwt' });
      expect(decode(pair.refreshToken).header.kid, name).to.equal(refresh.kid);
    }
  });

  it('takes kids of 1 to 64 printable ASCII characters, and frozen rings, without mutating them', () => {
    for (const kid of ['k', '~'.repeat(64), '2026-06-01#1', 'a/b+c=d', '{"x"}']) {
      expect(() => createTokenAuth({ ...valid(), accessToken: { keys: [{ kid, secret: A0 }] } }), kid).to.not.throw();
    }
    const keys = Object.freeze([Object.freeze({ kid: 'a0', secret: A0 })]);
    const options = { ...valid(), accessToken: Object.freeze({ keys }) };
    createTokenAuth(options);
    expect(keys).to.deep.equal([{ kid: 'a0', secret: A0 }]);
  });

  type Mutation = (o: TokenAuthOptions) => unknown;
  const access =
    (keys: unknown, extra: object = {}): Mutation =>
    (o) =>
      (o.accessToken = { keys: keys as never, ...extra });
  const refresh =
    (keys: unknown, extra: object = {}): Mutation =>
    (o) =>
      (o.refreshToken = { keys: keys as never, ...extra });
  const badKid = (kid: unknown, got: string): [string, Mutation, string] => [
    `kid ${got}`,
    access([
      { kid: 'a0', secret: A0 },
      { kid, secret: A1 },
    ]),
    `accessToken.keys[1].kid must be 1 to 64 printable ASCII characters, no spaces (got ${got})`,
  ];
  const bad: Array<[string, Mutation, string]> = [
    [
      'keys and secret',
      access([{ kid: 'a0', secret: A0 }], { secret: A1 }),
      'accessToken takes either keys or secret, not both',
    ],
    [
      'keys and privateKey',
      access([{ kid: 'a0', secret: A0 }], { privateKey: ec }),
      'accessToken takes either keys or privateKey, not both',
    ],
    [
      'refresh keys and secret',
      refresh([{ kid: 'r0', secret: R0 }], { secret: R1 }),
      'refreshToken takes either keys or secret, not both',
    ],
    [
      'an empty ring',
      access([]),
      'accessToken.keys must be a non-empty array of { kid, secret } or of { kid, privateKey }; the first signs',
    ],
    [
      'a ring that is not an array',
      access({ kid: 'a0', secret: A0 }),
      'accessToken.keys must be a non-empty array of { kid, secret } or of { kid, privateKey }; the first signs',
    ],
    [
      'an empty refresh ring',
      refresh([]),
      'refreshToken.keys must be a non-empty array of { kid, secret }; the first signs',
    ],
    [
      'an entry that is not an object',
      access([{ kid: 'a0', secret: A0 }, A1]),
      'accessToken.keys[1] must be an object { kid, secret or privateKey }',
    ],
    [
      'a typo in an entry',
      access([{ kid: 'a0', secrete: A0 }]),
      'unknown option accessToken.keys[0].secrete (known: kid, secret, privateKey, legacy)',
    ],
    [
      'a private key in a refresh ring',
      refresh([{ kid: 'r0', privateKey: ec }]),
      'unknown option refreshToken.keys[0].privateKey (known: kid, secret, legacy)',
    ],
    badKid(undefined, 'undefined'),
    badKid(7, 'number'),
    badKid('', '""'),
    badKid('k'.repeat(65), `"${'k'.repeat(65)}"`),
    badKid('a 1', '"a 1"'),
    badKid('ké', '"ké"'),
    badKid('a\n', '"a\\n"'),
    [
      'a kid twice',
      access([
        { kid: 'a0', secret: A0 },
        { kid: 'a0', secret: A1 },
      ]),
      'accessToken.keys[1].kid "a0" is already the kid of accessToken.keys[0]',
    ],
    [
      'a short secret',
      access([
        { kid: 'a0', secret: A0 },
        { kid: 'a1', secret: 'x'.repeat(11) },
      ]),
      'accessToken.keys[1].secret must be at least 32 bytes for HS256 (got 11)',
    ],
    [
      'HS512 with 32-byte secrets',
      access([{ kid: 'a0', secret: A0 }], { algorithm: 'HS512' }),
      'accessToken.keys[0].secret must be at least 64 bytes for HS512 (got 32)',
    ],
    [
      'a short refresh secret',
      refresh([{ kid: 'r0', secret: Buffer.alloc(31, 1) }]),
      'refreshToken.keys[0].secret must be at least 32 bytes for HS256 (got 31)',
    ],
    [
      'a PEM key as a ring secret (algorithm confusion)',
      access([
        { kid: 'a0', secret: A0 },
        { kid: 'a1', secret: createPublicKey(ec).export({ type: 'spki', format: 'pem' }) },
      ]),
      'accessToken.keys[1].secret looks like a PEM key; an HMAC secret must be random bytes (use privateKey for a key pair)',
    ],
    [
      'an entry without key material',
      access([{ kid: 'a0', secret: A0 }, { kid: 'a1' }]),
      'accessToken.keys[1].secret is required: a string, Buffer or secret KeyObject',
    ],
    [
      'an entry with a secret and a private key',
      access([
        { kid: 'a0', secret: A0 },
        { kid: 'a1', secret: A1, privateKey: ec },
      ]),
      'accessToken.keys[1] takes either secret or privateKey, not both',
    ],
    [
      'a private key in a secret ring',
      access([
        { kid: 'a0', secret: A0 },
        { kid: 'e', privateKey: ec },
      ]),
      'accessToken.keys[1] has a privateKey but accessToken.keys[0] a secret: the keys of a ring share one accessToken.algorithm',
    ],
    [
      'a secret in a private-key ring',
      access([
        { kid: 'e', privateKey: ec },
        { kid: 'a0', secret: A0 },
      ]),
      'accessToken.keys[1] has a secret but accessToken.keys[0] a privateKey: the keys of a ring share one accessToken.algorithm',
    ],
    [
      'a second key on another curve',
      access([
        { kid: 'e', privateKey: ec },
        { kid: 'f', privateKey: ec384 },
      ]),
      'accessToken.keys[1].privateKey must be on curve prime256v1 for ES256 (got secp384r1)',
    ],
    [
      'a short RSA key',
      access(
        [
          { kid: 'r', privateKey: rsa },
          { kid: 's', privateKey: rsa1024 },
        ],
        { algorithm: 'RS256' },
      ),
      'accessToken.keys[1].privateKey must be at least 2048 bits for RS256 (got 1024)',
    ],
    [
      'a public key PEM as a private key',
      access([{ kid: 'e', privateKey: createPublicKey(ec).export({ type: 'spki', format: 'pem' }) }]),
      'accessToken.keys[0].privateKey is not a readable private key',
    ],
    [
      'a public KeyObject as a private key',
      access([{ kid: 'e', privateKey: createPublicKey(ec) }]),
      'accessToken.keys[0].privateKey must be a private key (got a public key)',
    ],
    [
      'a private-key ring entry without its key',
      access([{ kid: 'e', privateKey: ec }, { kid: 'f' }]),
      'accessToken.keys[1].privateKey is required: a PEM string or a private KeyObject',
    ],
    [
      'RS256 over a secret ring',
      access([{ kid: 'a0', secret: A0 }], { algorithm: 'RS256' }),
      'accessToken.algorithm RS256 signs with accessToken.keys[0].privateKey, not a secret; use HS256/HS384/HS512 with accessToken.keys[0].secret',
    ],
    [
      'HS256 over a private-key ring',
      access([{ kid: 'e', privateKey: ec }], { algorithm: 'HS256' }),
      'accessToken.algorithm HS256 signs with accessToken.keys[0].secret, not a private key; use RS*, PS* or ES* with accessToken.keys[0].privateKey',
    ],
    [
      'alg none over a ring',
      access([{ kid: 'a0', secret: A0 }], { algorithm: 'none' }),
      'accessToken.algorithm "none" is not supported',
    ],
    [
      'RS256 for a refresh ring',
      refresh([{ kid: 'r0', secret: R0 }], { algorithm: 'RS256' }),
      'refreshToken.algorithm "RS256" is not supported',
    ],
    [
      'one secret under two kids',
      access([
        { kid: 'a0', secret: A0 },
        { kid: 'a1', secret: Buffer.from(A0) },
      ]),
      'accessToken.keys[1].secret is the same key as accessToken.keys[0].secret',
    ],
    [
      'one private key under two kids',
      access([
        { kid: 'e', privateKey: ec },
        { kid: 'f', privateKey: pem(ec) },
      ]),
      'accessToken.keys[1].privateKey is the same key as accessToken.keys[0].privateKey',
    ],
    [
      'a secret in both rings',
      (o) => {
        o.refreshToken = { keys: [{ kid: 'r0', secret: A1 }] };
      },
      'accessToken.keys[1].secret and refreshToken.keys[0].secret must differ',
    ],
    [
      'a single access secret in the refresh ring',
      (o) => {
        o.accessToken = { secret: R1 };
      },
      'accessToken.secret and refreshToken.keys[1].secret must differ',
    ],
    [
      'an access ring secret as the single refresh secret',
      (o) => {
        o.refreshToken = { secret: A0 };
      },
      'accessToken.keys[0].secret and refreshToken.secret must differ',
    ],
    [
      'a kid in both rings',
      (o) => {
        o.refreshToken = {
          keys: [
            { kid: 'r0', secret: R0 },
            { kid: 'a1', secret: R1 },
          ],
        };
      },
      'kid "a1" is in both accessToken.keys and refreshToken.keys; give each ring its own kids',
    ],
    [
      'legacy that is not a boolean',
      access([{ kid: 'a0', secret: A0, legacy: 'yes' }]),
      'accessToken.keys[0].legacy must be true or false',
    ],
    [
      'two legacy keys',
      access([
        { kid: 'a0', secret: A0, legacy: true },
        { kid: 'a1', secret: A1, legacy: true },
      ]),
      'accessToken.keys[1].legacy: only one key of a ring may verify tokens without a kid (accessToken.keys[0] does)',
    ],
  ];

  it('refuses each bad ring at construction, naming the option', () => {
    for (const [name, mutate, message] of bad) {
      const options = valid();
      mutate(options);
      let error: unknown;
      try {
        createTokenAuth(options);
      } catch (caught) {
        error = caught;
      }
      expect(error, name).to.be.instanceOf(OptionError);
      expect((error as OptionError).code, name).to.equal('ERR_ETP_OPTION');
      expect((error as Error).message, name).to.equal(`express-token-pair: ${message}`);
      for (const secret of [A0, A1, R0, R1]) expect((error as Error).message, name).to.not.include(secret);
    }
  });
});
