/**
 * Where `RedisSessionStore` keeps a user's keys and the revocation record
 * (README: "What Redis holds").
 *
 * One Redis, or a Cluster without the record (0.3's layout): the user's
 * sessions at `<prefix>{<userId>}`, the credential cut-off at
 * `<prefix>{<userId>}:cutoff` (the same hash tag), the DPoP proofs used at
 * login and refresh at `<prefix>{<userId>}:dpop`, the record at
 * `<prefix>revocations`.
 *
 * A Cluster with the record: the users are spread over `shards` shards, and
 * every key of shard i shares its hash tag `{<tag i>}`, so that an ending and
 * its record entry are one script in one slot: `<prefix>{<tag>}u:<userId>`
 * (sessions), `<prefix>{<tag>}c:<userId>` (cut-off), `<prefix>{<tag>}p:<userId>`
 * (DPoP proofs), `<prefix>{<tag>}revocations` (the shard's record). The prefix
 * has no braces and a tag none, so the tag
 * is always the first `{...}`; after it, `u:`, `c:`, `p:` and `r` keep the four
 * kinds apart, and the user id follows verbatim: two users, or a user and a
 * cut-off, never share a key, whatever `{`, `}` or `:` the ids hold.
 *
 * User -> shard: `floor(slot(userId) * shards / 16384)`, with `slot` Redis
 * Cluster's own CRC16 (cluster-key-slot, the one node-redis and ioredis use).
 * Shard i's tag is the first of `etp<i>-0`, `etp<i>-1`, ... whose slot falls in
 * `[i * 16384 / shards, (i + 1) * 16384 / shards)`, so shards spread over the
 * slot ranges a Cluster hands its primaries. The set of streams is fixed by
 * `prefix` and `shards` alone, whatever the topology: reshards and failovers
 * move slots, the clients follow (MOVED, ASK), the keys stay.
 */
import { createRequire } from 'node:module';

/** Redis Cluster's key -> slot (CRC16 mod 16384, hash tags included); CommonJS with `export =`. */
export const slotOf = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

/** Redis Cluster's slot count. */
export const SLOTS = 16384;

export interface Layout {
  /** The user's sessions. */
  user(userId: string): string;
  /** The user's credential cut-off, in the user key's slot. */
  cutOff(userId: string): string;
  /** The user's recently used DPoP proofs (a sorted set, jti -> expiry ms), in the user key's slot. */
  proofs(userId: string): string;
  /** The revocation stream a script on this user's keys appends to; undefined without a record. */
  stream(userId: string): string | undefined;
  /** Every revocation stream, the one the feed follows on one Redis, one per shard on a Cluster. */
  streams: string[];
}

/** 0.3's layout: `<prefix>{<userId>}`, one stream `<prefix>revocations` (none without a record). */
export function singleLayout(prefix: string, record: boolean): Layout {
  const stream = record ? `${prefix}revocations` : undefined;
  return {
    user: (userId) => `${prefix}{${userId}}`,
    cutOff: (userId) => `${prefix}{${userId}}:cutoff`,
    proofs: (userId) => `${prefix}{${userId}}:dpop`,
    stream: () => stream,
    streams: stream === undefined ? [] : [stream],
  };
}

/** The shard of a user: `floor(slot(userId) * shards / 16384)`. */
export function shardOf(userId: string, shards: number): number {
  return Math.floor((slotOf(userId) * shards) / SLOTS);
}

/** Shard i's hash tag: the first `etp<i>-<k>` whose slot is in shard i's range (see the file comment). */
export function shardTag(i: number, shards: number): string {
  const low = Math.ceil((i * SLOTS) / shards);
  const high = Math.ceil(((i + 1) * SLOTS) / shards);
  for (let k = 0; ; k += 1) {
    const tag = `etp${i}-${k}`;
    const slot = slotOf(tag);
    if (slot >= low && slot < high) return tag;
  }
}

/** Each shard count's tags, found once per process (1024 shards take some 150 ms). */
const tagsByCount = new Map<number, string[]>();

/** The sharded layout of a Cluster with a record (see the file comment). */
export function shardedLayout(prefix: string, shards: number): Layout {
  let tags = tagsByCount.get(shards);
  if (tags === undefined) {
    tags = Array.from({ length: shards }, (_, i) => shardTag(i, shards));
    tagsByCount.set(shards, tags);
  }
  const known = tags;
  const tag = (userId: string): string => known[shardOf(userId, shards)]!;
  const streams = known.map((t) => `${prefix}{${t}}revocations`);
  return {
    user: (userId) => `${prefix}{${tag(userId)}}u:${userId}`,
    cutOff: (userId) => `${prefix}{${tag(userId)}}c:${userId}`,
    proofs: (userId) => `${prefix}{${tag(userId)}}p:${userId}`,
    stream: (userId) => `${prefix}{${tag(userId)}}revocations`,
    streams,
  };
}
