/**
 * Builds the sample app: an Express API with register/login (its own users)
 * and the token-pair routes from the library, and the demo page at `/`
 * (demo-page.ts). `server.ts` runs it; tests drive it with supertest, and
 * the demo page with a real browser.
 */
import express, { type Express } from 'express';
import helmet from 'helmet';
import {
  boundedSendCommand,
  cookieTransport,
  createTokenAuth,
  jwksHandler,
  MemorySessionStore,
  RedisSessionStore,
  type AccessTokenOptions,
  type Duration,
  type DpopMode,
  type TokenAuth,
} from '../lib/index.js';
import type { SigningKey } from './signing-key.js';
import { trustProxyProblem, type TrustProxy } from './trust-proxy.js';
import { logSecurityEvents } from './audit.js';
import { Passwords } from './credentials.js';
import { demoPage } from './demo-page.js';
import { errorHandler, notFound } from './errors.js';
import { graphqlRoute } from './graphql/route.js';
import { healthRoutes } from './health.js';
import { createLogger, LOG_SETTINGS, toPino, type Logger, type PinoLogger } from './logger.js';
import { createLimiter, type Limiter } from './rate-limits.js';
import { connectOwnRedis, type OwnRedisClient } from './redis.js';
import { replayDemo } from './replay-demo.js';
import { requestLog } from './request-log.js';
import { requireHttps } from './require-https.js';
import { routes } from './routes.js';
import { MemoryUserStore, RedisUserStore, type UserStore } from './users.js';

export interface RedisOptions {
  /**
   * A connected client that you own (node-redis or ioredis, a single server
   * or a cluster): `close()` leaves it open. Either this, `url`, `clusterUrls` or `sentinel`.
   */
  client?: object;
  /** Or a URL: `createApp` connects (see `connectRedis`) and `close()` disconnects. */
  url?: string;
  /** Or some nodes of a Redis Cluster: `createApp` connects (see `connectRedisCluster`) and `close()` disconnects. */
  clusterUrls?: string[];
  /** Or the Sentinels of a master and its name: `createApp` connects (see `connectRedisSentinel`) and `close()` disconnects. */
  sentinel?: { sentinels: Array<{ host: string; port: number }>; name: string };
  /**
   * Replicas that must have each session write before it is answered (the
   * store's `waitForReplicas`). Default 1 with `sentinel` (a failover then
   * loses no acknowledged logout), else 0.
   */
  waitForReplicas?: number;
  /** Prefix of every key the app writes. Default `'sample:'`; give each test its own. */
  prefix?: string;
  /** Milliseconds a Redis command may take before the request fails with 503. Default `1000`. */
  timeout?: number;
}

export interface AppOptions {
  /**
   * At least 32 bytes each, and different. `config.ts` decides where they
   * come from. The access secret is required unless `accessTokenKey`.
   */
  accessTokenSecret?: string | undefined;
  refreshTokenSecret: string;
  /**
   * Signs access tokens with this private key instead of `accessTokenSecret`
   * (its `kid` in every header), and serves its public half at
   * `GET /.well-known/jwks.json`. Default none: that route is 404.
   */
  accessTokenKey?: SigningKey | undefined;
  /** Default `'15m'`. */
  accessTokenTtl?: Duration;
  /** Default `'7d'`. */
  refreshTokenTtl?: Duration;
  /** Seconds a just-rotated refresh token still gets its successor back. Default `5`. */
  reuseGrace?: number;
  /** DPoP-bound tokens (the library's `dpop` option): `'off'` (default), `'optional'` or `'required'`. */
  dpop?: DpopMode | undefined;
  /** Keep sessions, users and rate-limit counts in Redis. Default: all in memory. */
  redis?: RedisOptions;
  /** Requests per minute per IP on login, and (counted apart) on register and password change. Default `10`; `0` = off. */
  loginRateLimit?: number;
  /** Requests per minute per IP on refresh. Default `30`; `0` = off. */
  refreshRateLimit?: number;
  /** bcrypt cost (4 to 15). Default `10`; tests use 4 to run fast. */
  bcryptCost?: number;
  /** Express `trust proxy`. Default `false`; at most 5 hops, no subnet wider than /8 (IPv6 /24): see trust-proxy.ts. */
  trustProxy?: TrustProxy;
  /** Milliseconds since the epoch. Default `Date.now`; tests move it forward instead of sleeping. */
  clock?: () => number;
  /**
   * A pino logger, or any `{ info, warn, error }` (see logger.ts). Default:
   * JSON lines on stdout (`createLogger()`). The app logs through a child
   * with its own redaction paths, so a pino logger of yours cannot leak
   * credentials either; `createLogger(stream)` also escapes line-breaking
   * characters (tests pass one writing to an array).
   */
  logger?: Logger | PinoLogger;
  /** Replaces the user store (tests). Default: memory, or Redis with `redis`. */
  users?: UserStore;
  /**
   * The browser origins allowed to use the refresh cookie (the demo page's
   * own), exactly as browsers send `Origin`. Default `['http://localhost:3000']`.
   * https only, but for localhost and 127.0.0.1.
   */
  publicOrigins?: readonly string[];
  /**
   * Mounts `POST /auth/demo/attacker-refresh` for the demo page's replay
   * button (replay-demo.ts). Default `false`; `server.ts` turns it on
   * unless NODE_ENV=production.
   */
  replayDemo?: boolean;
  /**
   * Refuse requests that did not arrive over TLS (`req.secure`, which follows
   * `trustProxy`): 403 `https_required`, or 308 to the https `publicOrigins`
   * for GET/HEAD without credentials (require-https.ts). Default `false`;
   * `server.ts` turns it on when NODE_ENV=production (HTTPS_REQUIRED).
   */
  httpsRequired?: boolean;
}

export interface SampleApp {
  app: Express;
  auth: TokenAuth;
  store: 'memory' | 'redis' | 'redis cluster';
  /** Stops timers and closes the Redis connection `createApp` opened. Call once the server is closed. */
  close(): Promise<void>;
}

/** express.json's `verify` hook: `charset` is the one the parser is about to decode with. */
function utf8Only(_req: unknown, _res: unknown, _body: Buffer, charset: string): void {
  if (charset !== 'utf-8')
    throw Object.assign(new Error('JSON must be encoded in UTF-8'), { status: 415, type: 'charset.unsupported' });
}

function count(value: number | undefined, fallback: number, name: string, min = 0, max = 1_000_000): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < min || result > max) {
    throw new TypeError(`createApp: ${name} must be a whole number from ${min} to ${max} (got ${String(value)})`);
  }
  return result;
}

export async function createApp(options: AppOptions): Promise<SampleApp> {
  const logger = (options.logger ? toPino(options.logger) : createLogger()).child({}, LOG_SETTINGS);
  const bcryptCost = count(options.bcryptCost, 10, 'bcryptCost', 4, 15);
  const loginRateLimit = count(options.loginRateLimit, 10, 'loginRateLimit');
  const refreshRateLimit = count(options.refreshRateLimit, 30, 'refreshRateLimit');
  if ((options.accessTokenSecret === undefined) === (options.accessTokenKey === undefined)) {
    throw new TypeError('createApp: needs either accessTokenSecret or accessTokenKey');
  }
  const key = options.accessTokenKey;
  const accessTtl = options.accessTokenTtl ?? '15m';
  const accessToken: AccessTokenOptions = key
    ? { keys: [{ kid: key.kid, privateKey: key.privateKey }], algorithm: key.algorithm, ttl: accessTtl }
    : { secret: options.accessTokenSecret, ttl: accessTtl };
  if (options.httpsRequired !== undefined && typeof options.httpsRequired !== 'boolean') {
    throw new TypeError(`createApp: httpsRequired must be true or false (got ${String(options.httpsRequired)})`);
  }
  const trustProxy = options.trustProxy ?? false;
  const trustProblem = trustProxyProblem(trustProxy);
  if (trustProblem !== undefined) throw new TypeError(`createApp: trustProxy ${trustProblem}`);
  const { redis } = options;
  if (
    redis &&
    [redis.client, redis.url, redis.clusterUrls, redis.sentinel].filter((x) => x !== undefined).length !== 1
  ) {
    throw new TypeError('createApp: redis needs one of client, url, clusterUrls or sentinel');
  }
  const prefix = redis?.prefix ?? 'sample:';
  const timeout = redis?.timeout ?? 1000;

  // Connect before anything uses Redis: rate-limit-redis loads its scripts as soon as it is created.
  const ownClient: OwnRedisClient | undefined = await connectOwnRedis(redis, logger);
  const client = redis?.client ?? ownClient;
  let memorySessions: MemorySessionStore | undefined;
  let tokenAuth: TokenAuth | undefined;
  let passwords: Passwords | undefined;
  const limiters: Limiter[] = [];
  let closed = false;
  /** Stops timers and closes the connection opened here; safe to call twice. */
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    for (const limiter of limiters) limiter.close();
    await tokenAuth?.close(); // stops following the revocation record (and closes its Redis connection)
    memorySessions?.close();
    await passwords?.close();
    if (ownClient?.isOpen) await ownClient.close();
  };
  try {
    const redisSessions =
      client &&
      // Session times come from Redis's own clock, so instances need not agree on the time;
      // a test that drives `clock` by hand has the store follow it instead.
      new RedisSessionStore({
        client,
        prefix: `${prefix}session:`,
        timeout,
        clock: options.clock ? 'caller' : 'redis',
        waitForReplicas: redis?.waitForReplicas ?? (redis?.sentinel ? 1 : 0),
      });
    const sessions = redisSessions || (memorySessions = new MemorySessionStore());
    // What about this Redis can lose sessions (an evicting maxmemory-policy, an old version): said once, at start-up.
    for (const warning of redisSessions ? await redisSessions.checkServer() : [])
      logger.warn(`Warning: ${warning.message}`);
    const cluster = redisSessions !== undefined && redisSessions.clientKind?.endsWith('cluster') === true;
    const send = client && boundedSendCommand(client, timeout);
    const users = options.users ?? (send ? new RedisUserStore(send, prefix) : new MemoryUserStore());
    const auth = (tokenAuth = createTokenAuth({
      accessToken,
      refreshToken: {
        secret: options.refreshTokenSecret,
        ttl: options.refreshTokenTtl ?? '7d',
        reuseGrace: options.reuseGrace ?? 5,
      },
      store: sessions,
      ...(options.clock ? { clock: options.clock } : {}),
      dpop: options.dpop ?? 'off',
    }));
    // Reuse, suspicious refreshes and ended sessions become log lines (ids only, never tokens).
    logSecurityEvents(auth, logger);

    const limitStore = send && { send, prefix: `${prefix}ratelimit:` };
    const limit = (name: string, perMinute: number): Limiter => {
      const limiter = createLimiter(name, perMinute, logger, limitStore);
      limiters.push(limiter);
      return limiter;
    };
    const limits = {
      register: limit('register', loginRateLimit).handler,
      login: limit('login', loginRateLimit).handler,
      refresh: limit('refresh', refreshRateLimit).handler,
      password: limit('password', loginRateLimit).handler,
    };
    passwords = new Passwords(bcryptCost);
    await passwords.ready();
    const storeKind = cluster ? 'redis cluster' : client ? 'redis' : 'memory';
    // The refresh cookie: HttpOnly, Secure (browsers treat http://localhost as secure, so it works
    // there too), SameSite=Strict, a __Host- cookie on Path=/ (no sibling subdomain can shadow it);
    // only these origins may use it.
    const transport = cookieTransport({ allowedOrigins: options.publicOrigins ?? ['http://localhost:3000'] });

    const app = express();
    app.set('trust proxy', trustProxy);
    // One JSON line per request, Authorization and Cookie redacted (request-log.ts).
    app.use(requestLog(logger));
    // Plain HTTP refused before anything else reads the request (require-https.ts).
    if (options.httpsRequired === true) app.use(requireHttps(options.publicOrigins ?? ['http://localhost:3000']));
    // Security headers (no sniffing, no framing, HSTS...) and no X-Powered-By.
    app.use(helmet());
    // POST /graphql (graphql/route.ts), with its own body limit and GraphQL-shaped errors: before express.json.
    app.use(graphqlRoute({ auth, users, passwords, limits, logger, checkRevocation: true }));
    // Bodies are a few hundred bytes: refuse anything bigger before parsing it (413). JSON is
    // UTF-8 only (RFC 8259): the parser would also decode UTF-7, UTF-16 and UTF-32, so refuse
    // those (415) rather than let a filter in front of the app see different bytes than we do.
    app.use(express.json({ limit: '10kb', verify: utf8Only }));

    // For load balancers and Kubernetes: /health (the store, with auth.health()'s report), /health/ready, /health/live.
    app.use(healthRoutes(auth, storeKind));
    // With a signing key, its public half for other services (jose's createRemoteJWKSet...); otherwise 404.
    if (key) app.get('/.well-known/jwks.json', jwksHandler(auth));
    app.use(demoPage());
    if (options.replayDemo === true) {
      app.use(replayDemo({ auth, transport, reuseGrace: options.reuseGrace ?? 5, limit: limits.refresh }));
    }
    app.use(routes({ auth, transport, users, passwords, limits, checkRevocation: true }));
    app.use(notFound);
    app.use(errorHandler(logger));
    // The checked routes follow the store's revocation record (on a cluster, every shard's): read its backlog before serving.
    await auth.watchRevocations();
    return { app, auth, store: storeKind, close };
  } catch (error) {
    await close();
    throw error;
  }
}
