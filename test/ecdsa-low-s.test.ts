/**
 * One spelling per ECDSA token (issue 18, item 13). An ECDSA signature
 * (r, s) has a twin, (r, n − s), that verifies just as well; the package
 * refuses the high-s one (s > n/2) like any forged token, and signs only
 * low-s tokens itself, so that every token it issues verifies.
 */
import { createPublicKey, generateKeyPairSync, verify as cryptoVerify } from 'node:crypto';
import { expect } from 'chai';
import { createTokenAuth, MemorySessionStore, type AsymmetricAlgorithm } from '../lib/index.js';
import { REFRESH, rejection } from './helpers/token-auth.js';

/** The curves' group orders (SEC 2), written out here so the test does not trust the package's copy. */
const curves: Array<{ algorithm: AsymmetricAlgorithm; curve: string; hash: string; n: bigint }> = [
  {
    algorithm: 'ES256',
    curve: 'P-256',
    hash: 'sha256',
    n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  },
  {
    algorithm: 'ES384',
    curve: 'P-384',
    hash: 'sha384',
    n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  },
  {
    algorithm: 'ES512',
    curve: 'P-521',
    hash: 'sha512',
    n: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
  },
];

const toBigInt = (bytes: Buffer): bigint => BigInt(`0x${bytes.toString('hex') || '0'}`);
const toBytes = (value: bigint, size: number): Buffer => Buffer.from(value.toString(16).padStart(size * 2, '0'), 'hex');

/** A token's JOSE signature as (r, s), and its twin token signed (r, n − s). */
function split(token: string, n: bigint): { s: bigint; twin: string } {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  const size = signature.length / 2;
  const s = toBigInt(signature.subarray(size));
  const twin = Buffer.concat([signature.subarray(0, size), toBytes(n - s, size)]);
  return { s, twin: `${token.slice(0, dot)}.${twin.toString('base64url')}` };
}

describe('ECDSA access tokens have one spelling (low s)', function () {
  this.timeout(60_000);

  for (const { algorithm, curve, hash, n } of curves) {
    describe(algorithm, () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const publicKey = createPublicKey(privateKey);
      const store = new MemorySessionStore();
      const auth = createTokenAuth({
        accessToken: { privateKey, algorithm },
        refreshToken: { secret: REFRESH },
        store,
      });
      after(() => store.close());

      /** Whether `token`'s signature is mathematically valid for the key (either spelling). */
      const validSignature = (token: string): boolean => {
        const dot = token.lastIndexOf('.');
        return cryptoVerify(
          hash,
          Buffer.from(token.slice(0, dot)),
          { key: publicKey, dsaEncoding: 'ieee-p1363' },
          Buffer.from(token.slice(dot + 1), 'base64url'),
        );
      };

      it('signs 200 tokens, every one low-s, and verifies each', async () => {
        for (let i = 0; i < 200; i += 1) {
          const { accessToken } = await auth.issue({ userId: `u${i}` });
          const { s } = split(accessToken, n);
          expect(s <= n / 2n, `token ${i}: s is in the upper half`).to.equal(true);
          expect(auth.verifyAccessToken(accessToken).userId).to.equal(`u${i}`);
        }
      });

      it('refuses the (r, n − s) twin of a genuine token like a forged one', async () => {
        for (let i = 0; i < 20; i += 1) {
          const { accessToken } = await auth.issue({ userId: 'twin' });
          const { twin } = split(accessToken, n);
          expect(validSignature(twin), 'the twin is a valid ECDSA signature').to.equal(true);
          expect(twin).to.not.equal(accessToken);
          const error = await rejection(() => auth.verifyAccessToken(twin));
          expect(error).to.include({ code: 'token_invalid', message: 'token is invalid', status: 401 });
          expect(auth.verifyAccessToken(accessToken).userId, 'the genuine one still passes').to.equal('twin');
        }
      });

      it('refuses signatures of the wrong length and s = 0 or s ≥ n', async () => {
        const { accessToken } = await auth.issue({ userId: 'u' });
        const dot = accessToken.lastIndexOf('.');
        const signature = Buffer.from(accessToken.slice(dot + 1), 'base64url');
        const size = signature.length / 2;
        const r = signature.subarray(0, size);
        for (const [name, bytes] of [
          ['one byte short', signature.subarray(1)],
          ['one byte long', Buffer.concat([Buffer.alloc(1), signature])],
          ['s = 0', Buffer.concat([r, Buffer.alloc(size)])],
          ['s = n', Buffer.concat([r, toBytes(n, size)])],
        ] as const) {
          const token = `${accessToken.slice(0, dot)}.${bytes.toString('base64url')}`;
          expect((await rejection(() => auth.verifyAccessToken(token))).code, name).to.equal('token_invalid');
        }
      });
    });
  }
});
