/**
 * What the demo page's "Replay old refresh token" button needs, and no
 * more: `POST /auth/demo/attacker-refresh` plays an attacker who copied the
 * browser's refresh cookie and uses the copy first. The server refreshes
 * with the cookie it was sent and throws the new pair away (the "attacker"
 * keeps it), so the browser is left holding a rotated-out token. Once the
 * reuse grace window has passed, the page's own next refresh presents that
 * old token: 401 `refresh_reused`, and the session is revoked for everyone.
 *
 * It reveals nothing: no token leaves the server, the cookie stays HttpOnly,
 * and the request must pass the same CSRF checks as a refresh. All it can
 * do is what a logout does, end the caller's own session (a little later).
 * Even so it is mounted only outside production (see config.ts).
 */
import { parse } from 'cookie';
import { Router, type RequestHandler } from 'express';
import { CookieAmbiguousError, csrfGuard, type CookieTransport, type TokenAuth } from '../lib/index.js';
import { AppError } from './errors.js';

export const ATTACKER_REFRESH_PATH = '/auth/demo/attacker-refresh';

export interface ReplayDemoDeps {
  auth: TokenAuth;
  transport: CookieTransport;
  /** Seconds during which the old token still gets the same successor back (the page waits them out). */
  reuseGrace: number;
  /** The refresh route's rate limit: this route refreshes too. */
  limit: RequestHandler;
}

export function replayDemo({ auth, transport, reuseGrace, limit }: ReplayDemoDeps): Router {
  const router = Router();
  router.post(ATTACKER_REFRESH_PATH, csrfGuard(transport), limit, async (req, res) => {
    // Cookie mode only (csrfGuard has checked the header and the Origin): the page has no token to send.
    const header = req.get('cookie') ?? '';
    const token = req.get(transport.header) === 'cookie' ? parse(header)[transport.cookie.name] : undefined;
    if (token === undefined || token === '') throw new AppError(401, 'token_missing', 'no refresh cookie');
    // As the refresh route does: the name twice (one planted by another host) is refused, never resolved by order.
    const named = header
      .split(';')
      .filter((pair) => pair.includes('=') && pair.slice(0, pair.indexOf('=')).trim() === transport.cookie.name);
    if (named.length > 1) throw new CookieAmbiguousError('the refresh cookie appears more than once; none was used');
    // The attacker's own device: another user agent, so the library also reports it as suspicious.
    await auth.refresh(token, { ip: req.ip, userAgent: 'attacker (replay demo)' });
    res.status(200).set('Cache-Control', 'no-store').json({ reuseGrace });
  });
  return router;
}
