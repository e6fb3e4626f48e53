/**
 * Reads the sample app's settings from environment variables, once, at
 * start-up. A bad value stops the server with a message naming the variable;
 * secrets and REDIS_URL (which may hold a password) are never echoed back.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { ConfigError } from './config-error.js';
import { httpsSettings, type HttpsSettings } from './config-https.js';
import { readSigningKey, type SigningKey } from './signing-key.js';
import { trustProxyProblem, type TrustProxy } from './trust-proxy.js';

export { ConfigError } from './config-error.js';
export { httpsUnreachable, type TlsFiles } from './config-https.js';
export type { SigningKey } from './signing-key.js';
export type { TrustProxy } from './trust-proxy.js';

/** With HTTPS_REQUIRED, TLS_CERT_FILE and TLS_KEY_FILE: see config-https.ts. */
export interface Config extends HttpsSettings {
  /** PORT. Default 3000. */
  port: number;
  /** REDIS_URL. Unset: sessions, users and rate limits live in this process's memory. */
  redisUrl: string | undefined;
  /** REDIS_CLUSTER_URLS: some nodes of a Redis Cluster, instead of REDIS_URL. */
  redisClusterUrls: string[] | undefined;
  /**
   * REDIS_SENTINELS and REDIS_SENTINEL_NAME: the Sentinels of a Redis that
   * fails over (see `redisSentinel`), instead of REDIS_URL or
   * REDIS_CLUSTER_URLS. Absent when unset (the default).
   */
  redisSentinel?: RedisSentinelConfig;
  /**
   * ACCESS_TOKEN_SECRET / REFRESH_TOKEN_SECRET. Random per start in
   * development (see `warnings`). No access secret with `accessTokenKey`.
   */
  accessTokenSecret: string | undefined;
  refreshTokenSecret: string;
  /**
   * ACCESS_TOKEN_PRIVATE_KEY (PEM) and ACCESS_TOKEN_KID (default: the key's
   * thumbprint): access tokens signed with this key instead of a secret, its
   * public half at GET /.well-known/jwks.json. Absent when unset (the default).
   */
  accessTokenKey?: SigningKey;
  /** ACCESS_TOKEN_TTL, seconds. Default 15 minutes. */
  accessTokenTtl: number;
  /** REFRESH_TOKEN_TTL, seconds. Default 7 days. */
  refreshTokenTtl: number;
  /** REFRESH_REUSE_GRACE, seconds, at most 60 (the library's limit). Default 5. */
  reuseGrace: number;
  /**
   * LOGIN_RATE_LIMIT, requests per minute per IP on POST /auth/login (and,
   * counted separately, POST /auth/register: both run bcrypt). Default 10:
   * plenty for a person mistyping, far too few to guess passwords. 0 = off.
   */
  loginRateLimit: number;
  /**
   * REFRESH_RATE_LIMIT, requests per minute per IP on POST /auth/refresh.
   * Default 30: a client refreshes once per access-token lifetime, so even
   * many tabs behind one IP stay far below it. 0 = off.
   */
  refreshRateLimit: number;
  /** TRUST_PROXY. Default off; see `parseTrustProxy`. */
  trustProxy: TrustProxy;
  /**
   * PUBLIC_ORIGIN: the origins (comma-separated) the demo page is served
   * from, the only ones whose requests may use the refresh cookie. Default
   * `http://localhost:<PORT>` (`https://` with TLS_CERT_FILE). https, but
   * for localhost and 127.0.0.1.
   */
  publicOrigins: string[];
  /** The replay demo's route (replay-demo.ts): on unless NODE_ENV=production. */
  replayDemo: boolean;
  /** DPOP: `off` (default), `optional` or `required` (see the library's `dpop` option). */
  dpop: 'off' | 'optional' | 'required';
  /** Lines to print at start-up (e.g. "using a random secret"). */
  warnings: string[];
}

/** Where the Sentinels are, and the name they know the master by. */
export interface RedisSentinelConfig {
  /** REDIS_SENTINELS: `host:port` items, comma-separated; a missing port is Sentinel's 26379; IPv6 as `[::1]:26379`. */
  sentinels: Array<{ host: string; port: number }>;
  /** REDIS_SENTINEL_NAME. Default `'mymaster'`. */
  name: string;
}

type Env = Record<string, string | undefined>;

/** An unset variable and an empty one (`FOO=` in a .env file) both mean "use the default". */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function wholeNumber(
  env: Env,
  name: string,
  fallback: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return value;
}

const units: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 };

/** '900', '900s', '15m', '12h', '7d' -> seconds (the library's own format). */
function duration(env: Env, name: string, fallback: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const match = /^(\d{1,9})([smhd]?)$/.exec(raw);
  const seconds = match ? Number(match[1]) * (units[match[2] ?? ''] ?? NaN) : NaN;
  if (!(seconds > 0)) {
    throw new ConfigError(
      `${name} must be a positive duration such as 900 (seconds), '15m', '12h' or '7d' (got ${JSON.stringify(raw)})`,
    );
  }
  return seconds;
}

/** The library's default `refreshToken.maxLifetime`: 30 days. */
const MAX_SESSION = 30 * 86_400;

const SECRET_HINT =
  "generate one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\"";

/**
 * A signing secret. Required in production: a random one would log everyone
 * out on every restart and differ between instances. In development a random
 * one per start is convenient, and a warning says so.
 */
function secret(env: Env, name: string, production: boolean, warnings: string[]): string {
  const value = read(env, name);
  if (value === undefined) {
    if (production) throw new ConfigError(`${name} is required when NODE_ENV=production; ${SECRET_HINT}`);
    warnings.push(
      `${name} is not set: using a random secret for this run (tokens stop working on restart). Set it in production.`,
    );
    return randomBytes(32).toString('base64url');
  }
  const bytes = Buffer.byteLength(value, 'utf8');
  // HS256 needs a key at least as long as its hash: 32 bytes. (Only the length is shown, never the value.)
  if (bytes < 32) throw new ConfigError(`${name} must be at least 32 bytes (got ${bytes}); ${SECRET_HINT}`);
  return value;
}

/**
 * Behind a reverse proxy (nginx, a load balancer), every request arrives from
 * the proxy's address, so `req.ip`, and with it the per-IP rate limits and
 * the IP kept with each session, would be the proxy's. Trusting the proxy
 * makes Express read the client's address from X-Forwarded-For instead. But
 * without a proxy anyone can send that header, so trusting it would let a
 * client pick its own IP and dodge the rate limits: hence off by default, and
 * `true` (trust every hop) refused, and so are values that amount to it: more
 * than 5 hops, or subnets wider than /8 (IPv6: /24); see trust-proxy.ts. Give
 * the number of proxies in front of the app (`1`) or their addresses
 * (`loopback`, `10.0.0.0/8, 192.168.1.5`).
 */
export function parseTrustProxy(raw: string | undefined): TrustProxy {
  if (raw === undefined || raw === 'false' || raw === '0') return false;
  if (/^\d+$/.test(raw)) return checked(Number(raw));
  if (raw === 'true') {
    throw new ConfigError(
      'TRUST_PROXY=true would let any client choose its IP address (and dodge the rate limits); ' +
        'give the number of proxies in front of the app, e.g. 1, or their addresses',
    );
  }
  const names = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const list = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const entry of list) {
    const [address = '', bits] = entry.split('/');
    const ok = names.has(entry) || (isIP(address) !== 0 && (bits === undefined || /^\d{1,3}$/.test(bits)));
    if (!ok) {
      throw new ConfigError(
        `TRUST_PROXY must be false, a number of proxies, or a comma-separated list of addresses, subnets or loopback/linklocal/uniquelocal (got ${JSON.stringify(entry)})`,
      );
    }
  }
  return checked(list);
}

function checked(value: TrustProxy): TrustProxy {
  const problem = trustProxyProblem(value);
  if (problem !== undefined) throw new ConfigError(`TRUST_PROXY ${problem}`);
  return value;
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1']);

/**
 * PUBLIC_ORIGIN, checked here so a mistake names the variable: bare origins
 * (scheme, host, port; no path or trailing slash), https but for local
 * development, where browsers treat http://localhost as secure anyway.
 */
function publicOrigins(env: Env, port: number, scheme: 'http' | 'https'): string[] {
  const raw = read(env, 'PUBLIC_ORIGIN');
  if (raw === undefined) return [`${scheme}://localhost:${port}`];
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL | undefined;
      try {
        url = new URL(origin);
      } catch {
        url = undefined;
      }
      if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.origin !== origin) {
        throw new ConfigError(
          `PUBLIC_ORIGIN must be origins such as https://app.example.com or http://localhost:3000, comma-separated, no path or trailing slash (got ${JSON.stringify(origin)})`,
        );
      }
      if (url.protocol === 'http:' && !LOCAL_HOSTS.has(url.hostname)) {
        throw new ConfigError(
          `PUBLIC_ORIGIN must be https (http only for localhost and 127.0.0.1; got ${JSON.stringify(origin)})`,
        );
      }
      return origin;
    });
}

/** A redis:// or rediss:// URL, or a ConfigError naming `name` (never echoing the value: it may hold a password). */
function redisUrlOf(raw: string, name: string): string {
  let protocol = '';
  try {
    protocol = new URL(raw).protocol;
  } catch {
    // fall through to the error
  }
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new ConfigError(
      `${name} must be ${name === 'REDIS_URL' ? 'a redis:// or rediss:// URL' : 'comma-separated redis:// or rediss:// URLs'},` +
        ' e.g. redis://localhost:6379',
    );
  }
  return raw;
}

function redisUrl(env: Env): string | undefined {
  const raw = read(env, 'REDIS_URL');
  return raw === undefined ? undefined : redisUrlOf(raw, 'REDIS_URL');
}

function redisClusterUrls(env: Env): string[] | undefined {
  const raw = read(env, 'REDIS_CLUSTER_URLS');
  if (raw === undefined) return undefined;
  if (read(env, 'REDIS_URL') !== undefined) throw new ConfigError('set REDIS_URL or REDIS_CLUSTER_URLS, not both');
  return raw.split(',').map((url) => redisUrlOf(url.trim(), 'REDIS_CLUSTER_URLS'));
}

/** Sentinel's own port, taken when an item of REDIS_SENTINELS names none. */
const SENTINEL_PORT = 26_379;

/** A host name (letters, digits, dots, hyphens; not all digits and dots unless an IPv4 address). */
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

/** One `host`, `host:port`, `[v6]` or `[v6]:port` item of REDIS_SENTINELS, or a ConfigError quoting it. */
function sentinelAddress(item: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(item);
  const [, v6, name, digits] = match ?? [];
  const host = v6 ?? name ?? '';
  const port = digits === undefined ? SENTINEL_PORT : Number(digits);
  const hostOk =
    v6 !== undefined ? isIP(host) === 6 : isIP(host) === 4 || (HOST_NAME.test(host) && !/^[\d.]+$/.test(host));
  if (!hostOk || port < 1 || port > 65_535) {
    throw new ConfigError(
      `REDIS_SENTINELS must be host:port items, comma-separated (port default 26379, IPv6 in brackets), e.g. sentinel-1:26379,[::1]:26379 (got ${JSON.stringify(item)})`,
    );
  }
  return { host, port };
}

/**
 * REDIS_SENTINELS and REDIS_SENTINEL_NAME: node-redis `createSentinel`'s
 * `sentinelRootNodes` and `name`. Spaces around items and empty items are
 * ignored; never together with REDIS_URL or REDIS_CLUSTER_URLS.
 */
function redisSentinel(env: Env): RedisSentinelConfig | undefined {
  const raw = read(env, 'REDIS_SENTINELS');
  const name = read(env, 'REDIS_SENTINEL_NAME');
  if (raw === undefined) {
    if (name !== undefined) throw new ConfigError('REDIS_SENTINEL_NAME is set but REDIS_SENTINELS is not');
    return undefined;
  }
  for (const other of ['REDIS_URL', 'REDIS_CLUSTER_URLS']) {
    if (read(env, other) !== undefined) throw new ConfigError(`set REDIS_SENTINELS or ${other}, not both`);
  }
  const items = raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  if (items.length === 0)
    throw new ConfigError('REDIS_SENTINELS must name at least one Sentinel, e.g. sentinel-1:26379');
  if (name !== undefined && !/^[\x21-\x7e]{1,255}$/.test(name)) {
    throw new ConfigError(
      `REDIS_SENTINEL_NAME must be the master's name as the Sentinels know it: printable, no spaces (got ${JSON.stringify(name)})`,
    );
  }
  return { sentinels: items.map(sentinelAddress), name: name ?? 'mymaster' };
}

/** ACCESS_TOKEN_PRIVATE_KEY and ACCESS_TOKEN_KID (signing-key.ts), instead of ACCESS_TOKEN_SECRET; undefined when unset. */
function signingKey(env: Env): SigningKey | undefined {
  const pem = read(env, 'ACCESS_TOKEN_PRIVATE_KEY');
  const kid = read(env, 'ACCESS_TOKEN_KID');
  if (pem === undefined) {
    if (kid !== undefined)
      throw new ConfigError('ACCESS_TOKEN_KID names the key in ACCESS_TOKEN_PRIVATE_KEY, which is not set');
    return undefined;
  }
  if (read(env, 'ACCESS_TOKEN_SECRET') !== undefined) {
    throw new ConfigError(
      'set ACCESS_TOKEN_PRIVATE_KEY or ACCESS_TOKEN_SECRET, not both: access tokens are signed with one of them',
    );
  }
  return readSigningKey(pem, kid);
}

/** DPOP: off (the default, also when empty), optional or required, in lower case as the library spells them. */
function dpopMode(env: Env): Config['dpop'] {
  const raw = read(env, 'DPOP') ?? 'off';
  if (raw === 'off' || raw === 'optional' || raw === 'required') return raw;
  throw new ConfigError(`DPOP must be off, optional or required (got ${JSON.stringify(raw)})`);
}

/** Parses the environment (default `process.env`). Throws `ConfigError` naming the variable. */
export function loadConfig(env: Env = process.env): Config {
  const production = env.NODE_ENV === 'production';
  const warnings: string[] = [];
  const accessTokenKey = signingKey(env);
  const accessTokenSecret = accessTokenKey ? undefined : secret(env, 'ACCESS_TOKEN_SECRET', production, warnings);
  const refreshTokenSecret = secret(env, 'REFRESH_TOKEN_SECRET', production, warnings);
  // Separate keys: a refresh token can then never pass as an access token (the library refuses equal ones too).
  if (accessTokenSecret === refreshTokenSecret) {
    throw new ConfigError('ACCESS_TOKEN_SECRET and REFRESH_TOKEN_SECRET must differ');
  }
  const refreshTokenTtl = duration(env, 'REFRESH_TOKEN_TTL', 7 * 86_400);
  // A session ends after 30 days however often it is refreshed (the library's default maxLifetime).
  if (refreshTokenTtl > MAX_SESSION) {
    throw new ConfigError(
      `REFRESH_TOKEN_TTL must be at most 30d, the longest a session may last (got ${refreshTokenTtl}s)`,
    );
  }
  const reuseGrace = wholeNumber(env, 'REFRESH_REUSE_GRACE', 5, { max: 60 });
  if (reuseGrace >= refreshTokenTtl) {
    throw new ConfigError(
      `REFRESH_REUSE_GRACE (${reuseGrace}s) must be shorter than REFRESH_TOKEN_TTL (${refreshTokenTtl}s)`,
    );
  }
  const port = wholeNumber(env, 'PORT', 3000, { max: 65_535 });
  const https = httpsSettings(env, production, warnings);
  const sentinel = redisSentinel(env);
  return {
    port,
    redisUrl: redisUrl(env),
    redisClusterUrls: redisClusterUrls(env),
    ...(sentinel ? { redisSentinel: sentinel } : {}),
    accessTokenSecret,
    refreshTokenSecret,
    ...(accessTokenKey ? { accessTokenKey } : {}),
    accessTokenTtl: duration(env, 'ACCESS_TOKEN_TTL', 15 * 60),
    refreshTokenTtl,
    reuseGrace,
    loginRateLimit: wholeNumber(env, 'LOGIN_RATE_LIMIT', 10),
    refreshRateLimit: wholeNumber(env, 'REFRESH_RATE_LIMIT', 30),
    trustProxy: parseTrustProxy(read(env, 'TRUST_PROXY')),
    publicOrigins: publicOrigins(env, port, https.tls ? 'https' : 'http'),
    ...https,
    replayDemo: !production,
    dpop: dpopMode(env),
    warnings,
  };
}
