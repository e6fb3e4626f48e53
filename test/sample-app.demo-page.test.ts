/**
 * The sample app's demo page, as HTTP: its files under the default CSP, the
 * client transpiled at /client/*.js, the cookie mode of its auth routes next
 * to the unchanged body mode, and the replay demo's route. The page itself,
 * in a browser, is test/browser.*.test.ts.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { appFactory, email, GRACE, PASSWORD, signUp } from './helpers/sample-app.js';

const ORIGIN = 'http://localhost:3000';
const COOKIE = '__Host-etp_refresh';

/** The refresh cookie a response set, or `undefined`. */
function refreshCookie(res: request.Response): string | undefined {
  const lines = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  const line = lines.find((entry) => entry.startsWith(`${COOKIE}=`));
  return line?.slice(COOKIE.length + 1).split(';')[0];
}

/** A cookie-mode request from the page's own origin. */
function fromPage(test: request.Test, cookie?: string): request.Test {
  test.set('x-token-transport', 'cookie').set('Origin', ORIGIN);
  return cookie === undefined ? test : test.set('Cookie', `${COOKIE}=${cookie}`);
}

async function cookieLogin(sample: SampleApp): Promise<{ cookie: string; body: Record<string, unknown> }> {
  const address = email('page');
  await signUp(sample, address);
  const res = await fromPage(request(sample.app).post('/auth/login')).send({ email: address, password: PASSWORD });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  const cookie = refreshCookie(res);
  expect(cookie).to.be.a('string');
  return { cookie: cookie!, body: res.body as Record<string, unknown> };
}

describe('sample app: the demo page over HTTP', () => {
  const apps = appFactory(() => ({ publicOrigins: [ORIGIN] }));
  beforeEach(() => {
    apps.reset();
  });
  afterEach(() => apps.closeAll());

  it("serves the page, its script and styles as files, under helmet's default Content-Security-Policy", async () => {
    const { app } = await apps.make();
    const page = await request(app).get('/');
    expect(page.status).to.equal(200);
    expect(page.headers['content-type']).to.match(/^text\/html/);
    expect(page.headers['content-security-policy']).to.include("script-src 'self'").and.include("default-src 'self'");
    // Nothing inline: every script has a src, no style element or attribute, no event-handler attribute.
    expect(page.text).to.not.match(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.text).to.not.match(/<style|\sstyle=|\son[a-z]+=/i);
    for (const name of ['Email', 'Password']) expect(page.text).to.include(`>${name}</label>`);
    for (const label of [
      'Register',
      'Log in',
      'Call /me',
      'Call /me ×10',
      'Replay old refresh token',
      'Log out',
      'Log out everywhere',
    ]) {
      expect(page.text).to.include(`>${label}</button>`);
    }
    for (const [path, type] of [
      ['/demo.js', 'text/javascript'],
      ['/demo.css', 'text/css'],
      ['/favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await request(app).get(path!);
      expect(res.status, path).to.equal(200);
      expect(res.headers['content-type'], path).to.include(type);
    }
  });

  it('serves lib/client/<name>.ts transpiled at /client/<name>.js, and nothing else from there', async () => {
    const { app } = await apps.make();
    const res = await request(app).get('/client/index.js');
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect(res.text).to.include('export function createAuthClient(').and.include("from './refresh.js'");
    expect(res.text).to.not.match(/^import type|: AuthClientOptions\b|export type \{/m);
    for (const path of [
      '/client/nope.js',
      '/client/Index.js',
      '/client/index.ts',
      '/client/tsconfig.json',
      '/client/..%2Fapp.js',
      '/client/%2e%2e%2findex.js',
      '/client/../app.ts',
      '/tsconfig.public.json',
    ]) {
      expect((await request(app).get(path)).status, path).to.equal(404);
    }
  });

  it('keeps body mode as it was: the whole pair as JSON, no cookie', async () => {
    const sample = await apps.make();
    const address = email('curl');
    await signUp(sample, address);
    const res = await request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD });
    expect(res.body).to.have.keys('accessToken', 'refreshToken', 'tokenType', 'expiresIn', 'user');
    expect(res.headers['set-cookie']).to.equal(undefined);
    const refreshed = await request(sample.app)
      .post('/auth/refresh')
      .send({ refreshToken: (res.body as { refreshToken: string }).refreshToken });
    expect(refreshed.status).to.equal(200);
    expect(refreshed.body).to.have.property('refreshToken');
    expect(refreshed.headers['set-cookie']).to.equal(undefined);
  });

  it('answers the page in cookie mode: the refresh token only in the cookie, rotated by refresh, cleared by logout', async () => {
    const sample = await apps.make();
    const { cookie, body } = await cookieLogin(sample);
    expect(body).to.have.keys('accessToken', 'tokenType', 'expiresIn', 'user');
    const refreshed = await fromPage(request(sample.app).post('/auth/refresh'), cookie);
    expect(refreshed.status).to.equal(200);
    expect(refreshed.body).to.not.have.property('refreshToken');
    const next = refreshCookie(refreshed);
    expect(next).to.be.a('string').and.not.equal(cookie);
    const out = await fromPage(request(sample.app).post('/auth/logout'), next);
    expect(out.status).to.equal(204);
    expect(refreshCookie(out)).to.equal('');
    expect((await fromPage(request(sample.app).post('/auth/refresh'), next)).body).to.include({
      error: 'token_revoked',
    });
  });

  it('refuses cookie mode from any other origin with 403 csrf_rejected, before the password check', async () => {
    const sample = await apps.make();
    const { cookie } = await cookieLogin(sample);
    const evil = 'http://localhost:4000';
    const login = await request(sample.app)
      .post('/auth/login')
      .set('x-token-transport', 'cookie')
      .set('Origin', evil)
      .send({ email: 'nobody@example.com', password: PASSWORD });
    expect([login.status, login.body]).to.deep.equal([
      403,
      { error: 'csrf_rejected', message: "the request's Origin is not allowed" },
    ]);
    const refresh = await request(sample.app)
      .post('/auth/refresh')
      .set('Cookie', `${COOKIE}=${cookie}`)
      .set('Origin', evil);
    expect([refresh.status, (refresh.body as { error: string }).error]).to.deep.equal([403, 'csrf_rejected']);
    // The cookie was not spent: the page's own refresh still works.
    expect((await fromPage(request(sample.app).post('/auth/refresh'), cookie)).status).to.equal(200);
  });

  it('has no replay-demo route unless asked (server.ts asks outside production)', async () => {
    const sample = await apps.make();
    const { cookie } = await cookieLogin(sample);
    expect((await fromPage(request(sample.app).post('/auth/demo/attacker-refresh'), cookie)).status).to.equal(404);
  });

  it('replay demo: the "thief" spends the cookie server-side; after the grace window the page\'s refresh is refresh_reused', async () => {
    const sample = await apps.make({ replayDemo: true });
    const { cookie } = await cookieLogin(sample);
    const stolen = await fromPage(request(sample.app).post('/auth/demo/attacker-refresh'), cookie);
    expect([stolen.status, stolen.body]).to.deep.equal([200, { reuseGrace: GRACE }]);
    expect(stolen.headers['set-cookie'], 'the new pair goes nowhere').to.equal(undefined);
    expect(JSON.stringify(stolen.body)).to.not.match(/eyJ/);
    apps.clock.advance(GRACE + 1);
    const page = await fromPage(request(sample.app).post('/auth/refresh'), cookie);
    expect([page.status, (page.body as { error: string }).error]).to.deep.equal([401, 'refresh_reused']);
  });

  it('replay demo: needs the cookie, and passes the same CSRF checks as a refresh', async () => {
    const sample = await apps.make({ replayDemo: true });
    const { cookie } = await cookieLogin(sample);
    const path = '/auth/demo/attacker-refresh';
    expect((await request(sample.app).post(path)).body).to.include({ error: 'token_missing' });
    expect((await fromPage(request(sample.app).post(path))).body).to.include({ error: 'token_missing' });
    const crossSite = await request(sample.app)
      .post(path)
      .set('Cookie', `${COOKIE}=${cookie}`)
      .set('x-token-transport', 'cookie')
      .set('Origin', 'https://evil.example');
    expect([crossSite.status, (crossSite.body as { error: string }).error]).to.deep.equal([403, 'csrf_rejected']);
    const noHeader = await request(sample.app).post(path).set('Cookie', `${COOKIE}=${cookie}`).set('Origin', ORIGIN);
    expect(noHeader.status).to.equal(403);
    expect((await fromPage(request(sample.app).post('/auth/refresh'), cookie)).status, 'nothing was spent').to.equal(
      200,
    );
  });

  it("replay demo: the cookie's name twice (one planted by another host) is 400 cookie_ambiguous, in either order, and nothing is spent", async () => {
    const sample = await apps.make({ replayDemo: true });
    const { cookie } = await cookieLogin(sample);
    const path = '/auth/demo/attacker-refresh';
    for (const header of [`${COOKIE}=planted; ${COOKIE}=${cookie}`, `${COOKIE}=${cookie};${COOKIE} =planted`]) {
      const res = await request(sample.app)
        .post(path)
        .set('x-token-transport', 'cookie')
        .set('Origin', ORIGIN)
        .set('Cookie', header);
      expect([res.status, (res.body as { error: string }).error], header).to.deep.equal([400, 'cookie_ambiguous']);
    }
    apps.clock.advance(GRACE + 1);
    expect((await fromPage(request(sample.app).post('/auth/refresh'), cookie)).status, 'nothing was spent').to.equal(
      200,
    );
  });
});
