/**
 * The store contract, revocation part: every call that ends a session
 * records it, in the same step, on the record `revocations()` follows, and
 * nothing else does. Run by test/store-revocations.test.ts against
 * MemorySessionStore and RedisSessionStore (each client setup); any store
 * that offers `revocations()` can run it. "Nothing else" is checked with a
 * sentinel: the feed delivers in order, so once a sentinel session's ending
 * has arrived, every entry written before it has too.
 */
import { expect } from 'chai';
import type { NewSession, Revocation, RevocationFeed, RotateInput, SessionStore } from '../../lib/index.js';
import type { StoreFixture } from './store-contract.js';
import { contractIds as id, REVOCATION_TTL, CREDENTIAL_TTL } from './store-contract-ids.js';

export function revocationsContract(makeStore: () => Promise<StoreFixture>): void {
  const now = Math.floor(Date.now() / 1000);
  const TTL = 600;
  let fixture: StoreFixture;
  let store: SessionStore;
  let feeds: RevocationFeed[];

  beforeEach(async () => {
    fixture = await makeStore();
    store = fixture.store;
    feeds = [];
  });
  afterEach(async () => {
    await Promise.all(feeds.map((feed) => feed.close()));
    await fixture.close();
  });

  /** A followed feed and every entry it has delivered so far. */
  async function follow(since = now - 60): Promise<{ feed: RevocationFeed; seen: Revocation[] }> {
    expect(typeof store.revocations, 'the store offers revocations()').to.equal('function');
    const feed = store.revocations!();
    feeds.push(feed);
    const seen: Revocation[] = [];
    await feed.follow((revocation) => { seen.push(revocation); }, since);
    return { feed, seen };
  }

  async function session(over: Partial<NewSession> = {}, maxSessions = 100): Promise<NewSession> {
    const record: NewSession = {
      userId: id('user'), sessionId: id('sid'), jti: id('jti'), ttl: TTL, maxLifetime: 10 * TTL, claims: {}, meta: {}, ...over,
    };
    await store.create(record, { now, maxSessions, revocationTtl: REVOCATION_TTL });
    return record;
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) => store.rotate({
    userId: s.userId, sessionId: s.sessionId, jti, nextJti: id('jti'), now, ttl: TTL, grace: 5,
    meta: {}, window: 900, revocationTtl: REVOCATION_TTL, ...over,
  });

  const revoke = (s: NewSession, jti?: string) =>
    store.revoke({ userId: s.userId, sessionId: s.sessionId, jti, now, grace: 5, revocationTtl: REVOCATION_TTL });

  const ended = (sessionId: string): Revocation => ({ kind: 'session', id: sessionId, at: now });

  /** Ends a sentinel session and waits for it: then `seen` holds everything recorded before, sentinel dropped. */
  async function settled(seen: Revocation[]): Promise<Revocation[]> {
    const sentinel = await session();
    expect(await revoke(sentinel)).to.equal('revoked');
    const deadline = Date.now() + 3000;
    while (!seen.some((r) => r.id === sentinel.sessionId)) {
      if (Date.now() > deadline) throw new Error('the feed did not deliver the sentinel within 3 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return seen.filter((r) => r.id !== sentinel.sessionId);
  }

  const sorted = (list: Revocation[]) => [...list].sort((a, b) => `${a.kind}${a.id}`.localeCompare(`${b.kind}${b.id}`));

  it('records a logout, with the session id and the store\'s time', async () => {
    const { seen } = await follow();
    const s = await session();
    expect(await revoke(s, s.jti)).to.equal('revoked');
    expect(await settled(seen)).to.deep.equal([ended(s.sessionId)]);
  });

  it('records reuse detection, at refresh and at logout', async () => {
    const { seen } = await follow();
    const a = await session();
    await rotate(a, a.jti, { nextJti: 'a-2' });
    await rotate(a, 'a-2', { nextJti: 'a-3' });
    expect((await rotate(a, a.jti)).status).to.equal('reused');
    const b = await session();
    await rotate(b, b.jti, { nextJti: 'b-2' });
    await rotate(b, 'b-2', { nextJti: 'b-3' });
    expect(await revoke(b, b.jti)).to.equal('reused');
    expect(await settled(seen)).to.deep.equal([ended(a.sessionId), ended(b.sessionId)]);
  });

  it('records revokeSession, and nothing for a session that was not live', async () => {
    const { seen } = await follow();
    const s = await session();
    expect(await revoke(s)).to.equal('revoked');
    expect(await revoke(s)).to.equal('unknown');
    expect(await revoke({ ...s, sessionId: 'never-there' })).to.equal('unknown');
    expect(await settled(seen)).to.deep.equal([ended(s.sessionId)]);
  });

  it('records each session revokeOtherSessions ends, not the kept one, and no user cut-off', async () => {
    const { seen } = await follow();
    const keep = await session();
    const others = [await session({ userId: keep.userId }), await session({ userId: keep.userId })];
    expect(await store.revokeAll({ userId: keep.userId, keepSessionId: keep.sessionId, now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL }))
      .to.equal(2);
    expect(sorted(await settled(seen))).to.deep.equal(sorted(others.map((o) => ended(o.sessionId))));
  });

  it('records each session revokeAll ends and one user cut-off, for that user only', async () => {
    const { seen } = await follow();
    const a = await session();
    const a2 = await session({ userId: a.userId });
    await session(); // someone else's
    expect(await store.revokeAll({ userId: a.userId, now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL })).to.equal(2);
    expect(sorted(await settled(seen))).to.deep.equal(sorted([
      ended(a.sessionId), ended(a2.sessionId), { kind: 'user', id: a.userId, at: now },
    ]));
  });

  it('records nothing, no user cut-off either, for a revokeAll or revokeOtherSessions that ends nothing', async () => {
    const { seen } = await follow();
    const all = (userId: string, keepSessionId?: string) =>
      store.revokeAll({ userId, keepSessionId, now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL });
    expect(await all(id('nobody')), 'a user who never had a session').to.equal(0);
    const gone = await session();
    expect(await revoke(gone)).to.equal('revoked');
    for (let i = 0; i < 3; i += 1) expect(await all(gone.userId), 'every session already ended').to.equal(0);
    const only = await session();
    expect(await all(only.userId, only.sessionId), 'only the kept session').to.equal(0);
    expect(await settled(seen)).to.deep.equal([ended(gone.sessionId)]);
  });

  it('records the session a login evicts beyond maxSessionsPerUser', async () => {
    const { seen } = await follow();
    const first = await session({}, 2);
    await session({ userId: first.userId }, 2);
    await session({ userId: first.userId }, 2);
    expect((await rotate(first, first.jti)).status, 'the oldest was evicted').to.equal('unknown');
    expect(await settled(seen)).to.deep.equal([ended(first.sessionId)]);
  });

  it('records nothing for a rotation, a grace answer or a refresh of an unknown session', async () => {
    const { seen } = await follow();
    const s = await session();
    expect((await rotate(s, s.jti, { nextJti: 'next' })).status).to.equal('rotated');
    expect((await rotate(s, s.jti)).status).to.equal('grace');
    expect((await rotate({ ...s, sessionId: 'never-there' }, 'x')).status).to.equal('unknown');
    await store.list(s.userId, now);
    expect(await settled(seen)).to.deep.equal([]);
  });

  it('delivers what was recorded before follow() by the time it resolves, in order', async () => {
    const made = [await session(), await session(), await session()];
    for (const s of made) await revoke(s);
    const { seen, feed } = await follow();
    expect(seen.filter((r) => made.some((s) => s.sessionId === r.id))).to.deep.equal(made.map((s) => ended(s.sessionId)));
    expect(feed.lastContact(), 'heard from the store').to.be.within(Date.now() - 1500, Date.now());
  });

  it('stops delivering once closed', async () => {
    const { feed, seen } = await follow();
    const { seen: other } = await follow();
    await feed.close();
    const s = await session();
    await revoke(s);
    expect(await settled(other)).to.deep.equal([ended(s.sessionId)]);
    expect(seen).to.deep.equal([]);
  });
}
