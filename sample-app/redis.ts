/**
 * The one Redis connection the app shares between sessions, users and rate
 * limits. Users and rate limits send their commands through the library's
 * `boundedSendCommand`, so a frozen Redis answers 503 there too.
 */
import { createClient, createCluster, createSentinel } from 'redis';
import type { PinoLogger } from './logger.js';

export type RedisClient = ReturnType<typeof createClient>;
export type RedisClusterClient = ReturnType<typeof createCluster>;
export type RedisSentinelClient = ReturnType<typeof createSentinel>;

/** The URL with its password masked, for log lines. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** How many times to retry the very first connection before giving up. */
const STARTUP_ATTEMPTS = 5;

/**
 * Connects to Redis. Two settings matter for an auth server:
 * - `disableOfflineQueue`: while the connection is down, commands fail at
 *   once instead of waiting in a queue, so a login gets a quick 503 rather
 *   than hanging until Redis comes back (or running late, after the client
 *   gave up on it).
 * - `reconnectStrategy`: after a lost connection, retry forever with a
 *   capped, jittered backoff. At start-up, give up after a few tries, so that
 *   a wrong REDIS_URL stops the server with a clear error.
 */
export async function connectRedis(url: string, logger: PinoLogger): Promise<RedisClient> {
  let everReady = false;
  let down = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 5000,
      reconnectStrategy: (retries: number) => {
        if (!everReady && retries >= STARTUP_ATTEMPTS) return new Error('giving up');
        return Math.min(100 * 2 ** retries, 5000) + Math.floor(Math.random() * 100);
      },
    },
  });
  // node-redis emits 'error' on every failed attempt; without a listener the process would crash.
  client.on('error', (error: Error) => {
    if (!down) logger.error(`Redis connection error: ${error.message}`);
    down = true;
  });
  client.on('ready', () => {
    if (down && everReady) logger.info('Redis connection restored');
    down = false;
    everReady = true;
  });
  try {
    await client.connect();
  } catch {
    throw new Error(`could not connect to Redis at ${redactUrl(url)} after ${STARTUP_ATTEMPTS} attempts`);
  }
  return client;
}

/**
 * Connects to a Redis Cluster through any of its nodes (`urls`, from
 * REDIS_CLUSTER_URLS): node-redis discovers the rest, and sends each
 * command to the primary of its key's slot. Every node connection gets the
 * settings `connectRedis` explains: no offline queue, and retries forever
 * once connected. After a failover, the session store asks the client to
 * reread the slot map (see the README's "Replicas and failover").
 */
export async function connectRedisCluster(urls: string[], logger: PinoLogger): Promise<RedisClusterClient> {
  let down = false;
  const cluster = createCluster({
    rootNodes: urls.map((url) => ({ url })),
    defaults: {
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) + Math.floor(Math.random() * 100),
      },
    },
  });
  cluster.on('error', (error: Error) => {
    if (!down) logger.error(`Redis Cluster error: ${error.message}`);
    down = true;
  });
  try {
    await cluster.connect();
  } catch (error) {
    throw new Error(
      `could not connect to the Redis Cluster at ${urls.map(redactUrl).join(', ')}: ${(error as Error).message}`,
    );
  }
  return cluster;
}

/**
 * Connects to the master the Sentinels (REDIS_SENTINELS) know as `name`
 * (REDIS_SENTINEL_NAME): node-redis `createSentinel` asks them where it is,
 * and after a failover follows the replica they promote. Its connections
 * get the settings `connectRedis` explains (no offline queue, retries
 * forever). Its pool keeps one master connection (`masterPoolSize` 1, the
 * default), which `waitForReplicas` needs: `WAIT` must follow the script on
 * the same connection. The session store's revocation feed opens one more.
 */
export async function connectRedisSentinel(
  sentinel: { sentinels: Array<{ host: string; port: number }>; name: string },
  logger: PinoLogger,
): Promise<RedisSentinelClient> {
  let down = false;
  const where = `${sentinel.name} at ${sentinel.sentinels.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(', ')}`;
  const client = createSentinel({
    name: sentinel.name,
    sentinelRootNodes: sentinel.sentinels,
    masterPoolSize: 1,
    nodeClientOptions: {
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 5000,
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2000) + Math.floor(Math.random() * 100),
      },
    },
  });
  client.on('error', (error: Error) => {
    if (!down) logger.error(`Redis Sentinel error: ${error.message}`);
    down = true;
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`could not connect to the Redis master ${where}: ${(error as Error).message}`);
  }
  return client;
}

/** A connection `createApp` opens itself (and closes in `close()`). */
export type OwnRedisClient = RedisClient | RedisClusterClient | RedisSentinelClient;

/**
 * Connects as `redis` says: `url` (connectRedis), `clusterUrls`
 * (connectRedisCluster) or `sentinel` (connectRedisSentinel); undefined when
 * it gives none of them (memory, or a client of the caller's own).
 */
export async function connectOwnRedis(
  redis: { url?: string; clusterUrls?: string[]; sentinel?: Parameters<typeof connectRedisSentinel>[0] } | undefined,
  logger: PinoLogger,
): Promise<OwnRedisClient | undefined> {
  if (redis?.url !== undefined) return connectRedis(redis.url, logger);
  if (redis?.clusterUrls !== undefined) return connectRedisCluster(redis.clusterUrls, logger);
  if (redis?.sentinel !== undefined) return connectRedisSentinel(redis.sentinel, logger);
  return undefined;
}
