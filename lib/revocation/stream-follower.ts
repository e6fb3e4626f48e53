import type { Revocation } from './types.js';
import { StreamProof } from './redis-stream-proof.js';
import { formatId, parseId, type StreamInfo } from './redis-stream-replies.js';

/** Entries as read: `[id, revocation]`, undefined for an entry that is not a revocation. */
export type Entries = Array<[string, Revocation | undefined]>;

/** What one step read, all of one instant: `XINFO STREAM` (undefined: no such stream), entries, `TIME`. */
export interface Step {
  info: StreamInfo | undefined;
  entries: Entries;
  now: number;
}

/**
 * How one stream is read: on one Redis, a MULTI on the feed's own connection
 * then `XREAD BLOCK` (redis-feed.ts); on a Cluster, the read-only step script
 * then a pause until the next poll (cluster-feed.ts).
 */
export interface StreamReader {
  /** One step after `lastId`: at most `PAGE` entries. */
  step(lastId: string): Promise<Step>;
  /**
   * Once caught up, waits for what comes next: the entries it read after
   * `lastId` (`XREAD BLOCK`: Redis answered, an empty answer included), or
   * undefined when it only paused (a poll: no word from Redis).
   */
  wait(lastId: string): Promise<Entries | undefined>;
  /** After a failure: start afresh next time (drop a connection). */
  reset(): void;
}

/** Entries read per step. */
export const PAGE = 1000;
/** Backoff after a failed read: 50 ms, doubling, at most this. */
const MAX_BACKOFF = 1000;

/** What the feed that owns the follower gives its loop. */
export interface FollowHooks {
  listener: (revocation: Revocation) => void;
  onGap: (through: number) => void;
  /** Called once, when the backlog is delivered. */
  caughtUp: () => void;
  closed: () => boolean;
  /** Sleeps `ms`, or less if the feed is closed meanwhile. */
  pause: (ms: number) => Promise<void>;
}

/**
 * Follows one revocation stream: the whole (trimmed, hence bounded) stream
 * first, then what comes next, from the last id seen. After any error it
 * waits (50 ms, doubling, at most 1 s) and resumes from the last id
 * delivered, never from `$`, so a dropped connection or a Redis restart
 * loses nothing the stream still holds. Each step's `XINFO STREAM` shows
 * whether entries it never read are gone (trimmed while it was cut off or
 * before it started, deleted, or the stream written anew; see
 * redis-stream-proof.ts): it then tells `onGap` how late the lost ones may
 * be, before it delivers anything more, and goes on from what is left.
 * The one loop of both Redis feeds (one stream, or one per Cluster shard).
 */
export class StreamFollower {
  readonly name: string;
  readonly #reader: StreamReader;
  /**
   * When the last read that Redis answered was sent (ms, the process clock;
   * 0 before the first): Redis read the stream at or after it, so a view that
   * trusts what it holds up to `lastContact + maxLag` never trusts a read made
   * before an entry it lacks for longer than `maxLag` (taking the reply's
   * arrival would add the round trip, up to the store's timeout).
   */
  lastContact = 0;
  /** The id of the last entry read ('0-0' before any). */
  lastId = '0-0';

  constructor(name: string, reader: StreamReader) {
    this.name = name;
    this.#reader = reader;
  }

  /** The loop, until `hooks.closed()`; a gap is reported before anything read with it is delivered. */
  async run(hooks: FollowHooks): Promise<void> {
    const proof = new StreamProof();
    let backlog = true;
    let failures = 0;
    const deliver = (entries: Entries): void => {
      for (const [id, revocation] of entries) {
        this.lastId = id;
        if (revocation === undefined) continue;
        try {
          hooks.listener(revocation);
        } catch {
          // The listener's own bug: the entry counts as delivered, the feed goes on.
        }
      }
    };
    while (!hooks.closed()) {
      try {
        const lastId = this.lastId;
        const stepSent = Date.now();
        const { info, entries, now } = await this.#reader.step(lastId);
        if (hooks.closed()) break;
        const to = entries.at(-1)?.[0] ?? lastId;
        const { through, resume } = proof.step(info, parseId(lastId), entries.length, parseId(to), now);
        if (through !== undefined) hooks.onGap(through);
        deliver(entries);
        this.lastId = through === undefined ? to : formatId(resume);
        this.lastContact = stepSent;
        failures = 0;
        if (entries.length >= PAGE || through !== undefined) continue;
        if (backlog) {
          backlog = false;
          hooks.caughtUp();
        }
        const waitSent = Date.now();
        const more = await this.#reader.wait(this.lastId);
        if (hooks.closed() || more === undefined) continue;
        proof.delivered(more.length);
        deliver(more);
        this.lastContact = waitSent;
      } catch {
        if (hooks.closed()) break;
        this.#reader.reset();
        await hooks.pause(Math.min(MAX_BACKOFF, 50 * 2 ** failures));
        failures += 1;
      }
    }
  }

  /** The row of `RevocationFeed.streams()`. */
  row(): { name: string; lastContact: number; lastId: string } {
    return { name: this.name, lastContact: this.lastContact, lastId: this.lastId };
  }
}
