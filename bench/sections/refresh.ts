/**
 * Refresh section: `POST /auth/refresh` against a private redis-server, for a
 * population of sessions refreshed in turn, alternating with a bare Express
 * POST of the same body. Redis commands per refresh come from INFO
 * (commandstats, total_commands_processed) around each measured round, and
 * from MONITOR over a short sequential sample, which tells what a client sent
 * apart from what the Lua script ran.
 */
import { randomUUID } from 'node:crypto';
import { createTokenAuth, RedisSessionStore, type TokenAuth } from '../../lib/index.js';
import { metaFor } from '../fixtures.js';
import { randomSecret } from '../keys.js';
import {
  alternate, load, pairedRatio, pairedText, summarize, type Contender, type LoadResult, type PairedRatio, type RoundsSummary,
} from '../load.js';
import type { BenchOptions } from '../options.js';
import { startRedis, startServer, type PrivateRedis, type ServerHandle } from '../processes.js';
import { connectRedis, type RedisClient } from '../redis-client.js';
import { callsBetween, infoNumber, readInfo } from '../redis-info.js';
import { watchCommands } from '../redis-monitor.js';
import { row, type Row } from '../report/rows.js';
import type { SectionOutput } from '../report/section-output.js';
import type { Table } from '../report/table.js';
import type { RefreshServerConfig } from '../servers/refresh.js';
import { fixed, whole } from '../stats.js';
import { bodyOf, cyclingRequest, postRefresh, rotatingRequest, type RotationTally } from '../refresh-requests.js';
import { TokenQueue } from '../token-queue.js';

export const REFRESH_TARGETS = { commandsPerRefresh: 1, ratioToBare: 0.4 } as const;

const PREFIX = 'bench:';
const MONITOR_SAMPLE = 100;

export interface RefreshData {
  population: number;
  connections: number;
  rounds: number;
  duration: number;
  bare: RoundsSummary;
  refresh: RoundsSummary;
  ratioToBare: number;
  pairedRatio: PairedRatio;
  /** Measured rounds only. */
  serverRefreshed: number;
  /** EVALSHA + EVAL calls / refreshes the server made, from commandstats. */
  clientCommandsPerRefresh: number;
  evalsha: number;
  eval: number;
  /** total_commands_processed (without INFO) / refreshes: Redis 7 counts script-run commands here too. */
  totalCommandsPerRefresh: number;
  /** Everything else commandstats counted, per refresh: run inside the script (see `monitor`). */
  otherCommandsPerRefresh: Record<string, number>;
  monitor: { refreshes: number; clientCommandsPerRefresh: Record<string, number>; scriptCommandsPerRefresh: Record<string, number> };
  /** Every run, warm-up included: how the per-request setup behaved. */
  dynamicRequests: RotationTally;
  /** A token rotated out before the load, presented again after it. */
  reuseCheck: { status: number; error: string };
}

interface RoundRecord {
  result: LoadResult;
  calls: Map<string, number>;
  totalCommands: number;
  refreshed: number;
}

function perRefresh(calls: Map<string, number>, refreshes: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, count] of [...calls].sort((a, b) => b[1] - a[1])) out[name] = count / refreshes;
  return out;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sessions of distinct users with realistic metadata, 1,000 at a time; their refresh tokens. */
async function issuePopulation(auth: TokenAuth, count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let start = 0; start < count; start += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - start) }, (_, i) =>
      auth.issue({ userId: randomUUID(), meta: metaFor(start + i) }));
    tokens.push(...(await Promise.all(batch)).map((pair) => pair.refreshToken));
  }
  return tokens;
}

/** What the measured rounds cost Redis, in total. */
function redisCost(records: readonly RoundRecord[]): { calls: Map<string, number>; totalCommands: number; refreshed: number } {
  const calls = new Map<string, number>();
  let totalCommands = 0;
  let refreshed = 0;
  for (const record of records) {
    for (const [name, count] of record.calls) calls.set(name, (calls.get(name) ?? 0) + count);
    totalCommands += record.totalCommands;
    refreshed += record.refreshed;
  }
  return { calls, totalCommands, refreshed };
}

export async function refreshSection(options: BenchOptions): Promise<SectionOutput<RefreshData>> {
  if (options.population < options.connections * 4) {
    throw new TypeError(`bench: --population (${options.population}) must be at least 4 x --connections (${options.connections})`);
  }
  let redis: PrivateRedis | undefined;
  let redisClient: RedisClient | undefined;
  const servers: ServerHandle[] = [];
  try {
    redis = await startRedis();
    const db = await connectRedis(redis.url);
    redisClient = db;
    const accessSecret = randomSecret();
    const refreshSecret = randomSecret();
    const auth = createTokenAuth({
      accessToken: { secret: accessSecret },
      refreshToken: { secret: refreshSecret },
      store: new RedisSessionStore({ client: db, prefix: PREFIX }),
    });
    process.stderr.write(`refresh: issuing ${options.population} sessions\n`);
    const tokens = await issuePopulation(auth, options.population);
    const queue = new TokenQueue(tokens);

    const base = { redisUrl: redis.url, prefix: PREFIX, accessSecret, refreshSecret };
    const refreshConfig: RefreshServerConfig = { kind: 'refresh', ...base };
    const bareConfig: RefreshServerConfig = { kind: 'bare', ...base };
    const [refreshServer, bareServer] = await Promise.all([
      startServer('refresh', refreshConfig, 'refresh handler'), startServer('refresh', bareConfig, 'refresh bare'),
    ]);
    servers.push(refreshServer, bareServer);

    // A genuine refresh works, and leaves behind a token that is rotated out (for the reuse check at the end).
    const spent = queue.take();
    const first = await postRefresh(refreshServer.url, spent);
    if (first.status !== 200 || typeof first.body.refreshToken !== 'string') {
      throw new Error(`bench: a genuine refresh answered ${first.status} ${JSON.stringify(first.body)}`);
    }
    queue.put(first.body.refreshToken);

    const tally: RotationTally = { responses2xx: 0, rotationsSeen: 0, non2xx: 0, unexpectedBodies: 0 };
    const refreshRequest = rotatingRequest(queue, tally);
    const bareRequest = cyclingRequest(tokens.slice(0, 1000).map(bodyOf));

    const records: RoundRecord[] = [];
    const contenders: Contender[] = [
      {
        name: 'bare Express POST',
        run: (duration) => load({ url: bareServer.url, connections: options.connections, duration, requests: [bareRequest] }),
      },
      {
        name: 'refreshHandler + Redis',
        run: async (duration) => {
          const before = await readInfo(db, 'stats', 'commandstats');
          const countersBefore = await refreshServer.counters();
          const result = await load({ url: refreshServer.url, connections: options.connections, duration, requests: [refreshRequest] });
          await settle(300); // requests in flight when the load stopped still run on the server
          const after = await readInfo(db, 'stats', 'commandstats');
          const countersAfter = await refreshServer.counters();
          records.push({
            result,
            calls: callsBetween(before, after),
            totalCommands: infoNumber(after, 'total_commands_processed') - infoNumber(before, 'total_commands_processed'),
            refreshed: countersAfter.refreshed! - countersBefore.refreshed!,
          });
          return result;
        },
      },
    ];
    const rounds = await alternate(contenders, {
      rounds: options.rounds, duration: options.duration, warmup: options.warmup, label: 'refresh',
    });
    const measured = records.slice(options.warmup > 0 ? 1 : 0);

    const { calls, totalCommands, refreshed } = redisCost(measured);
    const info = calls.get('info') ?? 0;
    const evalsha = calls.get('evalsha') ?? 0;
    const evalCalls = calls.get('eval') ?? 0;
    const other = new Map([...calls].filter(([name]) => !['info', 'evalsha', 'eval'].includes(name)));

    const monitor = await monitorSample(db, refreshServer.url, queue);
    const reuse = await postRefresh(refreshServer.url, spent);

    const bare = summarize(rounds.get('bare Express POST')!);
    const refresh = summarize(rounds.get('refreshHandler + Redis')!);
    const data: RefreshData = {
      population: options.population, connections: options.connections, rounds: options.rounds, duration: options.duration,
      bare, refresh, ratioToBare: refresh.rps / bare.rps, pairedRatio: pairedRatio(refresh, bare),
      serverRefreshed: refreshed,
      clientCommandsPerRefresh: (evalsha + evalCalls) / refreshed,
      evalsha, eval: evalCalls,
      totalCommandsPerRefresh: (totalCommands - info) / refreshed,
      otherCommandsPerRefresh: perRefresh(other, refreshed),
      monitor,
      dynamicRequests: tally,
      reuseCheck: { status: reuse.status, error: String(reuse.body.error) },
    };
    return { tables: tables(data), targets: targets(data), data };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    if (redisClient?.isOpen) redisClient.destroy();
    await redis?.stop();
  }
}

/** Sequential refreshes while MONITOR watches: who sent each command, a client or the Lua script. */
async function monitorSample(client: RedisClient, url: string, queue: TokenQueue): Promise<RefreshData['monitor']> {
  const watched = await watchCommands(client, async () => {
    for (let i = 0; i < MONITOR_SAMPLE; i++) {
      const { status, body } = await postRefresh(url, queue.take());
      if (status !== 200 || typeof body.refreshToken !== 'string') {
        throw new Error(`bench: refresh answered ${status} during the MONITOR sample`);
      }
      queue.put(body.refreshToken);
    }
  });
  return {
    refreshes: MONITOR_SAMPLE,
    clientCommandsPerRefresh: perRefresh(watched.fromClients, MONITOR_SAMPLE),
    scriptCommandsPerRefresh: perRefresh(watched.fromScripts, MONITOR_SAMPLE),
  };
}

const list = (perOne: Record<string, number>): string =>
  Object.entries(perOne).map(([name, n]) => `${name.toUpperCase()} ${fixed(n, 2)}`).join(', ') || 'none';

function tables(data: RefreshData): Table[] {
  const line = (name: string, s: RoundsSummary, ratio: number, paired: string): string[] => [
    name, whole(s.rps), s.rounds.map(whole).join(' / '), fixed(ratio, 3), paired, fixed(s.p50, 2), fixed(s.p99, 2), whole(s.non2xx + s.errors),
  ];
  const { dynamicRequests: d } = data;
  return [{
    title: `POST /auth/refresh: ${data.population} sessions refreshed in turn, ${data.connections} connections, ${data.rounds} alternating rounds of ${data.duration} s, median`,
    head: ['contender', 'req/s', 'rounds (req/s)', 'x bare', 'x bare per round', 'p50 ms', 'p99 ms', 'non-2xx + errors'],
    numeric: [1, 3, 5, 6, 7],
    rows: [
      line('bare Express POST', data.bare, 1, '-'),
      line('refreshHandler + Redis', data.refresh, data.ratioToBare, pairedText(data.pairedRatio)),
    ],
    notes: [
      `Redis, measured rounds: ${whole(data.serverRefreshed)} refreshes, ${whole(data.evalsha)} EVALSHA + ${whole(data.eval)} EVAL`
        + ` = ${fixed(data.clientCommandsPerRefresh, 3)} client command(s) per refresh.`,
      `total_commands_processed per refresh: ${fixed(data.totalCommandsPerRefresh, 2)} (Redis 7 counts the script's own calls there too).`,
      `Run inside the script, per refresh (commandstats): ${list(data.otherCommandsPerRefresh)}.`,
      `MONITOR, ${data.monitor.refreshes} sequential refreshes: sent by a client ${list(data.monitor.clientCommandsPerRefresh)};`
        + ` run by Lua ${list(data.monitor.scriptCommandsPerRefresh)}.`,
      `Per-request setup (all runs): ${whole(d.responses2xx)} 2xx, ${whole(d.rotationsSeen)} new tokens seen, ${whole(d.non2xx)} non-2xx,`
        + ` ${whole(d.unexpectedBodies)} answers without a new token.`,
      `A token rotated out before the load, presented after it: ${data.reuseCheck.status} ${data.reuseCheck.error}.`,
    ],
  }];
}

function targets(data: RefreshData): Row[] {
  const monitorClient = Object.values(data.monitor.clientCommandsPerRefresh).reduce((a, b) => a + b, 0);
  const d = data.dynamicRequests;
  const clean = d.non2xx === 0 && d.unexpectedBodies === 0 && d.rotationsSeen === d.responses2xx;
  return [
    row('refresh', 'Redis commands sent per refresh (commandstats; MONITOR)',
      `${fixed(data.clientCommandsPerRefresh, 3)}; ${fixed(monitorClient, 2)}`, `exactly ${REFRESH_TARGETS.commandsPerRefresh}`,
      data.clientCommandsPerRefresh === REFRESH_TARGETS.commandsPerRefresh && monitorClient === REFRESH_TARGETS.commandsPerRefresh),
    row('refresh', 'refresh req/s / bare Express POST (per round)', `${fixed(data.ratioToBare, 3)} (${pairedText(data.pairedRatio)})`,
      `>= ${fixed(REFRESH_TARGETS.ratioToBare, 2)}`,
      clean && data.ratioToBare >= REFRESH_TARGETS.ratioToBare),
    row('refresh', 'refresh p50 / p99 latency', `${fixed(data.refresh.p50, 2)} / ${fixed(data.refresh.p99, 2)} ms`),
    row('refresh', 'every session refreshed in turn, all answers 200 with a new token',
      `${whole(d.rotationsSeen)} of ${whole(d.responses2xx + d.non2xx)}`, 'all', clean),
    row('refresh', 'rotated-out token presented again', `${data.reuseCheck.status} ${data.reuseCheck.error}`, '401 refresh_reused',
      data.reuseCheck.status === 401 && data.reuseCheck.error === 'refresh_reused'),
  ];
}
