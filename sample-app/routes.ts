/**
 * The sample app's routes. Register and login are the app's own (it owns
 * users and passwords); refresh, logout and the access-token check are the
 * library's ready-made handlers. The session routes are in session-routes.ts.
 *
 * Two transports for the refresh token, chosen per request: the JSON body
 * (curl, mobile apps: as without a transport), or, for a browser that sends
 * `x-token-transport: cookie` (the demo page, through
 * express-token-pair/client), an HttpOnly __Host- cookie that no script can
 * read and only the refresh and logout routes use. Cookie-mode requests must come from an allowed origin
 * (`cookieTransport`, PUBLIC_ORIGIN): anything else is 403 csrf_rejected.
 */
import { randomUUID } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import {
  csrfGuard,
  dpopPresentation,
  logoutHandler,
  refreshHandler,
  requireAccessToken,
  sendTokenPair,
  type CookieTransport,
  type TokenAuth,
} from '../lib/index.js';
import { revocationReason } from './audit.js';
import { parseCredentials, type Passwords } from './credentials.js';
import { AppError } from './errors.js';
import { sessionRoutes } from './session-routes.js';
import type { UserStore } from './users.js';

export interface RouteDeps {
  auth: TokenAuth;
  /** The cookie transport (`cookieTransport(...)`), for browsers. */
  transport: CookieTransport;
  users: UserStore;
  passwords: Passwords;
  limits: { register: RequestHandler; login: RequestHandler; refresh: RequestHandler; password: RequestHandler };
  /**
   * Whether the routes that end sessions or list them also refuse the
   * access tokens of ended sessions (`checkRevocation`), with no store
   * round trip: on one Redis, Sentinel and a Cluster alike (the store's
   * revocation record); the memory store's record is this process's own.
   */
  checkRevocation: boolean;
}

export function routes({ auth, transport, users, passwords, limits, checkRevocation }: RouteDeps): Router {
  const router = Router();
  // Refuses a cross-site cookie-mode request (403 csrf_rejected) before any work: no bcrypt, no
  // store call, and no rate-limit count taken from the victim's IP.
  const sameOrigin = csrfGuard(transport);

  router.post('/auth/register', limits.register, async (req, res) => {
    const { email, password } = parseCredentials(req.body, 'register');
    const user = { id: randomUUID(), email };
    // Hash first, then claim the email atomically: the store, not an earlier lookup, decides who wins a race.
    if (!(await users.create({ ...user, passwordHash: await passwords.hash(password) }))) {
      throw new AppError(409, 'email_taken', 'an account with this email already exists');
    }
    res.status(201).json({ user });
  });

  router.post('/auth/login', sameOrigin, limits.login, async (req, res) => {
    const { email, password } = parseCredentials(req.body, 'login');
    // When the check began, before the hash is read: should the password change (and end the other
    // sessions) while bcrypt runs, issue() refuses this login (401 credentials_changed), on any instance.
    const authenticatedAt = auth.now();
    const user = await users.findByEmail(email);
    // Always one bcrypt comparison, and one answer for "no such email" and "wrong password":
    // neither the body nor the timing tells an attacker which emails have accounts.
    const ok = await passwords.verify(password, user?.passwordHash);
    if (!user || !ok) throw new AppError(401, 'invalid_credentials', 'email or password is incorrect');
    // A new session: a short-lived access token (sent with every request) and a
    // long-lived refresh token (used only by /auth/refresh). The email rides
    // along as a claim, so /me needs no database.
    const pair = await auth.issue({
      userId: user.id,
      claims: { email: user.email },
      meta: { ip: req.ip, userAgent: req.get('user-agent') },
      // With DPOP on, a DPoP header binds the session to the browser's key (ignored with DPOP=off).
      dpop: dpopPresentation(req),
      authenticatedAt,
    });
    // Cookie mode: the refresh token goes into the HttpOnly cookie and the rest into the JSON; body
    // mode: the whole pair as JSON. Either way never cached (RFC 6749 §5.1). Object.assign, not a
    // spread: the pair's non-enumerable refreshExpiresIn (the cookie's Max-Age) stays with it.
    sendTokenPair(req, res, Object.assign(pair, { user: { id: user.id, email: user.email } }), transport);
  });

  // Every refresh rotates: the refresh token sent in is spent and a new one comes
  // back. If a stolen token is used after its owner used it (or the other way
  // round), the second use is detected as reuse and the whole session is ended.
  // In cookie mode the refresh token comes from the cookie alone and its successor goes back
  // as the cookie; the logouts clear it.
  router.post('/auth/refresh', sameOrigin, limits.refresh, refreshHandler(auth, { transport }));
  router.post('/auth/logout', revocationReason('logout'), logoutHandler(auth, { transport }));
  // Checked against the revocation record, like the session routes: a token whose session has
  // already ended cannot end the user's other sessions.
  router.post(
    '/auth/logout-all',
    requireAccessToken(auth, { checkRevocation }),
    revocationReason('logout_all'),
    logoutHandler(auth, { all: true, transport }),
  );

  router.use(sessionRoutes({ auth, users, passwords, passwordLimit: limits.password, checkRevocation }));

  // Checked by signature alone (no store, no revocation record), on purpose, to show both
  // trade-offs side by side: fast, and works while Redis is down, but an access token stays
  // valid here until it expires, even after logout or a password change (keep its TTL short).
  // The session routes refuse such a token within a second (see session-routes.ts).
  router.get('/me', requireAccessToken(auth), (req, res) => {
    if (!req.auth) throw new Error('requireAccessToken did not run');
    // A user's own data: kept by no cache (a browser would otherwise store it, and revalidate with 304s).
    res.set('Cache-Control', 'no-store').json({ user: { id: req.auth.userId, email: req.auth.claims.email } });
  });

  return router;
}
