/**
 * The store contract, part one: create, rotation with its grace window and
 * reuse detection, revoking one or every session, the session limit,
 * concurrent rotations and ping.
 */
import { strict as assert } from 'node:assert';
import type { CurrentToken, NewSession, RotateInput } from '../store-types.js';
import { CREDENTIAL_TTL, oneOf, REVOCATION_TTL, TTL, type Contract } from './harness.js';

export function rotationContract(c: Contract): void {
  const { it } = c.t;

  /** A stored session: what was handed to `create`, plus its first token as the store answered it. */
  type Stored = NewSession & { first: CurrentToken };

  async function session(over: Partial<NewSession> = {}, at = c.now, maxSessions = 100): Promise<Stored> {
    const record: NewSession = {
      userId: c.id('user'),
      sessionId: c.id('sid'),
      jti: c.id('jti'),
      ttl: TTL,
      maxLifetime: 10 * TTL,
      claims: { role: 'admin' },
      meta: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)' },
      ...over,
    };
    return { ...record, first: await c.store.create(record, { now: at, maxSessions, revocationTtl: REVOCATION_TTL }) };
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) => c.rotate(s, jti, over);
  const status = async (s: NewSession, jti: string, over: Partial<RotateInput> = {}) =>
    (await rotate(s, jti, over)).status;

  const revoke = (
    s: NewSession,
    jti: string | undefined,
    over: { now?: number; grace?: number; userId?: string } = {},
  ) =>
    c.store.revoke({
      userId: s.userId,
      sessionId: s.sessionId,
      jti,
      now: c.now,
      grace: 5,
      revocationTtl: REVOCATION_TTL,
      ...over,
    });

  const revokeAll = (userId: string, now = c.now) =>
    c.store.revokeAll({ userId, now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL });

  it("answers the first refresh token's times from create", async () => {
    const { now } = c;
    const s = await session({ jti: 'first' });
    assert.deepEqual(s.first, { jti: 'first', issuedAt: now, expiresAt: now + TTL });
    const short = await session({ jti: 'capped', ttl: TTL, maxLifetime: TTL - 10 }, now + 3);
    assert.deepEqual(
      short.first,
      { jti: 'capped', issuedAt: now + 3, expiresAt: now + 3 + TTL - 10 },
      'never past the absolute end',
    );
  });

  it('rotates the current token to a successor, sliding its expiry', async () => {
    const { now } = c;
    const s = await session();
    assert.deepEqual(await rotate(s, s.jti, { nextJti: 'next-1', now: now + 100 }), {
      status: 'rotated',
      current: { jti: 'next-1', issuedAt: now + 100, expiresAt: now + 100 + TTL },
      claims: { role: 'admin' },
      previousMeta: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (test)' },
      refreshes: 1,
    });
  });

  it("keeps the caller's claims intact, nested and unicode included", async () => {
    const claims = { role: 'ops', scopes: ['a', 'b'], org: { id: 7, name: 'Zürich 東京' } };
    const s = await session({ claims });
    const result = await rotate(s, s.jti);
    assert.equal(result.status, 'rotated');
    assert.deepEqual(result.status === 'rotated' && result.claims, claims);
    const empty = await session({ claims: {} });
    const second = await rotate(empty, empty.jti);
    assert.deepEqual(second.status === 'rotated' && second.claims, {});
  });

  it('gives the just-rotated token the same successor within the grace window', async () => {
    const { now } = c;
    const s = await session();
    const first = await rotate(s, s.jti, { nextJti: 'succ', now: now + 10 });
    const again = await rotate(s, s.jti, { nextJti: 'other', now: now + 15 });
    assert.equal(again.status, 'grace');
    assert.deepEqual(again.status === 'grace' && again.current, first.status === 'rotated' && first.current);
    assert.equal(await status(s, 'succ', { now: now + 16 }), 'rotated');
  });

  it('treats the previous token after the grace window as reuse and deletes the session', async () => {
    const { now } = c;
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 10 });
    assert.equal(await status(s, s.jti, { now: now + 16 }), 'reused');
    assert.equal(await status(s, 'succ', { now: now + 17 }), 'unknown');
  });

  it("treats the previous token as reuse when the caller's time is before the rotation (no negative grace)", async () => {
    const { now } = c;
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 60 });
    assert.equal(await status(s, s.jti, { now: now + 5 }), 'reused');
    assert.equal(await status(s, 'succ', { now: now + 61 }), 'unknown');
  });

  it('treats the previous token as reuse at once when grace is 0', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', grace: 0 });
    assert.equal(await status(s, s.jti, { grace: 0 }), 'reused');
    assert.equal(await status(s, 'succ', { grace: 0 }), 'unknown');
  });

  it('treats any older token as reuse, even inside the grace window', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'second' });
    await rotate(s, 'second', { nextJti: 'third' });
    assert.equal(await status(s, s.jti), 'reused');
    assert.equal(await status(s, 'third'), 'unknown');
  });

  it('answers unknown for a session that never existed or belongs to another user', async () => {
    const s = await session();
    assert.equal(await status({ ...s, sessionId: 'nope' }, s.jti), 'unknown');
    assert.equal(await status({ ...s, userId: 'someone-else' }, s.jti), 'unknown');
    assert.equal(await status(s, s.jti), 'rotated', 'the real session is untouched');
  });

  it('answers unknown once the refresh token has expired', async () => {
    const s = await session();
    assert.equal(await status(s, s.jti, { now: c.now + TTL }), 'unknown');
  });

  it('never slides past the absolute expiry, and ends the session there', async () => {
    const { now } = c;
    const s = await session({ ttl: TTL, maxLifetime: TTL + 60 });
    const result = await rotate(s, s.jti, { nextJti: 'late', now: now + TTL - 1 });
    assert.equal(result.status === 'rotated' && result.current.expiresAt, now + TTL + 60);
    assert.equal(await status(s, 'late', { now: now + TTL + 60 }), 'unknown');
  });

  it('revokes one session, idempotently', async () => {
    const s = await session();
    const other = await session({ userId: s.userId });
    assert.equal(await revoke(s, s.jti), 'revoked');
    assert.equal(await revoke(s, s.jti), 'unknown');
    assert.equal(await status(s, s.jti), 'unknown');
    assert.equal(await status(other, other.jti), 'rotated', "the user's other session lives");
  });

  it('revokes by session id alone when no token id is given', async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ' });
    assert.equal(await revoke(s, undefined, { now: c.now + 100 }), 'revoked');
    assert.equal(await status(s, 'succ'), 'unknown');
  });

  it('revokes with the just-rotated token inside the grace window, as a plain logout', async () => {
    const { now } = c;
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: now + 10 });
    assert.equal(await revoke(s, s.jti, { now: now + 15 }), 'revoked');
    assert.equal(await status(s, 'succ', { now: now + 16 }), 'unknown');
  });

  it('answers reused, and still ends the session, for a rotated-out token outside the grace window', async () => {
    const { now } = c;
    const late = await session();
    await rotate(late, late.jti, { nextJti: 'succ', now: now + 10 });
    assert.equal(await revoke(late, late.jti, { now: now + 16 }), 'reused');
    assert.equal(await status(late, 'succ', { now: now + 17 }), 'unknown');

    const older = await session();
    await rotate(older, older.jti, { nextJti: 'second' });
    await rotate(older, 'second', { nextJti: 'third' });
    assert.equal(await revoke(older, older.jti), 'reused', 'any older token');
    assert.equal(await status(older, 'third'), 'unknown');

    const noGrace = await session();
    await rotate(noGrace, noGrace.jti, { nextJti: 'succ' });
    assert.equal(await revoke(noGrace, noGrace.jti, { grace: 0 }), 'reused', 'grace 0');
  });

  it("answers reused for a rotated-out token when the caller's time is before the rotation", async () => {
    const s = await session();
    await rotate(s, s.jti, { nextJti: 'succ', now: c.now + 60 });
    assert.equal(await revoke(s, s.jti, { now: c.now + 2 }), 'reused');
  });

  it('does not revoke a session through another user id', async () => {
    const s = await session();
    assert.equal(await revoke(s, s.jti, { userId: 'someone-else' }), 'unknown');
    assert.equal(await status(s, s.jti), 'rotated');
  });

  it("revokes every session of one user and no one else's", async () => {
    const a = await session();
    const a2 = await session({ userId: a.userId });
    const a3 = await session({ userId: a.userId });
    const b = await session();
    await revoke(a3, a3.jti);
    assert.equal(await revokeAll(a.userId), 2);
    assert.equal(await status(a, a.jti), 'unknown');
    assert.equal(await status(a2, a2.jti), 'unknown');
    assert.equal(await status(b, b.jti), 'rotated');
    assert.equal(await revokeAll(a.userId), 0);
    assert.equal(await revokeAll('nobody'), 0);
  });

  it('drops the least recently used sessions beyond the limit when a new one starts', async () => {
    const { now } = c;
    const userId = c.id('user');
    const limited = (sessionId: string, at: number, max: number) =>
      session({ userId, sessionId, jti: `${sessionId}-jti`, claims: {}, meta: {} }, at, max);
    const a = await limited('a', now, 2);
    const b = await limited('b', now + 1, 2);
    await rotate(a, a.jti, { nextJti: 'a-2', now: now + 2 }); // a is now the more recently used
    const d = await limited('d', now + 3, 2);
    assert.equal(await status(b, b.jti, { now: now + 4 }), 'unknown', 'b was least recently used');
    assert.equal(await status(a, 'a-2', { now: now + 4 }), 'rotated');
    assert.equal(await status(d, d.jti, { now: now + 4 }), 'rotated');
    assert.equal(await revokeAll(userId, now + 5), 2);
  });

  it('does not count expired sessions as revoked', async () => {
    const s = await session();
    const t = await session({ userId: s.userId, ttl: 2 * TTL });
    assert.equal(await revoke(s, s.jti, { now: c.now + TTL }), 'unknown');
    assert.equal(await revokeAll(t.userId, c.now + TTL), 1);
  });

  it('lets exactly one of many concurrent rotations of one token win', async () => {
    const s = await session();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => rotate(s, s.jti, { nextJti: `succ-${i}` })));
    const rotated = results.filter((r) => r.status === 'rotated');
    assert.equal(rotated.length, 1);
    const winner = rotated[0]!.status === 'rotated' ? rotated[0]!.current : undefined;
    for (const r of results) {
      oneOf(r.status, ['rotated', 'grace'], 'every concurrent rotation');
      assert.deepEqual('current' in r && r.current, winner);
    }
    assert.equal(await status(s, winner!.jti), 'rotated', 'the session is still usable');
  });

  it('answers ping while usable, and fails it once closed (a store without ping: nothing to check)', async () => {
    const { store } = c;
    if (store.ping === undefined) return;
    await store.ping();
    await c.close();
    await assert.rejects(store.ping(), Error, 'a closed store must not answer ping');
  });
}
