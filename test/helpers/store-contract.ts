/**
 * The store contract: every SessionStore must pass it. Run by
 * test/stores.test.ts against MemorySessionStore and RedisSessionStore (with
 * each supported client), so both keep one set of semantics. Time is the
 * `now` each call passes: a store with a clock of its own must be run with
 * that clock off (RedisSessionStore's `clock: 'caller'`); its own clock is
 * tested apart.
 */
import { expect } from 'chai';
import type { CurrentToken, NewSession, RotateInput, SessionStore } from '../../lib/index.js';
import { contractIds, REVOCATION_TTL, CREDENTIAL_TTL } from './store-contract-ids.js';
import { sessionsContract } from './store-contract-sessions.js';
import { lostSuccessorContract } from './store-contract-lost.js';
import { credentialsContract } from './store-contract-credentials.js';

export interface StoreFixture {
  store: SessionStore;
  close(): Promise<void>;
}

const id = contractIds;

export function storeContract(makeStore: () => Promise<StoreFixture>): void {
  let fixture: StoreFixture;
  let store: SessionStore;
  const now = Math.floor(Date.now() / 1000);
  const TTL = 600;

  beforeEach(async () => {
    const made = await makeStore();
    let closing: Promise<void> | undefined;
    fixture = { store: made.store, close: () => (closing ??= made.close()) };
    store = fixture.store;
  });
  afterEach(async () => fixture.close());

  describe('sessions', () => {
    sessionsContract(() => store);
  });

  describe('a successor the store lost', () => {
    lostSuccessorContract(() => store);
  });

  describe('credential cut-offs', () => {
    credentialsContract(() => store);
  });

  /** A stored session: what was handed to `create`, plus its first token as the store answered it. */
  type Stored = NewSession & { first: CurrentToken; at: number };

  async function session(over: Partial<NewSession> = {}, at = now, maxSessions = 100): Promise<Stored> {
    const record: NewSession = {
      userId: id('user'), sessionId: id('sid'), jti: id('jti'), ttl: TTL, maxLifetime: 10 * TTL,
      claims: { role: 'admin' }, meta: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)' }, ...over,
    };
    return { ...record, first: await store.create(record, { now: at, maxSessions, revocationTtl: REVOCATION_TTL }), at };
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) =>
    store.rotate({
      userId: s.userId, sessionId: s.sessionId, jti, nextJti: id('jti'), now, ttl: TTL, grace: 5,
      meta: {}, window: 900, revocationTtl: REVOCATION_TTL, ...over,
    });

  it('answers the first refresh token\'s times from create', async () => {
    const s = await session({ jti: 'first' });
    expect(s.first).to.deep.equal({ jti: 'first', issuedAt: now, expiresAt: now + TTL });
    const short = await session({ jti: 'capped', ttl: TTL, maxLifetime: TTL - 10 }, now + 3);
    expect(short.first, 'never past the absolute end').to.deep.equal({ jti: 'capped', issuedAt: now + 3, expiresAt: now + 3 + TTL - 10 });
  });

  it('rotates the current token to a successor, sliding its expiry', async () => {
    const s = await session();
    const result = await rotate(s, s.jti, { nextJti: 'next-1', now: now + 100 });
    expect(result).to.deep.equal({
      status: 'rotated',
      current: { jti: 'next-1', issuedAt: now + 100, expiresAt: now + 100 + TTL },
      claims: { role: 'admin' },
      previousMeta: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)' },
      refreshes: 1,
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

  it('treats the previous token as reuse when the caller\'s time is before the rotation (no negative grace)', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 60 });
    expect((await rotate(s, s.jti, { now: now + 5 })).status).to.equal('reused');
    expect((await rotate(s, 'succ', { now: now + 61 })).status).to.equal('unknown');
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
    expect((await rotate({ ...s, sessionId: 'nope' }, s.jti)).status).to.equal('unknown');
    expect((await rotate({ ...s, userId: 'someone-else' }, s.jti)).status).to.equal('unknown');
    expect((await rotate(s, s.jti)).status, 'the real session is untouched').to.equal('rotated');
  });

  it('answers unknown once the refresh token has expired', async () => {
    const s = await session();
    expect((await rotate(s, s.jti, { now: now + TTL })).status).to.equal('unknown');
  });

  it('never slides past the absolute expiry, and ends the session there', async () => {
    const s = await session({ ttl: TTL, maxLifetime: TTL + 60 });
    const result = await rotate(s, s.jti, { nextJti: 'late', now: now + TTL - 1 });
    expect(result.status === 'rotated' && result.current.expiresAt).to.equal(now + TTL + 60);
    expect((await rotate(s, 'late', { now: now + TTL + 60 })).status).to.equal('unknown');
  });

  const revoke = (s: NewSession, jti: string | undefined, over: { now?: number; grace?: number; userId?: string } = {}) =>
    store.revoke({ userId: s.userId, sessionId: s.sessionId, jti, now, grace: 5, revocationTtl: REVOCATION_TTL, ...over });

  it('revokes one session, idempotently', async () => {
    const s = await session();
    const other = await session({ userId: s.userId });
    expect(await revoke(s, s.jti)).to.equal('revoked');
    expect(await revoke(s, s.jti)).to.equal('unknown');
    expect((await rotate(s, s.jti)).status).to.equal('unknown');
    expect((await rotate(other, other.jti)).status, 'the user\'s other session lives').to.equal('rotated');
  });

  it('revokes by session id alone when no token id is given', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ' });
    expect(await revoke(s, undefined, { now: now + 100 })).to.equal('revoked');
    expect((await rotate(s, 'succ')).status).to.equal('unknown');
  });

  it('revokes with the just-rotated token inside the grace window, as a plain logout', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 10 });
    expect(await revoke(s, s.jti, { now: now + 15 })).to.equal('revoked');
    expect((await rotate(s, 'succ', { now: now + 16 })).status).to.equal('unknown');
  });

  it('answers reused, and still ends the session, for a rotated-out token outside the grace window', async () => {
    const late = await session();
    await rotate(late, late.jti, { nextJti: 'succ', now: now + 10 });
    expect(await revoke(late, late.jti, { now: now + 16 })).to.equal('reused');
    expect((await rotate(late, 'succ', { now: now + 17 })).status).to.equal('unknown');

    const older = await session();
    await rotate(older, older.jti, { nextJti: 'second' });
    await rotate(older, 'second', { nextJti: 'third' });
    expect(await revoke(older, older.jti), 'any older token').to.equal('reused');
    expect((await rotate(older, 'third')).status).to.equal('unknown');

    const noGrace = await session();
    await rotate(noGrace, noGrace.jti, { nextJti: 'succ' });
    expect(await revoke(noGrace, noGrace.jti, { grace: 0 }), 'grace 0').to.equal('reused');
  });

  it('answers reused for a rotated-out token when the caller\'s time is before the rotation', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 60 });
    expect(await revoke(s, s.jti, { now: now + 2 })).to.equal('reused');
  });

  it('does not revoke a session through another user id', async () => {
    const s = await session();
    expect(await revoke(s, s.jti, { userId: 'someone-else' })).to.equal('unknown');
    expect((await rotate(s, s.jti)).status).to.equal('rotated');
  });

  it('revokes every session of one user and no one else\'s', async () => {
    const a = await session();
    const a2 = await session({ userId: a.userId });
    const a3 = await session({ userId: a.userId });
    const b = await session();
    await revoke(a3, a3.jti);
    expect(await store.revokeAll({ userId: a.userId, now: now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL })).to.equal(2);
    expect((await rotate(a, a.jti)).status).to.equal('unknown');
    expect((await rotate(a2, a2.jti)).status).to.equal('unknown');
    expect((await rotate(b, b.jti)).status).to.equal('rotated');
    expect(await store.revokeAll({ userId: a.userId, now: now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL })).to.equal(0);
    expect(await store.revokeAll({ userId: 'nobody', now: now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL })).to.equal(0);
  });

  it('drops the least recently used sessions beyond the limit when a new one starts', async () => {
    const userId = id('user');
    const limited = (sessionId: string, at: number, max: number) =>
      session({ userId, sessionId, jti: `${sessionId}-jti`, claims: {}, meta: {} }, at, max);
    const a = await limited('a', now, 2);
    const b = await limited('b', now + 1, 2);
    await rotate(a, a.jti, { nextJti: 'a-2', now: now + 2 }); // a is now the more recently used
    const c = await limited('c', now + 3, 2);
    expect((await rotate(b, b.jti, { now: now + 4 })).status, 'b was least recently used').to.equal('unknown');
    expect((await rotate(a, 'a-2', { now: now + 4 })).status).to.equal('rotated');
    expect((await rotate(c, c.jti, { now: now + 4 })).status).to.equal('rotated');
    expect(await store.revokeAll({ userId: userId, now: now + 5, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL })).to.equal(2);
  });

  it('does not count expired sessions as revoked', async () => {
    const s = await session();
    const t = await session({ userId: s.userId, ttl: 2 * TTL });
    expect(await revoke(s, s.jti, { now: now + TTL })).to.equal('unknown');
    expect(await store.revokeAll({ userId: t.userId, now: now + TTL, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL })).to.equal(1);
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

  it('answers ping while usable, and fails it once closed', async () => {
    const ping = store.ping?.bind(store);
    expect(ping, 'ping is implemented').to.be.a('function');
    await ping!();
    await fixture.close();
    const failure = await ping!().then(() => undefined, (error: unknown) => error);
    expect(failure, 'a closed store must not answer ping').to.be.instanceOf(Error);
  });
}
