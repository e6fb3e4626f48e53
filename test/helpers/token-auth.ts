/**
 * Shared pieces of the core suites (test/core.*.test.ts): the secrets, the
 * fixed start time, a TokenAuth factory on a controlled clock, and small
 * readers for tokens and for the error a call rejects with.
 */
import {
  createTokenAuth,
  type SessionStore,
  type TokenAuth,
  type TokenAuthOptions,
  type TokenPairError,
} from '../../lib/index.js';

export const ACCESS = 'access-secret-access-secret-0123456789';
export const REFRESH = 'refresh-secret-refresh-secret-0123456789';
export const T0 = Date.UTC(2026, 0, 1) / 1000;

/**
 * The suites' TokenAuth: 15-minute access tokens, 7-day refresh tokens that
 * slide up to 30 days, a 5-second reuse grace, on `store`, with a clock that
 * reads `now()` (in seconds). `over` replaces any of these options.
 */
export function makeAuth(store: SessionStore, now: () => number, over: Partial<TokenAuthOptions> = {}): TokenAuth {
  return createTokenAuth({
    accessToken: { secret: ACCESS, ttl: '15m' },
    refreshToken: { secret: REFRESH, ttl: '7d', maxLifetime: '30d', reuseGrace: 5 },
    store,
    clock: () => now() * 1000,
    ...over,
  });
}

export function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
  return { header: header!, payload: payload! };
}

export async function rejection(promise: Promise<unknown> | (() => unknown)): Promise<TokenPairError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error as TokenPairError;
  }
  throw new Error('expected a rejection');
}
