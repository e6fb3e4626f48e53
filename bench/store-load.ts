/**
 * Driving `RedisSessionStore.rotate` directly, as fast as one redis-server
 * takes it: the refreshes of many app instances, without their token
 * signing (which scales with the app tier, not with Redis). Sessions are
 * taken in turn, never two refreshes of one session at once, so every call
 * is a genuine rotation of the current refresh token.
 */
import { randomBytes } from 'node:crypto';
import type { RedisSessionStore, SessionMeta } from '../lib/index.js';
import { commandStat, infoNumber, readInfo, statBetween, type Info, type RawSender } from './redis-info.js';
import { median } from './stats.js';

/** What `TokenAuth` passes to `rotate` with its defaults (15 min access tokens, 7 day refresh tokens, 5 s grace). */
export const ROTATE_DEFAULTS = { accessTtl: 15 * 60, refreshTtl: 7 * 86_400, grace: 5 } as const;

export interface LiveSession {
  userId: string;
  sessionId: string;
  /** The current refresh token's id. */
  jti: string;
  meta: SessionMeta;
  busy: boolean;
}

/** The session a refresh token (a JWT this package issued) names: `sub`, `sid`, `jti` of its payload. */
export function liveSessionOf(refreshToken: string, meta: SessionMeta): LiveSession {
  const payload = JSON.parse(Buffer.from(refreshToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const { sub, sid, jti } = payload;
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') {
    throw new Error('bench: a refresh token without sub, sid and jti');
  }
  return { userId: sub, sessionId: sid, jti, meta, busy: false };
}

export interface SustainOptions {
  /** Calls in flight at once, spread over the stores (node-redis pipelines those on one connection). */
  inFlight: number;
  warmupMs: number;
  rounds: number;
  roundMs: number;
}

export interface SustainRound {
  seconds: number;
  refreshes: number;
  rate: number;
  /** Share of one core the redis-server main thread used (INFO cpu, *_main_thread). */
  redisCpu: number;
  /** EVALSHA usec_per_call in this round, under load. */
  usecPerCall: number;
  /** Bytes Redis read from and wrote to its clients (INFO stats total_net_input_bytes, total_net_output_bytes). */
  netIn: number;
  netOut: number;
}

export interface SustainResult {
  connections: number;
  inFlight: number;
  rounds: SustainRound[];
  /** Median of the rounds' rates. */
  rate: number;
  redisCpu: number;
  usecPerCall: number;
  /** Median over the rounds of the bytes Redis read and wrote per refresh (its INFO replies to the bench included: a few KB a round). */
  bytesInPerRefresh: number;
  bytesOutPerRefresh: number;
  /** Rotations answered anything but `rotated` (warm-up included): should be none. */
  notRotated: Record<string, number>;
  errors: number;
}

interface Snapshot {
  at: number;
  refreshes: number;
  cpu: number;
  info: Info;
}

/** Bytes Redis has read from and written to its clients since it started. */
export function netBytes(info: Info): { in: number; out: number } {
  return { in: infoNumber(info, 'total_net_input_bytes'), out: infoNumber(info, 'total_net_output_bytes') };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds of CPU the redis-server main thread has used (the whole process's on Redis before 7). */
export function cpuSeconds(info: Info): number {
  const main = info.used_cpu_user_main_thread === undefined ? '' : '_main_thread';
  return infoNumber(info, `used_cpu_user${main}`) + infoNumber(info, `used_cpu_sys${main}`);
}

/**
 * Refreshes `sessions` in turn through `stores` (one connection each) with
 * `inFlight` calls outstanding, for a warm-up and then `rounds` rounds; `admin`
 * (another connection) reads INFO between rounds.
 */
export async function sustainRefreshes(
  admin: RawSender,
  stores: readonly RedisSessionStore[],
  sessions: LiveSession[],
  options: SustainOptions,
): Promise<SustainResult> {
  if (sessions.length < options.inFlight * 2) {
    throw new Error(`bench: ${sessions.length} sessions are too few for ${options.inFlight} refreshes in flight`);
  }
  let stop = false;
  let refreshes = 0;
  let errors = 0;
  let cursor = 0;
  const notRotated: Record<string, number> = {};
  const next = (): LiveSession => {
    for (;;) {
      const session = sessions[cursor]!;
      cursor = (cursor + 1) % sessions.length;
      if (!session.busy) return session;
    }
  };
  const worker = async (store: RedisSessionStore): Promise<void> => {
    while (!stop) {
      const session = next();
      session.busy = true;
      try {
        const result = await store.rotate({
          now: Math.floor(Date.now() / 1000),
          revocationTtl: ROTATE_DEFAULTS.accessTtl,
          userId: session.userId,
          sessionId: session.sessionId,
          jti: session.jti,
          nextJti: randomBytes(12).toString('base64url'),
          ttl: ROTATE_DEFAULTS.refreshTtl,
          grace: ROTATE_DEFAULTS.grace,
          meta: session.meta,
          window: ROTATE_DEFAULTS.accessTtl,
        });
        if (result.status === 'rotated') {
          session.jti = result.current.jti;
          refreshes++;
        } else {
          notRotated[result.status] = (notRotated[result.status] ?? 0) + 1;
        }
      } catch {
        errors++;
        if (errors >= 100) stop = true;
      } finally {
        session.busy = false;
      }
    }
  };
  const snapshot = async (): Promise<Snapshot> => {
    const info = await readInfo(admin, 'cpu', 'commandstats', 'stats');
    return { at: performance.now(), refreshes, cpu: cpuSeconds(info), info };
  };

  const workers = Array.from({ length: options.inFlight }, (_, i) => worker(stores[i % stores.length]!));
  const rounds: SustainRound[] = [];
  try {
    await sleep(options.warmupMs);
    for (let r = 0; r < options.rounds && !stop; r++) {
      const start = await snapshot();
      await sleep(options.roundMs);
      const end = await snapshot();
      const seconds = (end.at - start.at) / 1000;
      const evalsha = statBetween(commandStat(start.info, 'evalsha'), commandStat(end.info, 'evalsha'));
      rounds.push({
        seconds,
        refreshes: end.refreshes - start.refreshes,
        rate: (end.refreshes - start.refreshes) / seconds,
        redisCpu: (end.cpu - start.cpu) / seconds,
        usecPerCall: evalsha.calls > 0 ? evalsha.usec / evalsha.calls : Number.NaN,
        netIn: netBytes(end.info).in - netBytes(start.info).in,
        netOut: netBytes(end.info).out - netBytes(start.info).out,
      });
    }
  } finally {
    stop = true;
    await Promise.all(workers);
  }
  return {
    connections: stores.length,
    inFlight: options.inFlight,
    rounds,
    rate: median(rounds.map((r) => r.rate)),
    redisCpu: median(rounds.map((r) => r.redisCpu)),
    usecPerCall: median(rounds.map((r) => r.usecPerCall)),
    bytesInPerRefresh: median(rounds.map((r) => r.netIn / r.refreshes)),
    bytesOutPerRefresh: median(rounds.map((r) => r.netOut / r.refreshes)),
    notRotated,
    errors,
  };
}
