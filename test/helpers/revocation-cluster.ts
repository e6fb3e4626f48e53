/**
 * Two app instances on one Redis Cluster for the revocation record's tests:
 * A writes through its own cluster client; B follows every shard through a
 * gate the test can hold (its store gets `sendCommand` + `cluster: true`, so
 * the step scripts of one shard can be stopped while A writes), with a clock
 * the test sets, and a checked and a plain route.
 */
import { expect } from 'chai';
import request from 'supertest';
import {
  createTokenAuth,
  RedisSessionStore,
  StoreUnavailableError,
  type AuthContext,
  type TokenAuth,
  type TokenPair,
} from '../../lib/index.js';
import { shardedLayout, shardOf } from '../../lib/stores/redis/layout.js';
import { scripts } from '../../lib/stores/redis/scripts.js';
import { firstKey } from '../../lib/stores/redis/connection.js';
import type { ClusterSetup } from './redis-cluster-clients.js';
import { ACCESS, decode, REFRESH } from './token-auth.js';
import { checkedAndPlain } from './express-app.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms; throws after `limit` ms (generous: a bound on a wait, never on speed). */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  limit = 15_000,
): Promise<void> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > limit) throw new Error(`not within ${limit} ms: ${what}`);
    await sleep(10);
  }
}

const isStep = (args: string[]): boolean =>
  (args[0] === 'EVALSHA' && args[1] === scripts.step.sha) || (args[0] === 'EVAL' && args[1] === scripts.step.source);

/** B's sends: the feed's steps of one stream can be held (while held, none reaches Redis). */
export class StepGate {
  readonly #setup: ClusterSetup;
  #held: { stream: string; until: Promise<void>; release: () => void } | undefined;
  #inFlight = 0;
  /** The next step of this stream: sent to Redis at once, its reply handed over only on `release`. */
  #delayed: { stream: string; sent: () => void; until: Promise<void> } | undefined;
  /** Steps answered so far, by stream. */
  readonly steps = new Map<string, number>();

  constructor(setup: ClusterSetup) {
    this.#setup = setup;
  }

  readonly send = async (args: string[], key?: string): Promise<unknown> => {
    const stream = isStep(args) ? args[3]! : undefined;
    while (stream !== undefined && this.#held?.stream === stream) await this.#held.until;
    if (stream !== undefined) this.#inFlight += 1;
    try {
      const reply = await this.#setup.send(key ?? firstKey(args) ?? '', args);
      const delayed = this.#delayed;
      if (delayed !== undefined && delayed.stream === stream) {
        this.#delayed = undefined;
        delayed.sent();
        await delayed.until;
      }
      return reply;
    } finally {
      if (stream !== undefined) {
        this.#inFlight -= 1;
        this.steps.set(stream, (this.steps.get(stream) ?? 0) + 1);
      }
    }
  };

  async nextSteps(stream: string, count: number): Promise<void> {
    const target = (this.steps.get(stream) ?? 0) + count;
    await waitFor(`${count} more steps on ${stream}`, () => (this.steps.get(stream) ?? 0) >= target);
  }

  /** Holds the steps of `stream`; resolves once none is in flight. */
  async hold(stream: string): Promise<void> {
    let release = (): void => {};
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#held = { stream, until, release };
    await waitFor('the held steps to settle', () => this.#inFlight === 0);
  }

  /**
   * Delays the reply of the next step of `stream` (Redis has run it): `answered`
   * resolves once Redis has answered it, `release` hands the reply to the feed.
   */
  delayNext(stream: string): { answered: Promise<void>; release: () => void } {
    let release = (): void => {};
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    let sent = (): void => {};
    const answered = new Promise<void>((resolve) => {
      sent = resolve;
    });
    this.#delayed = { stream, sent, until };
    return { answered, release };
  }

  /** Lets the steps through; resolves once one more has been answered (a MOVED one is followed first). */
  async open(): Promise<void> {
    const held = this.#held!;
    const next = this.nextSteps(held.stream, 1);
    this.#held = undefined;
    held.release();
    await next;
  }
}

export interface InstanceB {
  auth: TokenAuth;
  get: (path: string, pair: TokenPair) => Promise<request.Response>;
}

/** The two instances' makers on `prefix`, and what their tests share. */
export class TwoInstances {
  readonly auths: TokenAuth[] = [];
  /** B's clock, ms: an hour behind Redis's unless a test sets it. */
  clockB: () => number = () => Date.now() - 3_600_000;
  readonly layout;

  constructor(
    readonly a: ClusterSetup,
    readonly b: ClusterSetup,
    readonly prefix: string,
    readonly shards = 16,
  ) {
    this.layout = shardedLayout(prefix, shards);
  }

  instanceA(options: { waitForReplicas?: number } = {}): TokenAuth {
    const store = new RedisSessionStore({
      client: this.a.client,
      prefix: this.prefix,
      shards: this.shards,
      ...options,
    });
    const auth = createTokenAuth({ accessToken: { secret: ACCESS }, refreshToken: { secret: REFRESH }, store });
    this.auths.push(auth);
    return auth;
  }

  instanceB(gate: StepGate, revocationMaxLag?: number): InstanceB {
    const store = new RedisSessionStore({
      sendCommand: gate.send,
      cluster: true,
      prefix: this.prefix,
      shards: this.shards,
    });
    const auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store,
      clock: () => this.clockB(),
      ...(revocationMaxLag === undefined ? {} : { revocationMaxLag }),
    });
    this.auths.push(auth);
    const app = checkedAndPlain(auth);
    return { auth, get: (path, pair) => request(app).get(path).set('Authorization', `Bearer ${pair.accessToken}`) };
  }

  /** `count` user ids whose keys are in `shard` (named after `tag`). */
  usersIn(shard: number, count: number, tag: string): string[] {
    const found: string[] = [];
    for (let k = 0; found.length < count; k += 1) {
      if (shardOf(`${tag}-${k}`, this.shards) === shard) found.push(`${tag}-${k}`);
    }
    return found;
  }

  /** One admin command, routed by `key`, on A's client. */
  admin(key: string, args: string[]): Promise<unknown> {
    return this.a.send(key, args);
  }

  async streamIds(stream: string): Promise<string[]> {
    const entries = (await this.admin(stream, ['XRANGE', stream, '-', '+'])) as Array<[string, unknown]>;
    return entries.map(([id]) => id);
  }

  async redisNow(key: string): Promise<number> {
    const [seconds] = (await this.admin(key, ['TIME'])) as [string, string];
    return Number(seconds);
  }

  async close(): Promise<void> {
    await Promise.all(this.auths.map((auth) => auth.close()));
  }

  /**
   * After B found a gap: the ended session's token, still valid on B's clock a
   * second before it expires there, is refused (503, never 200), and so is a
   * live one (B cannot tell them apart), while plain routes take both; once
   * B's clock is one access-token lifetime past Redis's time now, B trusts its
   * view again.
   */
  async expectClosedUntilExpired(b: InstanceB, ended: TokenPair, live: TokenPair): Promise<void> {
    const res = await b.get('/checked', ended);
    expect(res.status, `an ended session on a checked route: ${res.text}`).to.equal(503);
    expect(res.body).to.deep.equal({ error: 'store_unavailable', message: 'revocation record is not complete' });
    expect((await b.get('/checked', live)).status, 'a live one too: B cannot tell them apart').to.equal(503);
    expect((await b.get('/plain', live)).status, 'plain routes are untouched').to.equal(200);
    const liveContext = b.auth.verifyAccessToken(live.accessToken);

    const exp = decode(ended.accessToken).payload.exp as number;
    this.clockB = () => (exp - 1) * 1000;
    expect((await b.get('/plain', ended)).status, "the ended session's token still verifies on B").to.equal(200);
    expect((await b.get('/checked', ended)).status, 'still refused a second before it expires').to.equal(503);

    const after = (await this.redisNow(this.layout.streams[0]!)) + b.auth.accessTokenTtl + 1;
    this.clockB = () => after * 1000;
    expect(blind(b.auth, liveContext), 'trusted again once everything missed has expired').to.equal(false);
  }
}

/** Whether `check` throws the 503 of an incomplete record (any other error fails the test). */
export function blind(auth: TokenAuth, context: AuthContext): boolean {
  try {
    auth.checkRevocation(context);
    return false;
  } catch (error) {
    if (error instanceof StoreUnavailableError) return true;
    throw error;
  }
}
