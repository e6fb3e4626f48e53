/**
 * The store contract, part two: what sessions show and how they change
 * besides rotation: `list`, metadata and claims replaced at refresh, the
 * refresh count in its window, and ending all sessions but one.
 */
import { strict as assert } from 'node:assert';
import type { NewSession, RotateInput } from '../store-types.js';
import { CREDENTIAL_TTL, includes, REVOCATION_TTL, TTL, type Contract } from './harness.js';

const WINDOW = 120;

export function sessionsContract(c: Contract): void {
  const { it } = c.t;

  async function session(over: Partial<NewSession> = {}, at = c.now): Promise<NewSession> {
    const record: NewSession = {
      userId: c.id('user'),
      sessionId: c.id('sid'),
      jti: c.id('jti'),
      ttl: TTL,
      maxLifetime: 10 * TTL,
      claims: { role: 'admin' },
      meta: { ip: '203.0.113.7', userAgent: 'Firefox' },
      ...over,
    };
    await c.store.create(record, { now: at, maxSessions: 100, revocationTtl: REVOCATION_TTL });
    return record;
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) =>
    c.rotate(s, jti, { window: WINDOW, ...over });

  const revokeOthers = (userId: string, keepSessionId: string) =>
    c.store.revokeAll({
      userId,
      keepSessionId,
      now: c.now,
      revocationTtl: REVOCATION_TTL,
      credentialTtl: CREDENTIAL_TTL,
    });

  it("lists a user's live sessions, most recently used first, with their times and client", async () => {
    const { now } = c;
    const a = await session({ meta: { ip: '198.51.100.1', userAgent: 'Safari' } }, now);
    const b = await session({ userId: a.userId, meta: {} }, now + 1);
    const expired = await session({ userId: a.userId, ttl: 5 }, now + 2);
    await session(); // someone else's
    await rotate(a, a.jti, { nextJti: 'a-2', now: now + 10 });
    const listed = await c.store.list(a.userId, now + 20);
    assert.deepEqual(
      listed.map((s) => s.sessionId),
      [a.sessionId, b.sessionId],
    );
    includes(
      listed[0],
      { createdAt: now, lastUsedAt: now + 10, expiresAt: now + 10 + TTL, ip: '198.51.100.1', userAgent: 'Safari' },
      'the first',
    );
    includes(listed[1], { createdAt: now + 1, lastUsedAt: now + 1, expiresAt: now + 1 + TTL }, 'the second');
    assert.equal(listed[1]!.ip ?? undefined, undefined);
    assert.equal(
      listed.some((s) => s.sessionId === expired.sessionId),
      false,
      'an expired session is not listed',
    );
    assert.deepEqual(await c.store.list(c.id('nobody'), now), []);
  });

  it("replaces the session's IP and user agent at each refresh, answering the previous ones", async () => {
    const s = await session();
    const first = await rotate(s, s.jti, { nextJti: 'n-1', meta: { ip: '192.0.2.9', userAgent: 'curl' } });
    assert.deepEqual(first.status === 'rotated' && first.previousMeta, { ip: '203.0.113.7', userAgent: 'Firefox' });
    const grace = await rotate(s, s.jti, { meta: { ip: '192.0.2.10' } });
    assert.equal(grace.status, 'grace');
    assert.deepEqual(
      grace.status === 'grace' && grace.previousMeta,
      { ip: '192.0.2.9', userAgent: 'curl' },
      'a grace answer counts too',
    );
    includes((await c.store.list(s.userId, c.now))[0], { ip: '192.0.2.10', userAgent: 'curl' }, 'listed');
  });

  it('counts rotations and grace answers within the window, starting again after it', async () => {
    const { now } = c;
    const s = await session();
    const counts: number[] = [];
    let jti = s.jti;
    for (let i = 0; i < 3; i += 1) {
      const next = `w-${i}`;
      const result = await rotate(s, jti, { nextJti: next, now: now + i });
      counts.push(result.status === 'rotated' ? result.refreshes : -1);
      jti = next;
    }
    const grace = await rotate(s, 'w-1', { now: now + 3 });
    counts.push(grace.status === 'grace' ? grace.refreshes : -1);
    const later = await rotate(s, jti, { nextJti: 'w-9', now: now + 2 + WINDOW }); // the window began at the first rotation, now
    counts.push(later.status === 'rotated' ? later.refreshes : -1);
    assert.deepEqual(counts, [1, 2, 3, 4, 1]);
  });

  it('replaces the claims when a rotation brings new ones, and keeps them after', async () => {
    const s = await session();
    const changed = await rotate(s, s.jti, { nextJti: 'c-1', claims: { role: 'reader', teams: [1, 2] } });
    assert.deepEqual(changed.status === 'rotated' && changed.claims, { role: 'reader', teams: [1, 2] });
    const kept = await rotate(s, 'c-1', { nextJti: 'c-2' });
    assert.deepEqual(kept.status === 'rotated' && kept.claims, { role: 'reader', teams: [1, 2] });
    const emptied = await rotate(s, 'c-2', { nextJti: 'c-3', claims: {} });
    assert.deepEqual(emptied.status === 'rotated' && emptied.claims, {});
  });

  it('ends every session but the one to keep', async () => {
    const keep = await session();
    const others = [await session({ userId: keep.userId }), await session({ userId: keep.userId })];
    const stranger = await session();
    assert.equal(await revokeOthers(keep.userId, keep.sessionId), 2);
    for (const other of others) assert.equal((await rotate(other, other.jti)).status, 'unknown');
    assert.equal((await rotate(keep, keep.jti)).status, 'rotated', 'the kept session lives');
    assert.equal((await rotate(stranger, stranger.jti)).status, 'rotated');
    assert.deepEqual(
      (await c.store.list(keep.userId, c.now)).map((s) => s.sessionId),
      [keep.sessionId],
    );
    assert.equal(await revokeOthers(keep.userId, 'not-a-session'), 1, 'keeping an unknown id ends them all');
  });
}
