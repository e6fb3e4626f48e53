/** The bench's own connection to a private redis-server. */
import { createClient } from 'redis';

export type RedisClient = ReturnType<typeof createClient>;

/**
 * Connects without an offline queue and without reconnecting: if the server
 * goes away (the run is stopping) commands fail at once instead of waiting.
 * Connection errors are not rethrown as 'error' events (which would crash the
 * process while cleaning up); a failed command still rejects.
 */
export async function connectRedis(url: string): Promise<RedisClient> {
  const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
