/**
 * express-token-pair/client: `fetch` with the access token attached, one
 * shared refresh when it is refused, and tabs that never present a rotated
 * refresh token. No dependencies, nothing from Node: it runs in browsers
 * and in Node 20+.
 */
import { AuthClientError } from './errors.js';
import {
  asTokenResponse,
  isGraphQLRequest,
  isStreamBody,
  isTokenRejection,
  jsonError,
  requestHeaders,
} from './http.js';
import { accessClaims, mayAdopt } from './jwt.js';
import { parseOptions } from './options.js';
import { isApiUrl, targetOf } from './origins.js';
import { authInit, Refresher, send, type SessionState } from './refresh.js';
import { TabSync } from './tabs.js';
import type { AuthClient, AuthClientEvents, AuthClientOptions, LogoutOptions, TokenResponse } from './types.js';

export { AuthClientError } from './errors.js';
export type { AuthClientErrorCode } from './errors.js';
export type {
  AuthClient,
  AuthClientEvents,
  AuthClientOptions,
  FetchLike,
  LockManagerLike,
  LogoutOptions,
  RefreshTokenStore,
  SessionEndedEvent,
  SessionEndReason,
  TokenEvent,
  TokenResponse,
} from './types.js';

type Listeners = { [E in keyof AuthClientEvents]: Set<(payload: AuthClientEvents[E]) => void> };

/** A listener that throws cannot change the outcome; its error is reported, not thrown. */
function report(error: unknown): void {
  const reportError = (globalThis as { reportError?: (error: unknown) => void }).reportError;
  if (typeof reportError === 'function') reportError(error);
  else console.error(error);
}

/** Discards an answer that will not be returned, so its connection is freed. */
function discard(res: Response): void {
  res.body?.cancel().catch(() => {});
}

export function createAuthClient(options: AuthClientOptions): AuthClient {
  const config = parseOptions(options);
  const listeners: Listeners = { token: new Set(), sessionended: new Set() };
  function emit<E extends keyof AuthClientEvents>(event: E, payload: AuthClientEvents[E]): void {
    for (const listener of [...listeners[event]] as Array<(payload: AuthClientEvents[E]) => void>) {
      try {
        listener(payload);
      } catch (error) {
        report(error);
      }
    }
  }
  if (config.onSessionEnded) listeners.sessionended.add(config.onSessionEnded);

  let expiresAt: number | undefined;

  const state: SessionState = {
    token: undefined,
    generation: 0,
    accept(tokens, source) {
      expiresAt = tokens.expiresIn === undefined ? undefined : Date.now() + tokens.expiresIn * 1000;
      take(tokens.accessToken, expiresAt, source);
      tabs.post({ etp: 1, type: 'token', accessToken: tokens.accessToken, expiresAt });
    },
    async end(reason) {
      const sid = state.token === undefined ? undefined : accessClaims(state.token)?.sid;
      const held = forget(reason, false);
      // The refresh token was refused, or logged out: it is dead. (An empty store stays as it is: a
      // login in another tab may have just filled it.)
      if (reason !== 'no_refresh_token') {
        try {
          await config.store?.set(undefined);
        } catch (error) {
          report(error);
        }
      }
      // After the store is cleared: a tab that checks finds it so. A page that held nothing and
      // found its store empty has nothing to tell.
      if (held || reason !== 'no_refresh_token')
        tabs.post({ etp: 1, type: 'ended', reason, ...(sid === undefined ? {} : { sid }) });
    },
  };

  function take(accessToken: string, at: number | undefined, source: 'login' | 'refresh' | 'tab'): void {
    if (state.token === accessToken) return;
    state.token = accessToken;
    expiresAt = at;
    state.generation++;
    emit('token', { accessToken, expiresAt: at, source });
  }

  /**
   * Drops the token and fires `sessionended`, if this page held one: a session
   * it never held (a first visit) cannot end here, and one that ended already
   * does not end twice. Returns whether it fired.
   */
  function forget(reason: string, otherTab: boolean): boolean {
    if (state.token === undefined) return false;
    state.generation++;
    state.token = undefined;
    expiresAt = undefined;
    emit('sessionended', { reason, otherTab });
    return true;
  }

  const tabs = new TabSync(
    config.channel,
    config.locks,
    config.lockTimeout,
    {
      // Anyone on this origin can post on the channel: only a token of the session held, not older, not expired.
      token: (accessToken, at) => {
        if (mayAdopt(accessToken, state.token, Date.now())) take(accessToken, at, 'tab');
      },
      ended: (reason, sid) => {
        confirmEnded(reason, sid);
      },
    },
    config.clock,
  );
  const refresher = new Refresher(config, tabs, state);

  /**
   * Another tab says the session ended. A message can be forged, so this
   * tab asks the server, by a refresh: refused, the session has ended here
   * too (`sessionended` with the other tab's reason); granted, it goes on. The
   * other tab has cleared the shared store already: clearing it here too
   * could erase the pair of a login that followed. Ignored when this tab
   * holds no session, or holds another one (a login that followed).
   */
  function confirmEnded(reason: string, sid: string | undefined): void {
    const held = state.token;
    if (held === undefined) return;
    if (sid !== undefined && accessClaims(held)?.sid !== sid) return;
    refresher
      .refresh(() => {
        forget(reason, true);
      })
      .catch(() => {
        // A failure that may pass (network, the refresh cap): the session stays; the next 401 will tell.
      });
  }

  async function authFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    // Another origin gets neither the token nor a refresh on its 401: fetched as given.
    if (!isApiUrl(targetOf(input), config.apiOrigins)) return config.fetch(input, init);
    const headers = requestHeaders(input, init);
    // The caller brought its own credentials: none of our business.
    if (headers.has('authorization')) return config.fetch(input, init);
    // Sent now, it would likely carry the token being replaced.
    if (refresher.inFlight) await refresher.inFlight.catch(() => undefined);
    const isRequest = typeof input === 'object' && 'headers' in input;
    const spare = isRequest && input.body !== null ? input.clone() : input;
    const replayable = !isStreamBody(init?.body);
    const graphql = isGraphQLRequest(headers, init?.body);
    const attempt = (target: string | URL | Request, token: string | undefined): Promise<Response> => {
      const withToken = new Headers(headers);
      if (token !== undefined) withToken.set('authorization', `Bearer ${token}`);
      return config.fetch(target, { ...init, headers: withToken });
    };

    const { token, generation } = state;
    const res = await attempt(input, token);
    if (token === undefined || !(await isTokenRejection(res, graphql))) return res;
    let next: string | undefined;
    try {
      // Sent with a token that has since been replaced: try the new one, no refresh.
      next = state.generation !== generation ? state.token : await refresher.refresh();
    } catch (error) {
      discard(res);
      throw error;
    }
    if (next === undefined || !replayable) return res;
    discard(res);
    return attempt(spare, next);
  }

  async function setTokens(tokens: TokenResponse): Promise<void> {
    const pair = asTokenResponse(tokens);
    if (pair === undefined)
      throw new TypeError('express-token-pair/client: setTokens() needs { accessToken, expiresIn? }');
    if (config.store !== undefined) {
      if (pair.refreshToken === undefined) {
        throw new TypeError('express-token-pair/client: setTokens() needs a refreshToken in body mode');
      }
      await config.store.set(pair.refreshToken);
    }
    state.accept(pair, 'login');
  }

  async function login(url: string | URL, body: unknown, init?: RequestInit): Promise<TokenResponse> {
    const base = authInit(config, {});
    const headers = new Headers(init?.headers);
    new Headers(base.headers).forEach((value, name) => {
      headers.set(name, value);
    });
    const res = await config.fetch(url, { ...base, ...init, headers, body: JSON.stringify(body) });
    if (!res.ok) {
      const serverCode = await jsonError(res);
      discard(res);
      throw new AuthClientError('login_failed', `login answered ${res.status}${serverCode ? ` ${serverCode}` : ''}`, {
        status: res.status,
        serverCode,
      });
    }
    const pair = asTokenResponse(await res.json());
    if (pair === undefined)
      throw new AuthClientError('login_failed', 'the login answer holds no token pair', { status: res.status });
    await setTokens(pair);
    return pair;
  }

  async function logout(logoutOptions: LogoutOptions = {}): Promise<void> {
    const everywhere = logoutOptions.everywhere ?? false;
    if (everywhere && config.logoutAllUrl === undefined) {
      throw new TypeError('express-token-pair/client: logout({ everywhere: true }) needs the logoutAllUrl option');
    }
    // Let a refresh finish: its new refresh token is the one to end.
    await refresher.inFlight?.catch(() => undefined);
    let failure: AuthClientError | undefined;
    try {
      let res: Response | undefined;
      if (everywhere) {
        // Behind requireAccessToken: authFetch refreshes an expired token first.
        res = await authFetch(config.logoutAllUrl!, authInit(config, undefined));
      } else if (config.logoutUrl !== undefined) {
        const refreshToken = config.store === undefined ? undefined : await config.store.get();
        if (config.store === undefined || (typeof refreshToken === 'string' && refreshToken !== '')) {
          res = (
            await send(
              config,
              config.logoutUrl,
              authInit(config, refreshToken ? { refreshToken } : undefined),
              config.refreshTimeout,
            )
          ).res;
        }
      }
      // 400/401: there was no session to end.
      if (res !== undefined && !res.ok && res.status !== 400 && res.status !== 401) {
        failure = new AuthClientError('logout_failed', `logout answered ${res.status}`, { status: res.status });
      }
    } catch (error) {
      failure =
        error instanceof AuthClientError && error.code === 'logout_failed'
          ? error
          : new AuthClientError('logout_failed', 'the logout request failed', { cause: error });
    } finally {
      await state.end('logout');
    }
    if (failure) throw failure;
  }

  return {
    fetch: authFetch,
    login,
    setTokens,
    getAccessToken: () => state.token,
    refresh: () => refresher.refresh(),
    logout,
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => {
        set.delete(listener);
      };
    },
    close: () => {
      tabs.close();
    },
  };
}
