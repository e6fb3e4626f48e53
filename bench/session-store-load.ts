/**
 * The alternative to a token pair, measured the way store-load.ts measures
 * the token pair's refreshes: express-session's Redis store (connect-redis)
 * driven directly, without HTTP, as fast as one private redis-server takes
 * it. Each guarded request of an express-session app costs the store a
 * `get` of the session and, at the end, a `touch` (express-session's default
 * when the store has one: connect-redis renews the key's expiry), so one
 * "request" here is `get` then `touch` of one session, with as many
 * connections and calls in flight as the token pair's refreshes get.
 *
 * Also bytes per session: used_memory before and after creating the
 * sessions through the store, each holding what bench/servers/session.ts
 * puts in one (a user id and a role) beside express-session's cookie.
 */
import { RedisStore } from 'connect-redis';
import session, { type SessionData } from 'express-session';
import { startRedis, type PrivateRedis } from './processes.js';
import { connectRedis, type RedisClient } from './redis-client.js';
import { callsBetween, readInfo, settledUsedMemory, type Info } from './redis-info.js';
import { median } from './stats.js';
import { cpuSeconds, netBytes, type SustainOptions } from './store-load.js';

/** Connections and calls in flight: the token pair's sustained-rate driver's (bench/redis-measure.ts). */
export interface SessionLoadSettings extends SustainOptions {
  connections: number;
  sessions: number;
}

export interface SessionStoreRound {
  seconds: number;
  requests: number;
  rate: number;
  redisCpu: number;
  netIn: number;
  netOut: number;
  /** Commands Redis ran, by name (INFO excluded). */
  calls: Record<string, number>;
}

export interface SessionStoreCost {
  sessions: number;
  /** used_memory delta over the sessions created. */
  bytesPerSession: number;
  connections: number;
  inFlight: number;
  rounds: SessionStoreRound[];
  /** Medians over the rounds. */
  rate: number;
  redisCpu: number;
  bytesInPerRequest: number;
  bytesOutPerRequest: number;
  /** Commands per request, by name, over all rounds (GET 1, EXPIRE 1 with express-session's defaults). */
  commandsPerRequest: Record<string, number>;
  /** Requests whose `get` found no session (should be none), and calls that failed. */
  missing: number;
  errors: number;
}

const PREFIX = 'bench-session:';
const CREATE_BATCH = 1000;

/** What express-session stores for a session of bench/servers/session.ts: its cookie (no maxAge) and the user. */
function sessionOf(n: number): SessionData {
  // express-session's default cookie: path /, HttpOnly, no maxAge.
  return { cookie: new session.Cookie(), userId: `bench-user-${String(n).padStart(6, '0')}`, role: 'member' };
}

/** A session id as express-session makes them (uid-safe, 24 bytes: 32 base64url characters). */
const sessionId = (n: number): string => `bench${String(n).padStart(27, '0')}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function createSessions(store: RedisStore, count: number): Promise<void> {
  for (let start = 0; start < count; start += CREATE_BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let n = start; n < Math.min(count, start + CREATE_BATCH); n++)
      batch.push(store.set(sessionId(n), sessionOf(n)));
    await Promise.all(batch);
  }
}

/** Creates `settings.sessions` sessions on a fresh private redis-server, then reads and touches them in turn. */
export async function measureSessionStore(settings: SessionLoadSettings): Promise<SessionStoreCost> {
  let redis: PrivateRedis | undefined;
  const clients: RedisClient[] = [];
  try {
    redis = await startRedis();
    const admin = await connectRedis(redis.url);
    clients.push(admin);
    const stores: RedisStore[] = [];
    for (let c = 0; c < settings.connections; c++) {
      const client = await connectRedis(redis.url);
      clients.push(client);
      stores.push(new RedisStore({ client, prefix: PREFIX }));
    }
    const before = await settledUsedMemory(admin);
    await createSessions(stores[0]!, settings.sessions);
    const after = await settledUsedMemory(admin);

    let stop = false;
    let requests = 0;
    let missing = 0;
    let errors = 0;
    let cursor = 0;
    const worker = async (store: RedisStore): Promise<void> => {
      while (!stop) {
        const id = sessionId(cursor);
        cursor = (cursor + 1) % settings.sessions;
        try {
          const found = (await store.get(id)) as SessionData | null;
          if (found) await store.touch(id, found);
          else missing++;
          requests++;
        } catch {
          errors++;
          if (errors >= 100) stop = true;
        }
      }
    };
    const snapshot = async (): Promise<{ at: number; requests: number; info: Info }> => ({
      at: performance.now(),
      requests,
      info: await readInfo(admin, 'cpu', 'commandstats', 'stats'),
    });
    const workers = Array.from({ length: settings.inFlight }, (_, i) => worker(stores[i % stores.length]!));
    const rounds: SessionStoreRound[] = [];
    try {
      await sleep(settings.warmupMs);
      for (let r = 0; r < settings.rounds && !stop; r++) {
        const start = await snapshot();
        await sleep(settings.roundMs);
        const end = await snapshot();
        const seconds = (end.at - start.at) / 1000;
        const made = end.requests - start.requests;
        const calls = Object.fromEntries([...callsBetween(start.info, end.info)].filter(([name]) => name !== 'info'));
        rounds.push({
          seconds,
          requests: made,
          rate: made / seconds,
          redisCpu: (cpuSeconds(end.info) - cpuSeconds(start.info)) / seconds,
          netIn: netBytes(end.info).in - netBytes(start.info).in,
          netOut: netBytes(end.info).out - netBytes(start.info).out,
          calls,
        });
      }
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    const total = rounds.reduce((sum, r) => sum + r.requests, 0);
    const commandsPerRequest: Record<string, number> = {};
    for (const r of rounds) {
      for (const [name, n] of Object.entries(r.calls))
        commandsPerRequest[name] = (commandsPerRequest[name] ?? 0) + n / total;
    }
    return {
      sessions: settings.sessions,
      bytesPerSession: (after - before) / settings.sessions,
      connections: settings.connections,
      inFlight: settings.inFlight,
      rounds,
      rate: median(rounds.map((r) => r.rate)),
      redisCpu: median(rounds.map((r) => r.redisCpu)),
      bytesInPerRequest: median(rounds.map((r) => r.netIn / r.requests)),
      bytesOutPerRequest: median(rounds.map((r) => r.netOut / r.requests)),
      commandsPerRequest,
      missing,
      errors,
    };
  } finally {
    for (const client of clients) if (client.isOpen) client.destroy();
    await redis?.stop();
  }
}
