import { parseBearer } from './bearer.js';
import { OptionError } from './errors.js';
import type { TokenAuth } from './token-auth.js';
import type { AuthContext } from './types.js';

export interface AccessGuardOptions {
  /**
   * Also refuse (401 `token_revoked`) the access tokens of sessions that have
   * ended: logout, reuse detection, `revokeSession`, `revokeOtherSessions`,
   * `revokeAll`, eviction. Checked against this process's view of the store's
   * revocation record (`auth.watchRevocations()`, started when the guard is
   * made), so no store round trip per request. While that view is not
   * current (starting, or no word from the store for `revocationMaxLag`) it
   * throws `StoreUnavailableError` (503). Default `false`: signature and
   * claims alone.
   */
  checkRevocation?: boolean | undefined;
}

/**
 * What `requireAccessToken` and `graphqlContext` share: options checked once
 * (errors name `owner`), the revocation feed started at creation, and a
 * function from an `Authorization` header value to the verified caller,
 * which throws a `TokenPairError` otherwise.
 */
export function accessGuard(
  auth: TokenAuth, options: AccessGuardOptions, owner: string,
): (authorization: string | null | undefined) => AuthContext {
  if (typeof options !== 'object' || options === null) throw new OptionError(`${owner} options must be an object`);
  for (const key of Object.keys(options)) {
    if (key !== 'checkRevocation') throw new OptionError(`${owner}: unknown option ${key} (known: checkRevocation)`);
  }
  const checkRevocation = options.checkRevocation ?? false;
  if (typeof checkRevocation !== 'boolean') throw new OptionError(`${owner} option checkRevocation must be a boolean`);
  if (!checkRevocation) return (authorization) => auth.verifyAccessToken(parseBearer(authorization));
  // A store without a revocation record throws here, at start-up. A feed that cannot start yet is no
  // rejection to report: the guard answers 503 until the view is current.
  auth.watchRevocations().catch(() => {});
  return (authorization) => {
    const context = auth.verifyAccessToken(parseBearer(authorization));
    auth.checkRevocation(context);
    return context;
  };
}
