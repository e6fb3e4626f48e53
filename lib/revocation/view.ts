import { StoreUnavailableError, TokenRevokedError } from '../errors.js';
import type { Revocation, RevocationFeed } from '../store-types.js';
import type { AuthContext } from '../types.js';

export interface ViewSettings {
  /** Seconds an entry is kept: the longest an access token outlives its session (ttl + tolerance). */
  retention: number;
  /** Milliseconds without word from the feed after which `check` answers 503 instead of guessing. */
  maxLag: number;
  /** The current time, Unix seconds. */
  now: () => number;
}

/** One stream a feed follows, as `RevocationFeed.streams` reports it: name, last contact (ms), last id. */
export type FeedStream = ReturnType<NonNullable<RevocationFeed['streams']>>[number];

/** What `RevocationView.status` tells: how far `check` can be trusted right now. */
export interface ViewStatus {
  /** Caught up with the backlog, and heard from the store within `maxLag`. */
  current: boolean;
  /** No entries lost unread whose tokens could still be live. */
  complete: boolean;
  /** Unix seconds (the `now` setting's clock) until which a gap keeps the view incomplete; 0 when none. */
  incompleteUntil: number;
  /** What `check` would answer now for a token not known to be ended: true when it would not throw 503. */
  ready: boolean;
  /** Per stream followed, with the time read for `current` (ms, process clock). */
  streams: FeedStream[];
  /** The process clock (ms) `current` was judged by. */
  at: number;
}

/** Milliseconds between sweeps of entries no token can match any more. */
const SWEEP_INTERVAL = 5_000;

/**
 * This process's view of recent revocations, fed by the store's revocation
 * record, so that `checkRevocation` costs two Map lookups and no round trip.
 * Keyed by session id and by user-wide cut-off, never by token string (an
 * asymmetric token has more than one valid encoding). An entry leaves once
 * every access token it could match has expired, so memory is bounded by the
 * revocations of one access-token lifetime.
 */
export class RevocationView {
  /** Session id -> Unix seconds until which its tokens may still verify. */
  readonly #sessions = new Map<string, number>();
  /** User id -> the latest cut-off: tokens issued before `at` are refused until `until`. */
  readonly #users = new Map<string, { at: number; until: number }>();
  readonly #feed: RevocationFeed;
  readonly #settings: ViewSettings;
  readonly #timer: NodeJS.Timeout;
  readonly #started: Promise<void>;
  #current = false;
  /**
   * Unix seconds (this process's clock) before which the view may lack
   * entries the feed could not read (see `RevocationFeed.follow`'s `onGap`):
   * until then `check` answers 503 for any token not known to be ended.
   */
  #incompleteUntil = 0;

  constructor(feed: RevocationFeed, settings: ViewSettings) {
    this.#feed = feed;
    this.#settings = settings;
    this.#timer = setInterval(() => {
      this.sweep();
    }, SWEEP_INTERVAL);
    this.#timer.unref();
    const since = settings.now() - settings.retention;
    const onGap = (through: number): void => {
      this.#incompleteUntil = Math.max(this.#incompleteUntil, through + settings.retention);
    };
    this.#started = feed
      .follow(
        (revocation) => {
          this.#add(revocation);
        },
        since,
        { maxLag: settings.maxLag, onGap },
      )
      .then(() => {
        this.#current = true;
      });
    // A failed start is reported through `check` (503) and `ready`, never as an unhandled rejection.
    this.#started.catch(() => {});
  }

  /** Resolves once the backlog has been read; rejects if the feed could not start. */
  ready(): Promise<void> {
    return this.#started;
  }

  /** Entries held (sessions plus users). */
  get size(): number {
    return this.#sessions.size + this.#users.size;
  }

  /**
   * Throws `TokenRevokedError` for a token of an ended session, or of a user
   * cut off after it was issued; `StoreUnavailableError` (503) when the view
   * cannot be trusted: not caught up yet, no word from the feed for longer
   * than `maxLag`, or, for a token not known to be ended, entries lost
   * unread that could still match a live token (until one retention after
   * the latest of them, by this process's clock: a clock behind the store's
   * waits longer, as its tokens live longer).
   */
  check(context: AuthContext): void {
    if (!this.#current || Date.now() - this.#feed.lastContact() > this.#settings.maxLag) {
      throw new StoreUnavailableError('revocation record is not current');
    }
    if (this.#sessions.has(context.sessionId)) throw new TokenRevokedError('session has ended');
    const cutoff = this.#users.get(context.userId);
    if (cutoff !== undefined && context.issuedAt < cutoff.at) throw new TokenRevokedError('session has ended');
    if (this.#incompleteUntil !== 0 && this.#settings.now() < this.#incompleteUntil) {
      throw new StoreUnavailableError('revocation record is not complete');
    }
  }

  /**
   * How far `check` can be trusted now, for health checks: `ready` is true
   * exactly when `check` would not throw `StoreUnavailableError` for a token
   * it knows nothing against. The streams come from the feed's `streams()`,
   * or, for a feed without one, a single entry built from `lastContact()`
   * (named `'revocations'`, no last id). Allocates; `check` does not.
   */
  status(): ViewStatus {
    const at = Date.now();
    const lastContact = this.#feed.lastContact();
    const current = this.#current && at - lastContact <= this.#settings.maxLag;
    const incompleteUntil = this.#incompleteUntil;
    const complete = incompleteUntil === 0 || this.#settings.now() >= incompleteUntil;
    const streams = this.#feed.streams?.() ?? [{ name: 'revocations', lastContact, lastId: '' }];
    return { current, complete, incompleteUntil, ready: current && complete, streams, at };
  }

  /** Drops the entries no access token can match any more. */
  sweep(now = this.#settings.now()): void {
    for (const [id, until] of this.#sessions) if (until <= now) this.#sessions.delete(id);
    for (const [id, { until }] of this.#users) if (until <= now) this.#users.delete(id);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#feed.close();
  }

  #add(revocation: Revocation): void {
    const until = revocation.at + this.#settings.retention;
    if (until <= this.#settings.now()) return;
    if (revocation.kind === 'session') {
      this.#sessions.set(revocation.id, Math.max(until, this.#sessions.get(revocation.id) ?? 0));
    } else {
      const known = this.#users.get(revocation.id);
      this.#users.set(revocation.id, {
        at: Math.max(revocation.at, known?.at ?? 0),
        until: Math.max(until, known?.until ?? 0),
      });
    }
  }
}
