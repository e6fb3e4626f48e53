/**
 * The Redis section's capacity plan: the deployment it is for (PLAN: 10 million
 * active sessions refreshing every 15 minutes), the shards a measured cell
 * implies by refresh rate and by memory, and the plan's table.
 */
import { HEAVY_USER_SESSIONS, perUserLabel, type RedisCell } from '../redis-measure.js';
import type { Table } from '../report/table.js';
import { fixed, whole } from '../stats.js';

/** The deployment the capacity plan is for. */
export const PLAN = {
  activeSessions: 10_000_000,
  /** Each session refreshes once per access-token lifetime (15 minutes). */
  refreshIntervalSeconds: 15 * 60,
  /** Use at most half of what a shard sustains: peaks, logins and logouts, failover, replication and snapshots. */
  headroom: 0.5,
} as const;

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
  };
}

export function planTable(data: {
  plans: readonly CapacityPlan[];
  shardMemoryGb: number;
  loadAverage: { start: number; end: number };
}): Table {
  const column = (p: CapacityPlan): string => `typical UA, ${perUserLabel(p.sessionsPerUser)}`;
  const line = (what: string, cell: (p: CapacityPlan) => string): string[] => [what, ...data.plans.map(cell)];
  return {
    title: `Capacity plan: ${whole(PLAN.activeSessions)} active sessions, each refreshed every ${PLAN.refreshIntervalSeconds / 60} minutes`,
    head: ['', ...data.plans.map(column)],
    numeric: data.plans.map((_, i) => i + 1),
    rows: [
      line('refreshes/s needed', (p) => whole(p.neededRate)),
      line('refreshes/s one shard sustains (measured)', (p) => whole(p.sustainedRate)),
      line(`usable per shard at ${PLAN.headroom * 100}% headroom`, (p) => whole(p.sustainedRate * PLAN.headroom)),
      line('shards by refresh rate', (p) => String(p.shardsByRate)),
      line(
        '(refreshes/s at 100% Redis CPU; shards by it)',
        (p) => `${whole(p.redisBoundRate)}; ${p.shardsByRedisBoundRate}`,
      ),
      line('bytes per session (measured)', (p) => fixed(p.bytesPerSession, 1)),
      line('memory for all sessions, GB', (p) => fixed((PLAN.activeSessions * p.bytesPerSession) / 1e9, 2)),
      line(`shards by memory (${data.shardMemoryGb} GB usable each)`, (p) => String(p.shardsByMemory)),
      line('shards needed (the larger)', (p) => String(p.shards)),
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
    ],
  };
}
