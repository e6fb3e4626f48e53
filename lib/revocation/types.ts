/**
 * The revocation record's types: what a store's feed delivers and how a
 * process follows it. The view (view.ts) reads a feed; memory-feed.ts and
 * redis-feed.ts are the built-in stores' feeds. Re-exported by
 * store-types.ts, beside `SessionStore.revocations()`.
 */

/**
 * One entry of the revocation record: a session ended (`session`), or every
 * access token of a user issued before `at` (`user`, written by `revokeAll`
 * beside one `session` entry per session it ended). `at` is Unix seconds by
 * the store's clock.
 */
export interface Revocation {
  kind: 'session' | 'user';
  /** A session id (`session`) or a user id (`user`). */
  id: string;
  at: number;
}

/**
 * A store's record of revocations, followed by each process so that
 * `requireAccessToken(auth, { checkRevocation: true })` can refuse the access
 * tokens of ended sessions with no store round trip per request.
 */
export interface RevocationFeed {
  /**
   * Calls `listener` for every revocation made since `since` (Unix seconds),
   * then for each new one as it is made, in order, until `close()` (a feed
   * of several streams, the Redis Cluster's shards, keeps each stream's
   * order, hence each user's, not one order across them). Resolves
   * once the backlog has been delivered. A dropped connection must not lose
   * an entry: on reconnect, reading resumes after the last one delivered.
   * `maxLag` is the caller's `revocationMaxLag` (ms): a feed that polls must
   * hear from the store well within it (see `lastContact`). A feed that finds
   * entries may be gone unread (trimmed while it was cut off or before it
   * started, or the record deleted) calls `onGap` with the latest time (Unix
   * seconds, the store's clock) such a lost entry can have, before it
   * delivers anything more; the caller then distrusts its view until every
   * access token those entries could refuse has expired.
   */
  follow(
    listener: (revocation: Revocation) => void,
    since: number,
    options?: { maxLag?: number; onGap?: (through: number) => void },
  ): Promise<void>;
  /**
   * Milliseconds (the process clock) of the last time the feed heard from
   * the store, an empty poll included; 0 before the first. Callers refuse to
   * trust the record once this is too old.
   */
  lastContact(): number;
  /**
   * One row per stream the feed follows (a Redis feed on one server: one; on
   * a Cluster: one per shard): its key, the last time (ms, the process
   * clock, as `lastContact`) the feed heard from it, 0 before the first, and
   * the id of the last entry read (`'0-0'` before any). For health reports;
   * optional (a feed of one record may leave it out).
   */
  streams?(): Array<{ name: string; lastContact: number; lastId: string }>;
  /** Stops following and frees its connection. */
  close(): Promise<void>;
}
