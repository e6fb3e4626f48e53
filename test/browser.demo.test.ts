/**
 * The demo page in headless Chromium, against the sample app (cookie mode,
 * 3 s access tokens, 1 s reuse grace): log in by the labels, the cookie's
 * attributes, ten calls sharing one refresh, the replay button ending the
 * session, logout; no console error, uncaught error or CSP violation.
 * Writes the screenshot to .tmp/browser/demo.png (and docs/demo.png with
 * UPDATE_SCREENSHOT=1).
 */
import { mkdir } from 'node:fs/promises';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import {
  expectClean,
  launchBrowser,
  newWatch,
  requireBrowser,
  signIn,
  startDemo,
  waitForExpiry,
  watchPage,
  type Browser,
  type DemoServer,
} from './helpers/browser.js';
import { PASSWORD, until } from './helpers/sample-app.js';

const ACCESS_TTL = 3;
const GRACE = 1;

describe('demo page in a real browser (Chromium)', function () {
  this.timeout(120_000); // generous for a busy machine: Chromium and a real server; the waits are on page state
  let server: DemoServer;
  let browser: Browser;
  let page: Page;
  const watch = newWatch();
  // The server is this suite's own, in memory: the README's screenshot shows a plain address.
  const account = 'ann@example.com';

  before(async function () {
    requireBrowser(this);
    server = await startDemo({ accessTokenTtl: ACCESS_TTL, reuseGrace: GRACE });
    browser = await launchBrowser();
    page = watchPage(await browser.context.newPage(), watch);
    await page.goto(`${server.base}/`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('on a first visit: no refresh, signed out; a client that redirects on sessionended (as the README shows) would not loop', async () => {
    await page.locator('#status[data-session="off"]').waitFor();
    expect(await page.locator('#status').textContent()).to.equal('Signed out.');
    expect(server.count('POST /auth/refresh')).to.equal(0);
    // Three page loads of an app written as the README shows, with no cookie: each load's refresh is
    // refused (token_missing), and none may fire sessionended, whose listener would redirect.
    const loads = await page.evaluate(`(async () => {
      const { createAuthClient } = await import('/client/index.js');
      const loads = [];
      for (let load = 0; load < 3; load++) {
        let fired = 0;
        const api = createAuthClient({ refreshUrl: '/auth/refresh', channel: false, onSessionEnded: () => { fired++; } });
        const token = await api.refresh();
        loads.push({ token: token === undefined ? 'none' : 'some', fired });
        api.close();
      }
      return loads;
    })()`);
    expect(loads).to.deep.equal(Array(3).fill({ token: 'none', fired: 0 }));
    expect(server.count('POST /auth/refresh', 401)).to.equal(3);
  });

  it('a page that thinks it may hold a cookie, and does not, asks once and shows the signed-out state', async () => {
    await page.evaluate("localStorage.setItem('etp-demo:maybe-signed-in', '1')");
    const refreshes = server.count('POST /auth/refresh');
    await page.reload();
    await page.locator('#status[data-session="off"]').waitFor();
    await until(() => server.count('POST /auth/refresh', 401) === refreshes + 1);
    await page.locator('#status', { hasText: 'Signed out. No session in this browser.' }).waitFor();
    expect(await page.evaluate("localStorage.getItem('etp-demo:maybe-signed-in')")).to.equal(null);
    await page.reload();
    await page.locator('#status', { hasText: /^Signed out\.$/ }).waitFor();
    expect(server.count('POST /auth/refresh')).to.equal(refreshes + 1);
  });

  it('registers, logs out and logs in through the form, found by its labels', async () => {
    await signIn(page, account, PASSWORD, 'Register');
    expect(await page.locator('#status').textContent()).to.equal(`Signed in as ${account}.`);
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.locator('#status[data-session="off"]').waitFor();
    await signIn(page, account, PASSWORD);
    expect(JSON.parse(await page.locator('#jwt-header').innerText())).to.deep.equal({ alg: 'HS256', typ: 'at+jwt' });
    const payload = JSON.parse(await page.locator('#jwt-payload').innerText()) as Record<string, unknown>;
    expect(payload).to.include({ email: account });
    expect((payload.exp as number) - (payload.iat as number)).to.equal(ACCESS_TTL);
    // The countdown runs (3 s tokens: on a busy machine it may already have run out).
    expect(await page.locator('#expiry').textContent()).to.match(
      /^(Expires in \d\.\d s\.|Expired \d+\.\d s ago: the next call gets 401 token_expired, then one refresh\.)$/,
    );
    expect(server.count('POST /auth/login', 200)).to.equal(2);
    expect(server.count('POST /auth/logout', 204)).to.equal(1);
  });

  it('keeps the refresh token in an HttpOnly, SameSite=Strict __Host- cookie, out of document.cookie; a reload resumes', async () => {
    const cookies = await browser.context.cookies();
    expect(
      cookies.map(({ name, path, httpOnly, secure, sameSite, domain }) => ({
        name,
        path,
        httpOnly,
        secure,
        sameSite,
        domain,
      })),
    ).to.deep.equal([
      { name: '__Host-etp_refresh', path: '/', httpOnly: true, secure: true, sameSite: 'Strict', domain: 'localhost' },
    ]);
    expect(await page.evaluate('document.cookie')).to.equal('');
    // A reload forgets the access token; the page resumes by a refresh the browser sends the cookie with.
    const refreshes = server.count('POST /auth/refresh', 200);
    await page.reload();
    await page.locator('#status[data-session="on"]').waitFor();
    expect(server.count('POST /auth/refresh', 200)).to.equal(refreshes + 1);
    // Path=/ (a __Host- cookie cannot be narrower, the price of keeping sibling subdomains out):
    // it goes with every request to this origin, the refreshes among them.
    const carried = server.received.filter((entry) => entry.cookie).map((entry) => entry.path);
    expect(carried).to.include('/auth/refresh');
  });

  it('after the access token expires, ten concurrent calls share ONE refresh and all ten succeed', async () => {
    await waitForExpiry(page);
    const meBefore = server.count('GET /me');
    const refreshesBefore = server.count('POST /auth/refresh');
    await page.getByRole('button', { name: 'Call /me ×10' }).click();
    const batch = page.locator('#batch[data-ok]');
    await batch.waitFor();
    const me = server.count('GET /me') - meBefore;
    const refreshes = server.count('POST /auth/refresh') - refreshesBefore;
    const shown = {
      ok: await batch.getAttribute('data-ok'),
      requests: await batch.getAttribute('data-requests'),
      refreshes: await batch.getAttribute('data-refreshes'),
    };
    console.log(
      `      Call /me ×10 after expiry: ${me} requests to /me (10 × 401 token_expired, 10 retries), ` +
        `${refreshes} refresh; the page counted ${shown.requests} requests and ${shown.refreshes} refresh, ${shown.ok} answered 200`,
    );
    expect({ me, refreshes }).to.deep.equal({ me: 20, refreshes: 1 });
    expect(shown).to.deep.equal({ ok: '10', requests: '21', refreshes: '1' });
    expect(server.count('GET /me', 401)).to.equal(10);
    expect(server.received.filter((entry) => entry.path === '/auth/refresh').at(-1)?.status).to.equal(200);
    expect(await page.locator('#log').innerText()).to.match(
      /POST \/auth\/refresh\s+refresh cookie\s+→ 200\s+rotated: access token …/,
    );

    await mkdir('.tmp/browser', { recursive: true });
    await page.screenshot({ path: '.tmp/browser/demo.png', fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') await page.screenshot({ path: 'docs/demo.png', fullPage: true });
  });

  it("Replay old refresh token: the page's next refresh is refresh_reused, the session is revoked, the page signed out", async () => {
    await page.getByRole('button', { name: 'Replay old refresh token' }).click();
    // The page waits out the grace (GRACE + 1 s) before its own refresh: allow that many times over.
    await page.locator('#status[data-session="off"]').waitFor({ timeout: (GRACE + 1) * 30_000 });
    expect(await page.locator('#status').textContent()).to.include('refresh_reused');
    const refreshes = server.received
      .filter((entry) => entry.path.startsWith('/auth/') && entry.method === 'POST')
      .slice(-2);
    expect(refreshes.map((entry) => `${entry.path} ${entry.status}`)).to.deep.equal([
      '/auth/demo/attacker-refresh 200',
      '/auth/refresh 401',
    ]);
    expect(server.logs.some((line) => line.fields.event === 'reuse_detected')).to.equal(true);
    expect(await page.locator('#expiry').textContent()).to.equal('No access token.');
    expect(await page.getByRole('button', { name: 'Call /me', exact: true }).isDisabled()).to.equal(true);
    // A reload does not bring it back: the cookie it still holds is dead.
    await page.reload();
    await page.locator('#status[data-session="off"]').waitFor();
    expect(await page.locator('#status').textContent()).to.equal('Signed out.');
  });

  it('Log out everywhere ends every session of the user', async () => {
    await signIn(page, account, PASSWORD);
    await page.getByRole('button', { name: 'Log out everywhere' }).click();
    await page.locator('#status[data-session="off"]').waitFor();
    expect(server.count('POST /auth/logout-all', 204)).to.equal(1);
    expect(await browser.context.cookies()).to.deep.equal([]);
  });

  it('had no console error, uncaught error or CSP violation along the way', () => {
    expectClean(watch);
    console.log(
      `      ${watch.unauthorized} answers were 401 (Chromium logged ${watch.expected401} "Failed to load resource" lines for them)`,
    );
  });
});
