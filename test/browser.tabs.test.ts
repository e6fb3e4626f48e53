/**
 * The demo page in headless Chromium, continued: two tabs of one browser
 * sharing one refresh, a cross-origin page failing to use the refresh
 * cookie, and a control showing that the CSP watch does see a violation.
 */
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import {
  expectClean,
  launchBrowser,
  newWatch,
  requireBrowser,
  signIn,
  startDemo,
  startOtherSite,
  waitForExpiry,
  watchPage,
  type Browser,
  type DemoServer,
} from './helpers/browser.js';
import { PASSWORD, until } from './helpers/sample-app.js';
import { clientModule } from '../sample-app/demo-page.js';

const ACCESS_TTL = 3;

describe('demo page in a real browser (Chromium): tabs and other origins', function () {
  this.timeout(120_000); // generous for a busy machine: Chromium, a real server, and waits on page state, not the clock
  let server: DemoServer;
  let other: { port: number; close(): Promise<void> };
  let browser: Browser;
  let first: Page;
  let second: Page;
  const watch = newWatch();

  before(async function () {
    requireBrowser(this);
    server = await startDemo({ accessTokenTtl: ACCESS_TTL });
    other = await startOtherSite();
    browser = await launchBrowser();
    first = watchPage(await browser.context.newPage(), watch);
    await first.goto(`${server.base}/`);
    await signIn(first, 'bob@example.com', PASSWORD, 'Register');
  });

  after(async () => {
    await browser?.close();
    await other?.close();
    await server?.close();
  });

  /** A POST that needs no preflight, with the browser's cookies, from `page`; what became of it. */
  function simplePost(page: Page, url: string): Promise<string> {
    return page.evaluate(
      async (target) =>
        fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include' }).then(
          (res) => `answered (${res.type})`,
          (error: unknown) => `failed: ${String(error)}`,
        ),
      url,
    );
  }

  async function refreshCookie(): Promise<string | undefined> {
    return (await browser.context.cookies()).find((cookie) => cookie.name === '__Host-etp_refresh')?.value;
  }

  it('refuses a cross-origin page: a POST with the header dies at the CORS preflight, one without it gets 403, cross-site sends no cookie', async () => {
    const cookie = await refreshCookie();
    const target = `${server.base}/auth/refresh`;
    const mark = server.received.length;
    const elsewhere = await browser.context.newPage();
    // Same site (localhost), another origin (port): SameSite=Strict lets the cookie go, so the other checks must hold.
    await elsewhere.goto(`http://localhost:${other.port}/`);
    const withHeader = await elsewhere.evaluate(
      async (url) =>
        fetch(url, {
          method: 'POST',
          credentials: 'include',
          headers: { 'x-token-transport': 'cookie' },
        }).then(
          (res) => `answered ${res.status}`,
          (error: unknown) => `failed: ${String(error)}`,
        ),
      target,
    );
    expect(withHeader).to.equal('failed: TypeError: Failed to fetch');
    // A "simple" request (as a form would send): no preflight, so it arrives, with the cookie and without the header.
    // (Its answer never reaches the page: helmet's Cross-Origin-Resource-Policy: same-origin blocks it.)
    expect(await simplePost(elsewhere, target)).to.equal('failed: TypeError: Failed to fetch');
    // Another site altogether (127.0.0.1): SameSite=Strict keeps the cookie home.
    await elsewhere.goto(`http://127.0.0.1:${other.port}/`);
    expect(await simplePost(elsewhere, target)).to.equal('failed: TypeError: Failed to fetch');
    await until(() => server.received.slice(mark).filter((entry) => entry.status !== undefined).length >= 3);
    const seen = server.received
      .slice(mark)
      .map(({ method, path, status, origin, cookie: sent }) => ({ method, path, status, origin, sent }));
    console.log(`      cross-origin attempts as the server saw them: ${JSON.stringify(seen)}`);
    expect(seen).to.deep.equal([
      { method: 'OPTIONS', path: '/auth/refresh', status: 200, origin: `http://localhost:${other.port}`, sent: false },
      { method: 'POST', path: '/auth/refresh', status: 403, origin: `http://localhost:${other.port}`, sent: true },
      { method: 'POST', path: '/auth/refresh', status: 400, origin: `http://127.0.0.1:${other.port}`, sent: false },
    ]);
    await elsewhere.close();
    expect(await refreshCookie(), 'no rotation happened').to.equal(cookie);
  });

  it('two tabs keep working across an expiry with ONE refresh between them; logging out everywhere in one signs out both', async () => {
    const resumed = server.count('POST /auth/refresh', 200);
    second = watchPage(await browser.context.newPage(), watch);
    await second.goto(`${server.base}/`);
    // The new tab has no access token: it resumes with the cookie (one refresh), and the first tab takes the result.
    await second.locator('#status[data-session="on"]').waitFor();
    expect(server.count('POST /auth/refresh', 200)).to.equal(resumed + 1);
    expect(await first.locator('#jwt-payload').innerText()).to.equal(await second.locator('#jwt-payload').innerText());

    await waitForExpiry(first);
    await waitForExpiry(second);
    const refreshes = server.count('POST /auth/refresh');
    const rotated = server.count('POST /auth/refresh', 200);
    const served = server.count('GET /me', 200);
    await Promise.all(
      [first, second].map((page) => page.getByRole('button', { name: 'Call /me', exact: true }).click()),
    );
    await until(() => server.count('GET /me', 200) === served + 2);
    // Every refresh runs under the tabs' Web Lock (one per origin, granted in order): once the lock is ours,
    // any refresh either tab had started or queued is done, its request counted. No time to wait out.
    await first.evaluate("navigator.locks.request('express-token-pair:refresh', () => undefined)");
    const made = server.count('POST /auth/refresh') - refreshes;
    console.log(`      two tabs, both tokens expired, Call /me in each: ${made} refresh, both calls answered 200`);
    expect(made).to.equal(1);
    expect(server.count('POST /auth/refresh', 200) - rotated).to.equal(1);
    expect(await first.locator('#jwt-payload').innerText()).to.equal(await second.locator('#jwt-payload').innerText());

    await second.getByRole('button', { name: 'Log out everywhere' }).click();
    await first.locator('#status[data-session="off"]').waitFor();
    expect(await first.locator('#status').textContent()).to.equal('Signed out. You logged out.');
    expect(await refreshCookie()).to.equal(undefined);
  });

  it("sends the access token only to the API's origin: another origin, however spelt, gets no Authorization and causes no refresh", async () => {
    // A page of its own at https://app.test (no CSP, so it may call elsewhere), served by Playwright with the client's
    // modules as the sample app transpiles them; https://other.test is a foreign server that refuses every token.
    const page = await browser.context.newPage();
    const seen: string[] = [];
    await page.route(/^https:\/\/(app|other)\.test\//, async (route) => {
      const request = route.request();
      const url = new URL(request.url());
      const cors = {
        'access-control-allow-origin': 'https://app.test',
        'access-control-allow-headers': 'authorization',
      };
      if (url.host === 'other.test') {
        seen.push(`${request.method()} ${url.href} ${request.headers().authorization ?? '-'}`);
        await route.fulfill(
          request.method() === 'OPTIONS'
            ? { status: 204, headers: cors }
            : { status: 401, headers: cors, contentType: 'application/json', body: '{"error":"token_expired"}' },
        );
      } else if (url.pathname.startsWith('/client/')) {
        const body = await clientModule(url.pathname.slice('/client/'.length));
        await route.fulfill(body === undefined ? { status: 404 } : { contentType: 'text/javascript', body });
      } else if (url.pathname === '/auth/refresh' || url.pathname === '/me') {
        seen.push(`${request.method()} ${url.href} ${request.headers().authorization ?? '-'}`);
        await route.fulfill({
          contentType: 'application/json',
          body: url.pathname === '/me' ? '{}' : '{"accessToken":"at-2"}',
        });
      } else {
        await route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>app</title>' });
      }
    });
    await page.goto('https://app.test/dir/page.html');
    const statuses = await page.evaluate(`(async () => {
      const { createAuthClient } = await import('/client/index.js');
      const api = createAuthClient({ refreshUrl: '/auth/refresh', channel: false, locks: false });
      await api.setTokens({ accessToken: 'at-1' });
      const inputs = ['https://other.test/a', '//other.test/b', '/\\\\other.test/c', 'HTTPS://OTHER.TEST/d',
        new URL('https://other.test/e'), new Request('https://other.test/f'), '/me'];
      const statuses = [];
      for (const input of inputs) statuses.push((await api.fetch(input)).status);
      return statuses;
    })()`);
    await page.close();
    expect(statuses).to.deep.equal([401, 401, 401, 401, 401, 401, 200]);
    expect(seen).to.deep.equal([
      ...['a', 'b', 'c', 'd', 'e', 'f'].map((path) => `GET https://other.test/${path} -`),
      'GET https://app.test/me Bearer at-1',
    ]);
  });

  it('(control) the watch does report a CSP violation: an inline script injected into the page is blocked', async () => {
    const control = newWatch();
    const page = watchPage(await browser.context.newPage(), control);
    await page.goto(`${server.base}/`);
    await page.evaluate(`{
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
    }`);
    await until(() => control.problems.some((problem) => problem.includes('CSP violation')));
    // Chromium's own line, then the one of the listener launchBrowser() injected.
    expect(control.problems).to.have.length(2);
    expect(control.problems[0]).to.match(
      /^console error: Executing inline script violates the following Content Security Policy directive 'script-src 'self''/,
    );
    expect(control.problems[1]).to.match(/^console error: CSP violation: script-src-elem blocked inline/);
    expect(await page.evaluate('window.inlineRan')).to.equal(undefined);
    await page.close();
  });

  it('had no console error, uncaught error or CSP violation on the demo pages', () => {
    expectClean(watch);
  });
});
