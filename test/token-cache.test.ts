/**
 * The verified-token cache (lib/token-cache.ts) and the brand behind
 * `auth.owns()`: what they store, and that a thrashing cache (more distinct
 * tokens in turn than it holds) still serves a token that comes back.
 */
import { expect } from 'chai';
import { createTokenAuth, MemorySessionStore, type AuthContext } from '../lib/index.js';
import { newBrand, TokenCache } from '../lib/token-cache.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

const context = (userId: string): AuthContext => ({ userId, sessionId: `s-${userId}`, issuedAt: 0, claims: {} });

/** What a caller does: get, and on a miss build the context and set it. Returns whether it was a hit. */
function request(cache: TokenCache, token: string): boolean {
  if (cache.get(token) !== undefined) return true;
  cache.set(token, context(token), 9_999_999_999);
  return false;
}

describe('TokenCache', () => {
  it('stores every token while its tokens come back, and serves each from then on', () => {
    const cache = new TokenCache(64);
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 20; i++) expect(request(cache, `t${i}`), `round ${round}, t${i}`).to.equal(round > 0);
    }
  });

  it('thrashing (every token new), stores 1 in 16 new tokens, and a token that comes back is soon served', () => {
    const cache = new TokenCache(64);
    for (let i = 0; i < 1000; i++) request(cache, `once-${i}`);
    // Thrashing now: a new token is not stored on its first miss...
    const misses: number[] = [];
    for (let t = 0; t < 8; t++) {
      let miss = 0;
      while (!request(cache, `back-${t}`)) miss++;
      misses.push(miss);
      expect(miss, `back-${t}`).to.be.at.most(16);
    }
    expect(
      misses.some((miss) => miss > 1),
      'some returning tokens were skipped: the cache samples',
    ).to.equal(true);
  });

  it('leaves thrashing once a generation fills with hits again', () => {
    const cache = new TokenCache(32);
    for (let i = 0; i < 500; i++) request(cache, `once-${i}`);
    // The same 8 tokens again and again: once stored, each is a hit.
    for (let i = 0; i < 2000; i++) request(cache, `hot-${i % 8}`);
    // New tokens are stored on their first miss again.
    for (let i = 0; i < 10; i++) {
      expect(request(cache, `fresh-${i}`)).to.equal(false);
      expect(request(cache, `fresh-${i}`), `fresh-${i}, stored at once`).to.equal(true);
    }
  });

  it('freezes what it stores, stored or skipped', () => {
    const cache = new TokenCache(4);
    for (let i = 0; i < 100; i++) {
      const made = cache.set(`z${i}`, context(`z${i}`), 1);
      expect(Object.isFrozen(made) && Object.isFrozen(made.claims), `z${i}`).to.equal(true);
    }
  });
});

describe('brand (auth.owns)', () => {
  it("answers for what it stamped only: not a copy, a clone, another brand's object or a plain object", () => {
    const brand = newBrand();
    const other = newBrand();
    const stamped = Object.freeze(brand.stamp({ userId: 'a' }));
    expect(brand.has(stamped)).to.equal(true);
    expect(brand.has({ ...stamped })).to.equal(false);
    expect(brand.has(structuredClone(stamped))).to.equal(false);
    expect(brand.has(Object.create(stamped) as object)).to.equal(false);
    expect(other.has(stamped)).to.equal(false);
    expect(brand.has(other.stamp({}))).to.equal(false);
    expect(Object.keys(stamped)).to.deep.equal(['userId']);
    expect(Object.getPrototypeOf(stamped)).to.equal(Object.prototype);
  });

  it("auth.owns: its own contexts (cached or not), never another instance's or a copy", async () => {
    const make = () =>
      createTokenAuth({
        accessToken: { secret: ACCESS },
        refreshToken: { secret: REFRESH },
        store: new MemorySessionStore(),
      });
    const auth = make();
    const stranger = make();
    const { accessToken } = await auth.issue({ userId: 'ann' });
    const first = auth.verifyAccessToken(accessToken);
    const again = auth.verifyAccessToken(accessToken);
    expect(auth.owns(first) && auth.owns(again)).to.equal(true);
    expect(stranger.owns(first)).to.equal(false);
    expect(auth.owns({ ...first })).to.equal(false);
    expect(auth.owns(structuredClone(first))).to.equal(false);
    expect(auth.owns(null) || auth.owns('x') || auth.owns(undefined)).to.equal(false);
  });
});
