/**
 * express-token-pair/client's DPoP key and proofs (issue 16), in Node: Node
 * 20 has WebCrypto but no IndexedDB, so the key lives in memory here (the
 * fallback), and IndexedDB is tried only through a factory passed in. The
 * proofs are checked by an independent implementation, `jose`; the
 * thumbprint against RFC 9449's own example. test/browser.dpop.test.ts has
 * the IndexedDB side, in Chromium.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import type { IdbFactoryLike } from '../lib/client/dpop-idb.js';
import { thumbprintOf } from '../lib/client/dpop-jwk.js';
import { createDpopKey, type DpopKey, type DpopKeyOptions } from '../lib/client/dpop-key.js';
import { createDpopSigner, type DpopProofInput } from '../lib/client/dpop-proof.js';

const NOW = 1_700_000_123_999;

async function verified(proof: string): Promise<{ header: Record<string, unknown>; payload: Record<string, unknown> }> {
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
    typ: 'dpop+jwt',
    algorithms: ['ES256'],
  });
  return { header: protectedHeader, payload: payload };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** An IndexedDB whose open() fails as `how` says; counts its calls. */
function failingIndexedDB(how: 'throws' | 'error'): IdbFactoryLike & { opened: number } {
  const factory = {
    opened: 0,
    open() {
      factory.opened++;
      if (how === 'throws') throw new DOMException('The operation is insecure.', 'SecurityError');
      const request = {
        result: undefined,
        error: new DOMException('A mutation operation was attempted on a database that did not allow mutations.'),
        onsuccess: null,
        onerror: null as (() => void) | null,
        onupgradeneeded: null,
        onblocked: null,
      };
      queueMicrotask(() => request.onerror?.());
      return request as unknown as ReturnType<IdbFactoryLike['open']>;
    },
  };
  return factory;
}

describe('client: DPoP key (Node: no IndexedDB, the in-memory fallback)', () => {
  const keys: DpopKey[] = [];
  const newKey = (options?: DpopKeyOptions): DpopKey => {
    const key = createDpopKey(options);
    keys.push(key);
    return key;
  };
  afterEach(() => {
    for (const key of keys.splice(0)) key.close();
  });

  it('keeps its key in memory where there is no IndexedDB, one key however many calls race for it', async () => {
    expect((globalThis as { indexedDB?: unknown }).indexedDB).to.equal(undefined);
    const key = newKey();
    const [first, ...rest] = await Promise.all([key.current(), key.current(), key.current(), key.current()]);
    for (const other of rest) expect(other.keyPair).to.equal(first.keyPair);
    expect(await key.storage()).to.equal('memory');
    expect(await key.thumbprint()).to.equal(first.jkt);
    expect((await key.current()).keyPair).to.equal(first.keyPair);
  });

  it('makes a non-extractable ECDSA P-256 key: exportKey rejects the private key; the public one exports', async () => {
    const { keyPair } = await newKey().current();
    expect(keyPair.privateKey.extractable).to.equal(false);
    expect(keyPair.privateKey.algorithm).to.deep.equal({ name: 'ECDSA', namedCurve: 'P-256' });
    expect(keyPair.privateKey.usages).to.deep.equal(['sign']);
    const exports = {
      jwk: () => crypto.subtle.exportKey('jwk', keyPair.privateKey),
      pkcs8: () => crypto.subtle.exportKey('pkcs8', keyPair.privateKey),
    };
    for (const [format, exportKey] of Object.entries(exports)) {
      const outcome = await exportKey().then(
        () => 'exported',
        (error: unknown) => (error as Error).name,
      );
      // Node names it InvalidAccessException, browsers InvalidAccessError.
      expect(outcome, format).to.match(/^InvalidAccess(Error|Exception)$/);
    }
    const publicJwk = await crypto.subtle.exportKey('jwk', keyPair.publicKey);
    expect(publicJwk).to.include({ kty: 'EC', crv: 'P-256' });
  });

  it('gives the public JWK with kty, crv, x, y only, and its RFC 7638 thumbprint as jose computes it', async () => {
    const key = newKey();
    const { jwk, jkt } = await key.current();
    expect(Object.keys(jwk)).to.deep.equal(['kty', 'crv', 'x', 'y']);
    expect(jwk.x).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(jkt).to.equal(await calculateJwkThumbprint(jwk, 'sha256'));
    expect(jkt).to.match(/^[A-Za-z0-9_-]{43}$/);
  });

  it("computes RFC 9449's example thumbprint from its example key (§4.1 key, §6.1 jkt)", async () => {
    const jkt = await thumbprintOf({
      kty: 'EC',
      crv: 'P-256',
      x: 'l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs',
      y: '9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA',
    });
    expect(jkt).to.equal('0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I');
  });

  it('reset() forgets the key: the next use makes a new one, with another jkt', async () => {
    const key = newKey();
    const before = await key.current();
    await key.reset();
    const after = await key.current();
    expect(after.jkt).to.not.equal(before.jkt);
    expect(after.keyPair.privateKey).to.not.equal(before.keyPair.privateKey);
    expect(await key.thumbprint()).to.equal(after.jkt);
  });

  it('falls back to memory when indexedDB.open throws (SecurityError) or fails (private mode), and stays there', async () => {
    for (const how of ['throws', 'error'] as const) {
      const factory = failingIndexedDB(how);
      const key = newKey({ indexedDB: factory });
      const { jkt } = await key.current();
      expect(await key.storage(), how).to.equal('memory');
      expect(factory.opened, how).to.be.greaterThan(0);
      const tries = factory.opened;
      // For the page's life: neither the same key nor one after reset() tries IndexedDB again.
      expect(await key.thumbprint(), how).to.equal(jkt);
      await key.reset();
      expect(await key.thumbprint(), how).to.not.equal(jkt);
      expect(factory.opened, how).to.equal(tries);
    }
  });

  it('reset() before any use, where indexedDB.open fails, resolves (nothing stored to delete) and goes to memory', async () => {
    const factory = failingIndexedDB('error');
    const key = newKey({ indexedDB: factory });
    await key.reset();
    expect(factory.opened).to.be.greaterThan(0);
    const tries = factory.opened;
    expect(await key.storage()).to.equal('memory');
    expect(factory.opened).to.equal(tries);
  });

  it('indexedDB: false keeps the key in memory without looking for IndexedDB', async () => {
    const key = newKey({ indexedDB: false, database: 'app', store: 'keys' });
    expect(await key.storage()).to.equal('memory');
  });

  it('refuses bad options, naming the option', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /createDpopKey\(options\) needs an options object/],
      [{ database: '' }, /dpop database must be a non-empty string/],
      [{ store: 42 }, /dpop store must be a non-empty string/],
      [{ indexedDB: {} }, /dpop indexedDB must be an IndexedDB factory \(with open\(\)\) or false/],
      [{ indexedDB: true }, /dpop indexedDB must be/],
      [{ databse: 'x' }, /unknown dpop key option databse/],
    ];
    for (const [options, message] of cases) {
      expect(() => createDpopKey(options as DpopKeyOptions), JSON.stringify(options))
        .to.throw(TypeError, message)
        .with.property('message')
        .that.match(/^express-token-pair\/client: /);
    }
  });
});

describe('client: DPoP proofs (RFC 9449 §4.2), checked with jose', () => {
  let key: DpopKey;
  let clockNow = NOW;
  const sign = (input: DpopProofInput): Promise<string> =>
    createDpopSigner(key, { clock: () => clockNow }).createProof(input);

  beforeEach(() => {
    key = createDpopKey();
    clockNow = NOW;
  });
  afterEach(() => {
    key.close();
  });

  it('signs a compact JWS that jose verifies with the embedded jwk: typ dpop+jwt, ES256, public members only', async () => {
    const proof = await sign({ method: 'GET', url: 'https://api.example/me', accessToken: 'token-1' });
    const { header, payload } = await verified(proof);
    const { jwk, jkt } = await key.current();
    expect(header).to.deep.equal({ typ: 'dpop+jwt', alg: 'ES256', jwk: { ...jwk } });
    expect(Object.keys(header.jwk as object)).to.deep.equal(['kty', 'crv', 'x', 'y']);
    expect(await calculateJwkThumbprint(decodeProtectedHeader(proof).jwk!)).to.equal(jkt);
    expect(Object.keys(payload)).to.deep.equal(['jti', 'htm', 'htu', 'iat', 'ath']);
    // Raw r||s, 64 bytes, as JWS wants (not DER).
    expect(Buffer.from(proof.split('.')[2]!, 'base64url')).to.have.length(64);
  });

  it('has htm upper-case, htu without query and fragment, iat from the clock in seconds, ath = base64url(SHA-256(token))', async () => {
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln';
    const { payload } = await verified(
      await sign({ method: 'post', url: 'https://API.Example:443/a/./b?x=1&y=2#frag', accessToken: token }),
    );
    expect(payload).to.include({
      htm: 'POST',
      htu: 'https://api.example/a/b',
      iat: 1_700_000_123,
      ath: sha256(token),
    });
    clockNow = NOW + 61_000;
    expect((await verified(await sign({ method: 'GET', url: 'https://api.example/' }))).payload.iat).to.equal(
      1_700_000_184,
    );
  });

  it("has RFC 9449's example ath for its example access token (§7.1)", async () => {
    const accessToken = 'Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU';
    const { payload } = await verified(
      await sign({ method: 'GET', url: 'https://resource.example.org/protectedresource', accessToken }),
    );
    expect(payload.ath).to.equal('fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo');
  });

  it('keeps the port that is not the default, and takes a URL object', async () => {
    const { payload } = await verified(await sign({ method: 'PUT', url: new URL('http://localhost:8080/x?q#h') }));
    expect(payload.htu).to.equal('http://localhost:8080/x');
  });

  it('has no ath without an access token, no nonce unless given, and carries the nonce given', async () => {
    const bare = (await verified(await sign({ method: 'POST', url: 'https://api.example/auth/refresh' }))).payload;
    expect(Object.keys(bare)).to.deep.equal(['jti', 'htm', 'htu', 'iat']);
    const withNonce = (
      await verified(await sign({ method: 'POST', url: 'https://api.example/auth/refresh', nonce: 'eyJ7S_zG.eyJH0-Z' }))
    ).payload;
    expect(withNonce.nonce).to.equal('eyJ7S_zG.eyJH0-Z');
    expect(withNonce).to.not.have.property('ath');
  });

  it('gives every proof a new jti of 128 random bits', async () => {
    const signer = createDpopSigner(key);
    const jtis = new Set<unknown>();
    for (let i = 0; i < 100; i++) {
      const { payload } = await verified(await signer.createProof({ method: 'GET', url: 'https://api.example/me' }));
      expect(payload.jti).to.match(/^[A-Za-z0-9_-]{22}$/);
      jtis.add(payload.jti);
    }
    expect(jtis.size).to.equal(100);
  });

  it('signs with the new key after reset(): the header carries the new jwk', async () => {
    const before = await key.thumbprint();
    const signer = createDpopSigner(key);
    const first = await signer.createProof({ method: 'GET', url: 'https://api.example/me' });
    await key.reset();
    const second = await signer.createProof({ method: 'GET', url: 'https://api.example/me' });
    expect(await calculateJwkThumbprint(decodeProtectedHeader(first).jwk!)).to.equal(before);
    expect(await calculateJwkThumbprint(decodeProtectedHeader(second).jwk!)).to.equal(await key.thumbprint());
    expect(await key.thumbprint()).to.not.equal(before);
    await verified(second);
  });

  it('resolves a relative url against the page, as fetch would', async () => {
    const scope = globalThis as { location?: unknown };
    const had = Object.hasOwn(scope, 'location');
    const saved = scope.location;
    scope.location = { href: 'https://app.example/dir/page.html?q=1' };
    try {
      const { payload } = await verified(await sign({ method: 'get', url: '../api/me?id=2' }));
      expect(payload.htu).to.equal('https://app.example/api/me');
    } finally {
      if (had) scope.location = saved;
      else delete scope.location;
    }
  });

  it('refuses bad input, naming the field', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /createProof\(\) needs \{ method, url \}/],
      [{ url: 'https://api.example/' }, /needs method: an HTTP method/],
      [{ method: 'GE T', url: 'https://api.example/' }, /needs method: an HTTP method/],
      [{ method: 'GET' }, /needs url: a URL or a string/],
      [{ method: 'GET', url: '/me' }, /url must be an absolute URL, or relative to the page \(got "\/me"\)/],
      [{ method: 'GET', url: 'ftp://api.example/' }, /url must be an http\(s\) URL \(got "ftp:"\)/],
      [{ method: 'GET', url: 'https://api.example/', accessToken: '' }, /accessToken must be a non-empty string/],
      [{ method: 'GET', url: 'https://api.example/', nonce: 5 }, /nonce must be a non-empty string/],
    ];
    for (const [input, message] of cases) {
      const error = await sign(input as DpopProofInput).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error, JSON.stringify(input)).to.be.instanceOf(TypeError);
      expect((error as Error).message, JSON.stringify(input)).to.match(message);
    }
    expect(() => createDpopSigner(key, { clok: Date.now } as never)).to.throw(
      TypeError,
      /unknown dpop signer option clok/,
    );
    expect(() => createDpopSigner(key, { clock: 5 } as never)).to.throw(TypeError, /dpop clock must be a function/);
    expect(() => createDpopSigner({} as DpopKey)).to.throw(TypeError, /needs a key from createDpopKey\(\)/);
    const badClock = createDpopSigner(key, { clock: () => Number.NaN });
    const clockError = await badClock
      .createProof({ method: 'GET', url: 'https://api.example/' })
      .catch((e: unknown) => e);
    expect((clockError as Error).message).to.match(/dpop clock must return ms since the epoch/);
  });
});
