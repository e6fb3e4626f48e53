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
import { alternate, load, pairedRatio, summarize, type Contender, type LoadResult } from '../load.js';
import type { BenchOptions } from '../options.js';
import { startRedis, startServer, type PrivateRedis, type ServerHandle } from '../processes.js';
import { connectRedis, type RedisClient } from '../redis-client.js';
import { callsBetween, infoNumber, readInfo } from '../redis-info.js';
import { watchCommands } from '../redis-monitor.js';
import type { SectionOutput } from '../report/section-output.js';
import type { RefreshServerConfig } from '../servers/refresh.js';
import { bodyOf, cyclingRequest, postRefresh, rotatingRequest, type RotationTally } from '../refresh-requests.js';
import { TokenQueue } from '../token-queue.js';
import { refreshTables, refreshTargets, type RefreshData } from './refresh-report.js';

export { REFRESH_TARGETS, type RefreshData } from './refresh-report.js';

const PREFIX = 'bench:';
const MONITOR_SAMPLE = 100;

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
      auth.issue({ userId: randomUUID(), meta: metaFor(start + i) }),
    );
    tokens.push(...(await Promise.all(batch)).map((pair) => pair.refreshToken));
  }
  return tokens;
}

/** What the measured rounds cost Redis, in total. */
function redisCost(records: readonly RoundRecord[]): {
  calls: Map<string, number>;
  totalCommands: number;
  refreshed: number;
} {
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
    throw new TypeError(
      `bench: --population (${options.population}) must be at least 4 x --connections (${options.connections})`,
    );
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
      startServer('refresh', refreshConfig, 'refresh handler'),
      startServer('refresh', bareConfig, 'refresh bare'),
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
        run: (duration) =>
          load({ url: bareServer.url, connections: options.connections, duration, requests: [bareRequest] }),
      },
      {
        name: 'refreshHandler + Redis',
        run: async (duration) => {
          const before = await readInfo(db, 'stats', 'commandstats');
          const countersBefore = await refreshServer.counters();
          const result = await load({
            url: refreshServer.url,
            connections: options.connections,
            duration,
            requests: [refreshRequest],
          });
          await settle(300); // requests in flight when the load stopped still run on the server
          const after = await readInfo(db, 'stats', 'commandstats');
          const countersAfter = await refreshServer.counters();
          records.push({
            result,
            calls: callsBetween(before, after),
            totalCommands:
              infoNumber(after, 'total_commands_processed') - infoNumber(before, 'total_commands_processed'),
            refreshed: countersAfter.refreshed! - countersBefore.refreshed!,
          });
          return result;
        },
      },
    ];
    const rounds = await alternate(contenders, {
      rounds: options.rounds,
      duration: options.duration,
      warmup: options.warmup,
      label: 'refresh',
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
      population: options.population,
      connections: options.connections,
      rounds: options.rounds,
      duration: options.duration,
      bare,
      refresh,
      ratioToBare: refresh.rps / bare.rps,
      pairedRatio: pairedRatio(refresh, bare),
      serverRefreshed: refreshed,
      clientCommandsPerRefresh: (evalsha + evalCalls) / refreshed,
      evalsha,
      eval: evalCalls,
      totalCommandsPerRefresh: (totalCommands - info) / refreshed,
      otherCommandsPerRefresh: perRefresh(other, refreshed),
      monitor,
      dynamicRequests: tally,
      reuseCheck: { status: reuse.status, error: String(reuse.body.error) },
    };
    return { tables: refreshTables(data), targets: refreshTargets(data), data };
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
