/**
 * The redis section's measurements, one cell at a time: users holding 1
 * session or HEAVY_USER_SESSIONS (the default maxSessionsPerUser), with a
 * typical browser user agent or a 512-character one (the most a session
 * keeps), each cell on a fresh private redis-server:
 *
 * 1. bytes per session: used_memory before and after creating the sessions
 *    through `auth.issue`, and MEMORY USAGE of the keys they made
 *    (bench/redis-keys.ts);
 * 2. Redis time per refresh: EVALSHA usec_per_call in INFO commandstats,
 *    reset (CONFIG RESETSTAT) just before a phase of `auth.refresh` calls;
 * 3. refreshes per second the server sustains, `RedisSessionStore.rotate`
 *    driven over several connections with many calls in flight
 *    (bench/store-load.ts).
 *
 * Also the cells' labels and the settings the section's tables quote. Only
 * the public API is used (TokenAuth, RedisSessionStore.rotate), so it measures
 * whatever data layout the store has. The tables, targets and capacity plan
 * are in bench/sections/redis-cost.ts.
 */
import { randomUUID } from 'node:crypto';
import { createTokenAuth, RedisSessionStore, type SessionMeta } from '../lib/index.js';
import { averageUserAgentLength, longMetaFor, metaFor } from './fixtures.js';
import { randomSecret } from './keys.js';
import type { BenchOptions } from './options.js';
import { startRedis, type PrivateRedis } from './processes.js';
import { connectRedis, type RedisClient } from './redis-client.js';
import { commandCalls, commandStat, infoNumber, readInfo, settledUsedMemory } from './redis-info.js';
import { deleteAllKeys, keyShapes, type KeyShape } from './redis-keys.js';
import { fixed, whole } from './stats.js';
import { liveSessionOf, ROTATE_DEFAULTS, sustainRefreshes, type SustainResult } from './store-load.js';

/** The default maxSessionsPerUser: the most sessions a user can hold. */
export const HEAVY_USER_SESSIONS = 100;
const LONG_USER_AGENT = 512;

const PREFIX = 'bench-redis:';
const CREATE_BATCH = 1000;
/** auth.refresh calls in flight during the timed refresh phase: "modestly concurrent". */
export const REFRESH_CONCURRENCY = 4;
/** auth.refresh calls before CONFIG RESETSTAT: loads the rotate script (EVALSHA, NOSCRIPT, EVAL) outside the count. */
export const REFRESH_WARMUP = 16;
/** Sustained-rate driver: connections, and rotations in flight over them (pipelined by node-redis). */
export const LOAD_CONNECTIONS = 4;
export const LOAD_IN_FLIGHT = 128;
export const LOAD_ROUNDS = 3;

export type UserAgentKind = 'typical' | 'long';

/** One cell measured: its sessions, their memory, Redis time per refresh, and the sustained rate. */
export interface RedisCell {
  name: string;
  sessionsPerUser: number;
  userAgent: UserAgentKind;
  userAgentLength: number;
  sessions: number;
  users: number;
  createSeconds: number;
  /** listSessions of the first user, after creating: must be sessionsPerUser (none evicted). */
  firstUserSessions: number;
  memory: {
    usedMemoryBefore: number;
    usedMemoryAfter: number;
    bytesPerSession: number;
    /** mem_clients_normal after - before: client buffers, part of the used_memory delta (should be ~0). */
    clientBuffersDelta: number;
    keys: number;
    sampledKeys: number;
    shapes: KeyShape[];
    /** MEMORY USAGE of the keys (extrapolated to all keys if sampled) / sessions. */
    keyBytesPerSession: number;
  };
  refresh: {
    refreshes: number;
    concurrency: number;
    evalshaCalls: number;
    evalCalls: number;
    failedCalls: number;
    /** EVALSHA usec / calls: Redis's time inside the script, per refresh. */
    usecPerRefresh: number;
    /** Commands the script ran, per refresh (Redis 7 counts them in commandstats). */
    scriptCommands: Record<string, number>;
  };
  load: SustainResult;
}

/** A cell: how many sessions each user holds, and which user agent they carry. */
export interface CellSpec {
  sessionsPerUser: number;
  userAgent: UserAgentKind;
}

/** The cells the section measures, in order. */
export const CELLS: readonly CellSpec[] = [
  { sessionsPerUser: 1, userAgent: 'typical' },
  { sessionsPerUser: HEAVY_USER_SESSIONS, userAgent: 'typical' },
  { sessionsPerUser: 1, userAgent: 'long' },
  { sessionsPerUser: HEAVY_USER_SESSIONS, userAgent: 'long' },
];

const metaOf = (kind: UserAgentKind, n: number): SessionMeta =>
  kind === 'typical' ? metaFor(n) : longMetaFor(n, LONG_USER_AGENT);

export const userAgentLabel = (kind: UserAgentKind): string =>
  kind === 'typical' ? `UA ~${Math.round(averageUserAgentLength())} chars` : `UA ${LONG_USER_AGENT} chars`;

export const perUserLabel = (n: number): string => `${n} session${n === 1 ? '' : 's'}/user`;

const cellName = (spec: CellSpec): string => `${perUserLabel(spec.sessionsPerUser)}, ${userAgentLabel(spec.userAgent)}`;

/** Runs `work` on each item with at most `concurrency` at once, in order of start. */
async function inTurn<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/** Measures one cell on its own private redis-server (started here, stopped at the end): memory, time per refresh, sustained rate. */
export async function measureCell(spec: CellSpec, options: BenchOptions): Promise<RedisCell> {
  const name = cellName(spec);
  const perUser = spec.sessionsPerUser;
  const users = Array.from({ length: Math.max(1, Math.floor(options.redisSessions / perUser)) }, () => randomUUID());
  const sessions = users.length * perUser;
  const metas = Array.from({ length: sessions }, (_, n) => metaOf(spec.userAgent, n));
  let redis: PrivateRedis | undefined;
  const clients: RedisClient[] = [];
  try {
    redis = await startRedis();
    const admin = await connectRedis(redis.url);
    clients.push(admin);
    const auth = createTokenAuth({
      accessToken: { secret: randomSecret(), ttl: ROTATE_DEFAULTS.accessTtl },
      refreshToken: { secret: randomSecret(), ttl: ROTATE_DEFAULTS.refreshTtl, reuseGrace: ROTATE_DEFAULTS.grace },
      maxSessionsPerUser: HEAVY_USER_SESSIONS,
      store: new RedisSessionStore({ client: admin, prefix: PREFIX, timeout: 10_000 }),
    });

    // 1. Memory. The create script is loaded first (by one session, then deleted), so the script cache is not counted.
    await auth.issue({ userId: randomUUID(), meta: metas[0]! });
    await deleteAllKeys(admin);
    const before = await settledUsedMemory(admin);
    const clientsBefore = infoNumber(await readInfo(admin, 'memory'), 'mem_clients_normal');
    const started = performance.now();
    const tokens: string[] = [];
    for (let start = 0; start < sessions; start += CREATE_BATCH) {
      const batch: Promise<{ refreshToken: string }>[] = [];
      for (let n = start; n < Math.min(sessions, start + CREATE_BATCH); n++) {
        batch.push(auth.issue({ userId: users[Math.floor(n / perUser)]!, meta: metas[n]! }));
      }
      tokens.push(...(await Promise.all(batch)).map((pair) => pair.refreshToken));
    }
    const createSeconds = (performance.now() - started) / 1000;
    const after = await settledUsedMemory(admin);
    const clientsAfter = infoNumber(await readInfo(admin, 'memory'), 'mem_clients_normal');
    const keys = Number(await admin.sendCommand(['DBSIZE']));
    const { sampled, shapes } = await keyShapes(admin);
    const keyBytes = shapes.reduce((sum, s) => sum + s.bytes, 0) * (sampled > 0 ? keys / sampled : 0);
    const firstUserSessions = (await auth.listSessions(users[0]!)).length;
    process.stderr.write(
      `redis: ${name}: ${whole(sessions)} sessions in ${fixed(createSeconds, 1)} s, ` +
        `${fixed((after - before) / sessions, 1)} B/session\n`,
    );

    // 2. Redis time per refresh: spread over the users, every user's sessions in turn.
    const order = Array.from(
      { length: options.redisRefreshes },
      (_, i) => (i % users.length) * perUser + (Math.floor(i / users.length) % perUser),
    );
    const refreshOne = async (n: number): Promise<void> => {
      tokens[n] = (await auth.refresh(tokens[n]!, metas[n])).refreshToken;
    };
    await inTurn(order.slice(0, REFRESH_WARMUP), 1, refreshOne);
    await admin.sendCommand(['CONFIG', 'RESETSTAT']);
    await inTurn(order, REFRESH_CONCURRENCY, refreshOne);
    const stats = await readInfo(admin, 'commandstats');
    const evalsha = commandStat(stats, 'evalsha');
    const evalCalls = commandStat(stats, 'eval').calls;
    const scriptCommands: Record<string, number> = {};
    for (const [command, calls] of commandCalls(stats)) {
      if (['evalsha', 'eval', 'info'].includes(command) || command.startsWith('config')) continue;
      scriptCommands[command] = calls / order.length;
    }
    const usecPerRefresh = evalsha.calls > 0 ? evalsha.usec / evalsha.calls : Number.NaN;
    process.stderr.write(`redis: ${name}: ${fixed(usecPerRefresh, 1)} us per refresh (${evalsha.calls} EVALSHA)\n`);

    // 3. Sustained refreshes per second: rotate over several connections, many calls in flight.
    const stores: RedisSessionStore[] = [];
    for (let c = 0; c < LOAD_CONNECTIONS; c++) {
      const client = await connectRedis(redis.url);
      clients.push(client);
      stores.push(new RedisSessionStore({ client, prefix: PREFIX, timeout: 10_000 }));
    }
    const live = tokens.map((token, n) => liveSessionOf(token, metas[n]!));
    // Interleave users, so that calls in flight together are of different users where there are enough.
    live.sort((a, b) => (a.sessionId < b.sessionId ? -1 : 1));
    const load = await sustainRefreshes(admin, stores, live, {
      inFlight: Math.min(LOAD_IN_FLIGHT, Math.floor(live.length / 2)),
      warmupMs: options.warmup * 1000,
      rounds: LOAD_ROUNDS,
      roundMs: options.duration * 1000,
    });
    process.stderr.write(
      `redis: ${name}: ${whole(load.rate)} refreshes/s sustained, Redis CPU ${fixed(load.redisCpu * 100, 0)}%\n`,
    );

    return {
      name,
      sessionsPerUser: perUser,
      userAgent: spec.userAgent,
      userAgentLength: metas.reduce((sum, m) => sum + (m.userAgent?.length ?? 0), 0) / metas.length,
      sessions,
      users: users.length,
      createSeconds,
      firstUserSessions,
      memory: {
        usedMemoryBefore: before,
        usedMemoryAfter: after,
        bytesPerSession: (after - before) / sessions,
        clientBuffersDelta: clientsAfter - clientsBefore,
        keys,
        sampledKeys: sampled,
        shapes,
        keyBytesPerSession: keyBytes / sessions,
      },
      refresh: {
        refreshes: order.length,
        concurrency: REFRESH_CONCURRENCY,
        evalshaCalls: evalsha.calls,
        evalCalls,
        failedCalls: evalsha.failedCalls + evalsha.rejectedCalls,
        usecPerRefresh,
        scriptCommands,
      },
      load,
    };
  } finally {
    for (const client of clients) if (client.isOpen) client.destroy();
    await redis?.stop();
  }
}
