export { createTokenAuth, TokenAuth } from './token-auth.js';
export { MemorySessionStore } from './stores/memory-store.js';
export { RedisSessionStore } from './stores/redis/store.js';
export { boundedSendCommand } from './stores/redis/bounded-send.js';
export { requireAccessToken } from './express/require-access-token.js';
export { refreshHandler } from './express/refresh-handler.js';
export { logoutHandler } from './express/logout-handler.js';
export { cookieTransport } from './http/transport.js';
export { csrfGuard } from './express/csrf.js';
export { sendTokenPair } from './express/cookie-response.js';
export { dpopPresentation, sendError } from './express/http.js';
export { jwksHandler } from './express/jwks-handler.js';
export { jwkThumbprint } from './jwks.js';
export { graphqlContext, graphqlExtensions, GraphQLTokenError, requireAuth, toGraphQLError } from './graphql.js';
export {
  TokenPairError,
  TokenMissingError,
  TokenInvalidError,
  TokenExpiredError,
  TokenRevokedError,
  RefreshReusedError,
  InvalidRequestError,
  StoreUnavailableError,
  OptionError,
  InputError,
  CsrfRejectedError,
  CredentialsChangedError,
  CookieAmbiguousError,
} from './errors.js';
export { ACCESS_TYP, REFRESH_TYP } from './constants.js';

export type { ErrorCode } from './errors.js';
export { InvalidDpopProofError, UseDpopNonceError } from './dpop/errors.js';
export type { DpopMode, DpopOptions, DpopPresentation } from './dpop-binding.js';
export type { DpopAlgorithm } from './dpop/algorithms.js';
export type { HealthReport, RevocationHealth, RevocationStreamHealth, StoreHealth } from './health.js';
export type { GraphQLContextOptions, GraphQLErrorExtensions, TokenPairContext } from './graphql.js';
export type { MemorySessionStoreOptions } from './stores/memory-store.js';
export type { RedisSessionStoreOptions } from './stores/redis/store.js';
export type { RedisClientLike, SendCommand } from './stores/redis/bounded-send.js';
export type { StoreWarning } from './stores/redis/health.js';
export type { ClientKind } from './stores/redis/connection.js';
export type { LogoutOptions, RefreshOptions } from './http/wiring.js';
export type { CookieTransport, CookieTransportOptions, RefreshCookieOptions } from './http/transport.js';
export type { RequireAccessTokenOptions } from './express/require-access-token.js';
export type { JwkSet, PublicJwk } from './jwks.js';
export type {
  AccessTokenOptions,
  AsymmetricAlgorithm,
  AuthContext,
  Claims,
  Duration,
  HmacAlgorithm,
  IssueInput,
  RefreshRingKeyOptions,
  RefreshTokenOptions,
  RingKeyOptions,
  Secret,
  SessionMeta,
  TokenAuthEventName,
  TokenAuthEvents,
  TokenAuthOptions,
  TokenPair,
} from './types.js';
export type {
  CreateOptions,
  CurrentToken,
  Ending,
  NewSession,
  ProofUse,
  Revocation,
  RevocationFeed,
  RevokeAllInput,
  RevokeInput,
  RevokeResult,
  RotateInput,
  RotateResult,
  SessionInfo,
  SessionStore,
} from './store-types.js';
