import { isApiUrl, pageBase, parseOrigins, targetOf } from './origins.js';
import type { AuthClientOptions, FetchLike, LockManagerLike, RefreshTokenStore, SessionEndedEvent } from './types.js';

/** The options, checked and completed once: nothing optional but what may truly be absent. */
export interface ClientConfig {
  refreshUrl: string | URL;
  logoutUrl: string | URL | undefined;
  logoutAllUrl: string | URL | undefined;
  /** The origins the access token goes to: refreshUrl's, then the `origins` option's. */
  apiOrigins: ReadonlySet<string>;
  /** `undefined`: cookie mode. */
  store: RefreshTokenStore | undefined;
  transportHeader: string;
  fetch: FetchLike;
  channel: string | undefined;
  locks: LockManagerLike | undefined;
  lockTimeout: number;
  refreshTimeout: number;
  retryDelay: number;
  maxRefreshes: number;
  refreshWindow: number;
  /** Monotonic ms: the refresh cap and the wait for another tab's refresh. */
  clock: () => number;
  onSessionEnded: ((event: SessionEndedEvent) => void) | undefined;
}

const KNOWN = [
  'refreshUrl',
  'logoutUrl',
  'logoutAllUrl',
  'origins',
  'transport',
  'transportHeader',
  'fetch',
  'channel',
  'locks',
  'lockTimeout',
  'refreshTimeout',
  'retryDelay',
  'maxRefreshes',
  'refreshWindow',
  'clock',
  'onSessionEnded',
];

function fail(message: string): never {
  throw new TypeError(`express-token-pair/client: ${message}`);
}

function url(value: unknown, name: string, required: boolean): string | URL | undefined {
  if (value === undefined && !required) return undefined;
  if ((typeof value === 'string' && value !== '') || value instanceof URL) return value;
  return fail(`${name} must be a URL or a non-empty string`);
}

/**
 * The API's origins: refreshUrl's, resolved against the page as fetch will
 * resolve it, and the `origins` option's. A logoutAllUrl elsewhere would
 * never get the token it needs.
 */
function apiOrigins(
  options: AuthClientOptions,
  refreshUrl: string | URL,
  logoutAllUrl: string | URL | undefined,
): Set<string> {
  const base = pageBase();
  const shown = JSON.stringify(String(refreshUrl));
  const refresh = targetOf(refreshUrl, base);
  if (refresh === undefined) {
    return fail(
      base === undefined
        ? `refreshUrl must be absolute where there is no page to resolve it against (got ${shown})`
        : `refreshUrl must be a URL (got ${shown})`,
    );
  }
  if (refresh.protocol !== 'https:' && refresh.protocol !== 'http:')
    fail(`refreshUrl must be an http(s) URL (got ${shown})`);
  const origins = new Set([refresh.origin, ...parseOrigins(options.origins, fail)]);
  if (logoutAllUrl !== undefined && !isApiUrl(targetOf(logoutAllUrl, base), origins)) {
    fail(
      `logoutAllUrl must be on the origin of refreshUrl or one of origins (got ${JSON.stringify(String(logoutAllUrl))})`,
    );
  }
  return origins;
}

function count(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    return fail(
      `${name} must be an integer of at least ${min} (got ${typeof value === 'number' ? value : typeof value})`,
    );
  }
  return value;
}

function defaultLocks(): LockManagerLike | undefined {
  const locks = (globalThis as { navigator?: { locks?: unknown } }).navigator?.locks;
  return typeof (locks as LockManagerLike | undefined)?.request === 'function' ? (locks as LockManagerLike) : undefined;
}

export function parseOptions(options: AuthClientOptions): ClientConfig {
  if (typeof options !== 'object' || options === null) fail('createAuthClient(options) needs an options object');
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) fail(`unknown option ${key}`);
  }
  const { transport = 'cookie', transportHeader = 'x-token-transport', channel = 'express-token-pair' } = options;
  let store: RefreshTokenStore | undefined;
  if (transport !== 'cookie') {
    if (typeof transport?.get !== 'function' || typeof transport.set !== 'function') {
      fail("transport must be 'cookie' or a store { get(), set(token) }");
    }
    store = transport;
  }
  if (typeof transportHeader !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(transportHeader)) {
    fail('transportHeader must be a header name');
  }
  const fetcher = options.fetch ?? (globalThis as { fetch?: FetchLike }).fetch;
  if (typeof fetcher !== 'function') fail('no fetch: pass options.fetch');
  if (channel !== false && (typeof channel !== 'string' || channel === ''))
    fail('channel must be a non-empty string or false');
  const { locks } = options;
  if (locks !== undefined && locks !== false && typeof locks?.request !== 'function') {
    fail('locks must be a LockManager (navigator.locks) or false');
  }
  if (options.clock !== undefined && typeof options.clock !== 'function')
    fail('clock must be a function returning milliseconds');
  if (options.onSessionEnded !== undefined && typeof options.onSessionEnded !== 'function') {
    fail('onSessionEnded must be a function');
  }
  const refreshUrl = url(options.refreshUrl, 'refreshUrl', true)!;
  const logoutUrl = url(options.logoutUrl, 'logoutUrl', false);
  const logoutAllUrl = url(options.logoutAllUrl, 'logoutAllUrl', false);
  return {
    refreshUrl,
    logoutUrl,
    logoutAllUrl,
    store,
    transportHeader,
    // Called as a plain function: a browser's fetch throws "Illegal invocation" as a method of another object.
    fetch: (input, init) => fetcher(input, init),
    channel: channel === false ? undefined : channel,
    locks: locks === false ? undefined : (locks ?? defaultLocks()),
    lockTimeout: count(options.lockTimeout, 'lockTimeout', 20_000, 1),
    refreshTimeout: count(options.refreshTimeout, 'refreshTimeout', 10_000, 1),
    retryDelay: count(options.retryDelay, 'retryDelay', 1000, 0),
    maxRefreshes: count(options.maxRefreshes, 'maxRefreshes', 5, 1),
    refreshWindow: count(options.refreshWindow, 'refreshWindow', 60_000, 1),
    // Read at each call, not bound once: the wall clock (Date.now) can step back, this cannot.
    clock: options.clock ?? (() => performance.now()),
    onSessionEnded: options.onSessionEnded,
    // Last: the other options' errors come first, whatever the page.
    apiOrigins: apiOrigins(options, refreshUrl, logoutAllUrl),
  };
}
