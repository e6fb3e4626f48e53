/**
 * The store contract, credential cut-offs: `revokeAll` (with or without a
 * session to keep) sets the user's cut-off, and a `create` whose credential
 * check began at or before it (`authenticatedAge`) is refused, storing
 * nothing. Times here are the caller's ms (`nowMs`), as with
 * `RedisSessionStore`'s `clock: 'caller'`. Run from `storeContract`.
 */
import { expect } from 'chai';
import { CredentialsChangedError, type CreateOptions, type NewSession, type SessionStore } from '../../lib/index.js';
import { contractIds as id, CREDENTIAL_TTL, REVOCATION_TTL } from './store-contract-ids.js';

export function credentialsContract(current: () => SessionStore): void {
  const now = Math.floor(Date.now() / 1000);
  /** The cut-offs' time, ms: inside `now`'s second, so that ms matter. */
  const T = now * 1000 + 400;

  const record = (userId: string): NewSession => ({
    userId, sessionId: id('sid'), jti: id('jti'), ttl: 600, maxLifetime: 6000, claims: {}, meta: {},
  });

  /** A login at `T + 100` ms whose credential check began at `began` (undefined: no check). */
  const login = (userId: string, began?: number, over: Partial<CreateOptions> = {}) => current().create(record(userId), {
    now, nowMs: T + 100, maxSessions: 100, revocationTtl: REVOCATION_TTL,
    ...began === undefined ? {} : { authenticatedAge: T + 100 - began }, ...over,
  });

  const cutOff = (userId: string, at = T, keepSessionId?: string) => current().revokeAll({
    userId, keepSessionId, now: Math.floor(at / 1000), nowMs: at, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL,
  });

  async function refused(promise: Promise<unknown>, what: string): Promise<void> {
    const error = await promise.then(() => undefined, (caught: unknown) => caught);
    expect(error, `${what}: refused`).to.be.instanceOf(CredentialsChangedError);
    expect((error as CredentialsChangedError).code, what).to.equal('credentials_changed');
  }

  it('refuses a login whose credential check began at or before a revokeAll, even of a user with no sessions, storing nothing', async () => {
    const user = id('user');
    expect(await cutOff(user)).to.equal(0);
    await refused(login(user, T), 'began in the same ms as the cut-off');
    await refused(login(user, T - 50), 'began before it');
    expect(await current().list(user, now), 'nothing stored').to.deep.equal([]);
    expect((await login(user, T + 1)).issuedAt, 'began 1 ms after it').to.equal(now);
    await login(user); // no credential check given: no refusal
    expect(await current().list(user, now)).to.have.length(2);
  });

  it('refuses it after revokeOtherSessions too, whose kept session lives on; other users are not cut off', async () => {
    const user = id('user');
    const kept = record(user);
    await current().create(kept, { now, nowMs: T - 1000, maxSessions: 100, revocationTtl: REVOCATION_TTL });
    expect(await cutOff(user, T, kept.sessionId)).to.equal(0);
    await refused(login(user, T - 1), 'began before the password change');
    expect((await current().list(user, now)).map((s) => s.sessionId)).to.deep.equal([kept.sessionId]);
    await login(id('someone-else'), T - 1000);
  });

  it('keeps the latest cut-off: an earlier one (a clock behind) does not replace it', async () => {
    const user = id('user');
    await cutOff(user, T + 50);
    await cutOff(user, T);
    await refused(login(user, T + 10, { nowMs: T + 100 }), 'began before the later cut-off');
    await login(user, T + 51);
  });

  it('ends no session for a refused login (no eviction beyond maxSessions)', async () => {
    const user = id('user');
    const only = record(user);
    await current().create(only, { now, nowMs: T - 1000, maxSessions: 1, revocationTtl: REVOCATION_TTL });
    await cutOff(user, T, only.sessionId);
    await refused(login(user, T - 1, { maxSessions: 1 }), 'at the session limit');
    expect((await current().list(user, now)).map((s) => s.sessionId)).to.deep.equal([only.sessionId]);
  });

  it('takes now × 1000 for a caller that gives no nowMs', async () => {
    const user = id('user');
    await current().revokeAll({ userId: user, now, revocationTtl: REVOCATION_TTL, credentialTtl: CREDENTIAL_TTL });
    const at = (age: number) => current().create(record(user), {
      now, nowMs: now * 1000 + 1, authenticatedAge: age, maxSessions: 100, revocationTtl: REVOCATION_TTL,
    });
    await refused(at(1), 'began at now × 1000');
    await at(0);
  });
}
