/**
 * Reading the replies of the revocation stream's commands, as node-redis
 * (v4, v5, v6: RESP2 or RESP3) and ioredis give them: XREAD entries as
 * revocations, XINFO STREAM as the counters the feed's proof needs.
 */
import type { Revocation } from './types.js';

/** A stream entry id as one number, ms × 2^64 + seq, so that ids compare and step by one exactly. */
export type StreamId = bigint;

export function parseId(text: string): StreamId {
  const match = /^(\d+)-(\d+)$/.exec(text);
  if (match === null) throw new Error(`unexpected stream id ${JSON.stringify(text)}`);
  return (BigInt(match[1]!) << 64n) + BigInt(match[2]!);
}

export const formatId = (id: StreamId): string => `${id >> 64n}-${id & 0xffff_ffff_ffff_ffffn}`;

/** The Unix seconds (Redis's clock) of an id's time part. */
export const secondsOf = (id: StreamId): number => Math.floor(Number(id >> 64n) / 1000);

/** A TIME reply's Unix seconds. */
export function parseTime(reply: unknown): number {
  const seconds = Array.isArray(reply) ? Number(String(reply[0])) : NaN;
  if (!Number.isSafeInteger(seconds)) throw new Error('unexpected TIME reply');
  return seconds;
}

/** What the proof needs of `XINFO STREAM`. */
export interface StreamInfo {
  length: number;
  /** Every entry ever added (`entries-added`). */
  added: number;
  /** `last-generated-id`. */
  last: StreamId;
  /** `max-deleted-entry-id`: the highest id XDEL removed (0-0: none). */
  maxDeleted: StreamId;
  /** The oldest entry's id; undefined when the stream is empty. */
  first: StreamId | undefined;
}

/** An `XINFO STREAM` reply (RESP2 flat array, RESP3 object or Map) as a `StreamInfo`. */
export function parseStreamInfo(reply: unknown): StreamInfo {
  const fields = new Map<string, unknown>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
  } else if (reply instanceof Map) {
    for (const [key, value] of reply) fields.set(String(key), value);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [key, value] of Object.entries(reply)) fields.set(key, value);
  }
  const count = (name: string): number => {
    const value = Number(fields.get(name));
    if (!fields.has(name) || !Number.isSafeInteger(value) || value < 0) {
      throw new Error(`XINFO STREAM has no ${name}: the revocation feed needs Redis 7.0 or later`);
    }
    return value;
  };
  const id = (name: string): StreamId => {
    if (!fields.has(name)) throw new Error(`XINFO STREAM has no ${name}: the revocation feed needs Redis 7.0 or later`);
    return parseId(String(fields.get(name)));
  };
  const firstEntry = fields.get('first-entry');
  const first = Array.isArray(firstEntry) && firstEntry.length > 0 ? parseId(String(firstEntry[0])) : undefined;
  const length = count('length');
  if (length > 0 !== (first !== undefined)) throw new Error('XINFO STREAM: length and first-entry disagree');
  return {
    length,
    added: count('entries-added'),
    last: id('last-generated-id'),
    maxDeleted: id('max-deleted-entry-id'),
    first,
  };
}

/** Redis's answer to XINFO STREAM on a missing key, however the client wrapped it. */
export function noSuchKey(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth += 1) {
    if (/\bno such key\b/i.test(e.message)) return true;
  }
  return false;
}

/**
 * The entries of an XREAD reply for one stream, as `[id, revocation]`
 * (`undefined` for an entry that is not a revocation): RESP2 `[[key,
 * entries]]`, RESP3 `{ key: entries }` (an object or a Map), or `null` when
 * nothing came.
 */
export function parseRead(reply: unknown): Array<[string, Revocation | undefined]> {
  if (reply === null || reply === undefined) return [];
  let entries: unknown;
  if (Array.isArray(reply)) {
    // RESP2: [[key, entries]]; a RESP3 map mapped to a flat array: [key, entries].
    entries = Array.isArray(reply[0]) ? (reply[0] as unknown[])[1] : reply[1];
  } else if (reply instanceof Map) {
    entries = [...reply.values()][0];
  } else if (typeof reply === 'object') {
    entries = Object.values(reply)[0];
  }
  if (!Array.isArray(entries)) throw new Error('unexpected XREAD reply');
  return entries.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length < 2) throw new Error('unexpected stream entry');
    return [String(entry[0]), revocationOf(entry[1])];
  });
}

/** The fields of one entry (`k`, `id`, `at`, as scripts.ts writes them) as a `Revocation`. */
function revocationOf(raw: unknown): Revocation | undefined {
  const fields = new Map<string, string>();
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) fields.set(String(raw[i]), String(raw[i + 1]));
  } else if (raw instanceof Map) {
    for (const [key, value] of raw) fields.set(String(key), String(value));
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [key, value] of Object.entries(raw)) fields.set(key, String(value));
  }
  const kind = fields.get('k');
  const id = fields.get('id');
  const at = Number(fields.get('at'));
  if ((kind !== 's' && kind !== 'u') || !id || !Number.isFinite(at)) return undefined;
  return { kind: kind === 's' ? 'session' : 'user', id, at };
}

/**
 * The Cluster step script's reply (scripts.ts `step`): `{1, XINFO STREAM,
 * {key, entries}, TIME}`, or `{0, {}, {key, {}}, TIME}` when there is no such stream.
 */
export function parseStepReply(reply: unknown): {
  info: StreamInfo | undefined;
  entries: Array<[string, Revocation | undefined]>;
  now: number;
} {
  if (!Array.isArray(reply) || reply.length !== 4) throw new Error('unexpected reply from the revocation step script');
  const [exists, info, read, time] = reply as [unknown, unknown, unknown, unknown];
  return {
    info: Number(exists) === 1 ? parseStreamInfo(info) : undefined,
    entries: parseRead(read),
    now: parseTime(time),
  };
}
