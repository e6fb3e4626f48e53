import type { Revocation, RevocationFeed } from './types.js';
import { noSuchKey, parseRead, parseStreamInfo, parseTime } from './redis-stream-replies.js';
import { PAGE, StreamFollower, type Step } from './stream-follower.js';

export { parseRead } from './redis-stream-replies.js';

/**
 * Sends one command on a connection of the app's own (`blockingSendCommand`).
 * The same shape as the store's `SendCommand`, spelled here so that this file
 * imports nothing of the store's (the client adapter imports this one).
 */
type BlockingSend = (args: string[]) => Promise<unknown>;

/** The part of a duplicated node-redis (v4, v5, v6) client the feed uses: its own connection. */
export interface FeedClient {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly isOpen: boolean;
  /** v5, v6: drops the connection at once. */
  destroy?(): void;
  /** v4: the same. */
  disconnect?(): Promise<void>;
}

/** A node-redis client, which can open a second connection with its own settings. */
export interface DuplicableClient {
  duplicate(overrides?: { name?: string; socket?: object }): FeedClient;
  /** Its settings (node-redis v4, v5, v6), whose `socket` part the duplicate keeps. */
  readonly options?: { socket?: object } | undefined;
}

/** `CLIENT SETNAME` of the feed's connection (node-redis sets it again on every reconnect). */
export const FEED_CONNECTION_NAME = 'express-token-pair:revocations';

/** Longest a blocking read waits for a new entry, ms: the feed hears from Redis at least this often. */
const MAX_BLOCK = 1000;
/** A read not answered this long after its block time is taken as a dead connection (dropped, read again). */
const DEADLINE_SLACK = 3000;

/** Sends the feed's commands on a connection no one else uses (XREAD BLOCK holds it; MULTI needs it). */
interface Connection {
  read(args: string[], deadline: number): Promise<unknown>;
  /** Sends `commands` back to back, in order, on the one connection; resolves their replies. */
  batch(commands: string[][], deadline: number): Promise<unknown[]>;
  /** After a failed read: start afresh next time (a node-redis duplicate is dropped and made again). */
  reset(): void;
  close(): void;
}

/** The app's own second connection (`blockingSendCommand`): nothing to open, reset or close. */
function ownConnection(send: BlockingSend): Connection {
  return {
    read: (args) => send(args),
    batch: (commands) => Promise.all(commands.map((args) => send(args))),
    reset: () => {},
    close: () => {},
  };
}

/**
 * A duplicate of the app's node-redis client, named, opened on first use and
 * dropped after any failure (a fresh one is made for the next read). Its own
 * reconnecting is off: node-redis can leave a connection open behind a
 * client destroyed while it reconnects, and the feed resumes by itself.
 */
function duplicateConnection(source: DuplicableClient): Connection {
  let client: FeedClient | undefined;
  /** The duplicate being connected: destroying it now would leave its socket open, so `open` does it after. */
  let connecting: FeedClient | undefined;
  const destroy = (old: FeedClient): void => {
    if (!old.isOpen) return;
    if (typeof old.destroy === 'function') old.destroy();
    else void old.disconnect?.().catch(() => {});
  };
  const drop = (): void => {
    const old = client;
    client = undefined;
    if (old !== undefined && old !== connecting) destroy(old);
  };
  const open = async (): Promise<FeedClient> => {
    if (client?.isOpen) return client;
    drop();
    const fresh = source.duplicate({
      name: FEED_CONNECTION_NAME,
      socket: { ...source.options?.socket, reconnectStrategy: false },
    });
    // A lost connection is noticed by the failing read; this only keeps the event from killing the process.
    fresh.on('error', () => {});
    client = fresh;
    connecting = fresh;
    try {
      await fresh.connect();
    } finally {
      connecting = undefined;
    }
    if (client !== fresh) {
      destroy(fresh);
      throw new Error('revocation feed connection dropped while connecting');
    }
    return fresh;
  };
  return {
    // Connecting is bounded by the client's own connectTimeout; the read by the deadline.
    read: (args, deadline) => open().then((c) => withDeadline(c.sendCommand(args), deadline, drop)),
    batch: (commands, deadline) =>
      open().then((c) => withDeadline(Promise.all(commands.map((args) => c.sendCommand(args))), deadline, drop)),
    reset: drop,
    close: drop,
  };
}

function withDeadline<T>(work: Promise<T>, ms: number, onLate: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onLate();
      reject(new Error(`no reply from Redis within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * Follows `RedisSessionStore`'s revocation stream on one Redis, on a
 * connection of its own (stream-follower.ts: the loop, the gaps). Each step
 * reads in one MULTI/EXEC both the entries and `XINFO STREAM` (the proof of
 * what it missed) and `TIME`; once caught up it waits with `XREAD BLOCK`
 * from the last id seen. Caveat: `blockingSendCommand` must send every
 * command on one connection, in order (MULTI).
 */
export class RedisRevocationFeed implements RevocationFeed {
  readonly #connection: Connection;
  readonly #stream: string;
  readonly #follower: StreamFollower;
  #closed = false;
  #following = false;
  /** Ends the current backoff early (on close). */
  #wake: (() => void) | undefined;
  /** Longest a blocking read waits, ms (set by `follow`). */
  #block = MAX_BLOCK;

  /** Use `RedisSessionStore.revocations()`. */
  constructor(source: DuplicableClient | BlockingSend, stream: string) {
    this.#connection = typeof source === 'function' ? ownConnection(source) : duplicateConnection(source);
    this.#stream = stream;
    this.#follower = new StreamFollower(stream, {
      step: (lastId) => this.#step(lastId),
      wait: async (lastId) => {
        const args = ['XREAD', 'COUNT', String(PAGE), 'BLOCK', String(this.#block), 'STREAMS', this.#stream, lastId];
        return parseRead(await this.#connection.read(args, this.#block + DEADLINE_SLACK));
      },
      reset: () => {
        this.#connection.reset();
      },
    });
  }

  /**
   * Delivers every entry the stream holds, `since` notwithstanding (a
   * `clock: 'caller'` store's times need not be near Redis's; the guard skips
   * the stale ones), then each new one. Resolves once the backlog is
   * delivered, waiting for Redis if need be; rejects only if closed first.
   */
  follow(
    listener: (revocation: Revocation) => void,
    _since: number,
    options: { maxLag?: number; onGap?: (through: number) => void } = {},
  ): Promise<void> {
    if (this.#following) return Promise.reject(new Error('a revocation feed can be followed once'));
    this.#following = true;
    const maxLag = options.maxLag ?? 5000;
    this.#block = Math.max(10, Math.min(MAX_BLOCK, Math.floor(maxLag / 4)));
    const onGap = options.onGap ?? (() => {});
    return new Promise((resolve, reject) => {
      const hooks = {
        listener,
        onGap,
        caughtUp: resolve,
        closed: () => this.#closed,
        pause: (ms: number) => this.#pause(ms),
      };
      void this.#follower.run(hooks).then(() => {
        reject(new Error('revocation feed closed before it caught up'));
      });
    });
  }

  lastContact(): number {
    return this.#follower.lastContact;
  }

  streams(): Array<{ name: string; lastContact: number; lastId: string }> {
    return [this.#follower.row()];
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#connection.close();
  }

  /** In one MULTI/EXEC: `XINFO STREAM` (undefined: no such stream), the entries after `lastId`, `TIME`. */
  async #step(lastId: string): Promise<Step> {
    const replies = await this.#connection.batch(
      [
        ['MULTI'],
        ['XINFO', 'STREAM', this.#stream],
        ['XREAD', 'COUNT', String(PAGE), 'STREAMS', this.#stream, lastId],
        ['TIME'],
        ['EXEC'],
      ],
      DEADLINE_SLACK,
    );
    const results = replies[4];
    if (!Array.isArray(results) || results.length !== 3) throw new Error('unexpected EXEC reply');
    const [info, read, time] = results as [unknown, unknown, unknown];
    if (read instanceof Error) throw read;
    if (info instanceof Error && !noSuchKey(info)) throw info;
    return {
      info: info instanceof Error ? undefined : parseStreamInfo(info),
      entries: parseRead(read),
      now: parseTime(time),
    };
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }
}
