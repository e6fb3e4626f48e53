/**
 * The proof's key (RFC 9449 §4.2-4.3, RFC 7638): public members only, of the
 * type and curve `alg` names, a real point, an RSA modulus of 2048 bits or
 * more; its thumbprint as RFC 7638 and jose compute it; interop with proofs
 * jose signs; and the bounded cache of parsed keys.
 */
import { generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { OptionError } from '../lib/errors.js';
import {
  DpopKeyCache,
  InvalidDpopProofError,
  jwkThumbprint,
  verifyDpopProof,
  type DpopAlgorithm,
} from '../lib/dpop/index.js';

const NOW = 1_767_225_600;
const URL_ = 'https://api.example.com/orders';
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An ES256 (or `alg`) proof whose header carries `jwk` as given, signed by `privateKey`. */
function proofWith(jwk: unknown, privateKey: KeyObject, alg = 'ES256'): string {
  const input = `${b64({ typ: 'dpop+jwt', alg, jwk })}.${b64({ jti: 'j1', htm: 'GET', htu: URL_, iat: NOW })}`;
  const data = Buffer.from(input);
  const signature =
    alg === 'EdDSA'
      ? sign(null, data, privateKey)
      : alg.startsWith('ES')
        ? sign(`sha${alg.slice(2)}`, data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
        : sign('sha256', data, privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

const verify = (token: string): ReturnType<typeof verifyDpopProof> =>
  verifyDpopProof(token, { method: 'GET', url: URL_, now: NOW, keyCache: new DpopKeyCache() });

function refusedWith(token: string, message: RegExp): void {
  expect(() => verify(token)).to.throw(InvalidDpopProofError, message);
}

describe('DPoP proof keys', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecJwk = ec.publicKey.export({ format: 'jwk' });
  const ecPrivate = ec.privateKey.export({ format: 'jwk' });

  describe('jwk checks', () => {
    it('accepts the public key, with kid, use sig, alg ES256 and WebCrypto’s key_ops and ext', () => {
      expect(verify(proofWith(ecJwk, ec.privateKey)).alg).to.equal('ES256');
      const decorated = { ...ecJwk, kid: 'k1', use: 'sig', alg: 'ES256', key_ops: ['verify'], ext: true };
      expect(verify(proofWith(decorated, ec.privateKey)).jkt).to.equal(verify(proofWith(ecJwk, ec.privateKey)).jkt);
    });

    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']) {
      it(`refuses a jwk carrying the private member ${member}`, () => {
        const value = member === 'd' ? ecPrivate.d : member === 'oth' ? [] : 'AQAB';
        refusedWith(proofWith({ ...ecJwk, [member]: value }, ec.privateKey), new RegExp(`private member ${member}$`));
      });
    }

    it('refuses a private member even when it is null or empty', () => {
      refusedWith(proofWith({ ...ecJwk, d: null }, ec.privateKey), /private member d/);
      refusedWith(proofWith({ ...ecJwk, d: '' }, ec.privateKey), /private member d/);
    });

    it('refuses a key type or curve other than alg names', () => {
      const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
      refusedWith(proofWith(p384.publicKey.export({ format: 'jwk' }), p384.privateKey), /crv must be P-256 for ES256/);
      refusedWith(proofWith(ecJwk, ec.privateKey, 'ES384'), /crv must be P-384 for ES384/);
      const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
      refusedWith(proofWith(secp256k1.publicKey.export({ format: 'jwk' }), secp256k1.privateKey), /crv must be P-256/);
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      refusedWith(proofWith(rsa.publicKey.export({ format: 'jwk' }), ec.privateKey), /kty must be EC for ES256/);
      refusedWith(proofWith(ecJwk, rsa.privateKey, 'RS256'), /kty must be RSA for RS256/);
      const ed448 = generateKeyPairSync('ed448');
      refusedWith(
        proofWith(ed448.publicKey.export({ format: 'jwk' }), ed448.privateKey, 'EdDSA'),
        /crv must be Ed25519/,
      );
      refusedWith(proofWith({ ...ecJwk, kty: 'ec' }, ec.privateKey), /kty must be EC/);
    });

    it('refuses a jwk whose own alg or use says otherwise', () => {
      refusedWith(proofWith({ ...ecJwk, alg: 'ES384' }, ec.privateKey), /jwk alg differs/);
      refusedWith(proofWith({ ...ecJwk, use: 'enc' }, ec.privateKey), /jwk use must be sig/);
    });

    it('refuses coordinates that are missing, short, long, padded or not canonical base64url', () => {
      const x = ecJwk.x!;
      const last = x.at(-1)!;
      // The last of 43 characters carries 4 bits: a neighbour letter with the same top bits decodes to the same bytes.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const twin = alphabet[alphabet.indexOf(last) ^ 1]!;
      for (const value of [
        undefined,
        7,
        x.slice(1),
        `${x}A`,
        `${x}=`,
        `${x.slice(0, -1)}${twin}`,
        x.replace(/.$/, '+'),
      ]) {
        refusedWith(proofWith({ ...ecJwk, x: value }, ec.privateKey), /member x is not a canonical base64url/);
      }
    });

    it('refuses an EC point that is not on the curve', () => {
      const y = Buffer.from(ecJwk.y!, 'base64url');
      y[31]! ^= 1;
      refusedWith(proofWith({ ...ecJwk, y: y.toString('base64url') }, ec.privateKey), /not a valid public key/);
    });

    it('refuses RSA keys under 2048 bits, and moduli with a leading zero byte', () => {
      const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
      refusedWith(
        proofWith(small.publicKey.export({ format: 'jwk' }), small.privateKey, 'RS256'),
        /2048 to 8192 bits \(got 1024\)/,
      );
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const jwk = rsa.publicKey.export({ format: 'jwk' });
      expect(verify(proofWith(jwk, rsa.privateKey, 'RS256')).alg).to.equal('RS256');
      const padded = Buffer.concat([Buffer.alloc(1), Buffer.from(jwk.n!, 'base64url')]).toString('base64url');
      refusedWith(proofWith({ ...jwk, n: padded }, rsa.privateKey, 'RS256'), /member n is not/);
    });

    it('refuses a jwk naming a member twice', () => {
      const header = `{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"${ecJwk.x!}","x":"${ecJwk.x!}","y":"${ecJwk.y!}"}}`;
      const input = `${Buffer.from(header).toString('base64url')}.${b64({ jti: 'j', htm: 'GET', htu: URL_, iat: NOW })}`;
      const signature = sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      refusedWith(`${input}.${signature.toString('base64url')}`, /header is not one JSON object/);
    });
  });

  describe('thumbprints (RFC 7638)', () => {
    it('gives the RFC 7638 §3.1 example’s thumbprint, whatever other members the key has', () => {
      const jwk = {
        kty: 'RSA',
        n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
        e: 'AQAB',
        alg: 'RS256',
        kid: '2011-04-29',
      };
      expect(jwkThumbprint(jwk)).to.equal('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    });

    it('agrees with jose’s calculateJwkThumbprint for EC, OKP and RSA keys', async () => {
      for (const type of ['ec', 'ed25519', 'rsa'] as const) {
        const { publicKey } =
          type === 'ec'
            ? generateKeyPairSync('ec', { namedCurve: 'P-384' })
            : type === 'rsa'
              ? generateKeyPairSync('rsa', { modulusLength: 2048 })
              : generateKeyPairSync('ed25519');
        const jwk = publicKey.export({ format: 'jwk' });
        expect(jwkThumbprint(jwk), type).to.equal(await calculateJwkThumbprint(jwk));
      }
    });

    it('throws for a key type without RFC 7638 members', () => {
      expect(() => jwkThumbprint({ kty: 'oct', k: 'AA' })).to.throw(TypeError);
      expect(() => jwkThumbprint({ kty: 'EC', crv: 'P-256', x: 'AA' })).to.throw(TypeError, /member y/);
    });
  });

  describe('interop with jose (SignJWT, exportJWK)', () => {
    const algorithms: DpopAlgorithm[] = ['ES256', 'ES384', 'ES512', 'EdDSA', 'RS256', 'PS256'];
    for (const alg of algorithms) {
      it(`verifies a ${alg} proof jose signs, and agrees on its jkt`, async () => {
        const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
        const jwk = await exportJWK(publicKey);
        const token = await new SignJWT({ htm: 'POST', htu: 'https://API.example.com:443/orders?x=1', ath: 'a' })
          .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk })
          .setJti(`jose-${alg}`)
          .setIssuedAt(NOW)
          .sign(privateKey);
        const verified = verifyDpopProof(token, { method: 'POST', url: `${URL_}?page=2`, now: NOW });
        expect(verified.jkt).to.equal(await calculateJwkThumbprint(jwk));
        expect(verified.jti).to.equal(`jose-${alg}`);
      });
    }

    it('verifies a proof made as a browser makes it: a WebCrypto P-256 key, its exported jwk as is', async () => {
      const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
        'sign',
        'verify',
      ]);
      const jwk = (await webcrypto.subtle.exportKey('jwk', pair.publicKey)) as JWK;
      expect(jwk.key_ops).to.deep.equal(['verify']);
      const token = await new SignJWT({ htm: 'GET', htu: URL_ })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
        .setJti('browser')
        .setIssuedAt(NOW)
        .sign(pair.privateKey);
      expect(verify(token).jkt).to.equal(await calculateJwkThumbprint(jwk));
    });
  });

  describe('the parsed-key cache', () => {
    it('parses a header once, and keeps at most maxKeys, dropping the least recently used', () => {
      const cache = new DpopKeyCache({ maxKeys: 2 });
      const pairs = [0, 1, 2].map(() => generateKeyPairSync('ec', { namedCurve: 'P-256' }));
      const headers = pairs.map((pair) =>
        b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: pair.publicKey.export({ format: 'jwk' }) }),
      );
      const first = cache.get(headers[0]!);
      expect(cache.get(headers[0]!)).to.equal(first);
      cache.get(headers[1]!);
      cache.get(headers[0]!); // 0 is now the most recent
      cache.get(headers[2]!); // evicts 1
      expect(cache.size).to.equal(2);
      expect(cache.get(headers[0]!)).to.equal(first);
      const second = cache.get(headers[1]!); // parsed again, evicting 2
      expect(cache.get(headers[1]!)).to.equal(second);
      expect(cache.size).to.equal(2);
    });

    it('keeps nothing with maxKeys 0, and refuses a bad maxKeys', () => {
      const cache = new DpopKeyCache({ maxKeys: 0 });
      const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: ecJwk });
      expect(cache.get(header)).not.to.equal(cache.get(header));
      expect(cache.size).to.equal(0);
      for (const maxKeys of [-1, 1.5, Number.NaN]) {
        expect(() => new DpopKeyCache({ maxKeys })).to.throw(OptionError, /maxKeys/);
      }
    });
  });
});
