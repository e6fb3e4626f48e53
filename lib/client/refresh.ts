/**
 * One refresh at a time, shared by every caller (single flight), under the
 * tabs' lock; at most one retry of the refresh request itself, after a
 * network error or a 502/503/504, so that a rotation whose answer was lost
 * is picked up within the server's reuse grace window; and a cap on
 * refreshes per window, so that a server that keeps refusing fresh tokens
 * cannot drive a loop.
 */
import { AuthClientError } from './errors.js';
import { asTokenResponse, challengeError, retryAfter, sleep } from './http.js';
import type { ClientConfig } from './options.js';
import type { TabSync } from './tabs.js';
import type { TokenResponse } from './types.js';

/** Longest `Retry-After` (s) waited for: the retry must land within the server's 5 s reuse grace. */
const MAX_RETRY_AFTER = 4;
/** ms to wait, once the lock is ours, for the report of a tab that refreshed before us. */
const PEER_REPORT_WAIT = 1000;

/** What the refresher needs from the client's state. */
export interface SessionState {
  token: string | undefined;
  /** Bumped at every change of token, the end of a session included. */
  generation: number;
  accept(tokens: TokenResponse, source: 'login' | 'refresh'): void;
  end(reason: string): Promise<void>;
}

type Outcome = { tokens: TokenResponse } | { ended: string };

/** Headers, credentials and body of a call to the package's own routes, by transport. */
export function authInit(config: ClientConfig, body: Record<string, unknown> | undefined): RequestInit {
  const headers = new Headers();
  if (config.store === undefined) headers.set(config.transportHeader, 'cookie');
  if (body !== undefined) headers.set('content-type', 'application/json');
  return {
    method: 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(config.store === undefined ? { credentials: 'include' as const } : {}),
  };
}

/** Sends, and reads the whole answer, within `timeout` ms. */
export async function send(
  config: ClientConfig,
  url: string | URL,
  init: RequestInit,
  timeout: number,
): Promise<{ res: Response; body: unknown }> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, timeout);
  try {
    const res = await config.fetch(url, { ...init, signal: controller.signal });
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { res, body };
  } finally {
    clearTimeout(timer);
  }
}

function errorOf(body: unknown): string | undefined {
  const code = typeof body === 'object' && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof code === 'string' ? code : undefined;
}

export class Refresher {
  private flight: Promise<string | undefined> | undefined;
  private readonly started: number[] = [];

  constructor(
    private readonly config: ClientConfig,
    private readonly tabs: TabSync,
    private readonly state: SessionState,
  ) {}

  /** The refresh in flight, if any. */
  get inFlight(): Promise<string | undefined> | undefined {
    return this.flight;
  }

  /**
   * Joins the refresh in flight, or starts one. Resolves the new token,
   * `undefined` if the session ended. `ended` is what a refusal does, if
   * this call starts the refresh: by default, `state.end`.
   */
  refresh(ended?: (reason: string) => Promise<void> | void): Promise<string | undefined> {
    this.flight ??= this.run(ended ?? ((reason) => this.state.end(reason))).finally(() => {
      this.flight = undefined;
    });
    return this.flight;
  }

  private async run(ended: (reason: string) => Promise<void> | void): Promise<string | undefined> {
    const generation = this.state.generation;
    return this.tabs.withLock(async () => {
      // Another tab may have refreshed while we waited for the lock: take its token.
      if (this.tabs.peerRefreshing()) {
        await this.tabs.waitForPeer(this.tabs.hasLocks ? PEER_REPORT_WAIT : this.config.lockTimeout);
      }
      if (this.state.generation !== generation) return this.state.token;
      this.count();
      this.tabs.post({ etp: 1, type: 'refreshing' });
      let outcome: Outcome;
      try {
        outcome = await this.request();
        if ('tokens' in outcome) await this.store(outcome.tokens.refreshToken);
      } catch (error) {
        this.tabs.post({ etp: 1, type: 'failed' });
        throw error;
      }
      if ('ended' in outcome) {
        await ended(outcome.ended);
        return undefined;
      }
      this.state.accept(outcome.tokens, 'refresh');
      return outcome.tokens.accessToken;
    });
  }

  private async store(refreshToken: string | undefined): Promise<void> {
    try {
      await this.config.store?.set(refreshToken);
    } catch (error) {
      throw new AuthClientError('refresh_failed', 'the refresh token store refused the new refresh token', {
        cause: error,
      });
    }
  }

  /** Refuses a refresh beyond maxRefreshes within refreshWindow. */
  private count(): void {
    const now = this.config.clock();
    while (this.started.length > 0 && now - this.started[0]! >= this.config.refreshWindow) this.started.shift();
    if (this.started.length >= this.config.maxRefreshes) {
      throw new AuthClientError(
        'refresh_limit',
        `${this.config.maxRefreshes} refreshes within ${this.config.refreshWindow} ms: not refreshing again`,
      );
    }
    this.started.push(now);
  }

  /** The refresh request, retried once after a network error or 502/503/504. */
  private async request(): Promise<Outcome> {
    const { config } = this;
    let init: RequestInit;
    if (config.store === undefined) {
      init = authInit(config, undefined);
    } else {
      // Read inside the lock: after a tab that held it has stored its successor.
      const refreshToken = await config.store.get();
      if (typeof refreshToken !== 'string' || refreshToken === '') return { ended: 'no_refresh_token' };
      init = authInit(config, { refreshToken });
    }
    for (let attempt = 1; ; attempt++) {
      let answer: { res: Response; body: unknown };
      try {
        answer = await send(config, config.refreshUrl, init, config.refreshTimeout);
      } catch (error) {
        if (attempt === 1) {
          await sleep(config.retryDelay);
          continue;
        }
        throw new AuthClientError('refresh_failed', 'the refresh request failed', { cause: error });
      }
      const { res, body } = answer;
      const serverCode = errorOf(body);
      if (res.ok) {
        const tokens = asTokenResponse(body);
        if (tokens === undefined || (config.store !== undefined && tokens.refreshToken === undefined)) {
          throw new AuthClientError('refresh_failed', `the refresh answer (${res.status}) holds no token pair`, {
            status: res.status,
          });
        }
        return { tokens };
      }
      if (res.status === 401 || res.status === 400)
        return { ended: serverCode ?? challengeError(res) ?? 'unauthorized' };
      const wait = retryAfter(res);
      if (attempt === 1 && [502, 503, 504].includes(res.status) && (wait === undefined || wait <= MAX_RETRY_AFTER)) {
        await sleep(wait === undefined ? config.retryDelay : wait * 1000);
        continue;
      }
      throw new AuthClientError(
        'refresh_failed',
        `the refresh answered ${res.status}${serverCode ? ` ${serverCode}` : ''}`,
        { status: res.status, serverCode, retryAfter: wait },
      );
    }
  }
}
