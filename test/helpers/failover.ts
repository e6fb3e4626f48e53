/**
 * Continuous refresh through a Redis Cluster failover: users that each keep
 * refreshing their current refresh token (on a 503, waiting the Retry-After
 * second and presenting the same token again), while a master is SIGKILLed
 * and its replica takes over. Records every outcome with its time, so a
 * suite can assert that no session was lost and print how long the users on
 * the killed shard were refused.
 */
import { createTokenAuth, RedisSessionStore, StoreUnavailableError, type TokenAuth } from '../../lib/index.js';
import { ACCESS, REFRESH } from './token-auth.js';
import type { RedisCluster } from './redis-cluster.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What one refresh came to. */
export interface Outcome {
  user: string;
  /** When the refresh was asked, and when it settled (Date.now()). */
  at: number;
  settled: number;
  /** 'ok': a new pair; '503': StoreUnavailableError; anything else is a failure of the test. */
  kind: 'ok' | '503' | 'other';
  /** The refresh token presented. */
  presented: string;
  /** The error's name and message, or the new refresh token. */
  detail: string;
  /** The error's cause (the Redis client's error behind a 503). */
  cause?: string;
}

export interface User {
  id: string;
  /** The port of the master serving the user's key, as last looked up (the suite updates it after each failover). */
  master: number;
  token: string;
}

export interface KillReport {
  port: number;
  /** When the master was killed (Date.now()). */
  killedAt: number;
  /** ms from the kill until waitForFailover saw the replica serve the slots. */
  failover: number;
  /** ms from the kill to the first success of a user on the killed shard (undefined: none). */
  firstBack: number | undefined;
  /** ms from the kill until every user on the killed shard had succeeded again (undefined: not all). */
  allBack: number | undefined;
  /** ms from the kill until the wait ended (every user back, the cap, or `lost`). */
  waited: number;
  /** The wait ended early at a refresh answered neither a new pair nor a 503 (a lost session). */
  lost: boolean;
  /** Users on the killed shard, and the 503s they got from the kill on. */
  users: number;
  refused: number;
}

/** A TokenAuth on `client` as an app would run it: Redis's clock, 5 s reuse grace, `timeout` ms per command. */
export function failoverAuth(client: object, prefix: string, timeout: number): TokenAuth {
  return createTokenAuth({
    accessToken: { secret: ACCESS },
    refreshToken: { secret: REFRESH, reuseGrace: 5 },
    store: new RedisSessionStore({ client, prefix, timeout }),
  });
}

/** Logs in `count` users, spread over the masters (retrying 503s for up to 10 s), each with the master of its key. */
export async function loginUsers(
  auth: TokenAuth,
  cluster: RedisCluster,
  prefix: string,
  count: number,
): Promise<User[]> {
  const users: User[] = [];
  for (let i = 0; i < count; i++) {
    const id = `user-${i}`;
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const pair = await auth.issue({ userId: id });
        users.push({ id, master: (await cluster.masterForKey(`${prefix}{${id}}`)).port, token: pair.refreshToken });
        break;
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || Date.now() > deadline) throw error;
        await sleep(200);
      }
    }
  }
  return users;
}

/**
 * Every user refreshes in a loop until `stop` resolves: on success keeps the new
 * token and goes on after `pace` ms; on a 503 waits 1 s (the Retry-After) and
 * presents the same token again; on anything else records it and stops that user.
 */
export function refreshLoops(
  auth: TokenAuth,
  users: User[],
  outcomes: Outcome[],
  stop: { stopped: boolean },
  pace: number,
): Promise<void> {
  return Promise.all(
    users.map(async (user) => {
      while (!stop.stopped) {
        const at = Date.now();
        const presented = user.token;
        try {
          const pair = await auth.refresh(presented);
          outcomes.push({ user: user.id, at, settled: Date.now(), kind: 'ok', presented, detail: pair.refreshToken });
          user.token = pair.refreshToken;
          await sleep(pace);
        } catch (error) {
          const e = error as Error;
          const unavailable = error instanceof StoreUnavailableError;
          outcomes.push({
            user: user.id,
            at,
            settled: Date.now(),
            kind: unavailable ? '503' : 'other',
            presented,
            detail: `${e.name}: ${e.message}`,
            cause: e.cause === undefined ? undefined : String(e.cause),
          });
          if (!unavailable) return;
          await sleep(1000);
        }
      }
    }),
  ).then(() => {});
}

/**
 * Kills the master serving `victims`' keys while the loops run, waits for the
 * failover, and resolves once every user has refreshed successfully `after`
 * times since the failover, `cap` ms after the kill, or at once when a refresh
 * was answered neither a new pair nor a 503 (`lost` in the report).
 */
export async function killDuringRefresh(
  cluster: RedisCluster,
  users: User[],
  victims: User[],
  outcomes: Outcome[],
  { after = 2, cap = 30_000 } = {},
): Promise<KillReport> {
  const port = victims[0]!.master;
  const killedAt = Date.now();
  await cluster.killMaster(port);
  const failover = await cluster.waitForFailover(port, cap);
  const failedOverAt = killedAt + failover;
  const done = (): boolean =>
    users.every(
      (u) => outcomes.filter((o) => o.user === u.id && o.kind === 'ok' && o.at >= failedOverAt).length >= after,
    );
  const lost = (): boolean => outcomes.some((o) => o.kind === 'other');
  while (!done() && Date.now() - killedAt < cap && !lost()) await sleep(50);
  const waited = Date.now() - killedAt;
  const victimIds = new Set(victims.map((v) => v.id));
  const back = outcomes.filter((o) => victimIds.has(o.user) && o.kind === 'ok' && o.at >= killedAt);
  const firstOk = new Map<string, number>();
  for (const o of back) if (!firstOk.has(o.user)) firstOk.set(o.user, o.settled);
  return {
    port,
    killedAt,
    failover,
    firstBack: back.length === 0 ? undefined : Math.min(...back.map((o) => o.settled)) - killedAt,
    allBack: firstOk.size === victims.length ? Math.max(...firstOk.values()) - killedAt : undefined,
    waited,
    lost: lost(),
    users: victims.length,
    refused: outcomes.filter((o) => victimIds.has(o.user) && o.kind === '503' && o.at >= killedAt).length,
  };
}

/** The `jti` of a token (its payload, unverified), for reports. */
export function jtiOf(token: string): string {
  try {
    return String(
      (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { jti?: unknown }).jti,
    );
  } catch {
    return '?';
  }
}

/**
 * Why a refresh was refused with something other than a 503, as far as the
 * record tells: when the token presented had been received (before or after
 * the kill), the earlier attempts with it, and which way of losing a session
 * fits: (i) a rotation that ran on the old master and reached its replica,
 * whose reply was lost, retried after the 5 s grace window; (ii) a rotation
 * that was answered but had not reached the replica when the master died, so
 * the new master does not know the token it handed out.
 */
export function explain(failure: Outcome, outcomes: Outcome[], killedAt: number): string {
  const rel = (t: number): string => `${t - killedAt >= 0 ? '+' : ''}${t - killedAt} ms`;
  const received = outcomes.find((o) => o.kind === 'ok' && o.detail === failure.presented);
  const tries = outcomes.filter((o) => o.presented === failure.presented && o !== failure);
  const firstTry = tries[0]?.at ?? failure.at;
  let fits = 'neither (i) nor (ii) fits the timing';
  if (tries.some((o) => o.kind === '503') && failure.at - firstTry > 5000) {
    fits = `(i) fits: first tried at ${rel(firstTry)}, answered 503, refused ${failure.at - firstTry} ms later (grace 5000 ms)`;
  } else if (received && received.settled <= killedAt && /reused|revoked/i.test(failure.detail)) {
    fits = `(ii) fits: the token was handed out ${killedAt - received.settled} ms before the kill`;
  }
  return (
    `${failure.user}: ${failure.detail} at ${rel(failure.at)}, presenting jti ${jtiOf(failure.presented)}` +
    ` ${received ? `handed out at ${rel(received.settled)}` : 'from login'};` +
    ` earlier tries with it: [${tries.map((o) => `${o.kind} at ${rel(o.at)}`).join(', ')}]; ${fits}`
  );
}

/** Refreshes `user`'s token once, retrying 503s for up to `within` ms; resolves with the outcome. */
export async function finalRefresh(auth: TokenAuth, user: User, within = 10_000): Promise<Outcome> {
  const deadline = Date.now() + within;
  for (;;) {
    const outcomes: Outcome[] = [];
    await refreshLoops(
      auth,
      [user],
      outcomes,
      {
        get stopped() {
          return outcomes.length > 0;
        },
      },
      0,
    );
    const outcome = outcomes[0]!;
    if (outcome.kind !== '503' || Date.now() > deadline) return outcome;
  }
}
