/**
 * `auth.health()`: what a health check needs to know, as plain JSON-able
 * data: does the store take writes (and what about it can lose sessions),
 * and can `checkRevocation` be trusted right now. Never rejects: a failure
 * is part of the report.
 */
import { TokenPairError } from './errors.js';
import type { RevocationView } from './revocation/view.js';
import type { SessionStore } from './store-types.js';
import type { StoreWarning } from './stores/redis/health.js';

/** The session store's part of a `HealthReport`. */
export interface StoreHealth {
  /** The store's `ping()` resolved (a Redis store: every primary took a probe write). True for a store without `ping()`. */
  ok: boolean;
  /** False for a store without `ping()`: then `ok` is only a guess. */
  probed: boolean;
  /** The store's class name (`'MemorySessionStore'`, `'RedisSessionStore'`, yours), when it has one. */
  kind?: string;
  /** A Redis store's client kind (`'node-redis'`, `'ioredis cluster'`...); absent with `sendCommand`. */
  client?: string;
  /**
   * Why `ok` is false (or, with `ok` true, why `warnings` could not be read): the error's stable code (`'store_unavailable'` for
   * anything not ours) and its message, with the underlying error's first
   * line (e.g. Redis's `READONLY ...`), credentials in URLs masked. Never a
   * token: the store is only pinged.
   */
  error?: { code: string; message: string };
  /**
   * What about the server can lose sessions (`RedisSessionStore.checkServer`:
   * an evicting `maxmemory-policy`, an old Redis, each naming its node on a
   * Cluster); absent for a store without `checkServer()`, or when it failed
   * (then `ok` is false too, or `error` says why).
   */
  warnings?: StoreWarning[];
}

/** One stream of the revocation record this process follows. */
export interface RevocationStreamHealth {
  /** The stream's name (a Redis key, or `'memory'`). */
  name: string;
  /** Milliseconds since the feed last heard from the store about it (an empty poll counts); null before the first. */
  lagMs: number | null;
  /** The id of the last entry read; '' before the first, or when the feed does not say. */
  lastId: string;
}

/** The revocation record's part of a `HealthReport`: present once the process follows it (`watchRevocations`). */
export interface RevocationHealth {
  /** Caught up with the backlog, and heard from the store within `revocationMaxLag`. */
  current: boolean;
  /** No entries were lost unread that could still refuse a live token. */
  complete: boolean;
  /** While not `complete`: Unix seconds (the `clock` option's) when the gap closes; else null. */
  incompleteUntil: number | null;
  /**
   * What `checkRevocation` answers now for a token not known to be ended:
   * true when it would not throw `StoreUnavailableError` (503), i.e.
   * `current && complete`.
   */
  ready: boolean;
  streams: RevocationStreamHealth[];
}

/** What `auth.health()` resolves: plain data, safe to send to a load balancer or a log. */
export interface HealthReport {
  /**
   * The checked routes would answer, not 503: the store is `ok` and, when
   * the revocation record is followed, `revocations.ready`. A readiness probe.
   */
  ready: boolean;
  store: StoreHealth;
  /** Absent until the process follows the revocation record (`watchRevocations`, `checkRevocation`). */
  revocations?: RevocationHealth;
}

/** Extras some stores have (the Redis store): read by duck typing, so a store of yours may offer them too. */
interface Inspectable {
  checkServer?: () => Promise<StoreWarning[]>;
  clientKind?: unknown;
}

/** One line of an error for an operator: its first line, at most 300 characters, URL credentials masked. */
function line(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const first = text.split(/\r?\n/, 1)[0] ?? '';
  return first.replace(/\/\/[^/@\s]*@/g, '//***@').slice(0, 300);
}

function describe(error: unknown): { code: string; message: string } {
  const code = error instanceof TokenPairError ? error.code : 'store_unavailable';
  const cause = error instanceof Error ? error.cause : undefined;
  const message = cause === undefined ? line(error) : `${line(error)}: ${line(cause)}`;
  return { code, message };
}

async function storeHealth(store: SessionStore): Promise<StoreHealth> {
  const extras = store as SessionStore & Inspectable;
  const named = (store as object).constructor?.name;
  const report: StoreHealth = {
    ok: true,
    probed: typeof store.ping === 'function',
    ...(named && named !== 'Object' ? { kind: named } : {}),
    ...(typeof extras.clientKind === 'string' ? { client: extras.clientKind } : {}),
  };
  const [ping, server] = await Promise.allSettled([
    report.probed ? store.ping!() : Promise.resolve(),
    typeof extras.checkServer === 'function' ? extras.checkServer() : Promise.resolve(undefined),
  ]);
  if (ping.status === 'rejected') {
    report.ok = false;
    report.error = describe(ping.reason);
  }
  if (server.status === 'fulfilled' && server.value !== undefined) {
    report.warnings = server.value.map((warning) => ({ ...warning }));
  } else if (server.status === 'rejected' && report.error === undefined) {
    // The probe write passed but INFO did not: the store may work, but cannot be checked.
    report.error = describe(server.reason);
  }
  return report;
}

function revocationHealth(view: RevocationView): RevocationHealth {
  const status = view.status();
  return {
    current: status.current,
    complete: status.complete,
    incompleteUntil: status.complete ? null : status.incompleteUntil,
    ready: status.ready,
    streams: status.streams.map((stream) => ({
      name: stream.name,
      lagMs: stream.lastContact === 0 ? null : Math.max(0, status.at - stream.lastContact),
      lastId: stream.lastId,
    })),
  };
}

/** The report of `TokenAuth.health()`; `view` is undefined until the revocation record is followed. */
export async function healthReport(store: SessionStore, view: RevocationView | undefined): Promise<HealthReport> {
  let storeReport: StoreHealth;
  try {
    storeReport = await storeHealth(store);
  } catch (error) {
    // A store whose ping() throws synchronously, or a getter that does.
    storeReport = { ok: false, probed: true, error: describe(error) };
  }
  // Read after the store's answer, so that the revocation part is as fresh as the report.
  const revocations = view === undefined ? undefined : revocationHealth(view);
  const ready = storeReport.ok && (revocations === undefined || revocations.ready);
  return { ready, store: storeReport, ...(revocations === undefined ? {} : { revocations }) };
}
