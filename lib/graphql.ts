/**
 * GraphQL without a GraphQL dependency: the package's errors as errors a
 * resolver can throw, and a per-request context that verifies the bearer
 * token once. Nothing here imports `graphql`; graphql-js (16+) copies the
 * `extensions` of an error a resolver throws into the answer's `errors[]`.
 *
 * The scheme: `extensions.reason` is always the stable code of the HTTP
 * answers (`token_expired`, `refresh_reused`, ...) and `extensions.status`
 * its HTTP status. `extensions.code` is `'UNAUTHENTICATED'` (the word Apollo
 * and NestJS clients look for) when a token is missing or refused, that is
 * for the package's 401 codes; otherwise it is the stable code again.
 */
import { TokenMissingError, TokenPairError, type ErrorCode } from './errors.js';
import { bearerAuthenticator, type BearerAuthOptions } from './http/bearer.js';
import { errorAnswer } from './http/error-answer.js';
import { assertAuth } from './http/wiring.js';
import type { TokenAuth } from './token-auth.js';
import type { AuthContext } from './types.js';
import type { DpopPresentation } from './dpop-binding.js';

/** The package's codes that mean "no usable token": GraphQL's `UNAUTHENTICATED`. */
const UNAUTHENTICATED_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'token_missing',
  'token_invalid',
  'token_expired',
  'token_revoked',
  'refresh_reused',
]);

/** What goes into a GraphQL error's `extensions`. */
export interface GraphQLErrorExtensions {
  /** `'UNAUTHENTICATED'` for a missing or refused token, else the same as `reason`. */
  code: string;
  /** The stable code, as in the HTTP answers' `error` field. */
  reason: string;
  /** The HTTP status the same failure gets from the HTTP answers (`errorAnswer`, the Express adapters). */
  status: number;
}

/**
 * The extensions for a stable code and its status. Also for an app's own
 * codes (`invalid_credentials`, `rate_limited`...): those keep their code,
 * since only the package's token codes become `UNAUTHENTICATED`.
 */
export function graphqlExtensions(reason: string, status: number): GraphQLErrorExtensions {
  const unauthenticated = status === 401 && UNAUTHENTICATED_CODES.has(reason);
  return { code: unauthenticated ? 'UNAUTHENTICATED' : reason, reason, status };
}

/** A `TokenPairError` as a resolver throws it: same message, `extensions`, the original as `cause`. */
export class GraphQLTokenError extends Error {
  readonly extensions: GraphQLErrorExtensions;

  constructor(error: TokenPairError) {
    super(error.message, { cause: error });
    this.name = 'GraphQLTokenError';
    this.extensions = graphqlExtensions(error.code, errorAnswer(error).status);
  }
}

/**
 * A `TokenPairError` becomes a `GraphQLTokenError`; anything else is
 * returned as it is, so `catch (error) { throw toGraphQLError(error); }` fits
 * every resolver.
 */
export function toGraphQLError(error: TokenPairError): GraphQLTokenError;
export function toGraphQLError(error: unknown): unknown;
export function toGraphQLError(error: unknown): unknown {
  return error instanceof TokenPairError ? new GraphQLTokenError(error) : error;
}

/**
 * The authentication part of a GraphQL context, built once per request:
 * who the bearer token belongs to, or why there is no one. A type rather
 * than an interface, so that it fits graphql-http's `OperationContext`.
 */
export type TokenPairContext = {
  /** Set when the request carried a valid access token. */
  readonly auth: AuthContext | undefined;
  /**
   * Why `auth` is unset: `token_missing` without a bearer token, otherwise
   * the token's refusal (`token_expired`, `token_invalid`, `token_revoked`,
   * `invalid_request` for `Bearer` without a token, `store_unavailable`
   * while the revocation record is not current).
   */
  readonly authError: TokenPairError | undefined;
};

/** See `BearerAuthOptions`: `checkRevocation`, as `requireAccessToken` takes it. */
export type GraphQLContextOptions = BearerAuthOptions;

/**
 * Returns `contextFor(authorizationHeader, dpop?)`, which verifies the
 * request's bearer token once (with DPoP on, a `DPoP` token with the
 * request's presentation: Express `dpopPresentation(req)`) and never throws a token failure: it keeps it in
 * `authError` for the guarded resolvers (`requireAuth`). Whether a refused
 * token should fail the whole request at the HTTP level (401) is the
 * server's call: see the README's GraphQL section.
 */
export function graphqlContext(
  auth: TokenAuth,
  options: GraphQLContextOptions = {},
): (authorization: string | null | undefined, dpop?: DpopPresentation) => TokenPairContext {
  assertAuth(auth, 'graphqlContext');
  const authenticate = bearerAuthenticator(auth, options, 'graphqlContext');
  return (authorization, dpop) => {
    try {
      const context = authenticate(authorization, dpop);
      return { auth: context, authError: undefined };
    } catch (error) {
      if (error instanceof TokenPairError) return { auth: undefined, authError: error };
      throw error;
    }
  };
}

/**
 * For guarded resolvers: the caller's `AuthContext`, or a throw of the
 * `UNAUTHENTICATED` error (`reason` `token_missing` or the token's refusal).
 */
export function requireAuth(context: TokenPairContext): AuthContext {
  if (typeof context !== 'object' || context === null || !('authError' in context)) {
    throw new TypeError('express-token-pair: requireAuth(context) needs a context built by graphqlContext(auth)');
  }
  if (context.auth !== undefined) return context.auth;
  throw new GraphQLTokenError(context.authError ?? new TokenMissingError('no bearer token'));
}
