/**
 * The store contract, part two: what sessions show and how they change
 * besides rotation: `list`, metadata and claims replaced at refresh, the
 * refresh count in its window, and ending all sessions but one. Run from
 * `storeContract`, against the same fresh store per test.
 */
import { expect } from 'chai';
import type { NewSession, RotateInput, SessionStore } from '../../lib/index.js';
import { contractIds as id, REVOCATION_TTL, CREDENTIAL_TTL } from './store-contract-ids.js';

export function sessionsContract(current: () => SessionStore): void {
  const now = Math.floor(Date.now() / 1000);
  const TTL = 600;
  const WINDOW = 120;

  async function session(over: Partial<NewSession> = {}, at = now): Promise<NewSession> {
    const record: NewSession = {
      userId: id('user'), sessionId: id('sid'), jti: id('jti'), ttl: TTL, maxLifetime: 10 * TTL,
      claims: { role: 'admin' }, meta: { ip: '203.0.113.7', userAgent: 'Firefox' }, ...over,
    };
    await current().create(record, { now: at, maxSessions: 100, revocationTtl: REVOCATION_TTL });
    return record;
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) =>
    current().rotate({
      userId: s.userId, sessionId: s.sessionId, jti, nextJti: id('jti'), now, ttl: TTL, grace: 5,
      meta: {}, window: WINDOW, revocationTtl: REVOCATION_TTL, ...over,
    });

  it('lists a user\'s live sessions, most recently used first, with their times and client', async () => {
    const a = await session({ meta: { ip: '198.51.100.1', userAgent: 'Safari' } }, now);
    const b = await session({ userId: a.userId, meta: {} }, now + 1);
    const expired = await session({ userId: a.userId, ttl: 5 }, now + 2);
    await session(); // someone else's
    await rotate(a, a.jti, { nextJti: 'a-2', now: now + 10 });
    const listed = await current().list(a.userId, now + 20);
    expect(listed.map((s) => s.sessionId)).to.deep.equal([a.sessionId, b.sessionId]);
    expect(listed[0]).to.deep.include({ createdAt: now, lastUsedAt: now + 10, expiresAt: now + 10 + TTL, ip: '198.51.100.1', userAgent: 'Safari' });
    expect(listed[1]).to.deep.include({ createdAt: now + 1, lastUsedAt: now + 1, expiresAt: now + 1 + TTL });
    expect(listed[1]!.ip ?? undefined).to.equal(undefined);
    expect(listed.some((s) => s.sessionId === expired.sessionId), 'an expired session is not listed').to.equal(false);
    expect(await current().list(id('nobody'), now)).to.deep.equal([]);
  });

  it('replaces the session\'s IP and user agent at each refresh, answering the previous ones', async () => {
    const s = await session();
    const first = await rotate(s, s.jti, { nextJti: 'n-1', meta: { ip: '192.0.2.9', userAgent: 'curl' } });
    expect(first.status === 'rotated' && first.previousMeta).to.deep.equal({ ip: '203.0.113.7', userAgent: 'Firefox' });
    const grace = await rotate(s, s.jti, { meta: { ip: '192.0.2.10' } });
    expect(grace.status).to.equal('grace');
    expect(grace.status === 'grace' && grace.previousMeta, 'a grace answer counts too').to.deep.equal({ ip: '192.0.2.9', userAgent: 'curl' });
    const listed = await current().list(s.userId, now);
    expect(listed[0]).to.deep.include({ ip: '192.0.2.10', userAgent: 'curl' });
  });

  it('counts rotations and grace answers within the window, starting again after it', async () => {
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
    expect(counts).to.deep.equal([1, 2, 3, 4, 1]);
  });

  it('replaces the claims when a rotation brings new ones, and keeps them after', async () => {
    const s = await session();
    const changed = await rotate(s, s.jti, { nextJti: 'c-1', claims: { role: 'reader', teams: [1, 2] } });
    expect(changed.status === 'rotated' && changed.claims).to.deep.equal({ role: 'reader', teams: [1, 2] });
    const kept = await rotate(s, 'c-1', { nextJti: 'c-2' });
    expect(kept.status === 'rotated' && kept.claims).to.deep.equal({ role: 'reader', teams: [1, 2] });
    const emptied = await rotate(s, 'c-2', { nextJti: 'c-3', claims: {} });
    expect(emptied.status === 'rotated' && emptied.claims).to.deep.equal({});
  });

  it('ends every session but the one to keep', async () => {
    const keep = await session();
    const others = [await session({ userId: keep.userId }), await session({ userId: keep.userId })];
    const stranger = await session();
    const ended = await current().revokeAll({ userId: keep.userId, keepSessionId: keep.sessionId, now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL });
    expect(ended).to.equal(2);
    for (const other of others) expect((await rotate(other, other.jti)).status).to.equal('unknown');
    expect((await rotate(keep, keep.jti)).status, 'the kept session lives').to.equal('rotated');
    expect((await rotate(stranger, stranger.jti)).status).to.equal('rotated');
    expect((await current().list(keep.userId, now)).map((s) => s.sessionId)).to.deep.equal([keep.sessionId]);
    const none = await current().revokeAll({ userId: keep.userId, keepSessionId: 'not-a-session', now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL });
    expect(none, 'keeping an unknown id ends them all').to.equal(1);
  });
}
