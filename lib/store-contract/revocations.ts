/**
 * The store contract, revocation part (for a store with `revocations()`):
 * every call that ends a session records it, in the same step, on the record
 * `revocations()` follows, and nothing else does, not even a call that ends
 * nothing. "Nothing else" is checked with a sentinel: the feed delivers in
 * order, so once a sentinel session's ending has arrived, every entry
 * written before it has too.
 */
import { strict as assert } from 'node:assert';
import type { NewSession, Revocation, RevocationFeed, RotateInput } from '../store-types.js';
import { CREDENTIAL_TTL, REVOCATION_TTL, TTL, type Contract } from './harness.js';

/**
 * Milliseconds the feed may take to deliver an entry: generous, so that a
 * busy machine (CI, a suite run beside other work) is slow, not red. A feed
 * that delivers at all delivers the sentinel long before.
 */
const DELIVERY = 15_000;

export function revocationsContract(c: Contract): void {
  const { it, beforeEach, afterEach } = c.t;
  let feeds: RevocationFeed[] = [];

  beforeEach(async () => {
    feeds = [];
  });
  afterEach(async () => {
    await Promise.all(feeds.map((feed) => feed.close()));
  });

  /** A followed feed and every entry it has delivered so far. */
  async function follow(since = c.now - 60): Promise<{ feed: RevocationFeed; seen: Revocation[] }> {
    assert.equal(
      typeof c.store.revocations,
      'function',
      'the store offers revocations() (or pass { revocations: false })',
    );
    const feed = c.store.revocations!();
    feeds.push(feed);
    const seen: Revocation[] = [];
    await feed.follow((revocation) => {
      seen.push(revocation);
    }, since);
    return { feed, seen };
  }

  async function session(over: Partial<NewSession> = {}, maxSessions = 100): Promise<NewSession> {
    const record: NewSession = {
      userId: c.id('user'),
      sessionId: c.id('sid'),
      jti: c.id('jti'),
      ttl: TTL,
      maxLifetime: 10 * TTL,
      claims: {},
      meta: {},
      ...over,
    };
    await c.store.create(record, { now: c.now, maxSessions, revocationTtl: REVOCATION_TTL });
    return record;
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) => c.rotate(s, jti, over);
  const revoke = (s: NewSession, jti?: string) =>
    c.store.revoke({
      userId: s.userId,
      sessionId: s.sessionId,
      jti,
      now: c.now,
      grace: 5,
      revocationTtl: REVOCATION_TTL,
    });
  const revokeAll = (userId: string, keepSessionId?: string) =>
    c.store.revokeAll({
      userId,
      keepSessionId,
      now: c.now,
      revocationTtl: REVOCATION_TTL,
      credentialTtl: CREDENTIAL_TTL,
    });

  const ended = (sessionId: string): Revocation => ({ kind: 'session', id: sessionId, at: c.now });

  /** Ends a sentinel session and waits for it: then `seen` holds everything recorded before, sentinel dropped. */
  async function settled(seen: Revocation[]): Promise<Revocation[]> {
    const sentinel = await session();
    assert.equal(await revoke(sentinel), 'revoked');
    const deadline = performance.now() + DELIVERY;
    while (!seen.some((r) => r.id === sentinel.sessionId)) {
      if (performance.now() > deadline) throw new Error(`the feed did not deliver the sentinel within ${DELIVERY} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return seen.filter((r) => r.id !== sentinel.sessionId);
  }

  const sorted = (list: Revocation[]) => [...list].sort((a, b) => `${a.kind}${a.id}`.localeCompare(`${b.kind}${b.id}`));

  it("records a logout, with the session id and the store's time", async () => {
    const { seen } = await follow();
    const s = await session();
    assert.equal(await revoke(s, s.jti), 'revoked');
    assert.deepEqual(await settled(seen), [ended(s.sessionId)]);
  });

  it('records reuse detection, at refresh and at logout', async () => {
    const { seen } = await follow();
    const a = await session();
    await rotate(a, a.jti, { nextJti: 'a-2' });
    await rotate(a, 'a-2', { nextJti: 'a-3' });
    assert.equal((await rotate(a, a.jti)).status, 'reused');
    const b = await session();
    await rotate(b, b.jti, { nextJti: 'b-2' });
    await rotate(b, 'b-2', { nextJti: 'b-3' });
    assert.equal(await revoke(b, b.jti), 'reused');
    assert.deepEqual(await settled(seen), [ended(a.sessionId), ended(b.sessionId)]);
  });

  it('records revokeSession, and nothing for a session that was not live', async () => {
    const { seen } = await follow();
    const s = await session();
    assert.equal(await revoke(s), 'revoked');
    assert.equal(await revoke(s), 'unknown');
    assert.equal(await revoke({ ...s, sessionId: 'never-there' }), 'unknown');
    assert.deepEqual(await settled(seen), [ended(s.sessionId)]);
  });

  it('records each session revokeOtherSessions ends, not the kept one, and no user cut-off', async () => {
    const { seen } = await follow();
    const keep = await session();
    const others = [await session({ userId: keep.userId }), await session({ userId: keep.userId })];
    assert.equal(await revokeAll(keep.userId, keep.sessionId), 2);
    assert.deepEqual(sorted(await settled(seen)), sorted(others.map((o) => ended(o.sessionId))));
  });

  it('records each session revokeAll ends and one user cut-off, for that user only', async () => {
    const { seen } = await follow();
    const a = await session();
    const a2 = await session({ userId: a.userId });
    await session(); // someone else's
    assert.equal(await revokeAll(a.userId), 2);
    assert.deepEqual(
      sorted(await settled(seen)),
      sorted([ended(a.sessionId), ended(a2.sessionId), { kind: 'user', id: a.userId, at: c.now }]),
    );
  });

  it('records nothing, no user cut-off either, for a revokeAll or revokeOtherSessions that ends nothing', async () => {
    const { seen } = await follow();
    assert.equal(await revokeAll(c.id('nobody')), 0, 'a user who never had a session');
    const gone = await session();
    assert.equal(await revoke(gone), 'revoked');
    for (let i = 0; i < 3; i += 1) assert.equal(await revokeAll(gone.userId), 0, 'every session already ended');
    const only = await session();
    assert.equal(await revokeAll(only.userId, only.sessionId), 0, 'only the kept session');
    assert.deepEqual(await settled(seen), [ended(gone.sessionId)]);
  });

  it('records the session a login evicts beyond maxSessionsPerUser', async () => {
    const { seen } = await follow();
    const first = await session({}, 2);
    await session({ userId: first.userId }, 2);
    await session({ userId: first.userId }, 2);
    assert.equal((await rotate(first, first.jti)).status, 'unknown', 'the oldest was evicted');
    assert.deepEqual(await settled(seen), [ended(first.sessionId)]);
  });

  it('records nothing for a rotation, a grace answer or a refresh of an unknown session', async () => {
    const { seen } = await follow();
    const s = await session();
    assert.equal((await rotate(s, s.jti, { nextJti: 'next' })).status, 'rotated');
    assert.equal((await rotate(s, s.jti)).status, 'grace');
    assert.equal((await rotate({ ...s, sessionId: 'never-there' }, 'x')).status, 'unknown');
    await c.store.list(s.userId, c.now);
    assert.deepEqual(await settled(seen), []);
  });

  it('delivers what was recorded before follow() by the time it resolves, in order', async () => {
    const made = [await session(), await session(), await session()];
    for (const s of made) await revoke(s);
    const before = Date.now();
    const { seen, feed } = await follow();
    assert.deepEqual(
      seen.filter((r) => made.some((s) => s.sessionId === r.id)),
      made.map((s) => ended(s.sessionId)),
    );
    // It heard from the store while following (process clock): after follow() began, and not in the future.
    const contact = feed.lastContact();
    const after = Date.now();
    assert.ok(
      contact >= before && contact <= after,
      `heard from the store (lastContact ${contact}, follow() began ${before}, now ${after})`,
    );
  });

  it('stops delivering once closed', async () => {
    const { feed, seen } = await follow();
    const { seen: other } = await follow();
    await feed.close();
    const s = await session();
    await revoke(s);
    assert.deepEqual(await settled(other), [ended(s.sessionId)]);
    assert.deepEqual(seen, []);
  });
}
