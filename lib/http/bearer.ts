import { InvalidRequestError, OptionError, TokenMissingError } from '../errors.js';
import type { DpopPresentation } from '../dpop-binding.js';
import type { TokenAuth } from '../token-auth.js';
import { dpopOn } from './wiring.js';
import type { AuthContext } from '../types.js';

/** The space character's code: the only separator RFC 6750's `Bearer <token>` allows. */
const SPACE = 32;

/**
 * The token of an `Authorization: Bearer <token>` value (RFC 6750 §2.1), for
 * any framework: `TokenMissingError` with no header or another scheme,
 * `InvalidRequestError` for `Bearer` with no token or more than one. The
 * value is trimmed, the scheme taken in any case, and any run of spaces
 * separates it from the token. Scans for spaces (no regex and no arrays: this
 * runs on every guarded request).
 */
export function parseBearer(header: string | null | undefined): string {
  return parseCredentials(header, false).token;
}

/**
 * As `parseBearer`, and with `dpop` the `DPoP <token>` scheme too (RFC 9449
 * §7.1, the same syntax, any case): the token and whether it came as DPoP.
 */
export function parseCredentials(header: string | null | undefined, dpop: boolean): { token: string; dpop: boolean } {
  if (typeof header !== 'string' || header === '') throw new TokenMissingError('no bearer token');
  const value = header.trim();
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  const isDpop = dpop && scheme.length === 4 && scheme.toLowerCase() === 'dpop';
  if (!isDpop && (scheme.length !== 6 || scheme.toLowerCase() !== 'bearer'))
    throw new TokenMissingError('no bearer token');
  // Trimmed: after the scheme's spaces comes a token, if there is a space at all.
  if (space === -1) throw new InvalidRequestError('malformed Authorization header');
  let start = space + 1;
  while (value.charCodeAt(start) === SPACE) start++;
  const token = value.slice(start);
  if (token.includes(' ')) throw new InvalidRequestError('malformed Authorization header');
  return { token, dpop: isDpop };
}

/** What a guarded request brings: its `Authorization` value, and (with DPoP on) its DPoP presentation. */
export type Authenticate = (authorization: string | null | undefined, dpop?: DpopPresentation) => AuthContext;

/** The token of the header (either scheme when DPoP is on) verified, with its proof when it came as DPoP. */
export function authenticated(
  auth: TokenAuth,
  authorization: string | null | undefined,
  dpop?: DpopPresentation,
): AuthContext {
  const on = dpopOn(auth);
  const credentials = parseCredentials(authorization, on);
  if (!credentials.dpop) return auth.verifyAccessToken(credentials.token);
  return auth.verifyAccessToken(credentials.token, dpop ?? { proof: undefined, method: '', url: '' });
}

export interface BearerAuthOptions {
  /**
   * Also refuse (401 `token_revoked`) the access tokens of sessions that have
   * ended: logout, reuse detection, `revokeSession`, `revokeOtherSessions`,
   * `revokeAll`, eviction. Checked against this process's view of the store's
   * revocation record (`auth.watchRevocations()`, started when the
   * authenticator is made), so no store round trip per request. While that
   * view is not current (starting, or no word from the store for
   * `revocationMaxLag`) it throws `StoreUnavailableError` (503). Default
   * `false`: signature and claims alone.
   */
  checkRevocation?: boolean | undefined;
}

/**
 * The authenticator `requireAccessToken` and `graphqlContext` share: options
 * checked once (errors name `owner`), the revocation feed started at
 * creation, and a function from an `Authorization` header value to the
 * verified caller, which throws a `TokenPairError` otherwise.
 */
export function bearerAuthenticator(auth: TokenAuth, options: BearerAuthOptions, owner: string): Authenticate {
  if (typeof options !== 'object' || options === null) throw new OptionError(`${owner} options must be an object`);
  for (const key of Object.keys(options)) {
    if (key !== 'checkRevocation') throw new OptionError(`${owner}: unknown option ${key} (known: checkRevocation)`);
  }
  const checkRevocation = options.checkRevocation ?? false;
  if (typeof checkRevocation !== 'boolean') throw new OptionError(`${owner} option checkRevocation must be a boolean`);
  if (!checkRevocation) return (authorization, dpop) => authenticated(auth, authorization, dpop);
  // A store without a revocation record throws here, at start-up. A feed that cannot start yet is no
  // rejection to report: the guard answers 503 until the view is current.
  auth.watchRevocations().catch(() => {});
  return (authorization, dpop) => {
    const context = authenticated(auth, authorization, dpop);
    auth.checkRevocation(context);
    return context;
  };
}
