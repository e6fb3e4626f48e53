/**
 * Signing keys: the single `secret`/`privateKey` or a key ring (`keys`),
 * checked once at `createTokenAuth` and turned into what `sign` and `verify`
 * use, so that no request derives or parses a key.
 */
import { createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { OptionError } from './errors.js';
import { checkKeys, isObject } from './option-checks.js';
import type { AsymmetricAlgorithm, HmacAlgorithm, Secret } from './types.js';

/** One key: the single `secret`/`privateKey`, or one entry of a ring. */
export interface RingKey {
  /** The `kid` its tokens carry; undefined for the single key, whose tokens carry none. */
  kid: string | undefined;
  signKey: KeyObject;
  /** The secret itself, or the private key's public half. */
  verifyKey: KeyObject;
  /** The option it came from, for messages: `accessToken.secret`, `accessToken.keys[1].privateKey`. */
  name: string;
}

/** A token kind's keys as `sign` and `verify` use them. */
export interface KeyConfig {
  algorithm: HmacAlgorithm | AsymmetricAlgorithm;
  /** Seconds. */
  ttl: number;
  /** The `typ` header these keys write and require. */
  typ: string;
  /** Node's hash name for an HMAC algorithm; undefined for asymmetric ones. */
  hmac: 'sha256' | 'sha384' | 'sha512' | undefined;
  /** Signs every new token: the single key, or the ring's first. */
  signing: RingKey;
  /** The header `sign` writes: `{ alg, typ }`, plus `kid` with a ring. */
  signHeader: Readonly<TokenHeader>;
  /** Every key, in the order given. */
  keys: readonly RingKey[];
  /** True with `keys`: a token must name its key by `kid` (but for a `legacy` key). */
  ring: boolean;
  /**
   * Each key by the exact encoded header segment its tokens carry, so the
   * verify fast path finds the key with one Map lookup. A ring's `legacy` key
   * is also filed under the kid-less header.
   */
  byHeader: ReadonlyMap<string, RingKey>;
  /** A ring's keys by kid (empty for the single key). */
  byKid: ReadonlyMap<string, RingKey>;
  /** The key for a token without `kid`: the single key, a ring's `legacy` key, or none (refused). */
  unkeyed: RingKey | undefined;
}

/** The JOSE header `sign` writes, in this key order. */
export interface TokenHeader {
  alg: HmacAlgorithm | AsymmetricAlgorithm;
  typ: string;
  kid?: string;
}

/** What the options say about one token kind's keys, before its ttl and typ. */
export interface ParsedKeys {
  algorithm: HmacAlgorithm | AsymmetricAlgorithm;
  keys: RingKey[];
  ring: boolean;
  legacy: RingKey | undefined;
}

const hmacBytes: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };
const asymmetric = new Set<string>(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512']);
const isHmac = (a: string): boolean => a in hmacBytes;
/** The curve each ECDSA algorithm signs with (RFC 7518 §3.4). */
const curves: Record<string, string> = { ES256: 'prime256v1', ES384: 'secp384r1', ES512: 'secp521r1' };
/** A kid: printable ASCII without spaces, short enough for a header and a log line. */
const KID = /^[\x21-\x7e]{1,64}$/;

const encodeHeader = (header: object): string => Buffer.from(JSON.stringify(header)).toString('base64url');

/** Completes parsed keys with what `sign` and `verify` derive from them. */
export function keyConfig(parsed: ParsedKeys, ttl: number, typ: string): KeyConfig {
  const { algorithm, keys, ring, legacy } = parsed;
  // Key order as jsonwebtoken writes it (alg, typ, kid), so the fast path meets exactly these strings.
  const header = (kid: string | undefined): TokenHeader =>
    kid === undefined ? { alg: algorithm, typ } : { alg: algorithm, typ, kid };
  const byHeader = new Map<string, RingKey>();
  const byKid = new Map<string, RingKey>();
  for (const key of keys) {
    byHeader.set(encodeHeader(header(key.kid)), key);
    if (key.kid !== undefined) byKid.set(key.kid, key);
  }
  if (legacy !== undefined) byHeader.set(encodeHeader(header(undefined)), legacy);
  const signing = keys[0]!;
  const hmac = algorithm.startsWith('HS') ? (`sha${algorithm.slice(2)}` as KeyConfig['hmac']) : undefined;
  return {
    algorithm,
    ttl,
    typ,
    hmac,
    signing,
    signHeader: header(signing.kid),
    keys,
    ring,
    byHeader,
    byKid,
    unkeyed: ring ? legacy : signing,
  };
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
    throw new OptionError(
      `${name} looks like a PEM key; an HMAC secret must be random bytes (use privateKey for a key pair)`,
    );
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

/** Why `key` cannot sign `algorithm`, or undefined if it can. */
function keyMismatch(key: KeyObject, algorithm: AsymmetricAlgorithm): string | undefined {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (algorithm.startsWith('ES')) {
    if (type !== 'ec')
      return `an EC private key on curve ${curves[algorithm]} for ${algorithm} (got ${type ?? 'another kind of'} key)`;
    if (details.namedCurve !== curves[algorithm]) {
      return `on curve ${curves[algorithm]} for ${algorithm} (got ${details.namedCurve ?? 'an unknown curve'})`;
    }
    return undefined;
  }
  const fits = type === 'rsa' || (type === 'rsa-pss' && algorithm.startsWith('PS'));
  if (!fits) return `an RSA private key for ${algorithm} (got ${type ?? 'another kind of'} key)`;
  if ((details.modulusLength ?? 0) < 2048)
    return `at least 2048 bits for ${algorithm} (got ${details.modulusLength ?? 0})`;
  const hash = `sha${algorithm.slice(2)}`;
  if (
    type === 'rsa-pss' &&
    (details.hashAlgorithm !== hash ||
      details.mgf1HashAlgorithm !== hash ||
      details.saltLength !== Number(algorithm.slice(2)) / 8)
  ) {
    return (
      `an RSA-PSS key whose parameters are ${hash}, MGF1 ${hash} and a ${Number(algorithm.slice(2)) / 8}-byte salt ` +
      `for ${algorithm}, or a plain RSA key`
    );
  }
  return undefined;
}

function privateKeyOf(
  value: unknown,
  algorithm: AsymmetricAlgorithm,
  name: string,
): Pick<RingKey, 'signKey' | 'verifyKey'> {
  if (value === undefined) throw new OptionError(`${name} is required: a PEM string or a private KeyObject`);
  let signKey: KeyObject;
  try {
    signKey = value instanceof KeyObject ? value : createPrivateKey(value as string);
  } catch (cause) {
    throw Object.assign(new OptionError(`${name} is not a readable private key`), { cause });
  }
  if (signKey.type !== 'private') throw new OptionError(`${name} must be a private key (got a ${signKey.type} key)`);
  const mismatch = keyMismatch(signKey, algorithm);
  if (mismatch !== undefined) throw new OptionError(`${name} must be ${mismatch}`);
  // Backstop: whatever else jsonwebtoken would refuse, refuse now rather than at the first login.
  try {
    jwt.sign({}, signKey, { algorithm });
  } catch (cause) {
    throw Object.assign(new OptionError(`${name} cannot sign ${algorithm}: ${(cause as Error).message}`), { cause });
  }
  return { signKey, verifyKey: createPublicKey(signKey) };
}

function secretOf(value: unknown, algorithm: HmacAlgorithm, name: string): Pick<RingKey, 'signKey' | 'verifyKey'> {
  const key = secretKey(value as Secret | undefined, algorithm, name);
  return { signKey: key, verifyKey: key };
}

/** The access algorithm, naming the real problem when it and the keys are of different families. */
function accessAlgorithm(
  requested: unknown,
  withPrivateKeys: boolean,
  secret: string,
  privateKey: string,
): ParsedKeys['algorithm'] {
  if (typeof requested === 'string' && asymmetric.has(requested) && !withPrivateKeys) {
    throw new OptionError(
      `accessToken.algorithm ${requested} signs with ${privateKey}, not a secret; use HS256/HS384/HS512 with ${secret}`,
    );
  }
  if (typeof requested === 'string' && isHmac(requested) && withPrivateKeys) {
    throw new OptionError(
      `accessToken.algorithm ${requested} signs with ${secret}, not a private key; use RS*, PS* or ES* with ${privateKey}`,
    );
  }
  return withPrivateKeys
    ? algorithmOf<AsymmetricAlgorithm>(requested, (a) => asymmetric.has(a), 'ES256', 'accessToken.algorithm')
    : algorithmOf<HmacAlgorithm>(requested, isHmac, 'HS256', 'accessToken.algorithm');
}

/** `accessToken`'s `secret`, `privateKey` or `keys`. */
export function accessKeys(options: Record<string, unknown>): ParsedKeys {
  const { secret, privateKey, keys, algorithm: requested } = options;
  if (keys !== undefined) {
    if (secret !== undefined || privateKey !== undefined) {
      throw new OptionError(
        `accessToken takes either keys or ${secret === undefined ? 'privateKey' : 'secret'}, not both`,
      );
    }
    return ring(keys, 'accessToken', requested);
  }
  if (secret !== undefined && privateKey !== undefined)
    throw new OptionError('accessToken takes either secret or privateKey, not both');
  const withPrivateKey = privateKey !== undefined;
  const algorithm = accessAlgorithm(requested, withPrivateKey, 'accessToken.secret', 'accessToken.privateKey');
  const name = withPrivateKey ? 'accessToken.privateKey' : 'accessToken.secret';
  const key = withPrivateKey
    ? privateKeyOf(privateKey, algorithm as AsymmetricAlgorithm, name)
    : secretOf(secret, algorithm as HmacAlgorithm, name);
  return { algorithm, keys: [{ kid: undefined, ...key, name }], ring: false, legacy: undefined };
}

/** `refreshToken`'s `secret` or `keys`: HMAC only (only this server reads refresh tokens). */
export function refreshKeys(options: Record<string, unknown>): ParsedKeys {
  const { secret, keys, algorithm: requested } = options;
  if (keys !== undefined) {
    if (secret !== undefined) throw new OptionError('refreshToken takes either keys or secret, not both');
    return ring(keys, 'refreshToken', requested);
  }
  const algorithm = algorithmOf<HmacAlgorithm>(requested, isHmac, 'HS256', 'refreshToken.algorithm');
  return {
    algorithm,
    keys: [{ kid: undefined, ...secretOf(secret, algorithm, 'refreshToken.secret'), name: 'refreshToken.secret' }],
    ring: false,
    legacy: undefined,
  };
}

/** A key ring: `[{ kid, secret | privateKey, legacy? }, ...]`, the first signing, every one verifying. */
function ring(value: unknown, kind: 'accessToken' | 'refreshToken', requested: unknown): ParsedKeys {
  const path = `${kind}.keys`;
  const access = kind === 'accessToken';
  if (!Array.isArray(value) || value.length === 0) {
    throw new OptionError(
      `${path} must be a non-empty array of { kid, secret }${access ? ' or of { kid, privateKey }' : ''}; the first signs`,
    );
  }
  const entries = value.map((entry: unknown, i) => {
    if (!isObject(entry))
      throw new OptionError(`${path}[${i}] must be an object { kid, ${access ? 'secret or privateKey' : 'secret'} }`);
    checkKeys(
      entry,
      access ? ['kid', 'secret', 'privateKey', 'legacy'] : ['kid', 'secret', 'legacy'],
      `${path}[${i}].`,
    );
    return entry;
  });
  const family = entries[0]!.privateKey === undefined ? 'secret' : 'privateKey';
  const algorithm = access
    ? accessAlgorithm(requested, family === 'privateKey', `${path}[0].secret`, `${path}[0].privateKey`)
    : algorithmOf<HmacAlgorithm>(requested, isHmac, 'HS256', 'refreshToken.algorithm');
  const keys: RingKey[] = [];
  let legacy: number | undefined;
  entries.forEach((entry, i) => {
    const at = `${path}[${i}]`;
    const { kid } = entry;
    if (typeof kid !== 'string' || !KID.test(kid)) {
      const got = typeof kid === 'string' ? JSON.stringify(kid.slice(0, 80)) : typeof kid;
      throw new OptionError(`${at}.kid must be 1 to 64 printable ASCII characters, no spaces (got ${got})`);
    }
    const twin = keys.findIndex((key) => key.kid === kid);
    if (twin >= 0) throw new OptionError(`${at}.kid ${JSON.stringify(kid)} is already the kid of ${path}[${twin}]`);
    if (entry.secret !== undefined && entry.privateKey !== undefined)
      throw new OptionError(`${at} takes either secret or privateKey, not both`);
    const own = entry.privateKey !== undefined ? 'privateKey' : entry.secret !== undefined ? 'secret' : family;
    if (own !== family) {
      throw new OptionError(
        `${at} has a ${own} but ${path}[0] a ${family}: the keys of a ring share one ${kind}.algorithm`,
      );
    }
    const name = `${at}.${family}`;
    const material =
      family === 'privateKey'
        ? privateKeyOf(entry.privateKey, algorithm as AsymmetricAlgorithm, name)
        : secretOf(entry.secret, algorithm as HmacAlgorithm, name);
    const same = keys.find((key) => key.verifyKey.equals(material.verifyKey));
    if (same !== undefined) throw new OptionError(`${name} is the same key as ${same.name}`);
    if (entry.legacy !== undefined && typeof entry.legacy !== 'boolean')
      throw new OptionError(`${at}.legacy must be true or false`);
    if (entry.legacy === true) {
      if (legacy !== undefined) {
        throw new OptionError(
          `${at}.legacy: only one key of a ring may verify tokens without a kid (${path}[${legacy}] does)`,
        );
      }
      legacy = i;
    }
    keys.push({ kid, ...material, name });
  });
  return { algorithm, keys, ring: true, legacy: legacy === undefined ? undefined : keys[legacy] };
}

/**
 * Keeps the access and refresh keys apart: no secret in both (a refresh
 * token could then pass the access check's signature), and no kid in both,
 * so that a kid names one key. `typ` still tells the two kinds apart.
 */
export function keepApart(access: ParsedKeys, refresh: ParsedKeys): void {
  for (const a of access.keys) {
    for (const r of refresh.keys) {
      if (a.signKey.type === 'secret' && a.signKey.equals(r.signKey))
        throw new OptionError(`${a.name} and ${r.name} must differ`);
      if (a.kid !== undefined && a.kid === r.kid) {
        throw new OptionError(
          `kid ${JSON.stringify(a.kid)} is in both accessToken.keys and refreshToken.keys; give each ring its own kids`,
        );
      }
    }
  }
}
