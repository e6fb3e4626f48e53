/**
 * What the session store's keys take in one private redis-server, by key
 * shape: SCAN for the keys, then TYPE, OBJECT ENCODING and MEMORY USAGE
 * (SAMPLES 0) of each (at most MAX_SAMPLED_KEYS), summed per shape such as
 * `bench-redis:{user}:s:<id>`. Also deleting every key one DEL at a time (no
 * flush) after a warm-up session. Used by the redis section's memory phase
 * (bench/redis-measure.ts).
 */
import type { RedisClient } from './redis-client.js';

/** MEMORY USAGE is read for at most this many keys (all of them at the default counts). */
const MAX_SAMPLED_KEYS = 50_000;

/** The keys of one shape and Redis type, with what they take. */
export interface KeyShape {
  /** e.g. `bench-redis:{user}` */
  shape: string;
  type: string;
  /** OBJECT ENCODING -> keys. */
  encodings: Record<string, number>;
  keys: number;
  /** MEMORY USAGE ... SAMPLES 0, summed over these keys. */
  bytes: number;
}

async function scanKeys(client: RedisClient, limit: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const reply = await client.sendCommand<[string, string[]]>(['SCAN', cursor, 'COUNT', '1000']);
    cursor = reply[0];
    keys.push(...reply[1]);
  } while (cursor !== '0' && keys.length < limit);
  return keys.slice(0, limit);
}

/** Deletes every key of this private server (the warm-up session), one DEL at a time: no flush. */
export async function deleteAllKeys(client: RedisClient): Promise<void> {
  for (const key of await scanKeys(client, Number.MAX_SAFE_INTEGER)) await client.sendCommand(['DEL', key]);
}

/** `bench-redis:{<uuid>}:s:<id>` -> `bench-redis:{user}:s:<id>` */
const shapeOf = (key: string): string => key.replace(/\{[^}]*\}/, '{user}').replace(/[\w-]{16,}/g, '<id>');

/** TYPE, OBJECT ENCODING and MEMORY USAGE of the keys (at most MAX_SAMPLED_KEYS), by key shape. */
export async function keyShapes(client: RedisClient): Promise<{ sampled: number; shapes: KeyShape[] }> {
  const keys = await scanKeys(client, MAX_SAMPLED_KEYS);
  const shapes = new Map<string, KeyShape>();
  for (let start = 0; start < keys.length; start += 500) {
    const batch = keys.slice(start, start + 500);
    const answers = await Promise.all(
      batch.map((key) =>
        Promise.all([
          client.sendCommand(['TYPE', key]),
          client.sendCommand(['OBJECT', 'ENCODING', key]),
          client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0']),
        ]),
      ),
    );
    batch.forEach((key, i) => {
      const [type, encoding, bytes] = answers[i]!.map(String) as [string, string, string];
      const id = `${shapeOf(key)} ${type}`;
      const shape = shapes.get(id) ?? { shape: shapeOf(key), type, encodings: {}, keys: 0, bytes: 0 };
      shape.keys++;
      shape.bytes += Number(bytes);
      shape.encodings[encoding] = (shape.encodings[encoding] ?? 0) + 1;
      shapes.set(id, shape);
    });
  }
  return { sampled: keys.length, shapes: [...shapes.values()].sort((a, b) => b.bytes - a.bytes) };
}
