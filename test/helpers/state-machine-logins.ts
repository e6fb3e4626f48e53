/**
 * Logins that race a password change, for test/state-machine.test.ts: a
 * login whose credential check has begun (`auth.now()` read, as the sample
 * app does before reading the password hash), then, after any other
 * commands, the `issue({ authenticatedAt })` that ends it. One begun at or
 * before the user's latest cut-off (revokeAll, revokeOtherSessions, a
 * password change) never yields a session; one begun after it does; one
 * older than 5 minutes is an `InputError`.
 */
import fc from 'fast-check';
import { expect } from 'chai';
import { user } from './state-machine-commands.js';
import { T0 } from './token-auth.js';
import {
  at,
  checkInvariants,
  loggedIn,
  MAX_LOGINS,
  pair,
  refusal,
  type Model,
  type PendingLogin,
  type World,
} from './state-machine-model.js';

/** Logins begun per run, so that they are `p0` to `p3`. */
const MAX_PENDING = 4;
/** Milliseconds: the oldest credential check `issue()` accepts. */
const MAX_AGE = 300_000;

abstract class Step implements fc.AsyncCommand<Model, World> {
  abstract check(m: Readonly<Model>): boolean;
  abstract toString(): string;
  protected abstract apply(m: Model, w: World): Promise<void>;

  async run(m: Model, w: World): Promise<void> {
    await this.apply(m, w);
    await checkInvariants(m, w);
  }
}

class LoginStarted extends Step {
  constructor(readonly user: string) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.pending.length < MAX_PENDING;
  }

  async apply(m: Model, w: World): Promise<void> {
    const startedAt = w.auth.now();
    expect(startedAt, `${String(this)} at ${at(m)}: the core's clock`).to.equal(m.now * 1000);
    m.pending.push({ label: `p${m.pending.length}`, userId: this.user, startedAt, finished: false });
  }

  toString(): string {
    return `loginStarted(${this.user})`;
  }
}

class LoginFinished extends Step {
  constructor(readonly k: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return this.k < m.pending.length && !m.pending[this.k]!.finished && m.sessions.length < MAX_LOGINS;
  }

  async apply(m: Model, w: World): Promise<void> {
    const login: PendingLogin = m.pending[this.k]!;
    login.finished = true;
    const cut = m.cutOffs.get(login.userId);
    const since = (ms: number): string => `+${ms / 1000 - T0}s`;
    const what =
      `${String(this)} (${login.userId}, begun at ${since(login.startedAt)},` +
      ` cut-off ${cut === undefined ? 'none' : since(cut)}) at ${at(m)}`;
    const issuing = w.auth.issue({ userId: login.userId, authenticatedAt: login.startedAt });
    if (m.now * 1000 - login.startedAt > MAX_AGE) {
      await refusal(issuing, ['ERR_ETP_INPUT'], `${what}: older than 5 minutes`);
    } else if (cut !== undefined && cut >= login.startedAt) {
      const error = await refusal(issuing, ['credentials_changed'], `${what}: begun before the cut-off`);
      expect(error.status, what).to.equal(401);
    } else {
      loggedIn(m, login.userId, await pair(issuing, `${what}: begun after any cut-off`), what);
    }
  }

  toString(): string {
    return `loginFinished(p${this.k})`;
  }
}

/** Begin a login, or finish one begun earlier (mostly the first ones, so that some finish). */
export const loginRace = fc.oneof(
  user.map((u) => new LoginStarted(u)),
  fc.nat({ max: MAX_PENDING - 1 }).map((k) => new LoginFinished(k)),
);
