/**
 * Cookie tossing (issue 18, item 4) in a real browser: headless Chromium,
 * over HTTPS (a self-signed certificate made with openssl, errors ignored),
 * with `app.site.test` and its sibling `evil.site.test` both mapped to
 * 127.0.0.1. The sibling plants cookies of the refresh cookie's name with
 * `Domain=site.test` and a longer `Path`, as an attacker who controls any
 * subdomain can. With the default `__Host-` cookie Chromium refuses them or
 * they are other names, so the victim's refresh goes on; with a shadowable
 * name both copies arrive and the refresh is refused, never answered for the
 * session that comes first. test/cookie-transport.tossing.test.ts covers the
 * spellings over HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import express from 'express';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  cookieTransport,
  csrfGuard,
  MemorySessionStore,
  refreshHandler,
  sendTokenPair,
  type CookieTransport,
  type RefreshCookieOptions,
  type TokenAuth,
} from '../lib/index.js';
import { CHROMIUM, requireBrowser } from './helpers/browser.js';
import { newAuth, recordError } from './helpers/express-app.js';

const APP_HOST = 'app.site.test';
const EVIL_HOST = 'evil.site.test';
/** The parent domain a sibling may set cookies on. */
const PARENT = 'site.test';

/** A self-signed certificate; Chromium is told to ignore its errors, so its names do not matter. */
async function certificate(): Promise<{ cert: Buffer; key: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'etp-tossing-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${APP_HOST}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    return { cert: await readFile(join(dir, 'cert.pem')), key: await readFile(join(dir, 'key.pem')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The app under test: a login for alice and the refresh handler, with the Cookie header of each refresh recorded. */
interface TossApp {
  auth: TokenAuth;
  transport: CookieTransport;
  handle: express.Express;
  /** The Cookie header of every refresh the app received, in order. */
  refreshCookies: string[];
  close(): void;
}

function tossApp(origin: string, cookie: RefreshCookieOptions | undefined): TossApp {
  const store = new MemorySessionStore();
  const auth = newAuth(store);
  const transport = cookieTransport({ allowedOrigins: [origin], ...(cookie && { cookie }) });
  const refreshCookies: string[] = [];
  const handle = express();
  handle.use(express.json());
  handle.get('/', (_req, res) => {
    res.type('html').send('<!doctype html><title>app</title><p>app</p>');
  });
  handle.post('/auth/login', csrfGuard(transport), (req, res, next) => {
    auth
      .issue({ userId: 'alice' })
      .then((pair) => {
        sendTokenPair(req, res, pair, transport);
      })
      .catch(next);
  });
  handle.post(
    '/auth/refresh',
    (req, _res, next) => {
      refreshCookies.push(req.headers.cookie ?? '');
      next();
    },
    refreshHandler(auth, { transport }),
  );
  handle.use(recordError);
  return {
    auth,
    transport,
    handle,
    refreshCookies,
    close: () => {
      store.close();
    },
  };
}

/** The sibling: answers GET /toss with each `set` query parameter as a Set-Cookie line. */
function toss(req: express.Request, res: express.Response): void {
  const url = new URL(req.url ?? '/', `https://${EVIL_HOST}`);
  res.setHeader('Set-Cookie', url.searchParams.getAll('set'));
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.end('<!doctype html><title>evil</title><p>tossed</p>');
}

interface Answer {
  status: number;
  body: { accessToken?: string; error?: string };
}

const configs: Array<[string, RefreshCookieOptions | undefined]> = [
  ['the default __Host- cookie', undefined],
  ['a shadowable cookie (__Secure-, Path=/auth)', { name: '__Secure-etp_refresh', path: '/auth' }],
];

describe('Cookie tossing from a sibling subdomain, in Chromium over HTTPS', function () {
  this.timeout(60_000);
  let server: Server;
  let port: number;
  let browser: Browser;
  let current: TossApp | undefined;

  before(async function () {
    requireBrowser(this);
    server = createServer(await certificate(), (req, res) => {
      const host = (req.headers.host ?? '').split(':')[0];
      if (host === EVIL_HOST) toss(req as express.Request, res as express.Response);
      else if (host === APP_HOST && current !== undefined) current.handle(req, res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => {
      server.listen(0, '127.0.0.1', resolve);
    });
    port = (server.address() as AddressInfo).port;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
        `--host-resolver-rules=MAP *.${PARENT} 127.0.0.1`,
        '--ignore-certificate-errors',
      ],
    });
  });

  after(async function () {
    await browser?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => {
      if (server?.listening)
        server.close(() => {
          resolve();
        });
      else resolve();
    });
  });

  const appOrigin = (): string => `https://${APP_HOST}:${port}`;

  for (const [configName, options] of configs) {
    describe(configName, function () {
      let context: BrowserContext;
      let page: Page;
      let app: TossApp;

      beforeEach(async function () {
        app = tossApp(appOrigin(), options);
        current = app;
        context = await browser.newContext({ ignoreHTTPSErrors: true });
        page = await context.newPage();
      });

      afterEach(async function () {
        await context.close();
        app.close();
        current = undefined;
      });

      const name = (): string => app.transport.cookie.name;
      /** Opens the app's page. */
      async function openApp(): Promise<void> {
        await page.goto(`${appOrigin()}/`);
      }
      /** A cookie-mode POST from the app's page, as the browser client sends it. */
      async function post(path: string): Promise<Answer> {
        return page.evaluate(async (url) => {
          const res = await fetch(url, {
            method: 'POST',
            headers: { 'x-token-transport': 'cookie' },
            credentials: 'same-origin',
          });
          return { status: res.status, body: (await res.json()) as Answer['body'] };
        }, path);
      }
      const whose = (answer: Answer): string => app.auth.verifyAccessToken(answer.body.accessToken ?? '').userId;
      /** The sibling's page sets `lines` (Set-Cookie), as any page on a sibling subdomain can. */
      async function plant(lines: string[]): Promise<void> {
        const query = lines.map((line) => `set=${encodeURIComponent(line)}`).join('&');
        await page.goto(`https://${EVIL_HOST}:${port}/toss?${query}`);
      }
      /** The ways a sibling can try to plant `value` under the refresh cookie's name. */
      const tosses = (value: string): string[] => [
        `${name()}=${value}; Domain=${PARENT}; Path=/auth/refresh; Secure`,
        `${name()}=${value}; Domain=${PARENT}; Path=/auth/refresh; Secure; SameSite=None`,
        `${name().toLowerCase()}=${value}; Domain=${PARENT}; Path=/auth/refresh; Secure`,
        `=${name()}=${value}; Domain=${PARENT}; Path=/auth/refresh; Secure`,
        `"${name()}"=${value}; Domain=${PARENT}; Path=/auth/refresh; Secure`,
        `${name()}=${value}; Path=/; Secure`, // host-only on the sibling: never reaches the app
      ];
      /** Logs alice in from the app's page; her refresh cookie's value, as Chromium stored it. */
      async function login(): Promise<string> {
        await openApp();
        const answer = await post('/auth/login');
        expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
        const stored = (await context.cookies()).find((c) => c.name === name() && c.domain === APP_HOST);
        expect(stored, 'the host-only refresh cookie').to.not.equal(undefined);
        return stored!.value;
      }
      /** Refreshes from the app's page. */
      async function refresh(): Promise<Answer> {
        await openApp();
        return post('/auth/refresh');
      }

      if (options === undefined) {
        it('a planted session does not reach the refresh: Chromium refuses the Domain copies, and the victim refreshes as herself', async function () {
          const mine = await login();
          const mallory = (await app.auth.issue({ userId: 'mallory' })).refreshToken;
          await plant(tosses(mallory));
          const answer = await refresh();
          expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
          expect(whose(answer)).to.equal('alice');
          expect(app.refreshCookies.at(-1)).to.include(`${name()}=${mine}`).and.not.include(`${name()}=${mallory}`);
          // Chromium kept only other names (the quoted one, the sibling's host-only one), none under the name on the parent.
          const planted = (await context.cookies())
            .filter((c) => c.value === mallory)
            .map((c) => `${c.name} ${c.domain}`);
          expect(planted).to.have.members([`"${name()}" .${PARENT}`, `${name()} ${EVIL_HOST}`]);
        });

        it('planted garbage cannot lock the victim out: she refreshes, and after a fresh login too', async function () {
          await login();
          await plant(tosses('garbage'));
          const first = await refresh();
          expect(first.status, JSON.stringify(first.body)).to.equal(200);
          await login();
          const second = await refresh();
          expect(second.status, JSON.stringify(second.body)).to.equal(200);
          expect(whose(second)).to.equal('alice');
        });

        it('with no cookie of her own, the victim is not logged into the planted session', async function () {
          const mallory = (await app.auth.issue({ userId: 'mallory' })).refreshToken;
          await plant(tosses(mallory));
          const answer = await refresh();
          expect(answer.status, JSON.stringify(answer.body)).to.equal(401);
          expect(answer.body.error).to.equal('token_missing');
        });
      } else {
        it('both copies arrive, the planted one first, and the refresh is refused: not answered for the planted session', async function () {
          const mine = await login();
          const mallory = (await app.auth.issue({ userId: 'mallory' })).refreshToken;
          await plant(tosses(mallory));
          const answer = await refresh();
          const sent = (app.refreshCookies.at(-1) ?? '').split('; ').filter((pair) => pair.startsWith(`${name()}=`));
          expect(sent, 'the copies Chromium sent, in order').to.deep.equal([
            `${name()}=${mallory}`,
            `${name()}=${mine}`,
          ]);
          expect(answer.status, JSON.stringify(answer.body)).to.equal(400);
          expect(answer.body.error).to.equal('cookie_ambiguous');
        });

        it('planted garbage is refused the same way (400, not a 401 that would end the session)', async function () {
          await login();
          await plant(tosses('garbage'));
          const answer = await refresh();
          expect(answer.status, JSON.stringify(answer.body)).to.equal(400);
          expect(answer.body.error).to.equal('cookie_ambiguous');
          // The known limit of a shadowable name: while the planted cookie lives, a fresh login does not help.
          await login();
          expect((await refresh()).status).to.equal(400);
        });

        it('the known limit of a shadowable name: with no cookie of her own, the victim gets the planted session', async function () {
          const mallory = (await app.auth.issue({ userId: 'mallory' })).refreshToken;
          await plant(tosses(mallory));
          const answer = await refresh();
          expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
          expect(whose(answer)).to.equal('mallory');
        });
      }
    });
  }
});
