import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { OptionError } from './errors.js';
import { ACCESS_TYP, REFRESH_TYP } from './constants.js';
import type { SessionStore } from './store-types.js';
import type { AsymmetricAlgorithm, Duration, HmacAlgorithm, Secret, TokenAuthOptions } from './types.js';

/** A key ready for jsonwebtoken: built once here, never per request. */
export interface KeyConfig {
  algorithm: HmacAlgorithm | AsymmetricAlgorithm;
  signKey: KeyObject;
  verifyKey: KeyObject;
  /** Seconds. */
  ttl: number;
  /** The `typ` header this key writes and requires. */
  typ: string;
  /** The encoded header segment this key writes (the verify fast path). */
  header: string;
  /** Node's hash name for an HMAC algorithm; undefined for asymmetric ones. */
  hmac: 'sha256' | 'sha384' | 'sha512' | undefined;
}

/** Completes a key with what `sign` and `verify` derive from it, once. */
function keyConfig(keys: Omit<KeyConfig, 'ttl' | 'typ' | 'header' | 'hmac'>, ttl: number, typ: string): KeyConfig {
  const header = Buffer.from(JSON.stringify({ alg: keys.algorithm, typ })).toString('base64url');
  const hmac = keys.algorithm.startsWith('HS') ? `sha${keys.algorithm.slice(2)}` as KeyConfig['hmac'] : undefined;
  return { ...keys, ttl, typ, header, hmac };
}

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
}

const hmacBytes: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };
const asymmetric = new Set<string>([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512',
]);
const units = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** Longest reuse grace window: a longer one would let a stolen token's replay pass as a retry. */
const MAX_GRACE = 60;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkKeys(value: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new OptionError(`unknown option ${path}${key} (known: ${allowed.join(', ')})`);
    }
  }
}

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

function secretKey(secret: Secret | undefined, algorithm: HmacAlgorithm, name: string): KeyObject {
  let key: KeyObject;
  if (typeof secret === 'string') {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
  } else if (secret instanceof Uint8Array) {
    key = createSecretKey(Buffer.from(secret));
  } else if (secret instanceof KeyObject && secret.type === 'secret') {
    key = secret;
  } else {
    throw new OptionError(`${name} is required: a string, Buffer or secret KeyObject`);
  }
  // A public key pasted as an HMAC secret is the classic algorithm-confusion setup: anyone could sign.
  if (key.export().subarray(0, 11).toString('latin1') === '-----BEGIN ') {
    throw new OptionError(`${name} looks like a PEM key; an HMAC secret must be random bytes (use privateKey for a key pair)`);
  }
  const size = key.symmetricKeySize ?? 0;
  const min = hmacBytes[algorithm];
  if (size < min) {
    throw new OptionError(`${name} must be at least ${min} bytes for ${algorithm} (got ${size})`);
  }
  return key;
}

function algorithmOf<T extends string>(value: unknown, allowed: (a: string) => boolean, fallback: T, name: string): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && allowed(value)) return value as T;
  throw new OptionError(`${name} ${JSON.stringify(value)} is not supported`);
}

const isHmac = (a: string): boolean => a in hmacBytes;

/** The curve each ECDSA algorithm signs with (RFC 7518 §3.4). */
const curves: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };

/** Why `key` cannot sign `algorithm`, or undefined if it can. */
function keyMismatch(key: KeyObject, algorithm: AsymmetricAlgorithm): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm.startsWith('ES')) {
    if (type !== 'ec') return `an EC private key on curve ${curves[algorithm]} for ${algorithm} (got ${type ?? 'another kind of'} key)`;
    if (details.namedCurve !== curves[algorithm]) {
      return `on curve ${curves[algorithm]} for ${algorithm} (got ${details.namedCurve ?? 'an unknown curve'})`;
    }
    return undefined;
  }
  const fits = type === 'rsa' || (type === 'rsa-pss' && algorithm.startsWith('PS'));
  if (!fits) return `an RSA private key for ${algorithm} (got ${type ?? 'another kind of'} key)`;
  if ((details.modulusLength ?? 0) < 2048) return `at least 2048 bits for ${algorithm} (got ${details.modulusLength ?? 0})`;
  const hash = `sha${algorithm.slice(2)}`;
  if (type === 'rsa-pss' && (details.hashAlgorithm !== hash || details.mgf1HashAlgorithm !== hash
    || details.saltLength !== Number(algorithm.slice(2)) / 8)) {
    return `an RSA-PSS key whose parameters are ${hash}, MGF1 ${hash} and a ${Number(algorithm.slice(2)) / 8}-byte salt `
      + `for ${algorithm}, or a plain RSA key`;
  }
  return undefined;
}

function accessKeys(options: Record<string, unknown>): Pick<KeyConfig, 'algorithm' | 'signKey' | 'verifyKey'> {
  const { secret, privateKey, algorithm: requested } = options;
  if (secret !== undefined && privateKey !== undefined) throw new OptionError('accessToken takes either secret or privateKey, not both');
  // Name the real problem when the key and the algorithm are of different families.
  if (typeof requested === 'string' && asymmetric.has(requested) && privateKey === undefined) {
    throw new OptionError(`accessToken.algorithm ${requested} signs with accessToken.privateKey, not a secret; `
      + 'use HS256/HS384/HS512 with accessToken.secret');
  }
  if (typeof requested === 'string' && isHmac(requested) && privateKey !== undefined) {
    throw new OptionError(`accessToken.algorithm ${requested} signs with accessToken.secret, not a private key; `
      + 'use RS*, PS* or ES* with accessToken.privateKey');
  }
  if (privateKey === undefined) {
    const algorithm = algorithmOf<HmacAlgorithm>(requested, isHmac, 'HS256', 'accessToken.algorithm');
    const key = secretKey(secret as Secret | undefined, algorithm, 'accessToken.secret');
    return { algorithm, signKey: key, verifyKey: key };
  }
  const algorithm = algorithmOf<AsymmetricAlgorithm>(requested, (a) => asymmetric.has(a), 'ES256', 'accessToken.algorithm');
  let signKey: KeyObject;
  try {
    signKey = privateKey instanceof KeyObject ? privateKey : createPrivateKey(privateKey as string);
  } catch (cause) {
    throw Object.assign(new OptionError('accessToken.privateKey is not a readable private key'), { cause });
  }
  if (signKey.type !== 'private') {
    throw new OptionError(`accessToken.privateKey must be a private key (got a ${signKey.type} key)`);
  }
  const mismatch = keyMismatch(signKey, algorithm);
  if (mismatch !== undefined) throw new OptionError(`accessToken.privateKey must be ${mismatch}`);
  // Backstop: whatever else jsonwebtoken would refuse, refuse now rather than at the first login.
  try {
    jwt.sign({}, signKey, { algorithm });
  } catch (cause) {
    throw Object.assign(new OptionError(`accessToken.privateKey cannot sign ${algorithm}: ${(cause as Error).message}`), { cause });
  }
  return { algorithm, signKey, verifyKey: createPublicKey(signKey) };
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
  checkKeys(options, [
    'accessToken', 'refreshToken', 'store', 'issuer', 'audience', 'maxSessionsPerUser', 'clockTolerance', 'clock',
    'refreshClaims', 'suspiciousRefreshes', 'revocationMaxLag',
  ], '');
  const { accessToken, refreshToken, store } = options as unknown as Record<string, unknown>;
  if (!isObject(accessToken)) throw new OptionError('accessToken is required: { secret, ttl? }');
  if (!isObject(refreshToken)) throw new OptionError('refreshToken is required: { secret, ttl? }');
  checkKeys(accessToken, ['secret', 'privateKey', 'algorithm', 'ttl', 'cacheSize'], 'accessToken.');
  checkKeys(refreshToken, ['secret', 'algorithm', 'ttl', 'maxLifetime', 'reuseGrace'], 'refreshToken.');

  const access = {
    ...keyConfig(accessKeys(accessToken), parseDuration(accessToken.ttl as Duration | undefined, 15 * 60, 'accessToken.ttl'), ACCESS_TYP),
    cacheSize: wholeNumber(accessToken.cacheSize, 10_000, 'accessToken.cacheSize', 0, 1_000_000),
  };
  const refreshAlgorithm = algorithmOf<HmacAlgorithm>(
    refreshToken.algorithm, isHmac, 'HS256', 'refreshToken.algorithm');
  const refreshKey = secretKey(refreshToken.secret as Secret | undefined, refreshAlgorithm, 'refreshToken.secret');
  if (access.signKey.type === 'secret' && access.signKey.equals(refreshKey)) {
    throw new OptionError('accessToken.secret and refreshToken.secret must differ');
  }
  const ttl = parseDuration(refreshToken.ttl as Duration | undefined, 7 * 86_400, 'refreshToken.ttl');
  const maxLifetime = parseDuration(
    refreshToken.maxLifetime as Duration | undefined, 30 * 86_400, 'refreshToken.maxLifetime');
  if (maxLifetime < ttl) {
    throw new OptionError(`refreshToken.maxLifetime (${maxLifetime}s) must be at least refreshToken.ttl (${ttl}s)`);
  }
  if (access.ttl > ttl) {
    throw new OptionError(`accessToken.ttl (${access.ttl}s) must not be longer than refreshToken.ttl (${ttl}s)`);
  }
  const grace = wholeNumber(refreshToken.reuseGrace, 5, 'refreshToken.reuseGrace', 0, Math.min(MAX_GRACE, ttl - 1));

  if (!isObject(store) || ['create', 'rotate', 'revoke', 'revokeAll', 'list'].some((name) => typeof store[name] !== 'function')) {
    throw new OptionError('store must be a session store (create, rotate, revoke, revokeAll, list), such as new MemorySessionStore()');
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

  return {
    access,
    refresh: {
      ...keyConfig({ algorithm: refreshAlgorithm, signKey: refreshKey, verifyKey: refreshKey }, ttl, REFRESH_TYP),
      maxLifetime, grace,
    },
    store: store as unknown as SessionStore,
    issuer: optionalString(options.issuer, 'issuer'),
    audience: optionalString(options.audience, 'audience'),
    maxSessionsPerUser: wholeNumber(options.maxSessionsPerUser, 100, 'maxSessionsPerUser', 1, 10_000),
    clockTolerance: wholeNumber(options.clockTolerance, 0, 'clockTolerance', 0, 300),
    refreshClaims,
    suspiciousRefreshes: wholeNumber(options.suspiciousRefreshes, 10, 'suspiciousRefreshes', 1, 10_000),
    revocationMaxLag: wholeNumber(options.revocationMaxLag, 5000, 'revocationMaxLag', 100, 3_600_000),
    now: () => {
      const ms: unknown = clock();
      // A clock gone wrong must not make expired tokens valid (NaN compares false with everything).
      if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new Error(`express-token-pair: clock() returned ${String(ms)}, not milliseconds`);
      return Math.floor(ms / 1000);
    },
  };
}
