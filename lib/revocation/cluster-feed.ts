import type { Revocation, RevocationFeed } from './types.js';
import { parseStepReply } from './redis-stream-replies.js';
import { PAGE, StreamFollower } from './stream-follower.js';

/**
 * What the Cluster feed needs of `RedisSessionStore`, passed in so that this
 * file imports nothing of the store's: the shard streams, a send routed by
 * the command's key (EVALSHA's KEYS[1]) and bounded by the store's timeout,
 * and the read-only step script (scripts.ts `step`) with its ARGV.
 */
export interface ClusterFeedSource {
  /** Every shard's stream (layout.ts). */
  streams: string[];
  send: (args: string[]) => Promise<unknown>;
  script: { sha: string; source: string };
  /** The step script's ARGV (fields.ts `stepArgs`). */
  argv: (args: { after: string; count: string }) => string[];
}

/** Longest time between two polls of a shard, ms: a revocation is enforced within about this plus a round trip. */
const MAX_POLL = 250;

/**
 * Follows every shard stream of a Cluster store (`RedisSessionStore` with
 * `shards`), each with the loop of one stream (stream-follower.ts: the proof,
 * the gaps, the backoff). A blocking `XREAD` would hold a connection the
 * application shares, and a MULTI on it is unsafe, so each shard is read with
 * the read-only step script (one atomic call: `XINFO STREAM`, the entries
 * after the last id, `TIME`, as the one-Redis feed's MULTI), every
 * `min(250, maxLag / 4)` ms, all shards on the same tick (the clients
 * pipeline them per node). The script is routed by its key, so the clients'
 * own MOVED/ASK handling follows reshards and failovers. `lastContact()` is the
 * oldest of the shards' (one not heard from makes the view refuse), `follow`
 * resolves once every shard has caught up, a gap on any shard is reported.
 */
export class ClusterRevocationFeed implements RevocationFeed {
  readonly #source: ClusterFeedSource;
  readonly #followers: StreamFollower[];
  /** Followers waiting for the next tick. */
  readonly #waiting = new Set<() => void>();
  /** Followers in a backoff (woken early only by close). */
  readonly #pauses = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #following = false;

  /** Use `RedisSessionStore.revocations()`. */
  constructor(source: ClusterFeedSource) {
    this.#source = source;
    this.#followers = source.streams.map(
      (stream) =>
        new StreamFollower(stream, {
          step: async (lastId) => parseStepReply(await this.#step(stream, lastId)),
          wait: async () => {
            await this.#tick();
            return undefined;
          },
          reset: () => {},
        }),
    );
  }

  follow(
    listener: (revocation: Revocation) => void,
    _since: number,
    options: { maxLag?: number; onGap?: (through: number) => void } = {},
  ): Promise<void> {
    if (this.#following) return Promise.reject(new Error('a revocation feed can be followed once'));
    this.#following = true;
    const poll = Math.max(10, Math.min(MAX_POLL, Math.floor((options.maxLag ?? 5000) / 4)));
    this.#timer = setInterval(() => {
      this.#wakeAll();
    }, poll);
    this.#timer.unref();
    const onGap = options.onGap ?? (() => {});
    const closed = (): boolean => this.#closed;
    const caughtUp = this.#followers.map(
      (follower) =>
        new Promise<void>((resolve, reject) => {
          const hooks = { listener, onGap, caughtUp: resolve, closed, pause: (ms: number) => this.#pause(ms) };
          void follower.run(hooks).then(() => {
            reject(new Error('revocation feed closed before it caught up'));
          });
        }),
    );
    return Promise.all(caughtUp).then(() => {});
  }

  /** The oldest of the shards' last contacts: 0 until every shard has answered. */
  lastContact(): number {
    return this.#followers.reduce((oldest, follower) => Math.min(oldest, follower.lastContact), Infinity);
  }

  streams(): Array<{ name: string; lastContact: number; lastId: string }> {
    return this.#followers.map((follower) => follower.row());
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#wakeAll();
    for (const done of [...this.#pauses]) done();
  }

  /** The step script on one shard: EVALSHA, EVAL after a NOSCRIPT (a node restarted or failed over). */
  async #step(stream: string, lastId: string): Promise<unknown> {
    const { send, script, argv } = this.#source;
    const tail = ['1', stream, ...argv({ after: lastId, count: String(PAGE) })];
    try {
      return await send(['EVALSHA', script.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
      return send(['EVAL', script.source, ...tail]);
    }
  }

  /** Resolves at the next poll tick (or on close). */
  #tick(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closed) resolve();
      else this.#waiting.add(resolve);
    });
  }

  #wakeAll(): void {
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const resolve of waiting) resolve();
  }

  /** A backoff after a failed step: `ms`, or until close. */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const pauses = this.#pauses;
      function done(): void {
        clearTimeout(timer);
        pauses.delete(done);
        resolve();
      }
      if (this.#closed) done();
      else pauses.add(done);
    });
  }
}
