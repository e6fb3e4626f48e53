/**
 * The guard section's session-store contender: bench/servers/session.ts
 * (express-session + connect-redis) over its own private redis-server, a
 * session started through its `POST /login`, and what its Redis did per
 * guarded request (commands by name, bytes in and out) between two readings.
 */
import { randomBytes } from 'node:crypto';
import { startRedis, startServer, type PrivateRedis, type ServerHandle } from './processes.js';
import { connectRedis, type RedisClient } from './redis-client.js';
import { callsBetween, readInfo, type Info } from './redis-info.js';
import type { SessionServerConfig } from './servers/session.js';
import { netBytes } from './store-load.js';

export interface SessionRedisUsage {
  /** Guarded requests (GET /me answered 200) between the readings. */
  requests: number;
  /** Commands per guarded request, by name (INFO excluded). */
  commandsPerRequest: Record<string, number>;
  bytesInPerRequest: number;
  bytesOutPerRequest: number;
}

export interface SessionContender {
  server: ServerHandle;
  /** `connect.sid=...`: the session's cookie, as the browser would send it. */
  cookie: string;
  /** Starts counting; the returned function reads what Redis did per guarded request since. */
  measure(): Promise<() => Promise<SessionRedisUsage>>;
  stop(): Promise<void>;
}

/** The `name=value` of the session cookie the server set on `POST /login`. */
async function login(url: string): Promise<string> {
  const response = await fetch(`${url}/login`, { method: 'POST' });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('connect.sid='));
  if (response.status !== 200 || cookie === undefined) {
    throw new Error(`bench: the session server's login answered ${response.status} without a session cookie`);
  }
  return cookie.split(';')[0]!;
}

export async function startSessionContender(label: string): Promise<SessionContender> {
  let redis: PrivateRedis | undefined;
  let admin: RedisClient | undefined;
  let server: ServerHandle | undefined;
  const stop = async (): Promise<void> => {
    if (admin?.isOpen) admin.destroy();
    await server?.stop();
    await redis?.stop();
  };
  try {
    redis = await startRedis();
    admin = await connectRedis(redis.url);
    const config: SessionServerConfig = { redisUrl: redis.url, secret: randomBytes(32).toString('base64url') };
    server = await startServer('session', config, label);
    const cookie = await login(server.url);
    const handle = server;
    const reader = admin;
    const reading = async (): Promise<{ guarded: number; info: Info }> => ({
      guarded: (await handle.counters()).guarded ?? 0,
      info: await readInfo(reader, 'commandstats', 'stats'),
    });
    const measure = async (): Promise<() => Promise<SessionRedisUsage>> => {
      const start = await reading();
      return async () => {
        const end = await reading();
        const requests = end.guarded - start.guarded;
        const per = (n: number): number => (requests > 0 ? n / requests : Number.NaN);
        const calls = [...callsBetween(start.info, end.info)].filter(([name]) => name !== 'info');
        return {
          requests,
          commandsPerRequest: Object.fromEntries(calls.map(([name, n]) => [name, per(n)])),
          bytesInPerRequest: per(netBytes(end.info).in - netBytes(start.info).in),
          bytesOutPerRequest: per(netBytes(end.info).out - netBytes(start.info).out),
        };
      };
    };
    return { server, cookie, measure, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
