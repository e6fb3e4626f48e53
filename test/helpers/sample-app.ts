/**
 * Shared pieces of the sample-app tests: an app factory with a controlled
 * clock and a captured log, request helpers, and `describeFlows`, the
 * end-to-end suite run once in memory and once against Redis.
 */
import { inspect } from 'node:util';
import { expect } from 'chai';
import request from 'supertest';
import { createApp, type AppOptions, type SampleApp } from '../../sample-app/app.js';
import type { Logger } from '../../sample-app/logger.js';

export const SECRETS = {
  accessTokenSecret: 'sample-access-secret-0123456789-abcdefghij',
  refreshTokenSecret: 'sample-refresh-secret-0123456789-abcdefghij',
} as const;
export const PASSWORD = 'correct horse battery';
export const ACCESS_TTL = 900;
export const GRACE = 5;

/** Time the app sees; tests move it forward instead of sleeping. Starts at the real now. */
export class TestClock {
  now = Date.now();
  readonly read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  text: string;
}

export function captureLogger(lines: LogLine[]): Logger {
  return {
    info: (text) => { lines.push({ level: 'info', text }); },
    warn: (text) => { lines.push({ level: 'warn', text }); },
    error: (text, error) => {
      lines.push({ level: 'error', text: error === undefined ? text : `${text} ${error instanceof Error ? error.stack ?? '' : inspect(error)}` });
    },
  };
}

/**
 * Builds apps with test defaults (bcrypt cost 4, limits out of the way, the
 * shared clock and log) over `base()`; `closeAll()` closes them.
 */
export function appFactory(base: () => Partial<AppOptions>) {
  const opened: SampleApp[] = [];
  const logs: LogLine[] = [];
  const clock = new TestClock();
  return {
    clock,
    logs,
    async make(overrides: Partial<AppOptions> = {}): Promise<SampleApp> {
      const sample = await createApp({
        ...SECRETS,
        accessTokenTtl: ACCESS_TTL,
        reuseGrace: GRACE,
        bcryptCost: 4,
        loginRateLimit: 1000,
        refreshRateLimit: 1000,
        clock: clock.read,
        logger: captureLogger(logs),
        ...base(),
        ...overrides,
      });
      opened.push(sample);
      return sample;
    },
    async closeAll(): Promise<void> {
      await Promise.all(opened.splice(0).map((sample) => sample.close()));
    },
    reset(): void {
      logs.length = 0;
      clock.now = Date.now();
    },
  };
}

export interface LoginBody {
  accessToken: string;
  refreshToken: string;
  tokenType: string;
  expiresIn: number;
  user: { id: string; email: string };
}

export async function signUp(sample: SampleApp, email: string, password = PASSWORD): Promise<{ id: string; email: string }> {
  const res = await request(sample.app).post('/auth/register').send({ email, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return (res.body as { user: { id: string; email: string } }).user;
}

export async function logIn(sample: SampleApp, email: string, password = PASSWORD): Promise<LoginBody> {
  const res = await request(sample.app).post('/auth/login').send({ email, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as LoginBody;
}

export function refresh(sample: SampleApp, refreshToken: string): request.Test {
  return request(sample.app).post('/auth/refresh').send({ refreshToken });
}

export function me(sample: SampleApp, accessToken: string): request.Test {
  return request(sample.app).get('/me').set('Authorization', `Bearer ${accessToken}`);
}

let counter = 0;
/** A fresh address per call, so tests never collide on users. */
export function email(name = 'user'): string {
  counter += 1;
  return `${name}${counter}-${process.pid}@example.com`;
}

/**
 * The end-to-end suite. `base()` gives the store options of each new app
 * (called per app, so Redis apps each get a fresh key prefix).
 */
export function describeFlows(kind: 'memory' | 'redis', base: () => Partial<AppOptions>): void {
  const apps = appFactory(base);
  let app: SampleApp;

  beforeEach(async () => {
    apps.reset();
    app = await apps.make();
  });
  afterEach(async function () {
    await apps.closeAll();
    // Whatever a test did, nothing it logged may carry a token, a password or a secret.
    for (const { text } of apps.logs) {
      expect(text, `log line of "${this.currentTest?.title ?? ''}"`).to.not.match(/eyJ[\w-]+\.eyJ/);
      for (const secret of [PASSWORD, SECRETS.accessTokenSecret, SECRETS.refreshTokenSecret]) {
        expect(text).to.not.include(secret);
      }
    }
  });

  it('runs register, login, /me and refresh, then ends the session when a spent refresh token is replayed after the grace window', async () => {
    const address = email('Ann');
    const registered = await request(app.app).post('/auth/register').send({ email: `  ${address.toUpperCase()} `, password: PASSWORD });
    expect(registered.status).to.equal(201);
    const user = (registered.body as { user: { id: string; email: string } }).user;
    expect(user.email).to.equal(address.toLowerCase());
    expect(user.id).to.match(/^[0-9a-f-]{36}$/);
    expect(registered.body).to.deep.equal({ user: { id: user.id, email: user.email } });

    const login = await request(app.app).post('/auth/login').send({ email: address, password: PASSWORD });
    expect(login.status).to.equal(200);
    expect(login.headers['cache-control']).to.equal('no-store');
    const first = login.body as LoginBody;
    expect(first).to.include({ tokenType: 'Bearer', expiresIn: ACCESS_TTL });
    expect(first.user).to.deep.equal(user);

    const profile = await me(app, first.accessToken);
    expect(profile.status).to.equal(200);
    expect(profile.body).to.deep.equal({ user });

    const rotated = await refresh(app, first.refreshToken);
    expect(rotated.status).to.equal(200);
    const second = rotated.body as LoginBody;
    expect(second.refreshToken).to.be.a('string').and.not.equal(first.refreshToken);
    expect((await me(app, second.accessToken)).body).to.deep.equal({ user });

    // Within the grace window the spent token gets the same successor (two tabs refreshing at once).
    const withinGrace = await refresh(app, first.refreshToken);
    expect(withinGrace.status).to.equal(200);
    expect((withinGrace.body as LoginBody).refreshToken).to.equal(second.refreshToken);

    apps.clock.advance(GRACE + 1);
    const replayed = await refresh(app, first.refreshToken);
    expect(replayed.status).to.equal(401);
    expect(replayed.body).to.include({ error: 'refresh_reused' });
    // The whole session is gone: even the legitimate current token no longer works.
    const current = await refresh(app, second.refreshToken);
    expect(current.status).to.equal(401);
    expect(current.body).to.include({ error: 'token_revoked' });
    expect(apps.logs.some((line) => line.level === 'warn' && line.text.includes(`refresh token reuse: session`)
      && line.text.includes(user.id))).to.equal(true);
  });

  it('logout ends the session: refresh then fails with token_revoked, and logging out again still answers 204', async () => {
    const address = email();
    await signUp(app, address);
    const { refreshToken } = await logIn(app, address);
    const out = await request(app.app).post('/auth/logout').send({ refreshToken });
    expect(out.status).to.equal(204);
    expect(out.text).to.equal('');
    const after = await refresh(app, refreshToken);
    expect(after.status).to.equal(401);
    expect(after.body).to.include({ error: 'token_revoked' });
    expect((await request(app.app).post('/auth/logout').send({ refreshToken })).status).to.equal(204);
    const forged = await request(app.app).post('/auth/logout').send({ refreshToken: `${refreshToken}x` });
    expect(forged.status).to.equal(401);
    expect(forged.body).to.include({ error: 'token_invalid' });
    const missing = await request(app.app).post('/auth/logout').send({});
    expect(missing.status).to.equal(400);
    expect(missing.body).to.include({ error: 'invalid_request' });
  });

  it("logout-all ends every session of the user and none of another user's", async () => {
    const ann = email('ann');
    const bob = email('bob');
    await signUp(app, ann);
    await signUp(app, bob);
    const laptop = await logIn(app, ann);
    const phone = await logIn(app, ann);
    const other = await logIn(app, bob);

    const unauthenticated = await request(app.app).post('/auth/logout-all');
    expect(unauthenticated.status).to.equal(401);
    expect(unauthenticated.body).to.include({ error: 'token_missing' });
    expect(unauthenticated.headers['www-authenticate']).to.equal('Bearer');

    const out = await request(app.app).post('/auth/logout-all').set('Authorization', `Bearer ${phone.accessToken}`);
    expect(out.status).to.equal(204);
    for (const session of [laptop, phone]) {
      const res = await refresh(app, session.refreshToken);
      expect(res.status).to.equal(401);
      expect(res.body).to.include({ error: 'token_revoked' });
    }
    expect((await refresh(app, other.refreshToken)).status).to.equal(200);
  });

  it('refuses a second account for the same email, whatever its case, with 409 email_taken', async () => {
    const address = email();
    await signUp(app, address);
    for (const variant of [address, address.toUpperCase()]) {
      const res = await request(app.app).post('/auth/register').send({ email: variant, password: 'another password' });
      expect(res.status).to.equal(409);
      expect(res.body).to.deep.equal({ error: 'email_taken', message: 'an account with this email already exists' });
    }
    // The first password still works: the refused attempts changed nothing.
    await logIn(app, address);
  });

  it('answers 400 invalid_request naming the problem for each malformed register or login body', async () => {
    const ok = email();
    const cases: Array<[path: string, body: unknown, message: string]> = [
      ['/auth/register', undefined, 'body must be a JSON object with email and password'],
      ['/auth/register', [ok, PASSWORD], 'body must be a JSON object with email and password'],
      ['/auth/register', { password: PASSWORD }, 'email must be a string'],
      ['/auth/register', { email: 42, password: PASSWORD }, 'email must be a string'],
      ['/auth/register', { email: ok }, 'password must be a string'],
      ['/auth/register', { email: ok, password: 12345678 }, 'password must be a string'],
      ['/auth/register', { email: 'not-an-email', password: PASSWORD }, 'email is not a valid address'],
      ['/auth/register', { email: 'a b@example.com', password: PASSWORD }, 'email is not a valid address'],
      ['/auth/register', { email: `${'x'.repeat(250)}@example.com`, password: PASSWORD }, 'email is not a valid address'],
      ['/auth/register', { email: ok, password: 'seven77' }, 'password must be at least 8 characters'],
      // Four emoji are 8 UTF-16 units but 4 characters: counting units would let them through.
      ['/auth/register', { email: ok, password: '😀😀😀😀' }, 'password must be at least 8 characters'],
      ['/auth/register', { email: ok, password: '😀'.repeat(19) }, 'password must be at most 72 bytes'],
      ['/auth/register', { email: ok, password: 'é'.repeat(37) }, 'password must be at most 72 bytes'],
      ['/auth/login', { email: null, password: PASSWORD }, 'email must be a string'],
      ['/auth/login', { email: ok, password: '' }, 'password is required'],
      ['/auth/login', { email: ok, password: 'x'.repeat(73) }, 'password must be at most 72 bytes'],
    ];
    for (const [path, body, message] of cases) {
      const req = request(app.app).post(path);
      const res = await (body === undefined ? req : req.send(body as object));
      expect(res.status, `${path} ${JSON.stringify(body)}`).to.equal(400);
      expect(res.body, `${path} ${JSON.stringify(body)}`).to.deep.equal({ error: 'invalid_request', message });
    }
    // None of them created the account.
    const login = await request(app.app).post('/auth/login').send({ email: ok, password: PASSWORD });
    expect(login.status).to.equal(401);
  });

  it('accepts a password of exactly 72 bytes, and a longer login is refused rather than cut to match it', async () => {
    const address = email();
    const longest = 'p'.repeat(72);
    await signUp(app, address, longest);
    await logIn(app, address, longest);
    // bcrypt would compare only the first 72 bytes: without the length check this would log in.
    const longer = await request(app.app).post('/auth/login').send({ email: address, password: `${longest}!` });
    expect(longer.status).to.equal(400);
    await signUp(app, email(), 'eight888');
    // Characters, not UTF-16 units or bytes: 8 emoji (32 bytes) are enough, 18 (72 bytes) are the most.
    for (const password of ['😀'.repeat(8), '😀'.repeat(18)]) {
      const address2 = email();
      await signUp(app, address2, password);
      await logIn(app, address2, password);
    }
  });

  it('maps case, full-width (NFKC) and trailing-dot spellings of an email to the one account', async () => {
    const address = email('ann');
    const user = await signUp(app, address);
    const [local = '', domain = ''] = address.split('@');
    const fullWidth = (text: string): string => text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
    const variants = [
      address.toUpperCase(),
      fullWidth(address), // ａｎｎ…＠ｅｘａｍｐｌｅ．ｃｏｍ
      `${fullWidth(local.slice(0, 1))}${local.slice(1)}@${domain}`,
      `${address}.`, // the DNS root: the same domain
      `${local}@${domain.replace('.', '\u3002')}`, // an ideographic full stop separates labels in IDNA
      `${local}@${domain.toUpperCase()}\u3002`,
    ];
    for (const variant of variants) {
      const taken = await request(app.app).post('/auth/register').send({ email: variant, password: 'another password' });
      expect(taken.status, JSON.stringify(variant)).to.equal(409);
      expect(taken.body).to.include({ error: 'email_taken' });
      const login = await logIn(app, variant);
      expect(login.user, JSON.stringify(variant)).to.deep.equal(user);
    }
  });

  it('refuses emails with control, format or invisible characters instead of creating look-alike accounts', async () => {
    const address = email('ann');
    await signUp(app, address);
    const [local = '', domain = ''] = address.split('@');
    const cases = [
      `${address}\u200b`, `\u200b${address}`, `${local}\u200c@${domain}`, `${local}@\u200d${domain}`, // zero-width
      `${local}\u0000@${domain}`, `${address}\r\n`, `${local}\r\nBcc: x@${domain}`, `${address}\t`, // NUL, CR/LF, tab
      `\ufeff${address}`, `${local}\u2060@${domain}`, `\u202e${address}`, `${local}\u00ad@${domain}`, // BOM, word joiner, RTL override, soft hyphen
      `${local}\u0085@${domain}`, `${local}\u3164@${domain}`, `${local}\ufe0f@${domain}`, // C1 NEL, Hangul filler, variation selector
    ];
    for (const variant of cases) {
      for (const path of ['/auth/register', '/auth/login']) {
        const res = await request(app.app).post(path).send({ email: variant, password: PASSWORD });
        expect(res.status, `${path} ${JSON.stringify(variant)}`).to.equal(400);
        expect(res.body).to.deep.equal({ error: 'invalid_request', message: 'email must not contain control or invisible characters' });
      }
    }
    for (const bad of [`${address}..`, `${local}@.${domain}`, `${local}@${domain.replace('.', '..')}`, `${local}@[127.0.0.1]`]) {
      const res = await request(app.app).post('/auth/register').send({ email: bad, password: PASSWORD });
      expect(res.status, JSON.stringify(bad)).to.equal(400);
      expect(res.body).to.deep.equal({ error: 'invalid_request', message: 'email is not a valid address' });
    }
  });

  it('answers an unknown email and a wrong password with the same 401 body', async () => {
    const address = email();
    await signUp(app, address);
    const wrong = await request(app.app).post('/auth/login').send({ email: address, password: 'not the password' });
    const unknown = await request(app.app).post('/auth/login').send({ email: email('nobody'), password: 'not the password' });
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    expect(wrong.body).to.deep.equal({ error: 'invalid_credentials', message: 'email or password is incorrect' });
    expect(unknown.body).to.deep.equal(wrong.body);
    expect(unknown.headers['www-authenticate']).to.equal(wrong.headers['www-authenticate']);
  });

  it('checks access tokens on /me: missing, forged, a refresh token, and expired ones are 401; refreshing gets a working one', async () => {
    const address = email();
    const user = await signUp(app, address);
    const { accessToken, refreshToken } = await logIn(app, address);
    const cases: Array<[header: string | undefined, code: string]> = [
      [undefined, 'token_missing'],
      ['Bearer not.a.token', 'token_invalid'],
      [`Bearer ${accessToken.slice(0, -2)}xx`, 'token_invalid'],
      [`Bearer ${refreshToken}`, 'token_invalid'],
    ];
    for (const [header, code] of cases) {
      const req = request(app.app).get('/me');
      const res = await (header === undefined ? req : req.set('Authorization', header));
      expect(res.status, header).to.equal(401);
      expect(res.body, header).to.include({ error: code });
      expect(res.headers['www-authenticate'], header).to.match(/^Bearer/);
    }
    apps.clock.advance(ACCESS_TTL + 1);
    const expired = await me(app, accessToken);
    expect(expired.status).to.equal(401);
    expect(expired.body).to.include({ error: 'token_expired' });
    const renewed = await refresh(app, refreshToken);
    expect(renewed.status).to.equal(200);
    expect((await me(app, (renewed.body as LoginBody).accessToken)).body).to.deep.equal({ user });
  });

  it('rate limits login with a JSON 429 after the configured count, and counts register separately', async () => {
    const limited = await apps.make({ loginRateLimit: 3 });
    for (let i = 1; i <= 3; i += 1) {
      const res = await request(limited.app).post('/auth/login').send({ email: email('guess'), password: PASSWORD });
      expect(res.status).to.equal(401);
      expect(res.headers.ratelimit).to.match(new RegExp(`^"login"; r=${3 - i}; t=\\d+$`));
    }
    const blocked = await request(limited.app).post('/auth/login').send({ email: email('guess'), password: PASSWORD });
    expect(blocked.status).to.equal(429);
    expect(blocked.body).to.deep.equal({ error: 'rate_limited', message: 'too many requests; try again later' });
    expect(blocked.headers['ratelimit-policy']).to.match(/^"login"; q=3; w=60; /);
    expect(Number(blocked.headers['retry-after'])).to.be.within(1, 60);
    expect(blocked.headers['x-ratelimit-limit']).to.equal(undefined);
    await signUp(limited, email());
  });

  it('rate limits refresh after the configured count, whatever the token', async () => {
    const limited = await apps.make({ refreshRateLimit: 2 });
    const address = email();
    await signUp(limited, address);
    const { refreshToken } = await logIn(limited, address);
    expect((await refresh(limited, 'garbage')).status).to.equal(401);
    expect((await refresh(limited, refreshToken)).status).to.equal(200);
    const blocked = await refresh(limited, refreshToken);
    expect(blocked.status).to.equal(429);
    expect(blocked.body).to.include({ error: 'rate_limited' });
  });

  it('turns a rate limit off with 0', async () => {
    const unlimited = await apps.make({ loginRateLimit: 0, refreshRateLimit: 0 });
    for (let i = 0; i < 12; i += 1) {
      const login = await request(unlimited.app).post('/auth/login').send({ email: email('guess'), password: PASSWORD });
      expect(login.status).to.equal(401);
      expect(login.headers.ratelimit).to.equal(undefined);
      const renewed = await refresh(unlimited, 'garbage');
      expect(renewed.status).to.equal(401);
      expect(renewed.headers.ratelimit).to.equal(undefined);
    }
  });

  it(`reports health with the store kind (${kind}) and security headers`, async () => {
    const res = await request(app.app).get('/health');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok', store: kind, storeOk: true });
    expect(app.store).to.equal(kind);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['x-powered-by']).to.equal(undefined);
  });

  it('answers bad bodies and unknown routes with JSON 4xx, never 500', async () => {
    const cases: Array<[method: 'get' | 'post', path: string, type: string | undefined, body: string | undefined, status: number, json: object]> = [
      ['post', '/auth/login', 'application/json', '{"email": "a@b.co", "pass', 400, { error: 'invalid_request', message: 'body is not valid JSON' }],
      ['post', '/auth/refresh', 'application/json', '{refreshToken: x}', 400, { error: 'invalid_request', message: 'body is not valid JSON' }],
      ['post', '/auth/register', 'application/json', '"just a string"', 400, { error: 'invalid_request', message: 'body is not valid JSON' }],
      ['post', '/auth/login', 'text/plain', 'email=a@b.co', 400, { error: 'invalid_request', message: 'body must be a JSON object with email and password' }],
      ['post', '/auth/register', 'application/json', JSON.stringify({ email: email(), password: 'x'.repeat(11 * 1024) }), 413, { error: 'payload_too_large', message: 'body is too large' }],
      ['get', '/nowhere', undefined, undefined, 404, { error: 'not_found', message: 'no such route' }],
      ['get', '/auth/login', undefined, undefined, 404, { error: 'not_found', message: 'no such route' }],
    ];
    for (const [method, path, type, body, status, json] of cases) {
      let req = request(app.app)[method](path);
      if (type !== undefined) req = req.set('Content-Type', type);
      const res = await (body === undefined ? req : req.send(body));
      expect(res.status, `${method} ${path} ${body?.slice(0, 30) ?? ''}`).to.equal(status);
      expect(res.headers['content-type']).to.match(/^application\/json/);
      expect(res.body).to.deep.equal(json);
    }
  });
}
