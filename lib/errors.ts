/**
 * Typed errors with stable codes. Every failure a client can cause is one of
 * these; the Express adapters turn them into a JSON body and an RFC 6750
 * `WWW-Authenticate` header, and a GraphQL resolver can map `code` itself.
 */

/** The stable, machine-readable codes; each is listed with its status in the README. */
export type ErrorCode =
  | 'token_missing'
  | 'token_invalid'
  | 'token_expired'
  | 'token_revoked'
  | 'refresh_reused'
  | 'credentials_changed'
  | 'invalid_request'
  | 'csrf_rejected'
  | 'cookie_ambiguous'
  | 'store_unavailable'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce';

/** Base class of every error this package raises at request time. */
export abstract class TokenPairError extends Error {
  abstract readonly code: ErrorCode;
  /** HTTP status the adapters answer with. */
  abstract readonly status: number;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No bearer token (or no refresh token) was presented. 401. */
export class TokenMissingError extends TokenPairError {
  readonly code = 'token_missing';
  readonly status = 401;
}

/** Signature, algorithm, `typ`, issuer, audience or shape is wrong. 401. */
export class TokenInvalidError extends TokenPairError {
  readonly code = 'token_invalid';
  readonly status = 401;
}

/** The token was valid once but its `exp` has passed. 401. */
export class TokenExpiredError extends TokenPairError {
  readonly code = 'token_expired';
  readonly status = 401;
}

/** The refresh token's session is unknown, logged out or past its lifetime. 401. */
export class TokenRevokedError extends TokenPairError {
  readonly code = 'token_revoked';
  readonly status = 401;
}

/**
 * A refresh token that had already been rotated out was presented again:
 * the session has been revoked. 401.
 */
export class RefreshReusedError extends TokenPairError {
  readonly code = 'refresh_reused';
  readonly status = 401;
}

/** The request itself is malformed (body, header syntax). 400. */
export class InvalidRequestError extends TokenPairError {
  readonly code = 'invalid_request';
  readonly status = 400;
}

/**
 * A cookie-mode request (it carries the refresh cookie or the transport
 * header) failed the CSRF checks: no transport header, or an `Origin` not
 * allowed (without an `Origin`, `Sec-Fetch-Site` was not `same-origin`).
 * Refused before any store work. 403.
 */
export class CsrfRejectedError extends TokenPairError {
  readonly code = 'csrf_rejected';
  readonly status = 403;
}

/**
 * A cookie-mode request carries the refresh cookie's name more than once (a
 * cookie of that name planted by another host, "cookie tossing"): none is
 * used, so no session is ever chosen by cookie order, and the cookie is left
 * alone. Refused before any store work. 400, RFC 6750 `invalid_request`
 * (a repeated parameter).
 */
export class CookieAmbiguousError extends TokenPairError {
  readonly code = 'cookie_ambiguous';
  readonly status = 400;
}

/**
 * `issue({ authenticatedAt })` was refused: the user's credentials were cut
 * off (a password change's `revokeOtherSessions`, or `revokeAll`) at or after
 * the moment the credential check began, so it may have passed on the old
 * password. Nothing was stored; the user logs in again. 401.
 */
export class CredentialsChangedError extends TokenPairError {
  readonly code = 'credentials_changed';
  readonly status = 401;
}

/**
 * The session store did not answer in time or failed. 503: the operation
 * did not happen (fail closed); `cause` holds the store's own error.
 */
export class StoreUnavailableError extends TokenPairError {
  readonly code = 'store_unavailable';
  readonly status = 503;
}

/** Thrown at construction for a bad option; the message names the option. */
export class OptionError extends TypeError {
  readonly code = 'ERR_ETP_OPTION';

  constructor(message: string) {
    super(`express-token-pair: ${message}`);
    this.name = 'OptionError';
  }
}

/**
 * Thrown by a core method for an argument only the app can get wrong: a bad
 * `userId` or `claims` at `issue()`, a bad `userId` at `revokeAll()`. A bug
 * in the calling code, not a client's mistake; nothing has reached the store.
 */
export class InputError extends TypeError {
  readonly code = 'ERR_ETP_INPUT';

  constructor(message: string, options?: { cause?: unknown }) {
    super(`express-token-pair: ${message}`, options);
    this.name = 'InputError';
  }
}
