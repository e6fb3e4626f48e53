import { OptionError } from './errors.js';
import { ACCESS_TYP, REFRESH_TYP } from './constants.js';
import { accessKeys, keepApart, keyConfig, refreshKeys, type KeyConfig } from './keys.js';
import { checkKeys, isObject } from './option-checks.js';
import type { SessionStore } from './store-types.js';
import { parseDpop, type DpopConfig } from './dpop-binding.js';
import type { Duration, TokenAuthOptions } from './types.js';

export type { KeyConfig } from './keys.js';

/** The complete internal configuration: nothing optional but iss/aud. */
export interface Config {
  access: KeyConfig & { cacheSize: number };
  refresh: KeyConfig & { maxLifetime: number; grace: number };
  store: SessionStore;
  issuer: string | undefined;
  audience: string | undefined;
  maxSessionsPerUser: number;
  clockTolerance: number;
  /** The current time in whole Unix seconds, from the `clock` option; throws (fail closed) if it is not a number. */
  now: () => number;
  refreshClaims: TokenAuthOptions['refreshClaims'];
  suspiciousRefreshes: number;
  revocationMaxLag: number;
  /** DPoP, when its mode is not `off`. */
  dpop: DpopConfig | undefined;
}

const units = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** Longest reuse grace window: a longer one would let a stolen token's replay pass as a retry. */
const MAX_GRACE = 60;

/** Parses `'15m'`-style strings or whole seconds into seconds. */
export function parseDuration(value: Duration | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
  } else if (typeof value === 'string') {
    const match = /^(\d{1,9})([smhd]?)$/.exec(value);
    if (match) {
      const seconds = Number(match[1]) * units[(match[2] || 's') as keyof typeof units];
      if (seconds > 0) return seconds;
    }
  }
  throw new OptionError(
    `${name} must be a positive whole number of seconds ('900' too) or a string like '15m' or '7d' (got ${JSON.stringify(value)})`,
  );
}

/** A whole number from `min` to `max`, or `fallback` when undefined. */
function wholeNumber(value: unknown, fallback: number, name: string, min: number, max: number): number {
  const result = value ?? fallback;
  if (typeof result === 'number' && Number.isSafeInteger(result) && result >= min && result <= max) return result;
  throw new OptionError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`);
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value.length > 0) return value;
  throw new OptionError(`${name} must be a non-empty string`);
}

/**
 * Validates the caller's options once, at `createTokenAuth`, into a complete
 * config. The caller's object is never mutated. Throws `OptionError` naming
 * the option.
 */
export function parseOptions(options: TokenAuthOptions): Config {
  if (!isObject(options)) throw new OptionError('createTokenAuth() needs an options object');
  checkKeys(
    options,
    [
      'accessToken',
      'refreshToken',
      'store',
      'issuer',
      'audience',
      'maxSessionsPerUser',
      'clockTolerance',
      'clock',
      'refreshClaims',
      'suspiciousRefreshes',
      'revocationMaxLag',
      'dpop',
    ],
    '',
  );
  const { accessToken, refreshToken, store } = options as unknown as Record<string, unknown>;
  if (!isObject(accessToken))
    throw new OptionError('accessToken is required: { secret, ttl? } (or privateKey, or keys)');
  if (!isObject(refreshToken)) throw new OptionError('refreshToken is required: { secret, ttl? } (or keys)');
  checkKeys(accessToken, ['secret', 'privateKey', 'keys', 'algorithm', 'ttl', 'cacheSize'], 'accessToken.');
  checkKeys(refreshToken, ['secret', 'keys', 'algorithm', 'ttl', 'maxLifetime', 'reuseGrace'], 'refreshToken.');

  const accessParsed = accessKeys(accessToken);
  const access = {
    ...keyConfig(
      accessParsed,
      parseDuration(accessToken.ttl as Duration | undefined, 15 * 60, 'accessToken.ttl'),
      ACCESS_TYP,
    ),
    cacheSize: wholeNumber(accessToken.cacheSize, 10_000, 'accessToken.cacheSize', 0, 1_000_000),
  };
  const refreshParsed = refreshKeys(refreshToken);
  keepApart(accessParsed, refreshParsed);
  const ttl = parseDuration(refreshToken.ttl as Duration | undefined, 7 * 86_400, 'refreshToken.ttl');
  const maxLifetime = parseDuration(
    refreshToken.maxLifetime as Duration | undefined,
    30 * 86_400,
    'refreshToken.maxLifetime',
  );
  if (maxLifetime < ttl) {
    throw new OptionError(`refreshToken.maxLifetime (${maxLifetime}s) must be at least refreshToken.ttl (${ttl}s)`);
  }
  if (access.ttl > ttl) {
    throw new OptionError(`accessToken.ttl (${access.ttl}s) must not be longer than refreshToken.ttl (${ttl}s)`);
  }
  const grace = wholeNumber(refreshToken.reuseGrace, 5, 'refreshToken.reuseGrace', 0, Math.min(MAX_GRACE, ttl - 1));

  if (
    !isObject(store) ||
    ['create', 'rotate', 'revoke', 'revokeAll', 'list'].some((name) => typeof store[name] !== 'function')
  ) {
    throw new OptionError(
      'store must be a session store (create, rotate, revoke, revokeAll, list), such as new MemorySessionStore()',
    );
  }
  const { refreshClaims } = options;
  if (refreshClaims !== undefined && typeof refreshClaims !== 'function') {
    throw new OptionError('refreshClaims must be a function ({ userId, sessionId }) => claims or undefined');
  }
  const clock = options.clock ?? Date.now;
  if (typeof clock !== 'function') throw new OptionError('clock must be a function returning milliseconds');
  const probe: unknown = clock();
  if (typeof probe !== 'number' || !Number.isFinite(probe) || probe < 0) {
    throw new OptionError(`clock must return milliseconds since the epoch (got ${String(probe)})`);
  }

  const now = (): number => {
    const ms: unknown = clock();
    // A clock gone wrong must not make expired tokens valid (NaN compares false with everything).
    if (typeof ms !== 'number' || !Number.isFinite(ms))
      throw new Error(`express-token-pair: clock() returned ${String(ms)}, not milliseconds`);
    return Math.floor(ms / 1000);
  };
  const clockTolerance = wholeNumber(options.clockTolerance, 0, 'clockTolerance', 0, 300);
  return {
    access,
    refresh: {
      ...keyConfig(refreshParsed, ttl, REFRESH_TYP),
      maxLifetime,
      grace,
    },
    store: store as unknown as SessionStore,
    issuer: optionalString(options.issuer, 'issuer'),
    audience: optionalString(options.audience, 'audience'),
    maxSessionsPerUser: wholeNumber(options.maxSessionsPerUser, 100, 'maxSessionsPerUser', 1, 10_000),
    clockTolerance,
    refreshClaims,
    suspiciousRefreshes: wholeNumber(options.suspiciousRefreshes, 10, 'suspiciousRefreshes', 1, 10_000),
    revocationMaxLag: wholeNumber(options.revocationMaxLag, 5000, 'revocationMaxLag', 100, 3_600_000),
    now,
    dpop: parseDpop(options.dpop, store as unknown as SessionStore, now, clockTolerance),
  };
}
