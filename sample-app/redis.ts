/**
 * The one Redis connection the app shares between sessions, users and rate
 * limits. Users and rate limits send their commands through the library's
 * `boundedSendCommand`, so a frozen Redis answers 503 there too.
 */
import { createClient } from 'redis';
import type { PinoLogger } from './logger.js';

export type RedisClient = ReturnType<typeof createClient>;

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
