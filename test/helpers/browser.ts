/**
 * Real-browser tests of the demo page (test/browser.*.test.ts): Debian's
 * chromium, headless, driven by playwright-core (which cannot download a
 * browser here), with a fresh profile; the sample app in this process on a
 * free port, every request it receives recorded; and a watch on each page
 * for console errors, uncaught errors and CSP violations.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createApp, type AppOptions, type SampleApp } from '../../sample-app/app.js';
import { captureLogger, SECRETS, type LogLine } from './sample-app.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Without the background-networking flags, Chromium keeps trying Google's hosts on this closed network. */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];

/** Skips the suite, saying why, when there is no Chromium; in CI (`CI` set) that is a failure. */
export function requireBrowser(context: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  const reason = `${CHROMIUM} not found (apt-get install -y chromium)`;
  if (process.env.CI) throw new Error(`Chromium is required in CI: ${reason}`);
  console.warn(`    Browser suite not run: ${reason}`);
  context.skip();
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a new, empty profile (deleted on close); CSP violations become console errors. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'etp-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 1000 },
  });
  // Injected by the test through DevTools, so the page's own CSP does not apply to it. (A string: no DOM types here.)
  await context.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (event) => {
      console.error('CSP violation: ' + event.violatedDirective + ' blocked ' + event.blockedURI);
    });`,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** What a page said that it should not have. */
export interface Watch {
  /** Console errors, uncaught errors and CSP violations; must stay empty. */
  problems: string[];
  /**
   * Chromium's console line for each 401 a fetch received ("Failed to load
   * resource: … 401"): the protocol at work (an expired token, a replayed
   * refresh token), not a fault. Counted, and checked against `unauthorized`.
   */
  expected401: number;
  /** 401 answers the page received (`page.on('response')`). */
  unauthorized: number;
}

const PATHS_WITH_401 = new Set(['/me', '/auth/refresh']);

export function watchPage(page: Page, watch: Watch): Page {
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const path = new URL(message.location().url || 'about:blank').pathname;
    if (
      /^Failed to load resource: the server responded with a status of 401\b/.test(message.text()) &&
      PATHS_WITH_401.has(path)
    ) {
      watch.expected401++;
    } else {
      watch.problems.push(`console error: ${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => {
    watch.problems.push(`uncaught: ${error.message}`);
  });
  page.on('response', (res) => {
    if (res.status() === 401) watch.unauthorized++;
  });
  return page;
}

export function newWatch(): Watch {
  return { problems: [], expected401: 0, unauthorized: 0 };
}

/** Asserts that nothing went wrong on the watched pages. */
export function expectClean(watch: Watch): void {
  expect(watch.problems, 'console errors, uncaught errors, CSP violations').to.deep.equal([]);
  expect(watch.expected401, 'one console line per 401 answer, no more').to.be.at.most(watch.unauthorized);
}

/** One request the server received. */
export interface Received {
  method: string;
  path: string;
  /** Set once answered. */
  status: number | undefined;
  origin: string | undefined;
  /** Whether it carried a Cookie header. */
  cookie: boolean;
}

export interface DemoServer {
  /** `http://localhost:<port>`: the page's origin, the one cookie mode allows. */
  base: string;
  port: number;
  sample: SampleApp;
  logs: LogLine[];
  received: Received[];
  /** How many received requests match `METHOD /path` (and `status`, if given). */
  count(key: string, status?: number): number;
  close(): Promise<void>;
}

async function listen(server: Server, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** The sample app on a free loopback port, its origin allowed for cookie mode, bcrypt cost 4, limits out of the way. */
export async function startDemo(options: Partial<AppOptions> = {}): Promise<DemoServer> {
  const server = createServer();
  const port = await listen(server, '127.0.0.1');
  const base = `http://localhost:${port}`;
  const logs: LogLine[] = [];
  const sample = await createApp({
    ...SECRETS,
    bcryptCost: 4,
    loginRateLimit: 1000,
    refreshRateLimit: 1000,
    publicOrigins: [base],
    replayDemo: true,
    logger: captureLogger(logs),
    ...options,
  });
  const received: Received[] = [];
  server.on('request', (req, res) => {
    const entry: Received = {
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0] ?? '',
      status: undefined,
      origin: req.headers.origin,
      cookie: req.headers.cookie !== undefined,
    };
    received.push(entry);
    res.on('finish', () => {
      entry.status = res.statusCode;
    });
    sample.app(req, res);
  });
  return {
    base,
    port,
    sample,
    logs,
    received,
    count: (key, status) =>
      received.filter(
        (entry) => `${entry.method} ${entry.path}` === key && (status === undefined || entry.status === status),
      ).length,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      await sample.close();
    },
  };
}

/** Another site's page: a blank HTML page on another port, reachable as localhost and as 127.0.0.1. */
export async function startOtherSite(): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((_req, res) => {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end('<!doctype html><title>another site</title><p>elsewhere</p>');
  });
  const port = await listen(server, '127.0.0.1');
  return {
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** Fills Email and Password by their labels and presses `button` ('Log in' or 'Register'); waits until signed in. */
export async function signIn(
  page: Page,
  email: string,
  password: string,
  button: 'Log in' | 'Register' = 'Log in',
): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.locator('#status[data-session="on"]').waitFor();
}

/** Waits until the page's countdown says the access token has expired. */
export async function waitForExpiry(page: Page, within = 60_000): Promise<void> {
  await page.locator('#expiry[data-state="expired"]').waitFor({ timeout: within });
}
