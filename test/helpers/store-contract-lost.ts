/**
 * The store contract, part three: a refresh token issued after the
 * session's current one. Only a rotation the store has since lost (a
 * failover to a replica that had not received it, a restore from an older
 * snapshot) makes one, so it is taken as the current token, not as reuse;
 * every older token is still reuse. Run from `storeContract`.
 */
import { expect } from 'chai';
import type { NewSession, RotateInput, SessionStore } from '../../lib/index.js';
import { contractIds as id, REVOCATION_TTL } from './store-contract-ids.js';

export function lostSuccessorContract(current: () => SessionStore): void {
  const now = Math.floor(Date.now() / 1000);
  const TTL = 600;

  /** A session whose first token `j0` was rotated to `j1` at now + 10. */
  async function rotatedOnce(): Promise<NewSession> {
    const s: NewSession = {
      userId: id('user'), sessionId: id('sid'), jti: 'j0', ttl: TTL, maxLifetime: 10 * TTL, claims: {}, meta: {},
    };
    await current().create(s, { now, maxSessions: 100, revocationTtl: REVOCATION_TTL });
    expect((await rotate(s, 'j0', { nextJti: 'j1', now: now + 10, issuedAt: now })).status).to.equal('rotated');
    return s;
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) =>
    current().rotate({
      userId: s.userId, sessionId: s.sessionId, jti, nextJti: id('jti'), now, ttl: TTL, grace: 5,
      meta: {}, window: 900, revocationTtl: REVOCATION_TTL, ...over,
    });

  it('takes a token issued after the current one (a rotation the store lost) as current; older ones are then reuse', async () => {
    const s = await rotatedOnce();
    const adopted = await rotate(s, 'lost', { nextJti: 'j3', now: now + 30, issuedAt: now + 20 });
    expect(adopted.status).to.equal('rotated');
    expect(adopted.status === 'rotated' && adopted.current).to.deep.equal({ jti: 'j3', issuedAt: now + 30, expiresAt: now + 30 + TTL });
    // Its retry within the grace window gets the same successor, like any just-rotated token's.
    const retry = await rotate(s, 'lost', { nextJti: 'other', now: now + 31, issuedAt: now + 20 });
    expect(retry.status === 'grace' && retry.current.jti).to.equal('j3');
    // The token the store had as current is older than the adopted one: reuse, the session ends.
    expect((await rotate(s, 'j1', { now: now + 32, issuedAt: now + 10 })).status).to.equal('reused');
    expect((await rotate(s, 'j3', { now: now + 33, issuedAt: now + 30 })).status).to.equal('unknown');
  });

  it('still takes an unknown token issued in the same second as the current one, or before it, for reuse', async () => {
    const same = await rotatedOnce();
    expect((await rotate(same, 'other', { now: now + 12, issuedAt: now + 10 })).status).to.equal('reused');
    const before = await rotatedOnce();
    expect((await rotate(before, 'other', { now: now + 12, issuedAt: now + 9 })).status).to.equal('reused');
    const unsaid = await rotatedOnce();
    expect((await rotate(unsaid, 'other', { now: now + 12 })).status, 'no issuedAt: no such check').to.equal('reused');
  });

  it('ends the session as a plain logout (revoked, not reused) with a token issued after the current one', async () => {
    const revoke = (s: NewSession, jti: string, issuedAt: number) => current().revoke({
      userId: s.userId, sessionId: s.sessionId, jti, issuedAt, now: now + 30, grace: 5, revocationTtl: REVOCATION_TTL,
    });
    expect(await revoke(await rotatedOnce(), 'lost', now + 20)).to.equal('revoked');
    expect(await revoke(await rotatedOnce(), 'older', now + 10)).to.equal('reused');
  });
}
