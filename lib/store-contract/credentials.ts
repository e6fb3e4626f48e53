/**
 * The store contract, part four, credential cut-offs: `revokeAll` (with or
 * without a session to keep) sets the user's cut-off, and a `create` whose
 * credential check began at or before it (`authenticatedAge`) is refused
 * with `CredentialsChangedError`, storing and ending nothing. Times are the
 * caller's ms (`nowMs`).
 */
import { strict as assert } from 'node:assert';
import { CredentialsChangedError } from '../errors.js';
import type { CreateOptions, NewSession } from '../store-types.js';
import { CREDENTIAL_TTL, REVOCATION_TTL, type Contract } from './harness.js';

export function credentialsContract(c: Contract): void {
  const { it } = c.t;
  /** The cut-offs' time, ms: inside `now`'s second, so that ms matter. */
  const T = (): number => c.now * 1000 + 400;

  const record = (userId: string): NewSession => ({
    userId,
    sessionId: c.id('sid'),
    jti: c.id('jti'),
    ttl: 600,
    maxLifetime: 6000,
    claims: {},
    meta: {},
  });

  /** A login at T + 100 ms whose credential check began at `began` (undefined: no check). */
  const login = (userId: string, began?: number, over: Partial<CreateOptions> = {}) =>
    c.store.create(record(userId), {
      now: c.now,
      nowMs: T() + 100,
      maxSessions: 100,
      revocationTtl: REVOCATION_TTL,
      ...(began === undefined ? {} : { authenticatedAge: T() + 100 - began }),
      ...over,
    });

  const cutOff = (userId: string, at = T(), keepSessionId?: string) =>
    c.store.revokeAll({
      userId,
      keepSessionId,
      now: Math.floor(at / 1000),
      nowMs: at,
      revocationTtl: REVOCATION_TTL,
      credentialTtl: CREDENTIAL_TTL,
    });

  const refused = (promise: Promise<unknown>, what: string) =>
    assert.rejects(
      promise,
      (error: unknown) => {
        assert.ok(error instanceof CredentialsChangedError, `${what}: ${String(error)}`);
        assert.equal(error.code, 'credentials_changed', what);
        return true;
      },
      `${what}: refused`,
    );

  it('refuses a login whose credential check began at or before a revokeAll, even of a user with no sessions, storing nothing', async () => {
    const user = c.id('user');
    assert.equal(await cutOff(user), 0);
    await refused(login(user, T()), 'began in the same ms as the cut-off');
    await refused(login(user, T() - 50), 'began before it');
    assert.deepEqual(await c.store.list(user, c.now), [], 'nothing stored');
    assert.equal((await login(user, T() + 1)).issuedAt, c.now, 'began 1 ms after it');
    await login(user); // no credential check given: no refusal
    assert.equal((await c.store.list(user, c.now)).length, 2);
  });

  it('refuses it after revokeOtherSessions too, whose kept session lives on; other users are not cut off', async () => {
    const user = c.id('user');
    const kept = record(user);
    await c.store.create(kept, { now: c.now, nowMs: T() - 1000, maxSessions: 100, revocationTtl: REVOCATION_TTL });
    assert.equal(await cutOff(user, T(), kept.sessionId), 0);
    await refused(login(user, T() - 1), 'began before the password change');
    assert.deepEqual(
      (await c.store.list(user, c.now)).map((s) => s.sessionId),
      [kept.sessionId],
    );
    await login(c.id('someone-else'), T() - 1000);
  });

  it('keeps the latest cut-off: an earlier one (a clock behind) does not replace it', async () => {
    const user = c.id('user');
    await cutOff(user, T() + 50);
    await cutOff(user, T());
    await refused(login(user, T() + 10), 'began before the later cut-off');
    await login(user, T() + 51);
  });

  it('ends no session for a refused login (no eviction beyond maxSessions)', async () => {
    const user = c.id('user');
    const only = record(user);
    await c.store.create(only, { now: c.now, nowMs: T() - 1000, maxSessions: 1, revocationTtl: REVOCATION_TTL });
    await cutOff(user, T(), only.sessionId);
    await refused(login(user, T() - 1, { maxSessions: 1 }), 'at the session limit');
    assert.deepEqual(
      (await c.store.list(user, c.now)).map((s) => s.sessionId),
      [only.sessionId],
    );
  });

  it('takes now × 1000 for a caller that gives no nowMs', async () => {
    const user = c.id('user');
    await c.store.revokeAll({ userId: user, now: c.now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL });
    const at = (age: number) =>
      c.store.create(record(user), {
        now: c.now,
        nowMs: c.now * 1000 + 1,
        authenticatedAge: age,
        maxSessions: 100,
        revocationTtl: REVOCATION_TTL,
      });
    await refused(at(1), 'began at now × 1000');
    await at(0);
  });
}
