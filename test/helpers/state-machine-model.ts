/**
 * The model of test/state-machine.test.ts, the world it is checked against,
 * and the invariants checked after every command.
 *
 * The model is a list of sessions in login order (`s0` is the run's first
 * login, `s1` the second, ...), each alive or ended, with every refresh token
 * it handed out (the last is current, the one before it previous) and every
 * access token. Time is the model's `now` (Unix seconds), which the core's
 * `clock` (and, for Redis, the store with `clock: 'caller'`) reads.
 */
import { expect } from 'chai';
import {
  createTokenAuth,
  TokenExpiredError,
  TokenRevokedError,
  type AuthContext,
  type SessionStore,
  type TokenAuth,
  type TokenPair,
  type TokenPairError,
} from '../../lib/index.js';
import { ACCESS, decode, REFRESH, T0 } from './token-auth.js';

export const USERS = ['alice', 'bob', 'carol'] as const;
/** Seconds an access token lives: long time steps let some of them expire. */
export const ACCESS_TTL = 600;
/** Seconds a rotated-out refresh token still gets the same successor. */
export const GRACE = 5;
/** Sessions per user before a login evicts the least recently used one. */
export const MAX_SESSIONS = 3;
/** Logins per run, so that sessions are `s0` to `s7`. */
export const MAX_LOGINS = 8;

export interface AccessModel {
  token: string;
  exp: number;
}

export interface SessionModel {
  /** `s<n>`: the run's n-th login. */
  label: string;
  userId: string;
  sessionId: string;
  alive: boolean;
  /** What ended it and when (model time), for messages. */
  endedBy: string | undefined;
  /** When it ended (`performance.now()`, ms): revocation must show within `revocationWait` of this. */
  endedAtMs: number;
  /** Every refresh token handed out, oldest first: the last is current, the one before it previous. */
  refreshTokens: string[];
  /** When the current refresh token was issued (= when the previous one was rotated out). */
  rotatedAt: number;
  lastUsedAt: number;
  accessTokens: AccessModel[];
}

/** A login whose credential check has begun (`auth.now()` read) but whose `issue()` has not run yet. */
export interface PendingLogin {
  /** `p<n>`: the run's n-th login started. */
  label: string;
  userId: string;
  /** `authenticatedAt`: the core's clock (ms) when the check began. */
  startedAt: number;
  finished: boolean;
}

export interface Model {
  now: number;
  sessions: SessionModel[];
  /** `reuse_detected` events the core must have emitted. */
  reuseEvents: number;
  /** Each user's credential cut-off, ms: the latest revokeAll, revokeOtherSessions or password change. */
  cutOffs: Map<string, number>;
  pending: PendingLogin[];
}

export interface Variant {
  /** A fresh store for one run, and how to dispose of it. */
  store: () => { store: SessionStore; close: () => Promise<void> | void };
  /** Milliseconds within which `checkRevocation` must refuse the access tokens of an ended session (0: at once). */
  revocationWait: number;
}

/** The real thing: a TokenAuth on its own store, on the model's clock. */
export class World {
  readonly auth: TokenAuth;
  readonly clock = { now: T0 };
  readonly revocationWait: number;
  reuseEvents = 0;
  readonly #close: () => Promise<void> | void;

  constructor(variant: Variant) {
    const { store, close } = variant.store();
    this.#close = close;
    this.revocationWait = variant.revocationWait;
    this.auth = createTokenAuth({
      accessToken: { secret: ACCESS, ttl: ACCESS_TTL },
      refreshToken: { secret: REFRESH, ttl: '1d', maxLifetime: '1d', reuseGrace: GRACE },
      maxSessionsPerUser: MAX_SESSIONS,
      store,
      clock: () => this.clock.now * 1000,
    });
    this.auth.on('reuse_detected', () => {
      this.reuseEvents += 1;
    });
  }

  /** The model and the world, both empty at T0, for `fc.asyncModelRun`. */
  async start(): Promise<{ model: Model; real: World }> {
    await this.auth.watchRevocations();
    return { model: { now: T0, sessions: [], reuseEvents: 0, cutOffs: new Map(), pending: [] }, real: this };
  }

  async close(): Promise<void> {
    await this.auth.close();
    await this.#close();
  }
}

/** `+<seconds since T0>s`. */
export function at(m: Readonly<Model>): string {
  return `+${m.now - T0}s`;
}

export function current(s: SessionModel): string {
  return s.refreshTokens.at(-1)!;
}

export function sessionIdOf(token: string): string {
  return String(decode(token).payload.sid);
}

/** The previous refresh token was rotated out no more than GRACE seconds ago. */
export function previousInGrace(m: Readonly<Model>, s: SessionModel): boolean {
  const age = m.now - s.rotatedAt;
  return s.refreshTokens.length > 1 && age >= 0 && age <= GRACE;
}

export function end(m: Model, s: SessionModel, by: string): void {
  s.alive = false;
  s.endedBy = `ended by ${by} at ${at(m)}`;
  s.endedAtMs = performance.now();
}

/** The user's live sessions, least recently used first (ties: lowest session id), as the stores evict them. */
export function liveSessions(m: Readonly<Model>, userId: string): SessionModel[] {
  return m.sessions
    .filter((s) => s.alive && s.userId === userId)
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.sessionId < b.sessionId ? -1 : 1));
}

/** The model after a login of `userId` that got `pair`: the user's least recently used sessions beyond the limit end. */
export function loggedIn(m: Model, userId: string, pair: TokenPair, what: string): void {
  const label = `s${m.sessions.length}`;
  const live = liveSessions(m, userId);
  for (const s of live.slice(0, Math.max(0, live.length - (MAX_SESSIONS - 1))))
    end(m, s, `eviction at ${label}'s login`);
  m.sessions.push({
    label,
    userId,
    sessionId: sessionIdOf(pair.refreshToken),
    alive: true,
    endedBy: undefined,
    endedAtMs: 0,
    refreshTokens: [pair.refreshToken],
    rotatedAt: m.now,
    lastUsedAt: m.now,
    accessTokens: [accessToken(pair.accessToken, m.now, what)],
  });
}

/** The user's credential cut-off moves to now (`revokeAll`, `revokeOtherSessions`). */
export function cutOff(m: Model, userId: string): void {
  m.cutOffs.set(userId, m.now * 1000);
}

/** An access token the core just handed out, checked to be dated `iat`. */
export function accessToken(token: string, iat: number, what: string): AccessModel {
  const { payload } = decode(token);
  expect(payload.iat, `${what}: access token iat`).to.equal(iat);
  expect(payload.exp, `${what}: access token exp`).to.equal(iat + ACCESS_TTL);
  return { token, exp: iat + ACCESS_TTL };
}

/** Like chai's equal, but the message shows both sides whole (chai truncates them). */
export function same(actual: string, expected: string, what: string): void {
  if (actual !== expected) expect.fail(`${what}: got ${actual}, the model says ${expected}`);
}

/** `rt#<i>` for the session's i-th refresh token, else its jti: readable where whole tokens are not. */
export function tokenName(s: SessionModel, token: string): string {
  const i = s.refreshTokens.indexOf(token);
  return i >= 0 ? `rt#${i}` : `a new token (jti ${String(decode(token).payload.jti)})`;
}

/** The pair `promise` resolves with; fails naming the command if it rejects. */
export async function pair(promise: Promise<TokenPair>, what: string): Promise<TokenPair> {
  try {
    return await promise;
  } catch (error) {
    return expect.fail(`${what}: expected a new pair, got ${String(error)}`);
  }
}

/** The error `promise` rejects with; fails if it resolves (a refresh that yielded a pair). */
export async function refusal(
  promise: Promise<unknown>,
  codes: readonly string[],
  what: string,
): Promise<TokenPairError> {
  let error: unknown;
  try {
    await promise;
  } catch (caught) {
    error = caught;
  }
  if (error === undefined) expect.fail(`${what}: expected ${codes.join(' or ')}, but it succeeded`);
  expect((error as TokenPairError).code, `${what}: ${String(error)}`).to.be.oneOf(codes);
  return error as TokenPairError;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `checkRevocation` refuses `context` (401 TokenRevokedError), within `wait` ms of the session's end. */
async function refusedInTime(w: World, s: SessionModel, context: AuthContext, what: string): Promise<void> {
  const deadline = s.endedAtMs + w.revocationWait;
  for (;;) {
    let outcome: unknown = 'passed';
    try {
      w.auth.checkRevocation(context);
    } catch (error) {
      outcome = error;
    }
    if (outcome instanceof TokenRevokedError) {
      expect(outcome.status, what).to.equal(401);
      return;
    }
    if (performance.now() >= deadline) {
      expect.fail(
        `${what}: checkRevocation ${outcome === 'passed' ? 'passed' : `threw ${String(outcome)}`}` +
          ` ${Math.round(performance.now() - s.endedAtMs)} ms after the session ended (allowed: ${w.revocationWait} ms)`,
      );
    }
    await sleep(10);
  }
}

async function checkAccessTokens(m: Readonly<Model>, w: World, s: SessionModel): Promise<void> {
  for (const [i, access] of s.accessTokens.entries()) {
    const what = `${s.label} (${s.userId}, ${s.alive ? 'live' : s.endedBy}) access token #${i} at ${at(m)}`;
    if (m.now >= access.exp) {
      expect(() => w.auth.verifyAccessToken(access.token), `${what}: expired`).to.throw(TokenExpiredError);
      continue;
    }
    const context = w.auth.verifyAccessToken(access.token);
    expect(context.sessionId, what).to.equal(s.sessionId);
    if (s.alive) {
      expect(() => {
        w.auth.checkRevocation(context);
      }, `${what}: must pass checkRevocation`).not.to.throw();
    } else {
      await refusedInTime(w, s, context, what);
    }
  }
}

/**
 * After every command: `listSessions` shows exactly the model's live sessions
 * (most recently used first, with their last use); every access token that
 * has not expired verifies and passes `checkRevocation` exactly when its
 * session is live; no refresh token of an ended session yields a pair; and
 * the core reported every reuse.
 */
export async function checkInvariants(m: Readonly<Model>, w: World): Promise<void> {
  const label = (sessionId: string): string =>
    m.sessions.find((s) => s.sessionId === sessionId)?.label ?? `unknown ${sessionId}`;
  for (const user of USERS) {
    const listed = (await w.auth.listSessions(user)).map(
      (info) => `${label(info.sessionId)} used ${info.lastUsedAt - T0}`,
    );
    const expected = liveSessions(m, user)
      .sort((a, b) => b.lastUsedAt - a.lastUsedAt || (a.sessionId < b.sessionId ? -1 : 1))
      .map((s) => `${s.label} used ${s.lastUsedAt - T0}`);
    same(`[${listed.join(', ')}]`, `[${expected.join(', ')}]`, `listSessions(${user}) at ${at(m)}`);
  }
  for (const s of m.sessions) {
    await checkAccessTokens(m, w, s);
    if (s.alive) continue;
    for (const [i, token] of s.refreshTokens.entries()) {
      await refusal(
        w.auth.refresh(token),
        ['token_revoked', 'refresh_reused'],
        `${s.label} (${s.endedBy}) refresh token #${i} at ${at(m)}`,
      );
    }
  }
  expect(w.reuseEvents, `reuse_detected events at ${at(m)}`).to.equal(m.reuseEvents);
}
