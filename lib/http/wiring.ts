/** What the handlers check once, at wiring time: the `auth` object and their options. */
import { OptionError } from '../errors.js';
import type { TokenAuth } from '../token-auth.js';
import { parseTransport, type CookieTransport } from './transport.js';

/**
 * Throws at wiring time if `auth` is not what `createTokenAuth()` returns,
 * with a plain hint for `app.use(requireAccessToken)` (no call). Every
 * adapter's check (Express handlers, `graphqlContext`).
 */
export function assertAuth(auth: unknown, name: string): asserts auth is TokenAuth {
  const core = auth as Partial<TokenAuth> | undefined;
  if (
    typeof core?.verifyAccessToken === 'function' &&
    typeof core.refresh === 'function' &&
    typeof core.checkRevocation === 'function'
  ) {
    return;
  }
  const used = typeof auth === 'object' && auth !== null && 'headers' in auth && 'method' in auth;
  throw new TypeError(
    used
      ? `express-token-pair: ${name} was used as a middleware itself; call it: ${name}(auth)`
      : `express-token-pair: ${name}(auth) needs the object returned by createTokenAuth()`,
  );
}

/** True when `auth` has DPoP on (`dpopMode` optional or required; an older or duck-typed core has none). */
export function dpopOn(auth: TokenAuth): boolean {
  const mode = (auth as Partial<TokenAuth>).dpopMode;
  return mode === 'optional' || mode === 'required';
}

export interface RefreshOptions {
  /**
   * What `cookieTransport()` returned, to serve browsers in cookie mode too:
   * the refresh token then comes from the cookie alone and the new one goes
   * back as the cookie, never in a body. A failed refresh leaves the cookie
   * alone (an older tab's 401 must not wipe a newer cookie). Default none:
   * the JSON body only.
   */
  transport?: CookieTransport | undefined;
}

export interface LogoutOptions {
  /**
   * End every session of the user instead of one. The user comes from
   * `req.auth` when `requireAccessToken(auth)` (this same `auth`) set it, or
   * else from the request's own bearer access token: another middleware's
   * `req.auth` is never trusted. Default `false`: the session of the
   * `refreshToken` in the body (in cookie mode, of the cookie).
   */
  all?: boolean | undefined;
  /**
   * What `cookieTransport()` returned, to serve browsers in cookie mode too:
   * the refresh token comes from the cookie, and the 204 clears it. Default
   * none: the JSON body only.
   */
  transport?: CookieTransport | undefined;
}

function known(options: unknown, owner: string, keys: readonly string[]): void {
  if (typeof options !== 'object' || options === null) throw new OptionError(`${owner} options must be an object`);
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) throw new OptionError(`${owner}: unknown option ${key} (known: ${keys.join(', ')})`);
  }
}

/** `refreshHandler`'s options, checked: the transport or `undefined`. */
export function refreshSettings(options: RefreshOptions): CookieTransport | undefined {
  known(options, 'refreshHandler', ['transport']);
  return parseTransport(options.transport, 'refreshHandler option transport');
}

/** `logoutHandler`'s options, checked, with their defaults. */
export function logoutSettings(options: LogoutOptions): { all: boolean; transport: CookieTransport | undefined } {
  known(options, 'logoutHandler', ['all', 'transport']);
  const all = options.all ?? false;
  if (typeof all !== 'boolean') throw new OptionError('logoutHandler option all must be a boolean');
  return { all, transport: parseTransport(options.transport, 'logoutHandler option transport') };
}
