/** The token routes as decisions: a plain request in, an `HttpAnswer` out (errors thrown, see `errorAnswer`). */
import type { DpopPresentation } from '../dpop-binding.js';
import type { TokenAuth } from '../token-auth.js';
import { dpopOn } from './wiring.js';
import type { AuthContext, SessionMeta, TokenPair } from '../types.js';
import { authenticated } from './bearer.js';
import { presentedRefreshToken, transportOf } from './csrf.js';
import { clearRefreshCookie, writeRefreshCookie } from './refresh-cookie.js';
import type { CookieTransport } from './transport.js';
import type { HttpAnswer, HttpRequest } from './types.js';

const NO_STORE = { 'Cache-Control': 'no-store' } as const;

/** The request's DPoP presentation: its `DPoP` header(s), method and absolute URL. */
export function requestDpop(request: HttpRequest): DpopPresentation {
  const proof = request.headers.dpop;
  return { proof, method: request.method ?? '', url: `${request.origin ?? ''}${request.url ?? ''}` };
}

function requestMeta(request: HttpRequest): SessionMeta {
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof userAgent === 'string' ? userAgent : undefined };
}

/**
 * A freshly issued pair, never cached: in cookie mode (a `transport`) the
 * refresh token as the HttpOnly cookie (Max-Age: its lifetime) and the rest
 * (with any extra fields of `pair`) as JSON; otherwise the JSON pair.
 */
export function pairAnswer(pair: TokenPair, transport: CookieTransport | undefined, status = 200): HttpAnswer {
  if (transport === undefined) return { status, headers: NO_STORE, cookies: [], body: pair };
  const { refreshToken: _sent, ...body } = pair;
  return { status, headers: NO_STORE, cookies: [writeRefreshCookie(transport, pair)], body };
}

/**
 * `sendTokenPair`'s decision: the pair in the mode the request chose
 * (`transportOf`: throws `CsrfRejectedError` for a cookie-mode request that
 * fails the CSRF checks). `status` is the one the route set (default 200).
 */
export function issuedPairAnswer(
  request: HttpRequest,
  pair: TokenPair,
  transport: CookieTransport | undefined,
  status = 200,
): HttpAnswer {
  return pairAnswer(pair, transportOf(request, transport).mode === 'cookie' ? transport : undefined, status);
}

/**
 * The refresh route: the presented token (cookie or body, see
 * `presentedRefreshToken`) rotated by the core, and the new pair as it came.
 * A failure is thrown, and leaves any cookie alone.
 */
export async function refreshAnswer(
  auth: TokenAuth,
  transport: CookieTransport | undefined,
  request: HttpRequest,
): Promise<HttpAnswer> {
  const { token, cookie } = presentedRefreshToken(request, transport);
  const dpop = dpopOn(auth) ? requestDpop(request) : undefined;
  const pair = await auth.refresh(token as string, requestMeta(request), dpop);
  return pairAnswer(pair, cookie ? transport : undefined);
}

/**
 * The logout route: 204 once the session (with `all`, every session of the
 * user: `known`, when this `auth` verified it, else the request's own bearer
 * token) is gone from the store; in cookie mode the 204 also clears the cookie.
 */
export async function logoutAnswer(
  auth: TokenAuth,
  settings: { all: boolean; transport: CookieTransport | undefined },
  request: HttpRequest,
  known?: unknown,
): Promise<HttpAnswer> {
  const { all, transport } = settings;
  let cookie: boolean;
  if (all) {
    const transported = transportOf(request, transport);
    // With the name twice, clearing the host's own copy would leave a planted one alone in the jar.
    cookie = transported.mode === 'cookie' && transported.cookies.length < 2;
    const authorization = request.headers.authorization;
    const caller: AuthContext = auth.owns(known)
      ? known
      : authenticated(auth, typeof authorization === 'string' ? authorization : undefined, requestDpop(request));
    await auth.revokeAll(caller.userId);
  } else {
    const presented = presentedRefreshToken(request, transport);
    cookie = presented.cookie;
    await auth.revoke(presented.token as string, requestMeta(request));
  }
  return { status: 204, headers: NO_STORE, cookies: cookie ? [clearRefreshCookie(transport!)] : [] };
}
