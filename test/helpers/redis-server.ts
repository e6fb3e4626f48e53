/**
 * The tests' Redis helpers: the private redis-server lives in tools/redis-server.ts
 * (shared with the bench); this adds `requireRedis`, which needs mocha.
 */
import { createClient } from 'redis';
import { RedisServer, redisUnavailableReason } from '../../tools/redis-server.js';

export { RedisServer, redisUnavailableReason, sharedRedis, uniquePrefix } from '../../tools/redis-server.js';

/**
 * Call in a `before` hook of a suite that needs Redis. Outside CI it skips the
 * suite with a clear reason; in CI (CI=true) a missing Redis fails the run.
 */
export function requireRedis(context: Mocha.Context, needPrivate = false): void {
  const reason = redisUnavailableReason(needPrivate);
  if (reason === undefined) return;
  if (process.env.CI) throw new Error(`Redis is required in CI: ${reason}`);
  console.warn(`    Redis suite not run: ${reason}`);
  context.skip();
}

/** A node-redis client (v5, the dev dependency) as `privateRedis` connects it. */
export type RedisClient = ReturnType<typeof createClient>;

/** What `privateRedis()` hands a suite; read inside tests and hooks, once its `before` hook has run. */
export interface PrivateRedis {
  readonly server: RedisServer;
  readonly client: RedisClient;
}

/**
 * Registers the suite's `before` and `after` hooks for a private redis-server
 * (a free port, no persistence) and one node-redis client connected to it
 * with no offline queue, so a command sent while Redis is down fails at once
 * (on the command, where the test sees it, not as an 'error' event).
 */
export function privateRedis(): PrivateRedis {
  let server: RedisServer | undefined;
  let client: RedisClient | undefined;
  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
    client = createClient({ url: server.url, disableOfflineQueue: true });
    client.on('error', () => {});
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) client.destroy();
    await server?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('privateRedis(): read server and client inside tests and hooks');
    return value;
  };
  return {
    get server() {
      return started(server);
    },
    get client() {
      return started(client);
    },
  };
}
