/**
 * The node-redis client setups every Redis store suite runs on, and a store
 * fixture over one of them that deletes its own keys when closed (never
 * FLUSHDB: the server may be shared).
 */
import { createClient as createClient5 } from 'redis';
import { createClient as createClient4 } from 'redis4';
import { createClient as createClient6 } from 'redis6';
import { Redis } from 'ioredis';
import { RedisSessionStore } from '../../lib/index.js';
import { uniquePrefix } from './redis-server.js';
import type { StoreFixture } from '../../lib/store-contract/index.js';

export interface Client {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  quit?(): Promise<unknown>;
  close?(): Promise<unknown>;
  readonly isReady: boolean;
}

/** A client as the store gets it (`client`), and how the test opens, uses and closes it. */
export interface Setup {
  client: object;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<unknown>;
}

function nodeRedis(client: Client): Setup {
  return {
    client,
    connect: () => client.connect(),
    sendCommand: (args) => client.sendCommand(args),
    close: () => quit(client),
  };
}

/** ioredis, given to the store as itself (not through sendCommand). */
export function ioredisSetup(url: string): Setup {
  const client = new Redis(url, { lazyConnect: true, enableOfflineQueue: false });
  return {
    client,
    connect: () => client.connect(),
    sendCommand: ([name, ...rest]) => client.call(name!, ...rest),
    close: () => client.quit(),
  };
}

/** node-redis v4, v5 (RESP2 and RESP3) and v6 (RESP3 by default), and ioredis. */
export const CLIENT_SETUPS: Array<[string, (url: string) => Setup]> = [
  ['node-redis v4 (RESP2)', (url) => nodeRedis(createClient4({ url }))],
  ['node-redis v5 (RESP2)', (url) => nodeRedis(createClient5({ url }))],
  ['node-redis v5 (RESP3)', (url) => nodeRedis(createClient5({ url, RESP: 3 }))],
  ['node-redis v6 (RESP3 by default)', (url) => nodeRedis(createClient6({ url }))],
  ['ioredis', ioredisSetup],
];

/** Closes a client of any of those versions. */
export const quit = (client: Client): Promise<unknown> => (client.close ? client.close() : client.quit!());

/** Deletes the keys under `prefix` (the user keys and the revocation stream). */
export async function deletePrefixed(client: Pick<Client, 'sendCommand'>, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
      string,
      string[],
    ];
    if (keys.length > 0) await client.sendCommand(['DEL', ...keys]);
    cursor = next;
  } while (cursor !== '0');
}

/** A `RedisSessionStore` (clock: 'caller', a fresh prefix) over a new client of `create`. */
export async function clientStoreFixture(create: (url: string) => Setup, url: string): Promise<StoreFixture> {
  const setup = create(url);
  await setup.connect();
  const prefix = uniquePrefix();
  return {
    store: new RedisSessionStore({ client: setup.client, prefix, clock: 'caller' }),
    close: async () => {
      await deletePrefixed(setup, prefix);
      await setup.close();
    },
  };
}
