/**
 * The public types of `express-token-pair/client`. Written against what
 * browsers and Node 20+ both have (fetch, Request, Response, Headers, URL,
 * AbortSignal), so the declarations compile with the DOM lib or with
 * @types/node alone.
 */

/** `fetch` as both browsers and Node 20+ declare it. */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * Where the refresh token lives in body mode: a store the app supplies
 * (memory, secure storage, localStorage shared by the tabs...). `set(undefined)`
 * deletes it. Both may be async.
 */
export interface RefreshTokenStore {
  get(): string | undefined | null | Promise<string | undefined | null>;
  set(token: string | undefined): void | Promise<void>;
}

/**
 * The part of the Web Locks API (`navigator.locks`) the client uses: an
 * exclusive lock, given up through `signal`.
 */
export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

/** A login or refresh answer: `refreshToken` only in body mode. */
export interface TokenResponse {
  accessToken: string;
  refreshToken?: string | undefined;
  tokenType?: string | undefined;
  /** Seconds until the access token expires. */
  expiresIn?: number | undefined;
}

/**
 * Why a session ended: the refresh endpoint's error code (`token_revoked`,
 * `refresh_reused`, `token_invalid`, `token_missing`, `token_expired`,
 * `invalid_request`, or `unauthorized` when it gave none), `no_refresh_token`
 * (body mode, the store is empty) or `logout`.
 */
export type SessionEndReason = string;

export interface TokenEvent {
  accessToken: string;
  /** When it expires (ms since the epoch, this machine's clock), if the server said. */
  expiresAt: number | undefined;
  /** `login` (setTokens/login), `refresh` (this tab refreshed) or `tab` (another tab did). */
  source: 'login' | 'refresh' | 'tab';
}

/**
 * The end of a session this page held (it had its access token): fired once
 * per session, never for one it never held (a first visit, a page with no
 * cookie), so a listener may redirect to a login page without a loop.
 */
export interface SessionEndedEvent {
  reason: SessionEndReason;
  /** True when another tab learnt it first and told this one. */
  otherTab: boolean;
}

export interface AuthClientEvents {
  token: TokenEvent;
  sessionended: SessionEndedEvent;
}

export interface AuthClientOptions {
  /**
   * The refresh endpoint (`refreshHandler`). Required. Resolved against the
   * page; absolute where there is no page (Node). Its origin is the API's:
   * see `origins`.
   */
  refreshUrl: string | URL;
  /** The logout endpoint (`logoutHandler`); without it `logout()` only forgets the tokens here. */
  logoutUrl?: string | URL | undefined;
  /**
   * The logout-everywhere endpoint (`logoutHandler(auth, { all: true })`), for
   * `logout({ everywhere: true })`. It needs the access token, so it must be
   * on one of the API's origins.
   */
  logoutAllUrl?: string | URL | undefined;
  /**
   * More origins of the API, besides refreshUrl's: exact origins such as
   * `'https://api.example.com'` (no path, no trailing slash), https, or http
   * on localhost. `fetch()` sends the access token, and refreshes on a 401,
   * only for URLs of these origins; any other URL is fetched as given.
   * Default: refreshUrl's origin alone.
   */
  origins?: readonly string[] | undefined;
  /**
   * `'cookie'` (default): the refresh token is an HttpOnly cookie the server
   * sets; refresh, login and logout go with `credentials: 'include'` and the
   * transport header. Or a `RefreshTokenStore`: body mode, the client POSTs
   * `{ refreshToken }` and stores each new one.
   */
  transport?: 'cookie' | RefreshTokenStore | undefined;
  /** Header that asks the server for the cookie transport, sent as `<name>: cookie`. Default `x-token-transport`. */
  transportHeader?: string | undefined;
  /** The fetch to wrap. Default `globalThis.fetch`. */
  fetch?: FetchLike | undefined;
  /**
   * BroadcastChannel name shared by the tabs of one app; `false` turns tab
   * sync off. Default `'express-token-pair'`. Ignored where BroadcastChannel is missing.
   */
  channel?: string | false | undefined;
  /** Lock manager for one refresh across tabs. Default `navigator.locks` where it exists; `false` turns it off. */
  locks?: LockManagerLike | false | undefined;
  /** ms to wait for the cross-tab refresh lock before giving up that refresh. Default 20000. */
  lockTimeout?: number | undefined;
  /** ms before one refresh request counts as failed. Default 10000. */
  refreshTimeout?: number | undefined;
  /**
   * ms before the one retry of a refresh that hit a network error or a 503
   * without `Retry-After`. Default 1000. A `Retry-After` of up to 4 s is
   * honoured; a longer one is not waited for.
   */
  retryDelay?: number | undefined;
  /** Refreshes allowed within `refreshWindow`; one more is refused (`refresh_limit`). Default 5. */
  maxRefreshes?: number | undefined;
  /** ms. Default 60000. */
  refreshWindow?: number | undefined;
  /**
   * A monotonic clock in ms, for the refresh cap and the wait for another
   * tab's refresh. Default `performance.now()`. Not `Date.now()`: the wall
   * clock can step back (NTP, a user), and the cap would then count old
   * refreshes as recent and refuse ordinary ones. For tests.
   */
  clock?: (() => number) | undefined;
  /** Shorthand for `on('sessionended', listener)`. */
  onSessionEnded?: ((event: SessionEndedEvent) => void) | undefined;
}

export interface LogoutOptions {
  /** End every session of the user (`logoutAllUrl`), not only this one. */
  everywhere?: boolean | undefined;
}

export interface AuthClient {
  /**
   * `fetch` with `Authorization: Bearer <access token>`, for URLs of the
   * API's origins (refreshUrl's and `origins`); any other URL is fetched as
   * given, its 401 left alone. On a 401 that says
   * the token is expired, invalid, missing or revoked (or a GraphQL answer,
   * whatever its status, whose `errors[].extensions` say so), it refreshes
   * once for all callers and retries the request once. Resolves the original 401 when
   * the session has ended; rejects with an `AuthClientError` when the refresh
   * failed for now (network, 503, lock timeout, refresh limit). A request
   * with a `ReadableStream` body cannot be sent twice: its 401 is returned
   * once the refresh is done.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** POSTs `body` as JSON to the app's login route, then `setTokens(answer)`. Rejects `login_failed` on a non-2xx. */
  login(url: string | URL, body: unknown, init?: RequestInit): Promise<TokenResponse>;
  /** Takes a pair the app obtained itself (login, sign-up); body mode stores its refresh token. */
  setTokens(tokens: TokenResponse): Promise<void>;
  /** The access token in memory, if any. */
  getAccessToken(): string | undefined;
  /**
   * Refreshes now, joining a refresh in flight. Resolves the new access
   * token, or `undefined` when there is no session: none to restore (a first
   * visit, no cookie, an empty store), with no `sessionended` since this page
   * held none; or the one it held has just ended (`sessionended` fired).
   * Rejects on a failure that may pass.
   */
  refresh(): Promise<string | undefined>;
  /**
   * Forgets the tokens here and in every tab (`sessionended` with reason
   * `logout`), after asking the server to end the session. Rejects
   * `logout_failed` if the server did not confirm.
   */
  logout(options?: LogoutOptions): Promise<void>;
  /** Subscribes; returns the unsubscribe function. */
  on<E extends keyof AuthClientEvents>(event: E, listener: (payload: AuthClientEvents[E]) => void): () => void;
  /** Stops listening to the other tabs. */
  close(): void;
}
