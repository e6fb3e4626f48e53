/**
 * The commands of test/state-machine.test.ts. Each one does one thing to the
 * real TokenAuth, asserts its answer from the model, updates the model, then
 * checks every invariant (state-machine-model.ts). A session is named by its
 * login order (`s2`: the run's third login); a command naming a session that
 * does not exist yet is skipped.
 */
import fc from 'fast-check';
import { expect } from 'chai';
import { TokenExpiredError, TokenRevokedError, type TokenPairError } from '../../lib/index.js';
import {
  accessToken,
  at,
  checkInvariants,
  current,
  cutOff,
  end,
  liveSessions,
  loggedIn,
  MAX_LOGINS,
  pair,
  previousInGrace,
  refusal,
  same,
  sessionIdOf,
  tokenName,
  USERS,
  GRACE,
  type Model,
  type SessionModel,
  type World,
} from './state-machine-model.js';

/** What a refresh token of an ended session may get. */
const ENDED = ['token_revoked', 'refresh_reused'] as const;

abstract class Step implements fc.AsyncCommand<Model, World> {
  abstract check(m: Readonly<Model>): boolean;
  abstract toString(): string;
  protected abstract apply(m: Model, w: World): Promise<void>;

  async run(m: Model, w: World): Promise<void> {
    await this.apply(m, w);
    await checkInvariants(m, w);
  }
}

/** A command on the session of the run's k-th login. */
abstract class OnSession extends Step {
  constructor(readonly k: number) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return this.k < m.sessions.length;
  }

  protected session(m: Model): SessionModel {
    return m.sessions[this.k]!;
  }

  protected what(m: Readonly<Model>): string {
    const s = m.sessions[this.k]!;
    return `${String(this)} at ${at(m)} (${s.alive ? 'live' : s.endedBy})`;
  }
}

class Login extends Step {
  constructor(readonly user: string) {
    super();
  }

  check(m: Readonly<Model>): boolean {
    return m.sessions.length < MAX_LOGINS;
  }

  async apply(m: Model, w: World): Promise<void> {
    loggedIn(m, this.user, await w.auth.issue({ userId: this.user }), `${String(this)} at ${at(m)}`);
  }

  toString(): string {
    return `login(${this.user})`;
  }
}

/** Refresh with the session's latest refresh token. */
class Refresh extends OnSession {
  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const what = this.what(m);
    if (!s.alive) {
      await refusal(w.auth.refresh(current(s)), ENDED, what);
      return;
    }
    const next = await pair(w.auth.refresh(current(s)), what);
    same(tokenName(s, next.refreshToken).replace(/ \(.*/, ''), 'a new token', `${what}: the successor`);
    expect(sessionIdOf(next.refreshToken), what).to.equal(s.sessionId);
    s.refreshTokens.push(next.refreshToken);
    s.rotatedAt = s.lastUsedAt = m.now;
    s.accessTokens.push(accessToken(next.accessToken, m.now, what));
  }

  toString(): string {
    return `refresh(s${this.k})`;
  }
}

/** Two refreshes of the latest token at once (two tabs): one successor, handed to both. */
class Race extends OnSession {
  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const what = this.what(m);
    const token = current(s);
    const results = await Promise.allSettled([w.auth.refresh(token), w.auth.refresh(token)]);
    if (!s.alive) {
      for (const result of results) {
        if (result.status === 'fulfilled') expect.fail(`${what}: a refresh of an ended session yielded a pair`);
        expect((result.reason as TokenPairError).code, `${what}: ${String(result.reason)}`).to.be.oneOf(ENDED);
      }
      return;
    }
    const pairs = results.map((result) => {
      if (result.status === 'rejected') expect.fail(`${what}: a concurrent refresh failed: ${String(result.reason)}`);
      return result.value;
    });
    same(tokenName(s, pairs[0]!.refreshToken).replace(/ \(.*/, ''), 'a new token', `${what}: the successor`);
    same(
      tokenName(s, pairs[1]!.refreshToken),
      tokenName(s, pairs[0]!.refreshToken),
      `${what}: both must get the one successor`,
    );
    same(pairs[1]!.refreshToken, pairs[0]!.refreshToken, `${what}: the one successor, the same token`);
    s.refreshTokens.push(pairs[0]!.refreshToken);
    s.rotatedAt = s.lastUsedAt = m.now;
    for (const pair of pairs) s.accessTokens.push(accessToken(pair.accessToken, m.now, what));
  }

  toString(): string {
    return `race(s${this.k})`;
  }
}

/** Refresh with a rotated-out token, `back` rotations old (1: the previous one). */
class Replay extends OnSession {
  constructor(
    k: number,
    readonly back: number,
  ) {
    super(k);
  }

  check(m: Readonly<Model>): boolean {
    return super.check(m) && this.back < m.sessions[this.k]!.refreshTokens.length;
  }

  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const what = this.what(m);
    const token = s.refreshTokens.at(-1 - this.back)!;
    if (!s.alive) {
      await refusal(w.auth.refresh(token), ENDED, what);
    } else if (this.back === 1 && previousInGrace(m, s)) {
      const again = await pair(w.auth.refresh(token), `${what}, within the grace window`);
      same(
        tokenName(s, again.refreshToken),
        tokenName(s, current(s)),
        `${what}: within ${GRACE} s, the one successor again`,
      );
      s.lastUsedAt = m.now;
      s.accessTokens.push(accessToken(again.accessToken, s.rotatedAt, what));
    } else {
      await refusal(w.auth.refresh(token), ['refresh_reused'], what);
      end(m, s, String(this));
      m.reuseEvents += 1;
    }
  }

  toString(): string {
    return `replay(s${this.k}, ${this.back} back)`;
  }
}

/** Logout with one of the session's refresh tokens (`back` 0: the latest). */
class Logout extends Replay {
  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const what = this.what(m);
    const ended = await w.auth.revoke(s.refreshTokens.at(-1 - this.back)!);
    expect(ended, `${what}: revoke() answer`).to.equal(s.alive);
    if (!s.alive) return;
    if (this.back > 1 || (this.back === 1 && !previousInGrace(m, s))) m.reuseEvents += 1;
    end(m, s, String(this));
  }

  toString(): string {
    return `logout(s${this.k}, ${this.back === 0 ? 'latest' : `${this.back} back`})`;
  }
}

/** `revokeSession` by id, by its own user or (`stranger`) another one, which must end nothing. */
class RevokeSession extends OnSession {
  constructor(
    k: number,
    readonly stranger: boolean,
  ) {
    super(k);
  }

  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const what = this.what(m);
    const user = this.stranger
      ? USERS[(USERS.indexOf(s.userId as (typeof USERS)[number]) + 1) % USERS.length]!
      : s.userId;
    const ended = await w.auth.revokeSession(user, s.sessionId);
    expect(ended, `${what}: revokeSession() answer`).to.equal(s.alive && !this.stranger);
    if (ended) end(m, s, String(this));
  }

  toString(): string {
    return `revokeSession(s${this.k}${this.stranger ? ', by another user' : ''})`;
  }
}

function endOthers(m: Model, keep: SessionModel, by: string): number {
  const others = liveSessions(m, keep.userId).filter((s) => s !== keep);
  for (const s of others) end(m, s, by);
  return others.length;
}

/** `revokeOtherSessions(user, s<k>)`. */
class RevokeOthers extends OnSession {
  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const count = await w.auth.revokeOtherSessions(s.userId, s.sessionId);
    cutOff(m, s.userId);
    expect(count, `${this.what(m)}: sessions ended`).to.equal(endOthers(m, s, String(this)));
  }

  toString(): string {
    return `revokeOthers(keep s${this.k})`;
  }
}

/**
 * A password change by the caller holding s<k>'s latest access token: the
 * app verifies it and checks revocation, then ends every other session of
 * the token's user.
 */
class PasswordChange extends OnSession {
  async apply(m: Model, w: World): Promise<void> {
    const s = this.session(m);
    const what = this.what(m);
    const access = s.accessTokens.at(-1)!;
    if (m.now >= access.exp) {
      expect(() => w.auth.verifyAccessToken(access.token), `${what}: expired access token`).to.throw(TokenExpiredError);
      return;
    }
    const context = w.auth.verifyAccessToken(access.token);
    if (!s.alive) {
      expect(() => {
        w.auth.checkRevocation(context);
      }, `${what}: the caller's session ended`).to.throw(TokenRevokedError);
      return;
    }
    w.auth.checkRevocation(context);
    const count = await w.auth.revokeOtherSessions(context.userId, context.sessionId);
    cutOff(m, s.userId);
    expect(count, `${what}: sessions ended`).to.equal(endOthers(m, s, String(this)));
  }

  toString(): string {
    return `passwordChange(by s${this.k})`;
  }
}

class RevokeAll extends Step {
  constructor(readonly user: string) {
    super();
  }

  check(): boolean {
    return true;
  }

  async apply(m: Model, w: World): Promise<void> {
    const live = liveSessions(m, this.user);
    const count = await w.auth.revokeAll(this.user);
    cutOff(m, this.user);
    expect(count, `${String(this)} at ${at(m)}: sessions ended`).to.equal(live.length);
    for (const s of live) end(m, s, String(this));
  }

  toString(): string {
    return `revokeAll(${this.user})`;
  }
}

class Tick extends Step {
  constructor(readonly seconds: number) {
    super();
  }

  check(): boolean {
    return true;
  }

  async apply(m: Model, w: World): Promise<void> {
    m.now += this.seconds;
    w.clock.now = m.now;
  }

  toString(): string {
    return `tick(${this.seconds} s)`;
  }
}

/** Mostly alice, so that one user often has enough sessions for evictions. */
export const user = fc.oneof({ weight: 2, arbitrary: fc.constant(USERS[0]) }, fc.constantFrom(...USERS));
/** Mostly the first logins, which live long enough to be refreshed and replayed. */
const session = fc.oneof(
  { weight: 3, arbitrary: fc.nat({ max: 2 }) },
  { weight: 1, arbitrary: fc.nat({ max: MAX_LOGINS - 1 }) },
);
/** Within the grace window, its edges, beyond it, and past an access token's lifetime. */
const seconds = fc.oneof(
  fc.integer({ min: 1, max: GRACE }),
  fc.constantFrom(GRACE, GRACE + 1),
  fc.integer({ min: GRACE + 1, max: 120 }),
  fc.integer({ min: 400, max: 700 }),
);

/** Every command, weighted so that sessions get refreshed and replayed before they are ended wholesale. */
export const command = fc.oneof(
  { weight: 4, arbitrary: user.map((u) => new Login(u)) },
  { weight: 5, arbitrary: session.map((k) => new Refresh(k)) },
  { weight: 1, arbitrary: session.map((k) => new Race(k)) },
  { weight: 6, arbitrary: fc.tuple(session, fc.integer({ min: 1, max: 3 })).map(([k, back]) => new Replay(k, back)) },
  { weight: 1, arbitrary: fc.tuple(session, fc.integer({ min: 0, max: 2 })).map(([k, back]) => new Logout(k, back)) },
  { weight: 1, arbitrary: fc.tuple(session, fc.boolean()).map(([k, stranger]) => new RevokeSession(k, stranger)) },
  { weight: 1, arbitrary: session.map((k) => new RevokeOthers(k)) },
  { weight: 1, arbitrary: session.map((k) => new PasswordChange(k)) },
  { weight: 1, arbitrary: user.map((u) => new RevokeAll(u)) },
  { weight: 5, arbitrary: seconds.map((s) => new Tick(s)) },
);
