/** Why a client call failed; a session that ended is not one of these (see `sessionended`). */
export type AuthClientErrorCode =
  | 'refresh_failed' // network error, timeout, or an answer that is neither a pair nor a 400/401
  | 'refresh_limit' // more than maxRefreshes within refreshWindow: a loop, refused
  | 'lock_timeout' // another tab held the refresh lock for longer than lockTimeout
  | 'login_failed' // the login route answered non-2xx (`status`, `serverCode`)
  | 'logout_failed'; // the logout route did not confirm (network, 503...); the tokens here are gone anyway

/**
 * The one error class of the client. `status` is the HTTP status when there
 * was an answer, `serverCode` its JSON `error`, `retryAfter` its
 * `Retry-After` in seconds; `cause` keeps the underlying error.
 */
export class AuthClientError extends Error {
  readonly code: AuthClientErrorCode;
  readonly status: number | undefined;
  readonly serverCode: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(
    code: AuthClientErrorCode,
    message: string,
    details: {
      status?: number | undefined;
      serverCode?: string | undefined;
      retryAfter?: number | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(`express-token-pair/client: ${message}`, 'cause' in details ? { cause: details.cause } : undefined);
    this.name = 'AuthClientError';
    this.code = code;
    this.status = details.status;
    this.serverCode = details.serverCode;
    this.retryAfter = details.retryAfter;
  }
}
