/**
 * DPoP proof verification (issue 16, RFC 9449 §4.3): every check, each with
 * a proof that passes all the others, so removing the check makes its test
 * fail. Proofs are signed here with node:crypto from raw JSON, so headers
 * and payloads can be spelled any way (duplicate names, odd types).
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { expect } from 'chai';
import { OptionError, TokenInvalidError, TokenPairError } from '../lib/errors.js';
import {
  accessTokenHash,
  dpopChallenge,
  dpopChallengeFor,
  DpopKeyCache,
  InvalidDpopProofError,
  UseDpopNonceError,
  verifyDpopProof,
  type DpopAlgorithm,
  type DpopExpectation,
} from '../lib/dpop/index.js';

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z
const URL_ = 'https://api.example.com/orders';

interface Pair {
  alg: DpopAlgorithm;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

function pair(alg: DpopAlgorithm): Pair {
  const { privateKey, publicKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : alg.startsWith('ES')
        ? generateKeyPairSync('ec', {
            namedCurve: ({ ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as Record<string, string>)[alg]!,
          })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { alg, privateKey, jwk: publicKey.export({ format: 'jwk' }) };
}

const keys = {
  ES256: pair('ES256'),
  ES384: pair('ES384'),
  ES512: pair('ES512'),
  EdDSA: pair('EdDSA'),
  RS256: pair('RS256'),
  PS256: { ...pair('RS256'), alg: 'PS256' as const },
};

const b64 = (text: string): string => Buffer.from(text).toString('base64url');

/** A JWS over the given header and payload JSON, exactly as written, signed by `key` with `alg`. */
function signRaw(alg: string, privateKey: KeyObject, header: string, payload: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const data = Buffer.from(input);
  let signature: Buffer;
  if (alg === 'EdDSA') signature = sign(null, data, privateKey);
  else if (alg.startsWith('ES')) {
    signature = sign(`sha${alg.slice(2)}`, data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  } else if (alg === 'PS256') {
    signature = sign('sha256', data, {
      key: privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
    });
  } else signature = sign('sha256', data, privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

let counter = 0;
const claims = (): Record<string, unknown> => ({ jti: `jti-${++counter}`, htm: 'GET', htu: URL_, iat: NOW });

/**
 * A proof by `key` (ES256 by default) with the standard header and claims,
 * `header` and `payload` merged over them (an `undefined` value deletes).
 */
function proof(
  options: { key?: Pair; header?: Record<string, unknown>; payload?: Record<string, unknown>; alg?: string } = {},
): string {
  const key = options.key ?? keys.ES256;
  const header = { typ: 'dpop+jwt', alg: options.alg ?? key.alg, jwk: key.jwk, ...options.header };
  const payload = { ...claims(), ...options.payload };
  return signRaw(options.alg ?? key.alg, key.privateKey, JSON.stringify(header), JSON.stringify(payload));
}

const expectation = (over: Partial<DpopExpectation> = {}): DpopExpectation => ({
  method: 'GET',
  url: URL_,
  now: NOW,
  ...over,
});

function refusal(run: () => unknown): TokenPairError {
  try {
    run();
  } catch (error) {
    if (error instanceof TokenPairError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** Asserts the proof is refused as invalid_dpop_proof with a message matching `message`. */
function refused(token: string, message: RegExp, over: Partial<DpopExpectation> = {}): void {
  const error = refusal(() => verifyDpopProof(token, expectation(over)));
  expect(error, error.message).to.be.instanceOf(InvalidDpopProofError);
  expect(error.code).to.equal('invalid_dpop_proof');
  expect(error.status).to.equal(401);
  expect(error.message).to.match(message);
}

describe('DPoP proofs (RFC 9449 §4.3)', () => {
  describe('the RFC 9449 examples', () => {
    // RFC 9449 Figure 3 (token request) and Figure 13 (resource request, with the access token of §7.1).
    const header =
      'eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19';
    const tokenProof = `${header}.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg`;
    const resourceProof = `${header}.eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIjoiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0ZWRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNFc05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71EOptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA`;
    const accessToken = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
    const jkt = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';
    const at = 1562262620;

    it('verifies the token request proof of Figure 3 and gives the jkt of §6.1', () => {
      const verified = verifyDpopProof(tokenProof, {
        method: 'POST',
        url: 'https://server.example.com/token',
        now: at,
      });
      expect(verified).to.deep.equal({
        jkt,
        alg: 'ES256',
        jti: '-BwC3ESc6acc2lTc',
        htm: 'POST',
        htu: 'https://server.example.com/token',
        iat: 1562262616,
      });
    });

    it('verifies the resource request proof of Figure 13 with its access token, and with no other', () => {
      const expect_ = { method: 'GET', url: 'https://resource.example.org/protectedresource', now: at, jkt };
      expect(verifyDpopProof(resourceProof, { ...expect_, accessToken }).jti).to.equal('e1j3V_bKic8-LAEB');
      refused(resourceProof, /ath/, { ...expect_, accessToken: `${accessToken}x` });
      expect(accessTokenHash(accessToken)).to.equal('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
    });

    it('refuses them for another method, URL or time', () => {
      refused(tokenProof, /htm/, { method: 'GET', url: 'https://server.example.com/token', now: at });
      refused(tokenProof, /htu/, { method: 'POST', url: 'https://server.example.com/other', now: at });
      refused(tokenProof, /iat/, { method: 'POST', url: 'https://server.example.com/token', now: at + 120 });
    });
  });

  describe('a good proof', () => {
    for (const key of Object.values(keys)) {
      it(`verifies with ${key.alg}`, () => {
        const verified = verifyDpopProof(proof({ key }), expectation());
        expect(verified.alg).to.equal(key.alg);
        expect(verified.jkt).to.match(/^[A-Za-z0-9_-]{43}$/);
        expect(verified.htu).to.equal(URL_);
      });
    }

    it('returns the nonce it carries', () => {
      expect(verifyDpopProof(proof({ payload: { nonce: 'n1' } }), expectation()).nonce).to.equal('n1');
    });
  });

  describe('shape', () => {
    const good = proof();
    const cases: Array<[string, unknown]> = [
      ['not a string', 42],
      ['two segments', good.split('.').slice(0, 2).join('.')],
      ['four segments', `${good}.x`],
      ['an empty signature', good.slice(0, good.lastIndexOf('.') + 1)],
      ['a character outside base64url', `${good}=`],
      ['two DPoP headers joined by Node', `${good}, ${good}`],
      ['white space around it', ` ${good}`],
      ['longer than 8192 characters', proof({ payload: { pad: 'x'.repeat(8200) } })],
    ];
    for (const [name, value] of cases) {
      it(`refuses ${name}`, () => refused(value as string, /not one compact JWS/));
    }
  });

  describe('header', () => {
    it('refuses a header that is not one JSON object', () => {
      const [, payload, signature] = proof().split('.');
      for (const header of ['[1]', '"x"', 'null', '{', '']) {
        refused(`${b64(header) || 'AA'}.${payload}.${signature}`, /header is not one JSON object/);
      }
    });

    for (const typ of [undefined, 'JWT', 'at+jwt', 'DPoP+JWT', 'application/dpop+jwt', ' dpop+jwt', ['dpop+jwt']]) {
      it(`refuses typ ${JSON.stringify(typ)}`, () => refused(proof({ header: { typ } }), /typ must be dpop\+jwt/));
    }

    for (const alg of ['none', 'HS256', 'ES256K', 'RS512', 'Ed25519', 'es256', undefined]) {
      it(`refuses alg ${String(alg)}`, () => {
        const token = proof({ header: { alg } });
        refused(token, /alg is not a supported asymmetric algorithm/);
      });
    }

    it('refuses an HMAC proof whose jwk is the shared secret', () => {
      const token = signRaw(
        'ES256',
        keys.ES256.privateKey,
        JSON.stringify({ typ: 'dpop+jwt', alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } }),
        JSON.stringify(claims()),
      );
      refused(token, /alg is not a supported/);
    });

    it('refuses an algorithm outside the allowed list, whoever signs', () => {
      refused(proof({ key: keys.EdDSA }), /alg EdDSA is not accepted here/, { algorithms: ['ES256'] });
      expect(verifyDpopProof(proof({ key: keys.EdDSA }), expectation({ algorithms: ['EdDSA'] })).alg).to.equal('EdDSA');
    });

    it('refuses a header with crit', () => {
      refused(proof({ header: { crit: ['exp'], exp: 1 } }), /crit/);
    });

    it('refuses a header without jwk, or whose jwk is not an object', () => {
      for (const jwk of [undefined, 'key', ['x'], null]) refused(proof({ header: { jwk } }), /has no jwk/);
    });

    it('refuses a header naming a member twice, even spelled with an escape', () => {
      const jwk = JSON.stringify(keys.ES256.jwk);
      for (const header of [
        `{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":${jwk}}`,
        `{"typ":"dpop+jwt","alg":"ES256","\\u0061lg":"ES256","jwk":${jwk}}`,
        `{"typ":"JWT","alg":"ES256","jwk":${jwk},"typ":"dpop+jwt"}`,
      ]) {
        refused(signRaw('ES256', keys.ES256.privateKey, header, JSON.stringify(claims())), /header is not one JSON/);
      }
    });

    it('reads a header whose JSON has white space, escapes and nested arrays', () => {
      const header = `{ "typ" : "dpop\\u002bjwt", "x5c": [["a"], {"a": 1, "b": [1, {"a": 2}]}], "alg":"ES256", "jwk": ${JSON.stringify(keys.ES256.jwk)} }`;
      const token = signRaw('ES256', keys.ES256.privateKey, header, JSON.stringify(claims()));
      expect(verifyDpopProof(token, expectation()).alg).to.equal('ES256');
    });
  });

  describe('signature', () => {
    it('refuses a proof signed by another key than its jwk', () => {
      const token = signRaw(
        'ES256',
        pair('ES256').privateKey,
        JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: keys.ES256.jwk }),
        JSON.stringify(claims()),
      );
      refused(token, /signature is invalid/);
    });

    it('refuses a payload swapped in from another proof of the same key', () => {
      const [header, , signature] = proof().split('.');
      const other = proof({ payload: { htu: URL_ } }).split('.')[1];
      refused(`${header}.${other}.${signature}`, /signature is invalid/);
    });

    for (const key of Object.values(keys)) {
      it(`refuses a ${key.alg} signature with a bit flipped, or cut short`, () => {
        const token = proof({ key });
        const dot = token.lastIndexOf('.');
        const bytes = Buffer.from(token.slice(dot + 1), 'base64url');
        bytes[5]! ^= 1;
        refused(`${token.slice(0, dot + 1)}${bytes.toString('base64url')}`, /signature is invalid/);
        refused(`${token.slice(0, dot + 1)}${bytes.subarray(1).toString('base64url')}`, /signature is invalid/);
      });
    }

    it('refuses an ES256 signature in DER form', () => {
      const input = proof().split('.').slice(0, 2).join('.');
      const der = sign('sha256', Buffer.from(input), keys.ES256.privateKey);
      refused(`${input}.${der.toString('base64url')}`, /signature is invalid/);
    });

    it('refuses a PS256 proof signed with RS256 padding, and the other way round', () => {
      refused(proof({ key: keys.RS256, alg: 'RS256', header: { alg: 'PS256' } }), /signature is invalid/);
      const pss = signRaw(
        'PS256',
        keys.RS256.privateKey,
        JSON.stringify({ typ: 'dpop+jwt', alg: 'RS256', jwk: keys.RS256.jwk }),
        JSON.stringify(claims()),
      );
      refused(pss, /signature is invalid/);
    });
    it('refuses a PS256 signature whose salt is not the hash length (RFC 7518 §3.5)', () => {
      const input = proof({ key: keys.PS256 }).split('.').slice(0, 2).join('.');
      for (const saltLength of [0, 20, 64]) {
        const signature = sign('sha256', Buffer.from(input), {
          key: keys.PS256.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength,
        });
        refused(`${input}.${signature.toString('base64url')}`, /signature is invalid/);
      }
    });
  });

  describe('payload', () => {
    const header = JSON.stringify({ typ: 'dpop+jwt', alg: 'ES256', jwk: keys.ES256.jwk });
    const raw = (payload: string): string => signRaw('ES256', keys.ES256.privateKey, header, payload);

    it('refuses a payload that is not one JSON object, or not UTF-8', () => {
      for (const payload of ['[]', '"x"', '1', '{"jti":', 'null']) refused(raw(payload), /payload is not one JSON/);
      const [h] = proof().split('.');
      const bytes = Buffer.concat([Buffer.from('{"jti":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const input = `${h}.${bytes.toString('base64url')}`;
      const signature = sign('sha256', Buffer.from(input), { key: keys.ES256.privateKey, dsaEncoding: 'ieee-p1363' });
      refused(`${input}.${signature.toString('base64url')}`, /payload is not one JSON/);
    });

    it('refuses a claim given twice (a parser that keeps the first would read another request)', () => {
      refused(raw(`{"jti":"a","htm":"POST","htm":"GET","htu":"${URL_}","iat":${NOW}}`), /payload is not one JSON/);
      refused(raw(`{"jti":"a","htm":"GET","h\\u0074m":"GET","htu":"${URL_}","iat":${NOW}}`), /payload is not one JSON/);
      const once = raw(`{"jti":"a","htm":"GET","htu":"${URL_}","iat":${NOW},"x":{"htm":"POST"}}`);
      expect(verifyDpopProof(once, expectation()).htm).to.equal('GET');
    });

    const claimCases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['no jti', { jti: undefined }, /jti/],
      ['a number jti', { jti: 7 }, /jti/],
      ['an empty jti', { jti: '' }, /jti/],
      ['a jti of 129 characters', { jti: 'j'.repeat(129) }, /jti/],
      ['no htm', { htm: undefined }, /htm must be a string/],
      ['htm in lower case', { htm: 'get' }, /htm does not match/],
      ['htm of another method', { htm: 'POST' }, /htm does not match/],
      ['no htu', { htu: undefined }, /htu must be a string/],
      ['an htu of another path', { htu: `${URL_}/1` }, /htu does not match/],
      ['an htu of another host', { htu: 'https://evil.example.com/orders' }, /htu does not match/],
      ['an htu over http', { htu: 'http://api.example.com/orders' }, /htu does not match/],
      ['a relative htu', { htu: '/orders' }, /htu does not match/],
      ['no iat', { iat: undefined }, /iat must be a number/],
      ['a string iat', { iat: String(NOW) }, /iat must be a number/],
      ['an iat 61 s old', { iat: NOW - 61 }, /iat is outside/],
      ['an iat 60.5 s old', { iat: NOW - 60.5 }, /iat is outside/],
      ['an iat 61 s ahead', { iat: NOW + 61 }, /iat is outside/],
      ['an iat in milliseconds', { iat: NOW * 1000 }, /iat is outside/],
    ];
    for (const [name, payload, message] of claimCases) {
      it(`refuses ${name}`, () => refused(proof({ payload }), message));
    }

    it('accepts a jti of 128 characters, iat 60 s either side, and a fractional iat', () => {
      for (const payload of [{ jti: 'j'.repeat(128) }, { iat: NOW - 60 }, { iat: NOW + 60 }, { iat: NOW - 0.5 }]) {
        expect(() => verifyDpopProof(proof({ payload }), expectation())).not.to.throw();
      }
    });

    it('takes the iat window from the expectation', () => {
      refused(proof({ payload: { iat: NOW - 6 } }), /iat is outside/, { iatWindow: 5 });
      expect(() => verifyDpopProof(proof({ payload: { iat: NOW - 5 } }), expectation({ iatWindow: 5 }))).not.to.throw();
      expect(() =>
        verifyDpopProof(proof({ payload: { iat: NOW - 100 } }), expectation({ iatWindow: 120 })),
      ).not.to.throw();
    });

    it('compares htm case-sensitively with the method as received', () => {
      refused(proof({ payload: { htm: 'GET' } }), /htm/, { method: 'get' });
      expect(() =>
        verifyDpopProof(proof({ payload: { htm: 'PATCH' } }), expectation({ method: 'PATCH' })),
      ).not.to.throw();
    });
  });

  describe('ath (the access token hash)', () => {
    const token = 'an.access.token';
    it('with an access token: requires the ath of exactly that token', () => {
      refused(proof(), /ath/, { accessToken: token });
      refused(proof({ payload: { ath: accessTokenHash(`${token}.`) } }), /ath/, { accessToken: token });
      refused(proof({ payload: { ath: [accessTokenHash(token)] } }), /ath/, { accessToken: token });
      const ok = proof({ payload: { ath: accessTokenHash(token) } });
      expect(() => verifyDpopProof(ok, expectation({ accessToken: token }))).not.to.throw();
    });

    it('without one (login, refresh): does not look at ath, as RFC 9449 §4.3 lists no such check', () => {
      expect(() => verifyDpopProof(proof({ payload: { ath: 'anything' } }), expectation())).not.to.throw();
    });
  });

  describe('key binding (cnf.jkt)', () => {
    it('refuses a proof by another key than the token is bound to, as invalid_token', () => {
      const jkt = verifyDpopProof(proof(), expectation()).jkt;
      const error = refusal(() => verifyDpopProof(proof({ key: keys.EdDSA }), expectation({ jkt })));
      expect(error).to.be.instanceOf(TokenInvalidError);
      expect(error.message).to.equal('access token is bound to another DPoP key');
      expect(verifyDpopProof(proof(), expectation({ jkt })).jkt).to.equal(jkt);
    });
  });

  describe('nonce (RFC 9449 §8-9)', () => {
    function nonceRefusal(token: string, nonce: DpopExpectation['nonce']): TokenPairError {
      return refusal(() => verifyDpopProof(token, expectation({ nonce })));
    }

    it('refuses a proof without the required nonce, or with another, as use_dpop_nonce', () => {
      for (const payload of [{}, { nonce: 'old' }, { nonce: 7 }, { nonce: ['n1'] }]) {
        const error = nonceRefusal(proof({ payload }), 'n1');
        expect(error).to.be.instanceOf(UseDpopNonceError);
        expect(error.code).to.equal('use_dpop_nonce');
        expect(error.status).to.equal(401);
        expect(error.message).to.equal('DPoP proof must carry the nonce sent in DPoP-Nonce');
      }
      expect(verifyDpopProof(proof({ payload: { nonce: 'n1' } }), expectation({ nonce: 'n1' })).nonce).to.equal('n1');
    });

    it('asks a function which nonces are still good', () => {
      const good = (nonce: string): boolean => nonce === 'current' || nonce === 'previous';
      expect(() =>
        verifyDpopProof(proof({ payload: { nonce: 'previous' } }), expectation({ nonce: good })),
      ).not.to.throw();
      expect(nonceRefusal(proof({ payload: { nonce: 'older' } }), good)).to.be.instanceOf(UseDpopNonceError);
    });

    it('answers invalid_dpop_proof, not use_dpop_nonce, for a proof that is bad in another way', () => {
      expect(nonceRefusal(proof({ payload: { htm: 'POST' } }), 'n1')).to.be.instanceOf(InvalidDpopProofError);
      expect(nonceRefusal(proof({ payload: { iat: NOW - 100 } }), 'n1')).to.be.instanceOf(InvalidDpopProofError);
      const token = proof();
      const forged = `${token.slice(0, -4)}AAAA`;
      expect(nonceRefusal(forged, 'n1')).to.be.instanceOf(InvalidDpopProofError);
    });
  });

  describe('expectation checks (the caller’s bugs)', () => {
    const cases: Array<[string, Partial<DpopExpectation>]> = [
      ['no algorithms', { algorithms: [] }],
      ['an HMAC algorithm', { algorithms: ['HS256' as DpopAlgorithm] }],
      ['none', { algorithms: ['none' as DpopAlgorithm] }],
      ['a negative window', { iatWindow: -1 }],
      ['a NaN now', { now: Number.NaN }],
    ];
    for (const [name, over] of cases) {
      it(`throws an OptionError for ${name}`, () => {
        expect(() => verifyDpopProof(proof(), expectation(over))).to.throw(OptionError, /express-token-pair: dpop/);
      });
    }

    it('refuses every proof when the request URL cannot be compared', () => {
      refused(proof(), /htu does not match/, { url: '/orders' });
    });
  });

  describe('errors and the WWW-Authenticate challenge', () => {
    it('are TokenPairErrors with stable codes', () => {
      const error = new InvalidDpopProofError('x');
      expect(error).to.be.instanceOf(TokenPairError);
      expect(error.name).to.equal('InvalidDpopProofError');
      expect(new UseDpopNonceError('y').name).to.equal('UseDpopNonceError');
    });

    it('builds the challenge RFC 9449 §7.1 shows', () => {
      expect(dpopChallenge({ algorithms: ['ES256', 'PS256'] })).to.equal('DPoP algs="ES256 PS256"');
      expect(
        dpopChallenge({ error: 'invalid_token', description: 'Invalid DPoP key binding', algorithms: ['ES256'] }),
      ).to.equal('DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"');
    });

    it('maps the DPoP errors, and only them', () => {
      expect(dpopChallengeFor(new InvalidDpopProofError('DPoP proof htm does not match'), ['ES256'])).to.equal(
        'DPoP error="invalid_dpop_proof", error_description="DPoP proof htm does not match", algs="ES256"',
      );
      expect(dpopChallengeFor(new UseDpopNonceError('m'), ['ES256', 'EdDSA'])).to.equal(
        'DPoP error="use_dpop_nonce", error_description="m", algs="ES256 EdDSA"',
      );
      expect(dpopChallengeFor(new TokenInvalidError('x'), ['ES256'])).to.equal(undefined);
      expect(dpopChallengeFor(new Error('x'), ['ES256'])).to.equal(undefined);
    });

    it('keeps quotes, backslashes and line breaks out of the header', () => {
      const header = dpopChallenge({ error: 'e', description: 'a"b\\c\r\nd\u00e9', algorithms: ['ES256'] });
      expect(header).to.equal('DPoP error="e", error_description="abcd", algs="ES256"');
    });
  });

  describe('the parsed-key cache', () => {
    it('checks the allowed algorithms on every proof, cached key or not', () => {
      const keyCache = new DpopKeyCache();
      verifyDpopProof(proof(), expectation({ keyCache }));
      refused(proof(), /alg ES256 is not accepted here/, { keyCache, algorithms: ['EdDSA'] });
    });

    it('never caches a refused header', () => {
      const keyCache = new DpopKeyCache();
      refused(proof({ header: { typ: 'JWT' } }), /typ/, { keyCache });
      expect(keyCache.size).to.equal(0);
    });
  });
});
