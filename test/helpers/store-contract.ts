/**
 * The store contract: every SessionStore must pass it. Run by
 * test/stores.test.ts against MemorySessionStore and RedisSessionStore (with
 * each supported client), so both keep one set of semantics.
 */
import { expect } from 'chai';
import type { RotateInput, SessionRecord, SessionStore } from '../../lib/index.js';

export interface StoreFixture {
  store: SessionStore;
  close(): Promise<void>;
}

let counter = 0;
const id = (kind: string): string => `${kind}-${process.pid}-${++counter}`;

export function storeContract(makeStore: () => Promise<StoreFixture>): void {
  let fixture: StoreFixture;
  let store: SessionStore;
  const now = Math.floor(Date.now() / 1000);
  const TTL = 600;

  beforeEach(async () => {
    fixture = await makeStore();
    store = fixture.store;
  });
  afterEach(async () => fixture.close());

  async function session(over: Partial<SessionRecord> = {}): Promise<SessionRecord> {
    const record: SessionRecord = {
      userId: id('user'), sessionId: id('sid'), jti: id('jti'), createdAt: now,
      refreshExpiresAt: now + TTL, expiresAt: now + 10 * TTL, claims: { role: 'admin' },
      meta: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)' }, ...over,
    };
    await store.create(record, record.createdAt, 100);
    return record;
  }

  const rotate = (s: SessionRecord, jti: string, over: Partial<RotateInput> = {}) =>
    store.rotate({ userId: s.userId, sessionId: s.sessionId, jti, nextJti: id('jti'), now, ttl: TTL, grace: 5, ...over });

  it('rotates the current token to a successor, sliding its expiry', async () => {
    const s = await session();
    const result = await rotate(s, s.jti, { nextJti: 'next-1', now: now + 100 });
    expect(result).to.deep.equal({
      status: 'rotated',
      current: { jti: 'next-1', issuedAt: now + 100, expiresAt: now + 100 + TTL },
      claims: { role: 'admin' },
    });
  });

  it('keeps the caller\'s claims intact, nested and unicode included', async () => {
    const claims = { role: 'ops', scopes: ['a', 'b'], org: { id: 7, name: 'Zürich 東京' } };
    const s = await session({ claims });
    const result = await rotate(s, s.jti);
    expect(result.status).to.equal('rotated');
    expect(result.status === 'rotated' && result.claims).to.deep.equal(claims);
    const empty = await session({ claims: {} });
    const second = await rotate(empty, empty.jti);
    expect(second.status === 'rotated' && second.claims).to.deep.equal({});
  });

  it('gives the just-rotated token the same successor within the grace window', async () => {
    const s = await session();
    const first = await rotate(s, s.jti, { nextJti: 'succ', now: now + 10 });
    const again = await rotate(s, s.jti, { nextJti: 'other', now: now + 15 });
    expect(again.status).to.equal('grace');
    expect(again.status === 'grace' && again.current).to.deep.equal(first.status === 'rotated' && first.current);
    const next = await rotate(s, 'succ', { now: now + 16 });
    expect(next.status).to.equal('rotated');
  });

  it('treats the previous token after the grace window as reuse and deletes the session', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 10 });
    expect((await rotate(s, s.jti, { now: now + 16 })).status).to.equal('reused');
    expect((await rotate(s, 'succ', { now: now + 17 })).status).to.equal('unknown');
  });

  it('treats the previous token as reuse at once when grace is 0', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', grace: 0 });
    expect((await rotate(s, s.jti, { grace: 0 })).status).to.equal('reused');
    expect((await rotate(s, 'succ', { grace: 0 })).status).to.equal('unknown');
  });

  it('treats any older token as reuse, even inside the grace window', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'second' });
    await rotate(s, 'second', { nextJti: 'third' });
    expect((await rotate(s, s.jti)).status).to.equal('reused');
    expect((await rotate(s, 'third')).status).to.equal('unknown');
  });

  it('answers unknown for a session that never existed or belongs to another user', async () => {
    const s = await session();
    expect((await store.rotate({
      userId: s.userId, sessionId: 'nope', jti: s.jti, nextJti: 'n', now, ttl: TTL, grace: 5,
    })).status).to.equal('unknown');
    expect((await store.rotate({
      userId: 'someone-else', sessionId: s.sessionId, jti: s.jti, nextJti: 'n', now, ttl: TTL, grace: 5,
    })).status).to.equal('unknown');
    expect((await rotate(s, s.jti)).status, 'the real session is untouched').to.equal('rotated');
  });

  it('answers unknown once the refresh token has expired', async () => {
    const s = await session();
    expect((await rotate(s, s.jti, { now: now + TTL })).status).to.equal('unknown');
  });

  it('never slides past the absolute expiry, and ends the session there', async () => {
    const s = await session({ refreshExpiresAt: now + TTL, expiresAt: now + TTL + 60 });
    const result = await rotate(s, s.jti, { nextJti: 'late', now: now + TTL - 1 });
    expect(result.status === 'rotated' && result.current.expiresAt).to.equal(now + TTL + 60);
    expect((await rotate(s, 'late', { now: now + TTL + 60 })).status).to.equal('unknown');
  });

  it('revokes one session, idempotently', async () => {
    const s = await session();
    const other = await session({ userId: s.userId });
    expect(await store.revoke(s.userId, s.sessionId, now)).to.equal(true);
    expect(await store.revoke(s.userId, s.sessionId, now)).to.equal(false);
    expect((await rotate(s, s.jti)).status).to.equal('unknown');
    expect((await rotate(other, other.jti)).status, 'the user\'s other session lives').to.equal('rotated');
  });

  it('does not revoke a session through another user id', async () => {
    const s = await session();
    expect(await store.revoke('someone-else', s.sessionId, now)).to.equal(false);
    expect((await rotate(s, s.jti)).status).to.equal('rotated');
  });

  it('revokes every session of one user and no one else\'s', async () => {
    const a = await session();
    const a2 = await session({ userId: a.userId });
    const a3 = await session({ userId: a.userId });
    const b = await session();
    await store.revoke(a.userId, a3.sessionId, now);
    expect(await store.revokeAll(a.userId, now)).to.equal(2);
    expect((await rotate(a, a.jti)).status).to.equal('unknown');
    expect((await rotate(a2, a2.jti)).status).to.equal('unknown');
    expect((await rotate(b, b.jti)).status).to.equal('rotated');
    expect(await store.revokeAll(a.userId, now)).to.equal(0);
    expect(await store.revokeAll('nobody', now)).to.equal(0);
  });

  it('drops the least recently used sessions beyond the limit when a new one starts', async () => {
    const userId = id('user');
    const limited = async (sessionId: string, at: number, max: number): Promise<SessionRecord> => {
      const record: SessionRecord = {
        userId, sessionId, jti: `${sessionId}-jti`, createdAt: at, refreshExpiresAt: at + TTL,
        expiresAt: at + 10 * TTL, claims: {}, meta: {},
      };
      await store.create(record, at, max);
      return record;
    };
    const a = await limited('a', now, 2);
    const b = await limited('b', now + 1, 2);
    await rotate(a, a.jti, { nextJti: 'a-2', now: now + 2 }); // a is now the more recently used
    const c = await limited('c', now + 3, 2);
    expect((await rotate(b, b.jti, { now: now + 4 })).status, 'b was least recently used').to.equal('unknown');
    expect((await rotate(a, 'a-2', { now: now + 4 })).status).to.equal('rotated');
    expect((await rotate(c, c.jti, { now: now + 4 })).status).to.equal('rotated');
    expect(await store.revokeAll(userId, now + 5)).to.equal(2);
  });

  it('does not count expired sessions as revoked', async () => {
    const s = await session();
    const t = await session({ userId: s.userId, refreshExpiresAt: now + 2 * TTL });
    expect(await store.revoke(s.userId, s.sessionId, now + TTL)).to.equal(false);
    expect(await store.revokeAll(t.userId, now + TTL)).to.equal(1);
  });

  it('lets exactly one of many concurrent rotations of one token win', async () => {
    const s = await session();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => rotate(s, s.jti, { nextJti: `succ-${i}` })));
    const rotated = results.filter((r) => r.status === 'rotated');
    expect(rotated).to.have.length(1);
    const winner = rotated[0]!.status === 'rotated' ? rotated[0]!.current : undefined;
    for (const r of results) {
      expect(r.status).to.be.oneOf(['rotated', 'grace']);
      expect('current' in r && r.current).to.deep.equal(winner);
    }
    expect((await rotate(s, winner!.jti)).status, 'the session is still usable').to.equal('rotated');
  });

  it('answers ping', async () => {
    await store.ping?.();
  });
}
