/**
 * The store contract, DPoP (for a store whose `features.dpop` is true): a
 * session keeps the key it was bound to at `create` (`jkt`) for its whole
 * life; a refresh without that key's proof (`key_mismatch`), or with a proof
 * `jti` the user used before (`proof_replayed`), changes nothing, and is
 * answered before reuse detection; a login whose proof `jti` was used before
 * is refused with `InvalidDpopProofError`, storing nothing. Proof `jti`s are
 * remembered per user, for their `ttl` by the caller's time.
 */
import { strict as assert } from 'node:assert';
import type { CreateOptions, NewSession, ProofUse } from '../store-types.js';
import { REVOCATION_TTL, TTL, type Contract } from './harness.js';

/** Two keys' thumbprints (any string of the shape will do; the store compares them). */
const KEY_A = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';
const KEY_B = '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I';

export function dpopContract(c: Contract): void {
  const { it } = c.t;

  const proof = (jkt: string, over: Partial<ProofUse> = {}): ProofUse => ({
    jkt,
    jti: c.id('proof'),
    ttl: 130,
    ...over,
  });

  async function login(jkt: string | undefined, over: Partial<CreateOptions> = {}, userId = c.id('user')) {
    const record: NewSession = {
      userId,
      sessionId: c.id('sid'),
      jti: c.id('jti'),
      ttl: TTL,
      maxLifetime: 10 * TTL,
      claims: {},
      meta: {},
      ...(jkt === undefined ? {} : { jkt }),
    };
    const first = await c.store.create(record, {
      now: c.now,
      maxSessions: 100,
      revocationTtl: REVOCATION_TTL,
      ...(jkt === undefined ? {} : { proof: proof(jkt) }),
      ...over,
    });
    return { record, first };
  }

  it('keeps the bound key across rotations and answers it with each', async () => {
    const { record, first } = await login(KEY_A);
    const one = await c.rotate(record, first.jti, { proof: proof(KEY_A) });
    assert.equal(one.status, 'rotated');
    assert.equal('jkt' in one ? one.jkt : undefined, KEY_A);
    const two = await c.rotate(record, 'current' in one ? one.current.jti : '', {
      proof: proof(KEY_A),
      now: c.now + 1,
    });
    assert.equal(two.status, 'rotated');
    assert.equal('jkt' in two ? two.jkt : undefined, KEY_A, 'still bound after the second rotation');
  });

  it('refuses a bound session refreshed with another key or no proof (key_mismatch), changing nothing', async () => {
    const { record, first } = await login(KEY_A);
    assert.equal((await c.rotate(record, first.jti, { proof: proof(KEY_B) })).status, 'key_mismatch');
    assert.equal((await c.rotate(record, first.jti)).status, 'key_mismatch', 'no proof at all');
    const right = await c.rotate(record, first.jti, { proof: proof(KEY_A) });
    assert.equal(right.status, 'rotated', 'the token was not spent, the session not ended');
  });

  it('answers key_mismatch before reuse detection: an old token with the wrong key ends nothing', async () => {
    const { record, first } = await login(KEY_A);
    const next = await c.rotate(record, first.jti, { proof: proof(KEY_A) });
    assert.equal(next.status, 'rotated');
    // Outside the grace window, the old token is reuse, but only with the key.
    assert.equal((await c.rotate(record, first.jti, { proof: proof(KEY_B), now: c.now + 60 })).status, 'key_mismatch');
    const current = 'current' in next ? next.current.jti : '';
    assert.equal((await c.rotate(record, current, { proof: proof(KEY_A), now: c.now + 61 })).status, 'rotated');
  });

  it('refuses a replayed refresh proof (proof_replayed) before reuse detection, changing nothing', async () => {
    const { record, first } = await login(KEY_A);
    const used = proof(KEY_A);
    const next = await c.rotate(record, first.jti, { proof: used });
    assert.equal(next.status, 'rotated');
    // The captured request again, after the grace window: its token is rotated out, but the proof answers first.
    assert.equal((await c.rotate(record, first.jti, { proof: used, now: c.now + 60 })).status, 'proof_replayed');
    const current = 'current' in next ? next.current.jti : '';
    assert.equal((await c.rotate(record, current, { proof: used, now: c.now + 61 })).status, 'proof_replayed');
    assert.equal((await c.rotate(record, current, { proof: proof(KEY_A), now: c.now + 62 })).status, 'rotated');
  });

  it('forgets a proof jti after its ttl, by the caller time', async () => {
    const { record, first } = await login(KEY_A);
    const used = proof(KEY_A, { ttl: 30 });
    const next = await c.rotate(record, first.jti, { proof: used });
    const current = 'current' in next ? next.current.jti : '';
    assert.equal((await c.rotate(record, current, { proof: used, now: c.now + 29 })).status, 'proof_replayed');
    assert.equal((await c.rotate(record, current, { proof: used, now: c.now + 31 })).status, 'rotated');
  });

  it('refuses a login whose proof jti the user used before, storing nothing', async () => {
    const userId = c.id('user');
    const used = proof(KEY_A);
    await login(KEY_A, { proof: used }, userId);
    await assert.rejects(login(KEY_A, { proof: used }, userId), (error: unknown) => {
      // InvalidDpopProofError, by its stable code (this entry imports no class but ../errors.js).
      assert.equal((error as { code?: unknown }).code, 'invalid_dpop_proof');
      return true;
    });
    assert.equal((await c.store.list(userId, c.now)).length, 1, 'the refused login stored no session');
    await login(KEY_A, { proof: used }, c.id('user'));
  });

  it('rotates an unbound session with or without a proof, and it stays unbound', async () => {
    const { record, first } = await login(undefined);
    const one = await c.rotate(record, first.jti, { proof: proof(KEY_B) });
    assert.equal(one.status, 'rotated');
    assert.equal('jkt' in one ? one.jkt : undefined, undefined);
    const two = await c.rotate(record, 'current' in one ? one.current.jti : '', { now: c.now + 1 });
    assert.equal(two.status, 'rotated', 'no proof needed');
    assert.equal('jkt' in two ? two.jkt : undefined, undefined);
  });
}
