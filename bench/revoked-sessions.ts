/**
 * What the guard section's checkRevocation contender follows: a private
 * redis-server whose revocation record holds `count` revoked sessions (so
 * the server's view is not empty), made through this package's
 * RedisSessionStore with the contender's keys, and one of their access
 * tokens, which the contender must refuse.
 */
import { RedisSessionStore } from '../lib/index.js';
import { tokenAuthFor, type AccessKeys } from './keys.js';
import { startRedis } from './processes.js';
import { connectRedis } from './redis-client.js';

export interface RevokedSessions {
  redisUrl: string;
  prefix: string;
  count: number;
  /** An access token of a revoked session (still unexpired). */
  revokedToken: string;
  stop(): Promise<void>;
}

export async function revokedSessions(
  keys: AccessKeys,
  refreshSecret: string,
  count: number,
): Promise<RevokedSessions> {
  const redis = await startRedis();
  const prefix = 'bench-guard:';
  try {
    const client = await connectRedis(redis.url);
    try {
      const auth = tokenAuthFor(keys, refreshSecret, undefined, new RedisSessionStore({ client, prefix }));
      let revokedToken = '';
      for (let start = 0; start < count; start += 500) {
        const batch = Array.from({ length: Math.min(500, count - start) }, async (_, i) => {
          const userId = `revoked-${start + i}`;
          const pair = await auth.issue({ userId });
          await auth.revokeSession(userId, auth.verifyAccessToken(pair.accessToken).sessionId);
          return pair.accessToken;
        });
        revokedToken = (await Promise.all(batch))[0]!;
      }
      return { redisUrl: redis.url, prefix, count, revokedToken, stop: () => redis.stop() };
    } finally {
      await client.close();
    }
  } catch (error) {
    await redis.stop();
    throw error;
  }
}

/** `401 token_revoked` when `url` refuses the revoked token as it should; else what it answered. */
export async function revokedAnswer(url: string, token: string): Promise<string> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const body = await response.text();
  let code = body;
  try {
    code = String((JSON.parse(body) as { error?: unknown }).error);
  } catch {
    // not JSON: show it as is
  }
  return `${response.status} ${code}`;
}
