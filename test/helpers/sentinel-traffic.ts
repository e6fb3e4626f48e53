/**
 * Refresh, logout and checked-route traffic over HTTP for the Sentinel
 * failover suite: a tiny Express app (refreshHandler, logoutHandler, and a
 * route behind requireAccessToken with checkRevocation) on a store with
 * `waitForReplicas: 1`, and sessions that keep refreshing (on a 503 they
 * present the same token again) while some log out. Every answer is
 * recorded with its times, so the suite can assert what each one meant.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import {
  createTokenAuth,
  logoutHandler,
  RedisSessionStore,
  refreshHandler,
  requireAccessToken,
  type TokenAuth,
} from '../../lib/index.js';
import { ACCESS, REFRESH } from './token-auth.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The store's timeout, ms (WAIT gets half of it). */
export const TIMEOUT = 800;
/**
 * Reuse grace, s: a refresh whose answer was lost (a 503 after the rotation
 * ran) is presented again after the failover, which must fall within it.
 */
export const GRACE = 30;

export interface Answer {
  route: 'refresh' | 'logout' | 'checked';
  session: number;
  /** Date.now() when asked and when answered. */
  at: number;
  settled: number;
  status: number;
  error?: string | undefined;
}

export interface Session {
  index: number;
  refreshToken: string;
  accessToken: string;
  /** Whether the last refresh answered 200 (its token is then the one kept). */
  lastOk: boolean;
  /** Set once a logout answered 204. */
  loggedOut: boolean;
  /** This session logs out once `Traffic.startLogouts()` is called. */
  leaver: boolean;
}

export interface TrafficApp {
  auth: TokenAuth;
  url: string;
  /** Errors that reached the app's own error handler (a 500). */
  unexpected: unknown[];
  close(): Promise<void>;
}

/** The app, listening on a free port: POST /refresh, POST /logout, GET /checked (checkRevocation). */
export async function trafficApp(client: object, prefix: string): Promise<TrafficApp> {
  const auth = createTokenAuth({
    accessToken: { secret: ACCESS },
    refreshToken: { secret: REFRESH, reuseGrace: GRACE },
    store: new RedisSessionStore({ client, prefix, timeout: TIMEOUT, waitForReplicas: 1 }),
  });
  const unexpected: unknown[] = [];
  const app = express();
  app.use(express.json());
  app.post('/refresh', refreshHandler(auth));
  app.post('/logout', logoutHandler(auth));
  app.get('/checked', requireAccessToken(auth, { checkRevocation: true }), (_req, res) => {
    res.json({ ok: true });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    unexpected.push(error);
    res.status(500).json({ error: 'app_error' });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    auth,
    url: `http://127.0.0.1:${port}`,
    unexpected,
    close: async () => {
      await auth.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export class Traffic {
  readonly answers: Answer[] = [];
  readonly sessions: Session[] = [];
  #running = false;
  #loops: Array<Promise<void>> = [];
  #logouts = false;

  constructor(readonly app: TrafficApp) {}

  /** Logs in `count` sessions (every `leaverEvery`-th one will log out), retrying 503s for up to 15 s. */
  async login(count: number, leaverEvery: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          const pair = await this.app.auth.issue({ userId: `user-${i}` });
          this.sessions.push({
            index: i,
            refreshToken: pair.refreshToken,
            accessToken: pair.accessToken,
            lastOk: true,
            loggedOut: false,
            leaver: i % leaverEvery === leaverEvery - 1,
          });
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
    }
  }

  /** One request; its answer recorded. */
  async ask(route: Answer['route'], session: Session, token: string): Promise<{ status: number; body: unknown }> {
    const at = Date.now();
    const init: RequestInit =
      route === 'checked'
        ? { headers: { authorization: `Bearer ${token}` } }
        : {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ refreshToken: token }),
          };
    try {
      const res = await fetch(`${this.app.url}/${route}`, { ...init, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      const body: unknown = text ? JSON.parse(text) : undefined;
      const error = (body as { error?: string } | undefined)?.error;
      this.answers.push({ route, session: session.index, at, settled: Date.now(), status: res.status, error });
      return { status: res.status, body };
    } catch (error) {
      this.answers.push({ route, session: session.index, at, settled: Date.now(), status: 0, error: String(error) });
      return { status: 0, body: undefined };
    }
  }

  /** Starts a refresh loop per session, and one checked-route loop; leavers log out once `startLogouts` is called. */
  start(): void {
    this.#running = true;
    this.#loops = [...this.sessions.map((s) => this.#loop(s)), this.#checkedLoop()];
  }

  startLogouts(): void {
    this.#logouts = true;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  /** Refreshes with the current token (the same again after a 503), 50 ms apart; a leaver logs out when told to, until 204. */
  async #loop(session: Session): Promise<void> {
    while (this.#running && !session.loggedOut) {
      if (session.leaver && this.#logouts) {
        const { status } = await this.ask('logout', session, session.refreshToken);
        if (status === 204) session.loggedOut = true;
        else await sleep(100);
        continue;
      }
      const { status, body } = await this.ask('refresh', session, session.refreshToken);
      if (status === 200) {
        const pair = body as { refreshToken: string; accessToken: string };
        session.refreshToken = pair.refreshToken;
        session.accessToken = pair.accessToken;
        session.lastOk = true;
        await sleep(50);
      } else {
        session.lastOk = false;
        // 503: the same token again soon; anything else is a failure the suite reports (and stops this session).
        if (status !== 503) return;
        await sleep(100);
      }
    }
  }

  /** GET /checked with a session's current access token, round robin, 50 ms apart. */
  async #checkedLoop(): Promise<void> {
    for (let i = 0; this.#running; i++) {
      const live = this.sessions.filter((s) => !s.leaver);
      const session = live[i % live.length]!;
      await this.ask('checked', session, session.accessToken);
      await sleep(50);
    }
  }
}
