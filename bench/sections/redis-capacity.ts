/**
 * The Redis section's capacity plan: the deployment it is for (PLAN: 10 million
 * active sessions refreshing every 15 minutes), the shards a measured cell
 * implies by refresh rate and by memory, and the plan's table. Beside the
 * token pair's cells, a session store (express-session + connect-redis,
 * bench/session-store-load.ts): what Redis does for either at 10k, 100k and
 * 1M guarded requests per second (commands, main-thread cores, network),
 * from the figures measured per refresh and per request.
 */
import { HEAVY_USER_SESSIONS, perUserLabel, type RedisCell } from '../redis-measure.js';
import type { Table } from '../report/table.js';
import type { SessionStoreCost } from '../session-store-load.js';
import { fixed, whole } from '../stats.js';

/** The deployment the capacity plan is for. */
export const PLAN = {
  activeSessions: 10_000_000,
  /** Each session refreshes once per access-token lifetime (15 minutes). */
  refreshIntervalSeconds: 15 * 60,
  /** Use at most half of what a shard sustains: peaks, logins and logouts, failover, replication and snapshots. */
  headroom: 0.5,
} as const;

/** Guarded requests per second (all app instances together) the token pair and the session store are compared at. */
export const REQUEST_RATES = [10_000, 100_000, 1_000_000] as const;

/**
 * Refreshes per second of PLAN's sessions when they send `requestRate`
 * guarded requests per second between them, each session at random
 * (Poisson) times: a token lasts the refresh interval, then the session's
 * next request, on average sessions / requestRate seconds later, refreshes
 * it. So each session refreshes once per (interval + sessions / rate): about
 * the request rate while sessions send less than one request per token, and
 * at most sessions / interval.
 */
export function refreshRateAt(requestRate: number): number {
  return PLAN.activeSessions / (PLAN.refreshIntervalSeconds + PLAN.activeSessions / requestRate);
}

export interface CapacityPlan {
  /** Which cell: `1` or `100` sessions per user, typical user agent. */
  sessionsPerUser: number;
  neededRate: number;
  sustainedRate: number;
  shardsByRate: number;
  /** The sustained rate scaled to a fully busy Redis main thread (rate / Redis CPU share). */
  redisBoundRate: number;
  shardsByRedisBoundRate: number;
  bytesPerSession: number;
  shardsByMemory: number;
  shards: number;
  /** Redis main-thread CPU per refresh under the sustained load, microseconds (its I/O included). */
  cpuMicrosecondsPerRefresh: number;
  /** Bytes in and out of Redis per refresh under the sustained load. */
  bytesPerRefresh: number;
}

/** What the server would sustain with its main thread fully busy: the rate over the share of a core it used. */
export const redisBound = (cell: RedisCell): number => cell.load.rate / Math.min(1, cell.load.redisCpu);

export function planFor(cell: RedisCell, shardMemoryGb: number): CapacityPlan {
  const neededRate = PLAN.activeSessions / PLAN.refreshIntervalSeconds;
  const shardsByRate = Math.ceil(neededRate / (cell.load.rate * PLAN.headroom));
  const redisBoundRate = redisBound(cell);
  const shardsByMemory = Math.ceil((PLAN.activeSessions * cell.memory.bytesPerSession) / (shardMemoryGb * 1e9));
  return {
    sessionsPerUser: cell.sessionsPerUser,
    neededRate,
    sustainedRate: cell.load.rate,
    shardsByRate,
    redisBoundRate,
    shardsByRedisBoundRate: Math.ceil(neededRate / (redisBoundRate * PLAN.headroom)),
    bytesPerSession: cell.memory.bytesPerSession,
    shardsByMemory,
    shards: Math.max(shardsByRate, shardsByMemory),
    cpuMicrosecondsPerRefresh: (cell.load.redisCpu / cell.load.rate) * 1e6,
    bytesPerRefresh: cell.load.bytesInPerRefresh + cell.load.bytesOutPerRefresh,
  };
}

/** What one guarded request of a session store costs Redis, from its measured load. */
function perRequest(store: SessionStoreCost): { commands: number; cpuMicroseconds: number; bytes: number } {
  return {
    commands: Object.values(store.commandsPerRequest).reduce((sum, n) => sum + n, 0),
    cpuMicroseconds: (store.redisCpu / store.rate) * 1e6,
    bytes: store.bytesInPerRequest + store.bytesOutPerRequest,
  };
}

/** Shards for `cores` of Redis main-thread CPU, each shard used up to PLAN.headroom of its one core, and at least `byMemory`. */
const shards = (cores: number, byMemory: number): number => Math.max(Math.ceil(cores / PLAN.headroom), byMemory);

/**
 * The plan at each of REQUEST_RATES: Redis commands/s, main-thread cores,
 * network and shards for every column (the token pair's refreshes, one
 * EVALSHA each; the session store's commands per request); `store` is the
 * last column.
 */
function rateRows(
  plans: readonly CapacityPlan[],
  store: SessionStoreCost | undefined,
  shardMemoryGb: number,
): string[][] {
  const storeCost = store && perRequest(store);
  const storeShardsByMemory = store && Math.ceil((PLAN.activeSessions * store.bytesPerSession) / (shardMemoryGb * 1e9));
  return REQUEST_RATES.flatMap((rate) => {
    const refreshes = refreshRateAt(rate);
    const at = `at ${whole(rate)} guarded req/s`;
    const both = (
      pair: (p: CapacityPlan) => string,
      session: (c: NonNullable<typeof storeCost>) => string,
    ): string[] => [...plans.map(pair), ...(storeCost ? [session(storeCost)] : [])];
    return [
      [
        `${at}: Redis commands/s sent (token pair: refreshes)`,
        ...both(
          () => whole(refreshes),
          (c) => whole(rate * c.commands),
        ),
      ],
      [
        `${at}: Redis main-thread cores`,
        ...both(
          (p) => fixed((refreshes * p.cpuMicrosecondsPerRefresh) / 1e6, 2),
          (c) => fixed((rate * c.cpuMicroseconds) / 1e6, 2),
        ),
      ],
      [
        `${at}: network to and from Redis, MB/s`,
        ...both(
          (p) => fixed((refreshes * p.bytesPerRefresh) / 1e6, 1),
          (c) => fixed((rate * c.bytes) / 1e6, 1),
        ),
      ],
      [
        `${at}: shards (main-thread cores at ${PLAN.headroom * 100}% headroom, or by memory)`,
        ...both(
          (p) => String(shards((refreshes * p.cpuMicrosecondsPerRefresh) / 1e6, p.shardsByMemory)),
          (c) => String(shards((rate * c.cpuMicroseconds) / 1e6, storeShardsByMemory!)),
        ),
      ],
    ];
  });
}

export const SESSION_STORE = 'session store (express-session + connect-redis)';

export function planTable(data: {
  plans: readonly CapacityPlan[];
  sessionStore?: SessionStoreCost | undefined;
  shardMemoryGb: number;
  loadAverage: { start: number; end: number };
}): Table {
  const store = data.sessionStore;
  const column = (p: CapacityPlan): string => `typical UA, ${perUserLabel(p.sessionsPerUser)}`;
  // The session store's cell of a row, when it was measured.
  const line = (
    what: string,
    cell: (p: CapacityPlan) => string,
    session?: (s: SessionStoreCost) => string,
  ): string[] => [what, ...data.plans.map(cell), ...(store ? [session ? session(store) : '-'] : [])];
  const storeMemory = store && (PLAN.activeSessions * store.bytesPerSession) / 1e9;
  return {
    title: `Capacity plan: ${whole(PLAN.activeSessions)} active sessions, each refreshed every ${PLAN.refreshIntervalSeconds / 60} minutes`,
    head: ['', ...data.plans.map(column), ...(store ? [SESSION_STORE] : [])],
    numeric: [...data.plans.map((_, i) => i + 1), ...(store ? [data.plans.length + 1] : [])],
    rows: [
      line('refreshes/s needed', (p) => whole(p.neededRate)),
      line(
        'refreshes/s one shard sustains (measured; session store: requests/s)',
        (p) => whole(p.sustainedRate),
        (s) => whole(s.rate),
      ),
      line(
        `usable per shard at ${PLAN.headroom * 100}% headroom`,
        (p) => whole(p.sustainedRate * PLAN.headroom),
        (s) => whole(s.rate * PLAN.headroom),
      ),
      line('shards by refresh rate', (p) => String(p.shardsByRate)),
      line(
        '(refreshes/s at 100% Redis CPU; shards by it)',
        (p) => `${whole(p.redisBoundRate)}; ${p.shardsByRedisBoundRate}`,
        (s) => `${whole(s.rate / Math.min(1, s.redisCpu))} requests/s`,
      ),
      line(
        'bytes per session (measured)',
        (p) => fixed(p.bytesPerSession, 1),
        (s) => fixed(s.bytesPerSession, 1),
      ),
      line(
        'memory for all sessions, GB',
        (p) => fixed((PLAN.activeSessions * p.bytesPerSession) / 1e9, 2),
        () => fixed(storeMemory!, 2),
      ),
      line(
        `shards by memory (${data.shardMemoryGb} GB usable each)`,
        (p) => String(p.shardsByMemory),
        () => String(Math.ceil(storeMemory! / data.shardMemoryGb)),
      ),
      line('shards needed (the larger)', (p) => String(p.shards)),
      ...rateRows(data.plans, store, data.shardMemoryGb),
    ],
    notes: [
      `Assumptions: ${whole(PLAN.activeSessions)} live sessions refresh evenly, once per ${PLAN.refreshIntervalSeconds / 60}-minute access token` +
        ` (${whole(PLAN.activeSessions)} / ${PLAN.refreshIntervalSeconds} s); a shard runs at most ${PLAN.headroom * 100}% of the rate it sustained here` +
        ' (the rest for peaks, logins, logouts, failover, replication and snapshots); shards = ceil(needed / (sustained x headroom)).',
      `Memory: ${data.shardMemoryGb} GB (10^9 bytes) of sessions per shard (--shard-memory-gb; e.g. a 32 GB node with maxmemory` +
        ' below it and room for fork copy-on-write), sessions as measured above (typical user agent, IPv4, no claims), replicas not counted.',
      "Shards by refresh rate use the rate achieved here: when Redis CPU stayed well below 100% that is the bench client's limit, and" +
        ' the count is conservative; the row in brackets uses the rate at 100% Redis CPU instead.',
      "One shard here is one redis-server on this machine; users spread over shards by their key's hash tag." +
        ` The ${perUserLabel(HEAVY_USER_SESSIONS)} column is the extreme where every user holds the most sessions allowed.`,
      `Load average (1 min) ${fixed(data.loadAverage.start, 2)} when the section started, ${fixed(data.loadAverage.end, 2)} when it ended` +
        ' (2 cores: above ~1, another tenant was busy and the rates are lower and noisier).',
      ...(store ? sessionStoreNotes(store, data.plans) : []),
    ],
  };
}

function sessionStoreNotes(store: SessionStoreCost, plans: readonly CapacityPlan[]): string[] {
  const cost = perRequest(store);
  const commands = Object.entries(store.commandsPerRequest)
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name.toUpperCase()} ${fixed(n, 2)}`)
    .join(', ');
  return [
    `${SESSION_STORE}: connect-redis's get then touch per request (what express-session does with its defaults), driven like the` +
      ` refreshes above (${store.connections} connections, ${store.inFlight} in flight, median of ${store.rounds.length} rounds) over` +
      ` ${whole(store.sessions)} sessions of a user id and a role: ${commands} per request; Redis main thread` +
      ` ${fixed(cost.cpuMicroseconds, 1)} us of CPU and ${whole(cost.bytes)} bytes in + out per request` +
      `${store.missing + store.errors > 0 ? `; ${store.missing} sessions not found and ${store.errors} errors (should be none)` : ''}.`,
    `Token pair, per refresh (one EVALSHA; sustained load above): ${plans
      .map(
        (p) =>
          `${perUserLabel(p.sessionsPerUser)} ${fixed(p.cpuMicrosecondsPerRefresh, 1)} us of Redis CPU and ${whole(p.bytesPerRefresh)} bytes`,
      )
      .join('; ')}. A guarded request costs it no Redis command (checkRevocation reads the revocation record` +
      ' once per app instance, not per request).',
    `"at N guarded req/s": the ${whole(PLAN.activeSessions)} sessions send N requests/s between them at random times; a session` +
      ` refreshes on its first request after its ${PLAN.refreshIntervalSeconds / 60}-minute token expired, so once per` +
      ` (${PLAN.refreshIntervalSeconds} s + sessions / N): ${REQUEST_RATES.map((r) => `${whole(refreshRateAt(r))} refreshes/s at ${whole(r)}`).join(', ')}.` +
      ' The session store reads (and touches) Redis on every request. Cores and network scale the per-operation figures measured' +
      ' here (one machine, pipelined calls); Redis is single-threaded, so more than about one core means more shards.',
  ];
}
