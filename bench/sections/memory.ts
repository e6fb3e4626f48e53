/**
 * Memory section: Redis bytes per session. A fresh private redis-server per
 * variant; used_memory before and after creating the sessions through
 * `auth.issue` and RedisSessionStore, with a realistic user agent and IPv4 as
 * metadata; the difference divided by the sessions. Also what one session's
 * keys take (MEMORY USAGE) and how Redis encodes them, which is where a
 * smaller layout would come from.
 */
import { randomUUID } from 'node:crypto';
import { createTokenAuth, RedisSessionStore } from '../../lib/index.js';
import { averageUserAgentLength, metaFor } from '../fixtures.js';
import { randomSecret } from '../keys.js';
import type { BenchOptions } from '../options.js';
import { startRedis } from '../processes.js';
import { connectRedis, type RedisClient } from '../redis-client.js';
import { settledUsedMemory } from '../redis-info.js';
import { row, type Row } from '../report/rows.js';
import type { SectionOutput } from '../report/section-output.js';
import type { Table } from '../report/table.js';
import { fixed, whole } from '../stats.js';

export const MEMORY_TARGET = 400;

const PREFIX = 'etp:';
const BATCH = 1000;

export interface KeySample {
  key: string;
  type: string;
  encoding: string;
  /** MEMORY USAGE: the key, its value and their allocation overhead (not the keyspace's tables). */
  bytes: number;
}

export interface MemoryVariant {
  name: string;
  sessions: number;
  users: number;
  usedMemoryBefore: number;
  usedMemoryAfter: number;
  bytesPerSession: number;
  keys: number;
  seconds: number;
  /** The keys of one user's sessions (the first user). */
  sample: KeySample[];
}

export interface MemoryData {
  userAgentLength: number;
  variants: MemoryVariant[];
}

async function sampleKeys(client: RedisClient, userId: string): Promise<KeySample[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const reply = await client.sendCommand<[string, string[]]>([
      'SCAN',
      cursor,
      'MATCH',
      `${PREFIX}{${userId}}*`,
      'COUNT',
      '1000',
    ]);
    cursor = reply[0];
    keys.push(...reply[1]);
  } while (cursor !== '0');
  const samples: KeySample[] = [];
  for (const key of keys.sort()) {
    samples.push({
      key,
      type: String(await client.sendCommand(['TYPE', key])),
      encoding: String(await client.sendCommand(['OBJECT', 'ENCODING', key])),
      bytes: Number(await client.sendCommand(['MEMORY', 'USAGE', key, 'SAMPLES', '0'])),
    });
  }
  return samples;
}

async function measureVariant(name: string, sessions: number, perUser: number): Promise<MemoryVariant> {
  const redis = await startRedis();
  let client: RedisClient | undefined;
  try {
    client = await connectRedis(redis.url);
    const auth = createTokenAuth({
      accessToken: { secret: randomSecret() },
      refreshToken: { secret: randomSecret() },
      store: new RedisSessionStore({ client, prefix: PREFIX }),
    });
    const users = Array.from({ length: Math.ceil(sessions / perUser) }, () => randomUUID());
    const before = await settledUsedMemory(client);
    const started = performance.now();
    for (let start = 0; start < sessions; start += BATCH) {
      const batch: Promise<unknown>[] = [];
      for (let n = start; n < Math.min(sessions, start + BATCH); n++) {
        batch.push(auth.issue({ userId: users[Math.floor(n / perUser)]!, meta: metaFor(n) }));
      }
      await Promise.all(batch);
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await settledUsedMemory(client);
    const keys = Number(await client.sendCommand(['DBSIZE']));
    const sample = await sampleKeys(client, users[0]!);
    process.stderr.write(`memory: ${name}: ${whole(sessions)} sessions in ${fixed(seconds, 1)} s\n`);
    return {
      name,
      sessions,
      users: users.length,
      usedMemoryBefore: before,
      usedMemoryAfter: after,
      bytesPerSession: (after - before) / sessions,
      keys,
      seconds,
      sample,
    };
  } finally {
    if (client?.isOpen) client.destroy();
    await redis.stop();
  }
}

export async function memorySection(options: BenchOptions): Promise<SectionOutput<MemoryData>> {
  const variants = [await measureVariant('1 session per user', options.sessions, 1)];
  if (options.sessionsPerUser > 1) {
    variants.push(
      await measureVariant(`${options.sessionsPerUser} sessions per user`, options.sessions, options.sessionsPerUser),
    );
  }
  const data: MemoryData = { userAgentLength: averageUserAgentLength(), variants };
  return { tables: tables(data), targets: targets(data), data };
}

/** `etp:{<uuid>}:s:<sid>` -> `etp:{user}:s:<sid>` */
const keyShape = (key: string): string => key.replace(/\{[^}]+\}/, '{user}').replace(/:s:[\w-]+$/, ':s:<sid>');

function sampleNote(v: MemoryVariant): string {
  const perUser = v.sessions / v.users;
  const keysBytes = v.sample.reduce((sum, k) => sum + k.bytes, 0);
  const perSession = keysBytes / perUser;
  const keys = v.sample.map((k) => `${keyShape(k.key)} ${k.type}/${k.encoding} ${k.bytes} B`).join('; ');
  return (
    `${v.name}: one user's keys (MEMORY USAGE) ${keys}: ${fixed(perSession, 0)} B per session;` +
    ` the other ${fixed(v.bytesPerSession - perSession, 0)} B are the keyspace and expiry tables and allocator slack.`
  );
}

function tables(data: MemoryData): Table[] {
  return [
    {
      title: `Redis memory per session: used_memory before and after creating sessions (user agent ~${Math.round(data.userAgentLength)} chars, IPv4, UUID user ids)`,
      head: ['variant', 'sessions', 'users', 'keys', 'used_memory delta', 'bytes/session'],
      numeric: [1, 2, 3, 4, 5],
      rows: data.variants.map((v) => [
        v.name,
        whole(v.sessions),
        whole(v.users),
        whole(v.keys),
        whole(v.usedMemoryAfter - v.usedMemoryBefore),
        fixed(v.bytesPerSession, 1),
      ]),
      notes: data.variants.map(sampleNote),
    },
  ];
}

function targets(data: MemoryData): Row[] {
  return data.variants.map((v): Row =>
    row(
      'memory',
      `Redis bytes per session, ${v.name}`,
      fixed(v.bytesPerSession, 1),
      `<= ${MEMORY_TARGET}`,
      v.bytesPerSession <= MEMORY_TARGET,
    ),
  );
}
