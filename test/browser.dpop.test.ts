/**
 * The client's DPoP key and proofs (issue 16) in headless Chromium, on real
 * IndexedDB: the key survives a reload, two tabs starting at once end with
 * one key, the private key cannot be exported, reset() makes a new key in
 * every tab, and the page's proofs verify with `jose` in Node. Pages at
 * https://app.test (a secure context: WebCrypto), served by Playwright, load
 * the client's modules as the sample app transpiles them. Prints the cost
 * of a proof in the page (ms per proof; measured, not asserted).
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, jwtVerify } from 'jose';
import type { Page } from 'playwright-core';
import { expectClean, launchBrowser, newWatch, requireBrowser, watchPage, type Browser } from './helpers/browser.js';
import { clientModule } from '../sample-app/demo-page.js';

const ORIGIN = 'https://app.test';

/**
 * The test's page script: one key holder per database (and store), kept on
 * `window.dpop` for the test to call through `page.evaluate`.
 */
const PAGE_SCRIPT = `
import { createDpopKey } from '/client/dpop-key.js';
import { createDpopSigner } from '/client/dpop-proof.js';
const keys = new Map();
function key(database, store) {
  const id = database + '/' + (store ?? '');
  if (!keys.has(id)) keys.set(id, createDpopKey(store === undefined ? { database } : { database, store }));
  return keys.get(id);
}
window.dpop = {
  thumbprint: (database, store) => key(database, store).thumbprint(),
  storage: (database, store) => key(database, store).storage(),
  reset: (database) => key(database).reset(),
  /** A holder whose indexedDB.open throws, as some private modes' does. */
  async refused(database) {
    const refused = { open() { throw new DOMException('The user denied permission to access the database.', 'SecurityError'); } };
    const held = createDpopKey({ database, indexedDB: refused });
    const proof = await createDpopSigner(held).createProof({ method: 'GET', url: '/api/me' });
    return { storage: await held.storage(), jkt: await held.thumbprint(), proof };
  },
  async privateKey(database) {
    const { keyPair } = await key(database).current();
    const exported = await crypto.subtle.exportKey('jwk', keyPair.privateKey).then(() => 'exported', (error) => error.name);
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', keyPair.privateKey).then(() => 'exported', (error) => error.name);
    return { exported, pkcs8, extractable: keyPair.privateKey.extractable, algorithm: keyPair.privateKey.algorithm };
  },
  proofs(database, inputs, now) {
    const signer = createDpopSigner(key(database), { clock: () => now });
    return Promise.all(inputs.map((input) => signer.createProof(input)));
  },
  async timeProofs(database, count) {
    const signer = createDpopSigner(key(database));
    await signer.createProof({ method: 'GET', url: '/api/me', accessToken: 'warm-up' });
    const proofs = [];
    const start = performance.now();
    for (let i = 0; i < count; i++) proofs.push(await signer.createProof({ method: 'GET', url: '/api/me', accessToken: 'token-' + i }));
    return { ms: (performance.now() - start) / count, proofs };
  },
};
`;

/**
 * Counts generateKey calls on `window.generated`; with `window.barrier` set
 * ({ name, me, parties }), generateKey waits until all parties have called
 * it: the tabs have all read IndexedDB, found no key, and each made its own,
 * so their read-or-add transactions truly race.
 */
const INIT_SCRIPT = `
window.generated = 0;
const generateKey = SubtleCrypto.prototype.generateKey;
SubtleCrypto.prototype.generateKey = async function (...args) {
  window.generated++;
  const barrier = window.barrier;
  if (barrier !== undefined) {
    const channel = new BroadcastChannel(barrier.name);
    const seen = new Set([barrier.me]);
    await new Promise((resolve) => {
      channel.onmessage = (event) => {
        if (seen.has(event.data)) return;
        seen.add(event.data);
        channel.postMessage(barrier.me); // so that a party that arrived later hears of this one
        if (seen.size >= barrier.parties) resolve();
      };
      channel.postMessage(barrier.me);
    });
  }
  return generateKey.apply(this, args);
};
`;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

describe('DPoP key and proofs in a real browser (Chromium, IndexedDB)', function () {
  this.timeout(120_000); // generous for a busy machine; the waits are on page state, not the clock
  let browser: Browser;
  const watch = newWatch();
  let database = 0;
  /** A database of its own for each test. */
  let db: string;

  before(async function () {
    requireBrowser(this);
    browser = await launchBrowser();
    await browser.context.addInitScript({ content: INIT_SCRIPT });
    await browser.context.route(/^https:\/\/app\.test\//, async (route) => {
      const url = new URL(route.request().url());
      if (url.pathname.startsWith('/client/')) {
        const body = await clientModule(url.pathname.slice('/client/'.length));
        await route.fulfill(body === undefined ? { status: 404 } : { contentType: 'text/javascript', body });
      } else if (url.pathname === '/dpop-page.js') {
        await route.fulfill({ contentType: 'text/javascript', body: PAGE_SCRIPT });
      } else if (url.pathname === '/favicon.ico') {
        await route.fulfill({ status: 204 });
      } else {
        await route.fulfill({
          contentType: 'text/html',
          body: '<!doctype html><title>app</title><script type="module" src="/dpop-page.js"></script>',
        });
      }
    });
  });

  beforeEach(() => {
    db = `etp-dpop-test-${++database}`;
  });

  after(async () => {
    await browser?.close();
  });

  async function open(path = '/page.html'): Promise<Page> {
    const page = watchPage(await browser.context.newPage(), watch);
    await page.goto(`${ORIGIN}${path}`);
    await page.waitForFunction('window.dpop !== undefined');
    return page;
  }

  /** Calls `window.dpop[method](db, ...args)` in `page`. */
  function call<T>(page: Page, method: string, ...args: unknown[]): Promise<T> {
    return page.evaluate<T>(`window.dpop.${method}(...${JSON.stringify([db, ...args])})`);
  }

  async function closeAll(...pages: Page[]): Promise<void> {
    for (const page of pages) await page.close();
  }

  it('two tabs starting at once end with ONE key: both find none, both make one, one is kept', async () => {
    const [a, b] = [await open(), await open()];
    for (const [page, me] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      await page.evaluate(`window.barrier = ${JSON.stringify({ name: `barrier-${db}`, me, parties: 2 })}`);
    }
    const [jktA, jktB] = await Promise.all([call<string>(a, 'thumbprint'), call<string>(b, 'thumbprint')]);
    // Each tab made a key (the race was real), and both use the one that was stored first.
    expect(await a.evaluate('window.generated')).to.equal(1);
    expect(await b.evaluate('window.generated')).to.equal(1);
    expect(jktA).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(jktB).to.equal(jktA);
    expect(await call(a, 'storage')).to.equal('indexeddb');
    // A third tab opened later takes the stored key: it makes none.
    const c = await open();
    expect(await call(c, 'thumbprint')).to.equal(jktA);
    expect(await c.evaluate('window.generated')).to.equal(0);
    await closeAll(a, b, c);
  });

  it('keeps the key across a reload (same jkt, no new key), and its private key never exports, before or after', async () => {
    const page = await open();
    const jkt = await call<string>(page, 'thumbprint');
    const fresh = await call<Record<string, unknown>>(page, 'privateKey');
    await page.reload();
    await page.waitForFunction('window.dpop !== undefined');
    expect(await call(page, 'thumbprint')).to.equal(jkt);
    expect(await page.evaluate('window.generated')).to.equal(0);
    const stored = await call<Record<string, unknown>>(page, 'privateKey');
    for (const key of [fresh, stored]) {
      expect(key).to.deep.equal({
        exported: 'InvalidAccessError',
        pkcs8: 'InvalidAccessError',
        extractable: false,
        algorithm: { name: 'ECDSA', namedCurve: 'P-256' },
      });
    }
    await closeAll(page);
  });

  it("signs proofs that jose verifies in Node, with the page's jkt, and htm, htu, iat, ath, nonce as specified", async () => {
    const page = await open('/app/page.html');
    const jkt = await call<string>(page, 'thumbprint');
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2ln';
    const [call1, refresh] = await call<string[]>(
      page,
      'proofs',
      [
        { method: 'get', url: '../api/me?page=2#top', accessToken: token },
        { method: 'POST', url: 'https://API.app.test:443/auth/refresh', nonce: 'n-1' },
      ],
      1_700_000_000_999,
    );
    const expected = [
      { htm: 'GET', htu: `${ORIGIN}/api/me`, iat: 1_700_000_000, ath: sha256(token) },
      { htm: 'POST', htu: 'https://api.app.test/auth/refresh', iat: 1_700_000_000, nonce: 'n-1' },
    ];
    for (const [i, proof] of [call1!, refresh!].entries()) {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256'],
      });
      expect(protectedHeader.typ).to.equal('dpop+jwt');
      expect(Object.keys(protectedHeader.jwk!)).to.deep.equal(['kty', 'crv', 'x', 'y']);
      expect(await calculateJwkThumbprint(protectedHeader.jwk!)).to.equal(jkt);
      const { jti, ...rest } = payload;
      expect(jti).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(rest).to.deep.equal(expected[i]);
    }
    await closeAll(page);
  });

  it('reset() gives a new jkt, which the other tab takes up too, and which a reload keeps', async () => {
    const [a, b] = [await open(), await open()];
    const old = await call<string>(a, 'thumbprint');
    expect(await call(b, 'thumbprint')).to.equal(old);
    await call(a, 'reset');
    const renewed = await call<string>(a, 'thumbprint');
    expect(renewed).to.not.equal(old);
    // B drops its key when A's message arrives, and reads the new one from IndexedDB.
    const deadline = performance.now() + 15_000;
    let seen = await call<string>(b, 'thumbprint');
    while (seen !== renewed && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      seen = await call<string>(b, 'thumbprint');
    }
    expect(seen).to.equal(renewed);
    await b.reload();
    await b.waitForFunction('window.dpop !== undefined');
    expect(await call(b, 'thumbprint')).to.equal(renewed);
    await closeAll(a, b);
  });

  it('keeps one key per store: another store in the same database gets its own key (the database is upgraded under an open tab)', async () => {
    const page = await open();
    const first = await call<string>(page, 'thumbprint');
    const other = await call<string>(page, 'thumbprint', 'other-store');
    expect(other).to.not.equal(first);
    expect(await call(page, 'storage', 'other-store')).to.equal('indexeddb');
    // The first holder's connection closed for the upgrade: it reopens, and still finds its key.
    expect(await call(page, 'reset')).to.equal(undefined);
    const again = await open();
    expect(await call(again, 'thumbprint', 'other-store')).to.equal(other);
    expect(await call(again, 'thumbprint')).to.not.equal(first);
    await closeAll(page, again);
  });

  it('replaces a stored record that is not a non-extractable P-256 key pair', async () => {
    const page = await open();
    await page.evaluate(`new Promise((resolve, reject) => {
      const request = indexedDB.open(${JSON.stringify(db)});
      request.onupgradeneeded = () => request.result.createObjectStore('dpop-key');
      request.onsuccess = () => {
        const tx = request.result.transaction('dpop-key', 'readwrite');
        tx.objectStore('dpop-key').put({ privateKey: 'not a key', publicKey: {} }, 'p256');
        tx.oncomplete = () => { request.result.close(); resolve(); };
        tx.onerror = () => reject(tx.error);
      };
      request.onerror = () => reject(request.error);
    })`);
    const jkt = await call<string>(page, 'thumbprint');
    expect(await page.evaluate('window.generated')).to.equal(1);
    expect(await call(page, 'storage')).to.equal('indexeddb');
    const again = await open();
    expect(await call(again, 'thumbprint')).to.equal(jkt);
    expect(await again.evaluate('window.generated')).to.equal(0);
    await closeAll(page, again);
  });

  it('falls back to a key in memory where indexedDB.open throws: it signs, and lives as long as the page', async () => {
    const page = await open();
    const before = await call<{ storage: string; jkt: string; proof: string }>(page, 'refused');
    expect(before.storage).to.equal('memory');
    const { protectedHeader } = await jwtVerify(before.proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(await calculateJwkThumbprint(protectedHeader.jwk!)).to.equal(before.jkt);
    await page.reload();
    await page.waitForFunction('window.dpop !== undefined');
    const after = await call<{ storage: string; jkt: string }>(page, 'refused');
    expect(after.storage).to.equal('memory');
    expect(after.jkt).to.not.equal(before.jkt);
    await closeAll(page);
  });

  it('measures a proof in the page (ms per proof; printed), and every proof measured verifies', async () => {
    const page = await open();
    const { ms, proofs } = await call<{ ms: number; proofs: string[] }>(page, 'timeProofs', 200);
    console.log(`      Chromium: ${ms.toFixed(3)} ms per DPoP proof (ES256, with ath; 200 in turn)`);
    const jkt = await call<string>(page, 'thumbprint');
    const jtis = new Set<unknown>();
    for (const proof of proofs) {
      const { payload } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      jtis.add(payload.jti);
    }
    expect(jtis.size).to.equal(200);
    expect(await calculateJwkThumbprint(decodeProtectedHeader(proofs[0]!).jwk!)).to.equal(jkt);
    await closeAll(page);
  });

  it('had no console error or uncaught error on the pages', () => {
    expectClean(watch);
  });
});
