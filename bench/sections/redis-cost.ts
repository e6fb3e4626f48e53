/**
 * Redis section: what the session store costs one redis-server, and what that
 * means for a deployment. It runs the cells of bench/redis-measure.ts (users
 * holding 1 session and 100, typical and 512-character user agents; bytes per
 * session, Redis time per refresh, sustained refreshes per second) and holds
 * what is made of them: the targets (REDIS_TARGETS), the capacity plan for 10
 * million active sessions refreshing every 15 minutes (shards by refresh rate
 * and by memory; redis-capacity.ts), and the section's tables and target rows.
 */
import { loadavg } from 'node:os';
import type { BenchOptions } from '../options.js';
import type { KeyShape } from '../redis-keys.js';
import {
  CELLS,
  HEAVY_USER_SESSIONS,
  LOAD_CONNECTIONS,
  LOAD_IN_FLIGHT,
  LOAD_ROUNDS,
  measureCell,
  perUserLabel,
  REFRESH_CONCURRENCY,
  REFRESH_WARMUP,
  userAgentLabel,
  type RedisCell,
  type UserAgentKind,
} from '../redis-measure.js';
import { row, type Row } from '../report/rows.js';
import type { SectionOutput } from '../report/section-output.js';
import type { Table } from '../report/table.js';
import { fixed, whole } from '../stats.js';
import { measureSessionStore, type SessionStoreCost } from '../session-store-load.js';
import { PLAN, planFor, planTable, redisBound, type CapacityPlan } from './redis-capacity.js';

export { PLAN, type CapacityPlan } from './redis-capacity.js';

/** Targets: a refresh at 100 sessions per user costs Redis at most twice one at 1; a session at most 400 bytes. */
export const REDIS_TARGETS = { heavyToLightUsec: 2, bytesPerSession: 400 } as const;

export interface RedisCostData {
  refreshesPerCell: number;
  sessionsPerCell: number;
  shardMemoryGb: number;
  cells: RedisCell[];
  plans: CapacityPlan[];
  /** express-session + connect-redis driven like the refreshes: the capacity plan's comparison column. */
  sessionStore: SessionStoreCost;
  /** 1-minute load average when the section started and ended: above ~1 on 2 cores, another tenant was busy. */
  loadAverage: { start: number; end: number };
}

/** Measures every cell in turn, then plans shards for the typical user agent; returns the tables, target rows and data. */
export async function redisCostSection(options: BenchOptions): Promise<SectionOutput<RedisCostData>> {
  const start = loadavg()[0]!;
  const cells: RedisCell[] = [];
  for (const spec of CELLS) cells.push(await measureCell(spec, options));
  const plans = cells.filter((c) => c.userAgent === 'typical').map((c) => planFor(c, options.shardMemoryGb));
  const sessionStore = await measureSessionStore({
    connections: LOAD_CONNECTIONS,
    inFlight: LOAD_IN_FLIGHT,
    sessions: options.redisSessions,
    warmupMs: options.warmup * 1000,
    rounds: LOAD_ROUNDS,
    roundMs: options.duration * 1000,
  });
  process.stderr.write(
    `redis: session store: ${whole(sessionStore.rate)} requests/s sustained, Redis CPU ${fixed(sessionStore.redisCpu * 100, 0)}%\n`,
  );
  const data: RedisCostData = {
    refreshesPerCell: options.redisRefreshes,
    sessionsPerCell: options.redisSessions,
    shardMemoryGb: options.shardMemoryGb,
    cells,
    plans,
    sessionStore,
    loadAverage: { start, end: loadavg()[0]! },
  };
  return { tables: tables(data), targets: targets(data), data };
}

const cellOf = (data: RedisCostData, perUser: number, kind: UserAgentKind): RedisCell | undefined =>
  data.cells.find((c) => c.sessionsPerUser === perUser && c.userAgent === kind);

const perCall = (calls: Record<string, number>): string =>
  Object.entries(calls)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name.toUpperCase()} ${fixed(n, 2)}`)
    .join(', ') || 'none';

function ratioOf(
  data: RedisCostData,
  kind: UserAgentKind,
): { light: RedisCell; heavy: RedisCell; ratio: number } | undefined {
  const light = cellOf(data, 1, kind);
  const heavy = cellOf(data, HEAVY_USER_SESSIONS, kind);
  return light && heavy
    ? { light, heavy, ratio: heavy.refresh.usecPerRefresh / light.refresh.usecPerRefresh }
    : undefined;
}

function costTable(data: RedisCostData): Table {
  const kinds: UserAgentKind[] = ['typical', 'long'];
  return {
    title: `Redis time per refresh: EVALSHA usec_per_call (INFO commandstats after CONFIG RESETSTAT), ${whole(data.refreshesPerCell)} auth.refresh calls per cell`,
    head: [
      'user agent',
      'us/refresh, 1 session/user',
      `us/refresh, ${HEAVY_USER_SESSIONS} sessions/user`,
      `${HEAVY_USER_SESSIONS} / 1`,
      'target',
      'result',
    ],
    numeric: [1, 2, 3],
    rows: kinds.flatMap((kind) => {
      const pair = ratioOf(data, kind);
      if (!pair) return [];
      const pass = pair.ratio <= REDIS_TARGETS.heavyToLightUsec;
      return [
        [
          userAgentLabel(kind),
          fixed(pair.light.refresh.usecPerRefresh, 1),
          fixed(pair.heavy.refresh.usecPerRefresh, 1),
          `${fixed(pair.ratio, 2)}x`,
          `<= ${REDIS_TARGETS.heavyToLightUsec}x`,
          pass ? 'PASS' : 'FAIL',
        ],
      ];
    }),
    notes: [
      `Refreshes through auth.refresh, ${REFRESH_CONCURRENCY} in flight, spread over the users (every user's sessions in turn);` +
        ` ${REFRESH_WARMUP} refreshes before the reset load the script. The time is Redis's inside the script (the GET/SET/... it runs included),` +
        ' not the round trip.',
      ...data.cells.map(
        (c) =>
          `${c.name}: ${c.refresh.evalshaCalls} EVALSHA + ${c.refresh.evalCalls} EVAL` +
          `${c.refresh.failedCalls ? `, ${c.refresh.failedCalls} failed` : ''} for ${c.refresh.refreshes} refreshes;` +
          ` run inside the script per refresh: ${perCall(c.refresh.scriptCommands)}.`,
      ),
    ],
  };
}

function shapeText(s: KeyShape): string {
  const encodings = Object.entries(s.encodings)
    .map(([e, n]) => (Object.keys(s.encodings).length > 1 ? `${e} x${n}` : e))
    .join('/');
  return `${s.shape} ${s.type}/${encodings} x${whole(s.keys)} avg ${whole(s.bytes / s.keys)} B`;
}

function memoryTable(data: RedisCostData): Table {
  return {
    title:
      'Redis memory per session: used_memory before and after creating the sessions (auth.issue, IPv4, UUID user ids)',
    head: [
      'cell',
      'sessions',
      'users',
      'keys',
      'used_memory delta',
      'bytes/session',
      'MEMORY USAGE/session',
      'sessions per GB',
    ],
    numeric: [1, 2, 3, 4, 5, 6, 7],
    rows: data.cells.map((c) => [
      c.name,
      whole(c.sessions),
      whole(c.users),
      whole(c.memory.keys),
      whole(c.memory.usedMemoryAfter - c.memory.usedMemoryBefore),
      fixed(c.memory.bytesPerSession, 1),
      fixed(c.memory.keyBytesPerSession, 1),
      whole(1e9 / c.memory.bytesPerSession),
    ]),
    notes: [
      'A fresh redis-server per cell; the create script is loaded (one session, then deleted) before the first reading;' +
        ' each reading is taken once two readings 250 ms apart agree. The delta includes the keyspace and expiry tables;' +
        ' MEMORY USAGE (SAMPLES 0) is what the keys themselves take. GB = 10^9 bytes.',
      ...data.cells.map(
        (c) =>
          `${c.name}: ${c.memory.shapes.map(shapeText).join('; ')}` +
          `${c.memory.sampledKeys < c.memory.keys ? ` (MEMORY USAGE of ${whole(c.memory.sampledKeys)} of the keys)` : ''};` +
          ` client buffers changed by ${whole(c.memory.clientBuffersDelta)} B;` +
          ` the first user holds ${c.firstUserSessions} session(s) after creating.`,
      ),
    ],
  };
}

function loadTable(data: RedisCostData): Table {
  const first = data.cells[0]?.load;
  return {
    title:
      'Refreshes per second one redis-server sustains: RedisSessionStore.rotate, ' +
      `${first?.connections ?? LOAD_CONNECTIONS} connections, ${first?.inFlight ?? LOAD_IN_FLIGHT} calls in flight, median of ${LOAD_ROUNDS} rounds`,
    head: [
      'cell',
      'refreshes/s',
      'rounds',
      'Redis CPU',
      'at 100% Redis CPU',
      'us/call under load',
      'ceiling 1e6/us',
      'achieved / ceiling',
    ],
    numeric: [1, 3, 4, 5, 6, 7],
    rows: data.cells.map((c) => {
      const ceiling = 1e6 / c.refresh.usecPerRefresh;
      return [
        c.name,
        whole(c.load.rate),
        c.load.rounds.map((r) => whole(r.rate)).join(' / '),
        `${fixed(c.load.redisCpu * 100, 0)}%`,
        whole(redisBound(c)),
        fixed(c.load.usecPerCall, 1),
        whole(ceiling),
        `${fixed((c.load.rate / ceiling) * 100, 0)}%`,
      ];
    }),
    notes: [
      "Redis CPU: the redis-server main thread's user+sys CPU time over each round (INFO cpu), median. Near 100%, Redis is the bottleneck;" +
        " well below it, the bench's one Node process (which needs more CPU per refresh than Redis does, on the same cores) could not" +
        ' drive it harder, and the rate is a floor. "At 100% Redis CPU" scales the rate to a fully busy main thread (rate / CPU share).',
      "The ceiling is 1e6 / the us per refresh of the first table: Redis's time inside the script only; reading, parsing and answering" +
        ' each command costs it more. Under load the script time per call differs from the timed phase (batched calls, warm caches,' +
        ' other tenants), so "achieved / ceiling" can pass 100%.',
      'The calls carry what TokenAuth sends (15 min access tokens, 7 day refresh tokens, 5 s grace) but skip its token signing,' +
        ' which scales with the app instances, not with Redis.',
      ...data.cells.flatMap((c) => {
        const odd = Object.entries(c.load.notRotated).map(([status, n]) => `${n} ${status}`);
        if (c.load.errors) odd.push(`${c.load.errors} errors`);
        return odd.length ? [`${c.name}: ${odd.join(', ')} (should be none)`] : [];
      }),
    ],
  };
}

function tables(data: RedisCostData): Table[] {
  return [costTable(data), memoryTable(data), loadTable(data), planTable(data)];
}

function targets(data: RedisCostData): Row[] {
  const out: Row[] = [];
  for (const kind of ['typical', 'long'] as const) {
    const pair = ratioOf(data, kind);
    if (!pair) continue;
    out.push(
      row(
        'redis',
        `Redis us per refresh, ${HEAVY_USER_SESSIONS} / 1 sessions per user, ${userAgentLabel(kind)} (EVALSHA usec_per_call)`,
        `${fixed(pair.ratio, 2)}x (${fixed(pair.heavy.refresh.usecPerRefresh, 1)} / ${fixed(pair.light.refresh.usecPerRefresh, 1)} us)`,
        `<= ${REDIS_TARGETS.heavyToLightUsec}x`,
        pair.ratio <= REDIS_TARGETS.heavyToLightUsec,
      ),
    );
  }
  for (const c of data.cells.filter((cell) => cell.userAgent === 'typical')) {
    out.push(
      row(
        'redis',
        `Redis bytes per session, ${c.name}, IPv4 (used_memory delta)`,
        `${fixed(c.memory.bytesPerSession, 1)} (${whole(1e9 / c.memory.bytesPerSession)} sessions/GB)`,
        `<= ${REDIS_TARGETS.bytesPerSession}`,
        c.memory.bytesPerSession <= REDIS_TARGETS.bytesPerSession,
      ),
    );
  }
  for (const c of data.cells.filter((cell) => cell.userAgent === 'typical')) {
    out.push(
      row(
        'redis',
        `refreshes/s one redis-server sustains, ${c.name} (Redis CPU; at 100% CPU; ceiling 1e6/us)`,
        `${whole(c.load.rate)} (${fixed(c.load.redisCpu * 100, 0)}%; ${whole(redisBound(c))}; ${whole(1e6 / c.refresh.usecPerRefresh)})`,
      ),
    );
  }
  for (const p of data.plans) {
    out.push(
      row(
        'redis',
        `shards for ${whole(PLAN.activeSessions / 1e6)}M sessions refreshed every ${PLAN.refreshIntervalSeconds / 60} min, ${perUserLabel(p.sessionsPerUser)}`,
        `${p.shards} (by rate ${p.shardsByRate}, by memory ${p.shardsByMemory})`,
      ),
    );
  }
  return out;
}
