/**
 * How the revocation feed proves it missed nothing (README: "Revocation").
 *
 * A stream loses entries by trimming (the scripts' `XADD MINID`, always the
 * oldest), by `XDEL`, or all at once (the key deleted, a Redis restarted
 * without its data). A feed cut off for longer than the trim window, or
 * started after a trim, cannot read what is gone, so it has to know.
 * `XINFO STREAM` (Redis 7.0+) tells it: `entries-added` counts every entry
 * ever added and `length` those left, so `entries-added - length` were
 * removed; `max-deleted-entry-id` is the highest id XDEL took (trimming does
 * not set it); `first-entry` is the oldest one left.
 *
 * The feed holds an anchor: the last id it read, X, and n(X), how many
 * entries had been added up to it. Nothing after X was removed, in the same
 * stream, when at most n(X) entries were removed, none by XDEL after X, and
 * the n(X) − removed entries up to X left are there exactly when the first
 * entry is at or below X. (Trimming takes the oldest first, so taking one
 * entry after X takes all n(X) before it too.) A stream deleted and written
 * again fails this, short of a coincidence of counts, which the next check
 * also has to meet: having read up to the last entry, n(last) must equal
 * `entries-added`.
 *
 * Each step of the feed reads `XINFO STREAM`, the entries after X and `TIME`
 * in one MULTI/EXEC, so the proof and the read are of one instant; X then
 * moves to the last entry read, n by the number read. Entries a blocking
 * read delivers between steps are proven by the next step (checked against
 * the anchor before them, so one trimmed away before that read is caught).
 */
import type { StreamId, StreamInfo } from './redis-stream-replies.js';
import { secondsOf } from './redis-stream-replies.js';

/** An id and the number of entries added up to and including it. */
interface Anchor {
  id: StreamId;
  added: number;
}

/** Before anything was added. */
const ORIGIN: Anchor = { id: 0n, added: 0 };

/**
 * What a step found. `through`: entries may be gone unread, none later than
 * these Unix seconds (Redis's clock); undefined when none. `resume`: the id
 * to read after next (after a gap: where what is left starts).
 */
export interface StepResult {
  through: number | undefined;
  resume: StreamId;
}

/** True when, as far as `info` shows, nothing after `anchor` was removed from the stream it came from. */
function intact(info: StreamInfo, anchor: Anchor): boolean {
  const removed = info.added - info.length;
  if (info.added < anchor.added || info.last < anchor.id || info.maxDeleted > anchor.id || removed > anchor.added) {
    return false;
  }
  const keptUpToAnchor = anchor.added - removed > 0;
  return keptUpToAnchor === (info.first !== undefined && info.first <= anchor.id);
}

/** The latest id `info`'s stream may have lost: below its first entry, or any XDEL'd one; all of it when empty. */
function extent(info: StreamInfo): StreamId {
  if (info.first === undefined) return info.last;
  const belowFirst = info.first - 1n;
  return info.maxDeleted > belowFirst ? info.maxDeleted : belowFirst;
}

/**
 * The anchor `info` proves by itself: just below its first entry (everything
 * before it removed, none after), or its last entry when XDEL left holes
 * among those kept or none is kept.
 */
function anchorOf(info: StreamInfo): Anchor {
  if (info.first !== undefined && info.maxDeleted < info.first)
    return { id: info.first - 1n, added: info.added - info.length };
  return { id: info.last, added: info.added };
}

/** One feed's proof that it has read every entry (see the file comment). */
export class StreamProof {
  #anchor: Anchor = ORIGIN;
  /** Entries blocking reads delivered after the anchor, not yet proven. */
  #since = 0;
  #started = false;

  /**
   * One step, all of one instant: `info` (undefined: no such stream), the
   * `count` entries read after `from` up to `to` (`from` when none), and
   * Redis's time `now`. On the first step, a stream from which nothing was
   * ever removed is complete, and so is a missing one (taken as never
   * written: a Redis that lost everything just before this process started
   * looks the same).
   */
  step(info: StreamInfo | undefined, from: StreamId, count: number, to: StreamId, now: number): StepResult {
    const started = this.#started;
    this.#started = true;
    const expected = this.#anchor.added + this.#since + count;
    this.#since = 0;
    if (info === undefined) {
      const existed = this.#anchor !== ORIGIN;
      this.#anchor = ORIGIN;
      return { through: existed ? now : undefined, resume: 0n };
    }
    if (intact(info, this.#anchor) && info.last >= from && (to !== info.last || expected === info.added)) {
      this.#anchor = { id: to, added: expected };
      return { through: undefined, resume: to };
    }
    // Trimmed or XDEL'd past the anchor: lost up to `extent`. Another stream (counts or ids that do not fit):
    // the old one's entries up to its deletion, some time before now.
    const removedPast =
      info.added >= this.#anchor.added &&
      info.last >= from &&
      (info.added - info.length > this.#anchor.added || info.maxDeleted > this.#anchor.id);
    let through = !started || removedPast ? secondsOf(extent(info)) : now;
    this.#anchor = anchorOf(info);
    // Reading resumes after the anchor: what it skips must be covered too.
    if (this.#anchor.id === info.last) through = Math.max(through, secondsOf(info.last));
    return { through, resume: this.#anchor.id };
  }

  /** Entries a blocking read delivered after the last step. */
  delivered(count: number): void {
    this.#since += count;
  }
}
