/**
 * The store contract, part three: a refresh token issued after every token
 * the session handed out. Only a rotation the store has since lost (a
 * failover to a replica that had not received it, a restore from an older
 * snapshot) makes one, so it is taken as the current token, not as reuse.
 * The bar is the latest issue time the session ever handed out, not the
 * current token's: after the store's clock steps back, a rotated-out token
 * can be later than the current one, and must still be reuse.
 */
import { strict as assert } from 'node:assert';
import type { NewSession, RotateInput } from '../store-types.js';
import { REVOCATION_TTL, TTL, type Contract } from './harness.js';

export function lostSuccessorContract(c: Contract): void {
  const { it } = c.t;

  /** A session whose first token `j0` was rotated to `j1` at now + 10. */
  async function rotatedOnce(): Promise<NewSession> {
    const s: NewSession = {
      userId: c.id('user'),
      sessionId: c.id('sid'),
      jti: 'j0',
      ttl: TTL,
      maxLifetime: 10 * TTL,
      claims: {},
      meta: {},
    };
    await c.store.create(s, { now: c.now, maxSessions: 100, revocationTtl: REVOCATION_TTL });
    assert.equal((await rotate(s, 'j0', { nextJti: 'j1', now: c.now + 10, issuedAt: c.now })).status, 'rotated');
    return s;
  }

  const rotate = (s: NewSession, jti: string, over: Partial<RotateInput> = {}) => c.rotate(s, jti, over);

  it('takes a token issued after the current one (a rotation the store lost) as current; older ones are then reuse', async () => {
    const { now } = c;
    const s = await rotatedOnce();
    const adopted = await rotate(s, 'lost', { nextJti: 'j3', now: now + 30, issuedAt: now + 20 });
    assert.equal(adopted.status, 'rotated');
    assert.deepEqual(adopted.status === 'rotated' && adopted.current, {
      jti: 'j3',
      issuedAt: now + 30,
      expiresAt: now + 30 + TTL,
    });
    // Its retry within the grace window gets the same successor, like any just-rotated token's.
    const retry = await rotate(s, 'lost', { nextJti: 'other', now: now + 31, issuedAt: now + 20 });
    assert.equal(retry.status === 'grace' && retry.current.jti, 'j3');
    // The token the store had as current is older than the adopted one: reuse, the session ends.
    assert.equal((await rotate(s, 'j1', { now: now + 32, issuedAt: now + 10 })).status, 'reused');
    assert.equal((await rotate(s, 'j3', { now: now + 33, issuedAt: now + 30 })).status, 'unknown');
  });

  it('still takes an unknown token issued in the same second as the current one, or before it, for reuse', async () => {
    const { now } = c;
    const same = await rotatedOnce();
    assert.equal((await rotate(same, 'other', { now: now + 12, issuedAt: now + 10 })).status, 'reused');
    const before = await rotatedOnce();
    assert.equal((await rotate(before, 'other', { now: now + 12, issuedAt: now + 9 })).status, 'reused');
    const unsaid = await rotatedOnce();
    assert.equal((await rotate(unsaid, 'other', { now: now + 12 })).status, 'reused', 'no issuedAt: no such check');
  });

  it('measures "later" against the latest issue time ever handed out, not the current token\'s (the clock stepped back)', async () => {
    const { now } = c;
    const s = await rotatedOnce(); // j1 issued at now + 10
    // The store's clock steps back 60 s: j1 is rotated to j2, issued at now - 50.
    assert.equal((await rotate(s, 'j1', { nextJti: 'j2', now: now - 50, issuedAt: now + 10 })).status, 'rotated');
    // A copy of j1 (issued at now + 10, later than j2) is no lost successor: j1 was handed out and rotated out.
    assert.equal((await rotate(s, 'j1', { now: now - 40, issuedAt: now + 10 })).status, 'reused');
  });

  it('ends the session as a plain logout (revoked, not reused) with a token issued after the current one', async () => {
    const revoke = (s: NewSession, jti: string, issuedAt: number) =>
      c.store.revoke({
        userId: s.userId,
        sessionId: s.sessionId,
        jti,
        issuedAt,
        now: c.now + 30,
        grace: 5,
        revocationTtl: REVOCATION_TTL,
      });
    assert.equal(await revoke(await rotatedOnce(), 'lost', c.now + 20), 'revoked');
    assert.equal(await revoke(await rotatedOnce(), 'older', c.now + 10), 'reused');
  });
}
