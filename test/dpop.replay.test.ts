/**
 * DPoP replay (RFC 9449 §11.1): the bounded per-instance jti cache, on an
 * injected clock, and the verifier that ties it to the proof checks.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { expect } from 'chai';
import { OptionError } from '../lib/errors.js';
import {
  createDpopVerifier,
  DpopReplayCache,
  InvalidDpopProofError,
  type DpopVerifierOptions,
} from '../lib/dpop/index.js';

const T0 = 1_767_225_600;

describe('DPoP jti replay cache', () => {
  let now = T0;
  const clock = (): number => now;
  beforeEach(() => {
    now = T0;
  });

  it('accepts a jti once', () => {
    const cache = new DpopReplayCache({ clock });
    expect(cache.check('k1', 'a', now)).to.equal('accepted');
    expect(cache.check('k1', 'a', now)).to.equal('replayed');
    expect(cache.check('k1', 'b', now)).to.equal('accepted');
  });

  it('scopes a jti to its key: another client may use the same string', () => {
    const cache = new DpopReplayCache({ clock });
    expect(cache.check('k1', 'a', now)).to.equal('accepted');
    expect(cache.check('k2', 'a', now)).to.equal('accepted');
    expect(cache.check('k2', 'a', now)).to.equal('replayed');
  });

  it('keeps a jti for its whole window, whatever its iat (up to 60 s ahead)', () => {
    const cache = new DpopReplayCache({ clock });
    cache.check('k', 'ahead', T0 + 60);
    cache.check('k', 'behind', T0 - 60);
    now = T0;
    expect(cache.check('k', 'behind', T0 - 60)).to.equal('replayed');
    now = T0 + 119;
    expect(cache.check('k', 'ahead', T0 + 60)).to.equal('replayed');
  });

  it('refuses a proof whose iat is already past its window', () => {
    const cache = new DpopReplayCache({ clock, iatWindow: 10 });
    expect(cache.check('k', 'old', T0 - 11)).to.equal('too_old');
    expect(cache.check('k', 'edge', T0 - 10)).to.equal('accepted');
    expect(cache.size).to.equal(1);
  });

  it('drops expired entries as new proofs come (two per proof), without raising the horizon', () => {
    const cache = new DpopReplayCache({ clock, iatWindow: 10, maxProofs: 3 });
    for (const jti of ['a', 'b', 'c']) cache.check('k', jti, T0);
    now = T0 + 10;
    expect(cache.check('k', 'd', now)).to.equal('accepted');
    expect(cache.horizon).to.equal(T0); // full of live entries: "a" was evicted
    now = T0 + 11;
    expect(cache.check('k', 'e', now)).to.equal('accepted'); // "b" and "c" expired and dropped
    expect(cache.size).to.equal(2);
    expect(cache.horizon).to.equal(T0);
    expect(cache.check('k', 'f', now)).to.equal('accepted');
    expect(cache.size).to.equal(3);
  });

  it('when full, evicts the oldest and refuses any proof at or below its iat: eviction never reopens a replay', () => {
    const cache = new DpopReplayCache({ clock, maxProofs: 3 });
    cache.check('k', 'a', T0 - 5);
    cache.check('k', 'b', T0 - 3);
    cache.check('k', 'c', T0 - 1);
    expect(cache.check('k', 'd', T0)).to.equal('accepted');
    expect(cache.size).to.equal(3);
    expect(cache.horizon).to.equal(T0 - 5);
    // "a" is no longer held, yet its replay is refused:
    expect(cache.check('k', 'a', T0 - 5)).to.equal('too_old');
    expect(cache.check('k', 'new-but-as-old', T0 - 5)).to.equal('too_old');
    expect(cache.check('k', 'newer', T0 - 4)).to.equal('accepted');
    expect(cache.horizon).to.equal(T0 - 3);
    expect(cache.check('k', 'b', T0 - 3)).to.equal('too_old');
    expect(cache.check('k', 'c', T0 - 1)).to.equal('replayed');
  });

  it('keeps the horizon at the highest evicted iat, even when the queue is out of iat order', () => {
    const cache = new DpopReplayCache({ clock, maxProofs: 2 });
    cache.check('k', 'late', T0 + 30);
    cache.check('k', 'early', T0 - 30);
    cache.check('k', 'x', T0); // evicts "late"
    expect(cache.horizon).to.equal(T0 + 30);
    cache.check('k', 'y', T0 + 31); // evicts "early": the horizon stays
    expect(cache.horizon).to.equal(T0 + 30);
    expect(cache.check('k', 'late', T0 + 30)).to.equal('too_old');
  });

  it('stays bounded over many proofs', () => {
    const cache = new DpopReplayCache({ clock, maxProofs: 100 });
    for (let i = 0; i < 10_000; i++) {
      now = T0 + i / 100;
      expect(cache.check('k', `j${i}`, now)).to.equal('accepted');
      expect(cache.size).to.be.at.most(100);
    }
    expect(cache.check('k', 'j9999', now)).to.equal('replayed');
    expect(cache.check('k', 'j0', T0)).to.equal('too_old');
  });

  it('refuses bad options by name', () => {
    const bad: Array<[object, RegExp]> = [
      [{ maxProofs: 0 }, /maxProofs/],
      [{ maxProofs: 1.5 }, /maxProofs/],
      [{ iatWindow: -1 }, /iatWindow/],
      [{ iatWindow: Number.NaN }, /iatWindow/],
      [{ clock: 5 }, /clock/],
    ];
    for (const [options, message] of bad) {
      expect(() => new DpopReplayCache(options), JSON.stringify(options)).to.throw(OptionError, message);
    }
  });
});

describe('DPoP verifier', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const URL_ = 'https://api.example.com/orders';
  let now = T0;
  const clock = (): number => now;
  beforeEach(() => {
    now = T0;
  });

  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  function proof(claims: Record<string, unknown> = {}): string {
    const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk })}.${b64({ jti: 'j1', htm: 'GET', htu: URL_, iat: T0, ...claims })}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
  const verifier = (options: DpopVerifierOptions = {}): ReturnType<typeof createDpopVerifier> =>
    createDpopVerifier({ clock, ...options });
  const request = { method: 'GET', url: URL_ };

  it('accepts a proof once, and refuses it again as invalid_dpop_proof', () => {
    const dpop = verifier();
    const token = proof();
    expect(dpop.verify(token, request).jti).to.equal('j1');
    expect(() => dpop.verify(token, request)).to.throw(InvalidDpopProofError, 'DPoP proof jti was already used');
  });

  it('refuses a fresh signature over a used jti (the jti is the key, not the proof string)', () => {
    const dpop = verifier();
    dpop.verify(proof(), request);
    // ECDSA signs with a random k: the same claims give another signature, and another string.
    const again = proof();
    expect(again).not.to.equal(proof());
    expect(() => dpop.verify(again, request)).to.throw(InvalidDpopProofError, /already used/);
  });

  it('refuses the high-s twin of a used proof', () => {
    const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
    const dpop = verifier();
    const token = proof();
    const dot = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(dot + 1), 'base64url');
    const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
    const twin = Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex');
    const respelled = `${token.slice(0, dot + 1)}${Buffer.concat([signature.subarray(0, 32), twin]).toString('base64url')}`;
    // Both spellings verify (the package does not pin one: browsers' WebCrypto signs high-s half the time) ...
    expect(createDpopVerifier({ clock, replay: false }).verify(respelled, request).jti).to.equal('j1');
    // ... so replay is refused by jti:
    dpop.verify(token, request);
    expect(() => dpop.verify(respelled, request)).to.throw(InvalidDpopProofError, /already used/);
  });

  it('checks iat against its clock, and keeps each instance’s replay cache its own', () => {
    const dpop = verifier();
    now = T0 + 61;
    expect(() => dpop.verify(proof(), request)).to.throw(InvalidDpopProofError, /iat is outside/);
    now = T0 + 60;
    dpop.verify(proof(), request);
    expect(verifier().verify(proof(), request).jti).to.equal('j1');
  });

  it('refuses a proof older than its eviction horizon, as such', () => {
    const dpop = verifier({ replay: { maxProofs: 1 } });
    dpop.verify(proof({ jti: 'a', iat: T0 - 1 }), request);
    dpop.verify(proof({ jti: 'b' }), request);
    expect(() => dpop.verify(proof({ jti: 'a', iat: T0 - 1 }), request)).to.throw(
      InvalidDpopProofError,
      'DPoP proof iat is too old to be checked for replay',
    );
  });

  it('does not record a refused proof', () => {
    const dpop = verifier();
    expect(() => dpop.verify(proof(), { method: 'POST', url: URL_ })).to.throw(InvalidDpopProofError, /htm/);
    expect(dpop.verify(proof(), request).jti).to.equal('j1');
  });

  it('with replay: false, leaves jti to the caller', () => {
    const dpop = verifier({ replay: false });
    dpop.verify(proof(), request);
    expect(dpop.verify(proof(), request).jti).to.equal('j1');
  });

  it('uses its own algorithms and window, and lists the algorithms in its challenge', () => {
    const dpop = verifier({ algorithms: ['EdDSA', 'ES256', 'EdDSA'], iatWindow: 5 });
    expect(dpop.algorithms).to.deep.equal(['EdDSA', 'ES256']);
    now = T0 + 6;
    let error: unknown;
    try {
      dpop.verify(proof(), request);
    } catch (caught) {
      error = caught;
    }
    expect(dpop.challenge(error)).to.equal(
      'DPoP error="invalid_dpop_proof", error_description="DPoP proof iat is outside the accepted window", algs="EdDSA ES256"',
    );
    expect(dpop.challenge(new Error('x'))).to.equal(undefined);
    expect(() => verifier({ algorithms: ['EdDSA'] }).verify(proof(), request)).to.throw(/alg ES256 is not accepted/);
  });

  it('refuses bad options by name', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ algorithm: ['ES256'] }, /unknown option dpop.algorithm /],
      [{ algorithms: [] }, /dpop.algorithms/],
      [{ algorithms: ['HS256'] }, /dpop.algorithms/],
      [{ algorithms: 'ES256' }, /dpop.algorithms/],
      [{ iatWindow: 0 }, /dpop.iatWindow/],
      [{ iatWindow: 601 }, /dpop.iatWindow/],
      [{ iatWindow: '60' }, /dpop.iatWindow/],
      [{ maxKeys: -1 }, /maxKeys/],
      [{ replay: true }, /dpop.replay/],
      [{ replay: { maxProofs: 0 } }, /maxProofs/],
      [{ clock: Date.now() }, /dpop.clock/],
      [null, /dpop options/],
    ];
    for (const [options, message] of bad) {
      expect(() => createDpopVerifier(options as DpopVerifierOptions), JSON.stringify(options)).to.throw(
        OptionError,
        message,
      );
    }
  });
});
