/**
 * The tests' Redis helpers: the private redis-server lives in tools/redis-server.ts
 * (shared with the bench); this adds `requireRedis`, which needs mocha.
 */
import { redisUnavailableReason } from '../../tools/redis-server.js';

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
