/** Signing a session's token pair, for the core (token-auth.ts). */
import { MAX_TOKEN_LENGTH } from './constants.js';
import { InputError } from './errors.js';
import type { Config } from './options.js';
import type { CurrentToken } from './store-types.js';
import { newId, sign } from './tokens.js';
import type { Claims, TokenPair } from './types.js';

/**
 * Signs an access token. At `issue()` this runs before anything is stored,
 * so claims that cannot be signed, or that make a token longer than
 * `verify` accepts, are refused while nothing has happened yet.
 */
export function signAccessToken(
  config: Config,
  userId: string,
  sessionId: string,
  claims: Claims,
  now: number,
  jkt?: string,
): string {
  const { access } = config;
  let token: string;
  try {
    token = sign(access, config, jkt === undefined ? claims : { ...claims, cnf: { jkt } }, {
      sub: userId,
      sid: sessionId,
      jti: newId(),
      iat: now,
      exp: now + access.ttl,
    });
  } catch (cause) {
    throw new InputError('claims could not be signed', { cause });
  }
  if (token.length > MAX_TOKEN_LENGTH) {
    throw new InputError(
      `claims make the access token ${token.length} characters long; the limit is ${MAX_TOKEN_LENGTH}`,
    );
  }
  return token;
}

/**
 * The pair for a session's current refresh token. Both tokens are dated by
 * the store's clock (`refresh.issuedAt`), the clock revocation cut-offs use.
 * The refresh token's lifetime rides along as the non-enumerable
 * `refreshExpiresIn`, for the cookie's Max-Age: JSON bodies stay as they are,
 * and nothing has to decode the token just signed to learn it.
 */
export function signPair(
  config: Config,
  userId: string,
  sessionId: string,
  claims: Claims,
  refresh: CurrentToken,
  jkt?: string,
): TokenPair {
  const accessToken = signAccessToken(config, userId, sessionId, claims, refresh.issuedAt, jkt);
  const refreshToken = sign(
    config.refresh,
    config,
    {},
    {
      sub: userId,
      sid: sessionId,
      jti: refresh.jti,
      iat: refresh.issuedAt,
      exp: refresh.expiresAt,
    },
  );
  const tokenType = jkt === undefined ? 'Bearer' : 'DPoP';
  const pair: TokenPair = { accessToken, refreshToken, tokenType, expiresIn: config.access.ttl };
  return Object.defineProperty(pair, 'refreshExpiresIn', {
    value: Math.max(0, refresh.expiresAt - refresh.issuedAt),
    enumerable: false,
  });
}
