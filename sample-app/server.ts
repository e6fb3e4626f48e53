/**
 * Runs the sample app: `npm start`. Settings come from the environment
 * (see config.ts); a bad one stops it with a message naming the variable.
 * Everything it says is a JSON line on stdout (see logger.ts).
 */
import { createApp, type SampleApp } from './app.js';
import { ConfigError, httpsUnreachable, loadConfig, type Config } from './config.js';
import { createHttpServer, createHttpsServer } from './http-server.js';
import { createLogger } from './logger.js';
import { redactUrl } from './redis.js';

/** Milliseconds to wait for open requests at shutdown before exiting anyway. */
const SHUTDOWN_TIMEOUT = 10_000;

const log = createLogger();

function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log.error(`Configuration error: ${error.message}`);
    process.exit(1);
  }
}

const config = configOrExit();
for (const warning of [...config.warnings, httpsUnreachable(config) ?? []].flat()) log.warn(`Warning: ${warning}`);

let sample: SampleApp;
try {
  sample = await createApp({
    accessTokenSecret: config.accessTokenSecret,
    accessTokenKey: config.accessTokenKey,
    refreshTokenSecret: config.refreshTokenSecret,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
    reuseGrace: config.reuseGrace,
    loginRateLimit: config.loginRateLimit,
    refreshRateLimit: config.refreshRateLimit,
    trustProxy: config.trustProxy,
    publicOrigins: config.publicOrigins,
    replayDemo: config.replayDemo,
    dpop: config.dpop,
    httpsRequired: config.httpsRequired,
    logger: log,
    ...(config.redisUrl ? { redis: { url: config.redisUrl } } : {}),
    ...(config.redisClusterUrls ? { redis: { clusterUrls: config.redisClusterUrls } } : {}),
    ...(config.redisSentinel ? { redis: { sentinel: config.redisSentinel } } : {}),
  });
} catch (error) {
  log.error(`Could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

if (config.redisUrl) {
  log.info(`Sessions, users and rate limits are kept in Redis at ${redactUrl(config.redisUrl)}`);
} else if (config.redisClusterUrls) {
  log.info(
    `Sessions, users and rate limits are kept in the Redis Cluster at ${config.redisClusterUrls.map(redactUrl).join(', ')}`,
  );
} else if (config.redisSentinel) {
  const { name, sentinels } = config.redisSentinel;
  log.info(
    `Sessions, users and rate limits are kept in the Redis master ${JSON.stringify(name)} that the Sentinels at ` +
      `${sentinels.map(({ host, port }) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)).join(', ')} name` +
      ' (each session write waits for 1 replica: WAIT)',
  );
} else {
  log.info(
    'Sessions and users are kept in memory (set REDIS_URL to use Redis): they are lost on restart and not shared between processes',
  );
}
if (config.accessTokenKey) {
  const { algorithm, kid } = config.accessTokenKey;
  log.info(
    `Access tokens are signed with ${algorithm} key ${JSON.stringify(kid)}; its public key is served at /.well-known/jwks.json`,
  );
}
if (config.tls) {
  log.info('Serving HTTPS with the certificate in TLS_CERT_FILE (no plain-HTTP listener)');
} else if (config.httpsRequired) {
  log.info(
    'HTTPS required: plain-HTTP requests are refused (403 https_required; GET and HEAD without credentials redirected to the https PUBLIC_ORIGIN)' +
      ', except GET /health. Behind a TLS-terminating proxy, set TRUST_PROXY so that its X-Forwarded-Proto counts',
  );
}
const limit = (n: number): string => (n === 0 ? 'off' : `${n}/min per IP`);
log.info(
  `Rate limits: login, register and password change ${limit(config.loginRateLimit)}, refresh ${limit(config.refreshRateLimit)}`,
);

// Bounded headers, request, idle and keep-alive timeouts (and TLS handshake): see http-server.ts.
const server = config.tls ? createHttpsServer(sample.app, config.tls) : createHttpServer(sample.app);
server.on('error', (error: NodeJS.ErrnoException) => {
  log.error(
    error.code === 'EADDRINUSE' ? `Port ${config.port} is already in use (set PORT)` : `Server error: ${error.message}`,
  );
  void sample.close().finally(() => process.exit(1));
});
server.listen(config.port, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info(`Listening on ${config.tls ? 'https' : 'http'}://localhost:${port}`);
});

/**
 * Ctrl-C, `kill <pid>` (of this process or of `npm start`, whose script
 * `exec`s node so the signal reaches it) or a `docker stop`: stop accepting
 * connections, let open requests finish, then close Redis, so that no
 * request is cut off mid-way.
 */
function shutdown(signal: string): void {
  log.info(`${signal} received: shutting down`);
  setTimeout(() => {
    log.error('Open requests did not finish in time; exiting anyway');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT).unref();
  server.close(() => {
    sample.close().then(
      () => {
        log.info('Stopped');
      },
      (error: unknown) => {
        log.error({ err: error }, 'Error while closing');
        process.exitCode = 1;
      },
    );
  });
  server.closeIdleConnections();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
