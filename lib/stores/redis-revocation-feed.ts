import type { Revocation, RevocationFeed } from '../store-types.js';

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

/** Entries read per XREAD. */
const PAGE = 1000;
/** Longest a blocking read waits for a new entry, ms: the feed hears from Redis at least this often. */
const MAX_BLOCK = 1000;
/** Backoff after a failed read: 50 ms, doubling, at most this. */
const MAX_BACKOFF = 1000;
/** A read not answered this long after its block time is taken as a dead connection (dropped, read again). */
const DEADLINE_SLACK = 3000;

/** Sends the feed's commands on a connection no one else uses (XREAD BLOCK holds it). */
interface Connection {
  read(args: string[], deadline: number): Promise<unknown>;
  /** After a failed read: start afresh next time (a node-redis duplicate is dropped and made again). */
  reset(): void;
  close(): void;
}

/** The app's own second connection (`blockingSendCommand`): nothing to open, reset or close. */
function ownConnection(send: BlockingSend): Connection {
  return { read: (args) => send(args), reset: () => {}, close: () => {} };
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
      name: FEED_CONNECTION_NAME, socket: { ...source.options?.socket, reconnectStrategy: false },
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
 * Follows `RedisSessionStore`'s revocation stream: the whole (trimmed,
 * hence bounded) stream first, then `XREAD BLOCK` from the last id seen, on
 * a connection of its own. After any error it waits (50 ms, doubling, at
 * most 1 s) and resumes from the last id delivered, never from `$`, so a
 * dropped connection or a Redis restart loses nothing the stream still holds.
 */
export class RedisRevocationFeed implements RevocationFeed {
  readonly #connection: Connection;
  readonly #stream: string;
  #lastContact = 0;
  #closed = false;
  #following = false;
  /** Ends the current backoff early (on close). */
  #wake: (() => void) | undefined;

  /** Use `RedisSessionStore.revocations()`. */
  constructor(source: DuplicableClient | BlockingSend, stream: string) {
    this.#connection = typeof source === 'function' ? ownConnection(source) : duplicateConnection(source);
    this.#stream = stream;
  }

  /**
   * Delivers every entry the stream holds, `since` notwithstanding (a
   * `clock: 'caller'` store's times need not be near Redis's; the guard skips
   * the stale ones), then each new one. Resolves once the backlog is
   * delivered, waiting for Redis if need be; rejects only if closed first.
   */
  follow(listener: (revocation: Revocation) => void, _since: number, options: { maxLag?: number } = {}): Promise<void> {
    if (this.#following) return Promise.reject(new Error('a revocation feed can be followed once'));
    this.#following = true;
    const maxLag = options.maxLag ?? 5000;
    const block = Math.max(10, Math.min(MAX_BLOCK, Math.floor(maxLag / 4)));
    return new Promise((resolve, reject) => {
      void this.#run(listener, block, resolve).then(() => {
        reject(new Error('revocation feed closed before it caught up'));
      });
    });
  }

  lastContact(): number {
    return this.#lastContact;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    this.#connection.close();
  }

  /** The read loop; returns once closed (after `caughtUp`, which then no longer matters). */
  async #run(listener: (revocation: Revocation) => void, block: number, caughtUp: () => void): Promise<void> {
    let lastId = '0-0';
    let backlog = true;
    let failures = 0;
    while (!this.#closed) {
      const args = backlog
        ? ['XREAD', 'COUNT', String(PAGE), 'STREAMS', this.#stream, lastId]
        : ['XREAD', 'COUNT', String(PAGE), 'BLOCK', String(block), 'STREAMS', this.#stream, lastId];
      let entries: Array<[string, Revocation | undefined]>;
      try {
        entries = parseRead(await this.#connection.read(args, (backlog ? 0 : block) + DEADLINE_SLACK));
      } catch {
        if (this.#closed) break;
        this.#connection.reset();
        await this.#pause(Math.min(MAX_BACKOFF, 50 * 2 ** failures));
        failures += 1;
        continue;
      }
      if (this.#closed) break;
      failures = 0;
      for (const [id, revocation] of entries) {
        lastId = id;
        if (revocation === undefined) continue;
        try {
          listener(revocation);
        } catch {
          // The listener's own bug: the entry counts as delivered, the feed goes on.
        }
      }
      this.#lastContact = Date.now();
      if (backlog && entries.length < PAGE) {
        backlog = false;
        caughtUp();
      }
    }
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
