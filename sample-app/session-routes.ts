/**
 * Sessions a user can see and end (issue #7): the list of their sessions
 * ("signed in on 3 devices"), ending one, ending all but the current one,
 * and a password change, which ends every other session too.
 *
 * Every route here checks the access token against the revocation record
 * (`checkRevocation`): the token of a session ended a moment ago, on this
 * instance or any other, is refused (401 token_revoked) within a second.
 * The price: while that record is not current (Redis unreachable for more
 * than a few seconds) these routes answer 503 rather than guess. /me shows
 * the other choice (see routes.ts).
 */
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { requireAccessToken, type AuthContext, type SessionInfo, type TokenAuth } from '../lib/index.js';
import { revocationReason } from './audit.js';
import { parsePasswordChange, type Passwords } from './credentials.js';
import { AppError } from './errors.js';
import type { UserStore } from './users.js';

export interface SessionRouteDeps {
  auth: TokenAuth;
  users: UserStore;
  passwords: Passwords;
  /** The password change's rate limit (counted like login's). */
  passwordLimit: RequestHandler;
  /** Refuse the access tokens of ended sessions (see `RouteDeps`). */
  checkRevocation: boolean;
}

/** A session as the API shows it: times as ISO 8601 strings, `null` for what is unknown. */
export interface SessionView {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  /** The session of the access token that asked. */
  current: boolean;
}

/** Session ids are 16 characters; anything much longer is no session and needs no store call. */
const MAX_SESSION_ID = 128;

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

export function sessionView(session: SessionInfo, currentSessionId: string): SessionView {
  return {
    id: session.sessionId,
    createdAt: iso(session.createdAt),
    lastUsedAt: iso(session.lastUsedAt),
    expiresAt: iso(session.expiresAt),
    ip: session.ip ?? null,
    userAgent: session.userAgent ?? null,
    current: session.sessionId === currentSessionId,
  };
}

function authOf(req: Request): AuthContext {
  if (!req.auth) throw new Error('requireAccessToken did not run');
  return req.auth;
}

function noContent(res: Response): void {
  res.status(204).set('Cache-Control', 'no-store').end();
}

export function sessionRoutes({ auth, users, passwords, passwordLimit, checkRevocation }: SessionRouteDeps): Router {
  const router = Router();
  const checked = requireAccessToken(auth, { checkRevocation });

  // Most recently used first. No-store: the list holds IP addresses.
  router.get('/auth/sessions', checked, async (req, res) => {
    const { userId, sessionId } = authOf(req);
    const sessions = await auth.listSessions(userId);
    res.set('Cache-Control', 'no-store').json({ sessions: sessions.map((session) => sessionView(session, sessionId)) });
  });

  // "Sign out that device". The store looks only among the caller's own sessions, so another
  // user's session id gets the same 404, after the same single store call, as an id that never was.
  router.delete('/auth/sessions/:id', checked, revocationReason('session_deleted'), async (req, res) => {
    const { userId } = authOf(req);
    const id = String(req.params.id);
    if (id.length > MAX_SESSION_ID || !(await auth.revokeSession(userId, id))) {
      throw new AppError(404, 'not_found', 'no such session');
    }
    noContent(res);
  });

  // "Sign out everywhere else": the session that asks stays.
  router.post('/auth/logout-others', checked, revocationReason('logout_others'), async (req, res) => {
    const { userId, sessionId } = authOf(req);
    await auth.revokeOtherSessions(userId, sessionId);
    noContent(res);
  });

  // The account's email rides in the access token (claims.email), and users are found by
  // email; the id is checked too, by the store, in the same atomic step as the update.
  router.post('/auth/password', passwordLimit, checked, revocationReason('password_changed'), async (req, res) => {
    const { userId, sessionId, claims } = authOf(req);
    const { currentPassword, newPassword } = parsePasswordChange(req.body);
    const found = typeof claims.email === 'string' ? await users.findByEmail(claims.email) : undefined;
    const user = found?.id === userId ? found : undefined;
    // As at login: always one bcrypt comparison, one answer for every failure.
    const ok = await passwords.verify(currentPassword, user?.passwordHash);
    const wrong = new AppError(401, 'invalid_credentials', 'current password is incorrect');
    if (!user || !ok) throw wrong;
    // The password first, then the other sessions: a login made in between with the old
    // password ends too, and one still checking the old password is refused when it finishes
    // (the cut-off revokeOtherSessions sets; see POST /auth/login). (Should the store fail
    // between the two steps, the answer is 503 with the password changed: POST
    // /auth/logout-others finishes the job.)
    if (!(await users.setPasswordHash(user, user.passwordHash, await passwords.hash(newPassword)))) throw wrong;
    await auth.revokeOtherSessions(userId, sessionId);
    noContent(res);
  });

  return router;
}
