/**
 * Per-IP rate limits for the routes an attacker would hammer: login,
 * register and password change (password guessing, bcrypt CPU) and refresh.
 * Counted in Redis
 * when the app uses Redis, so the limit holds across all instances; in
 * memory otherwise (then each process counts on its own).
 */
import type { RequestHandler } from 'express';
import { MemoryStore, rateLimit, type AugmentedRequest, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import { securityEvent } from './audit.js';
import type { PinoLogger } from './logger.js';
import type { SendCommand } from '../lib/index.js';

const WINDOW_MS = 60_000;

function isHint(error: unknown): error is Error {
  return error instanceof Error && String((error as { code?: unknown }).code).startsWith('ERR_ERL_');
}

const pass: RequestHandler = (_req, _res, next) => {
  next();
};

export interface Limiter {
  handler: RequestHandler;
  /** Stops the memory store's timer; a no-op for Redis. */
  close(): void;
}

/**
 * A limiter named `name` allowing `perMinute` requests per IP per minute;
 * `0` turns it off. With `redis`, counts live in Redis under `<prefix><name>:`.
 * Caveat: per IP means everyone behind one NAT or proxy shares a count; see
 * TRUST_PROXY for running behind a reverse proxy.
 */
export function createLimiter(
  name: string,
  perMinute: number,
  logger: PinoLogger,
  redis?: { send: SendCommand; prefix: string },
): Limiter {
  // express-rate-limit v7+ reads `limit: 0` as "block everything", so "off" means no limiter at all.
  if (perMinute === 0) return { handler: pass, close: () => {} };
  const store: Store = redis
    ? new RedisStore({
        // The cluster form: each command comes with the key it is for, so that on a Redis Cluster
        // SCRIPT LOAD reaches the node that then runs the EVALSHA (a single server ignores the key).
        sendCommandCluster: ({ key, command }) => redis.send(command, key) as Promise<RedisReply>,
        prefix: `${redis.prefix}${name}:`,
      })
    : new MemoryStore();
  const handler = rateLimit({
    windowMs: WINDOW_MS,
    limit: perMinute,
    identifier: name,
    // `RateLimit` and `RateLimit-Policy` headers (IETF draft 8), not the old X-RateLimit-*.
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store,
    // Fail closed: if Redis is down the request fails (503) rather than going through unlimited.
    passOnStoreError: false,
    handler: (req, res) => {
      // Once per client and window (its first refused request), so that a flood does not flood the log too.
      const { used, limit } = (req as AugmentedRequest).rateLimit ?? { used: 0, limit: 0 };
      if (used === limit + 1) {
        securityEvent(
          logger,
          'warn',
          { event: 'rate_limited', ip: req.ip, reason: name },
          `rate limit ${name} reached`,
        );
      }
      res.status(429).json({ error: 'rate_limited', message: 'too many requests; try again later' });
    },
    // Configuration hints (codes ERR_ERL_*, e.g. an X-Forwarded-For header while trust proxy is off)
    // are warnings with a help link; anything else (a store failure) is an error.
    logger: {
      error: (error, message) => {
        if (isHint(error)) logger.warn(`rate limit ${name}: ${error.message}`);
        else logger.error({ err: error }, `rate limit ${name}: ${message ?? 'error'}`);
      },
      warn: (error) => {
        logger.warn(`rate limit ${name}: ${error instanceof Error ? error.message : String(error)}`);
      },
    },
  });
  return {
    handler,
    close: () => {
      if (store instanceof MemoryStore) store.shutdown();
    },
  };
}
