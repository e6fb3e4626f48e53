/**
 * `describeFlows`, the end-to-end suite run once in memory and once against
 * Redis: sessions (register, login, refresh, logout, /me), rate limits,
 * health and bad bodies here; the email and password checks in
 * sample-app-credentials.ts; listing and ending sessions in
 * sample-app-sessions.ts; the password change in sample-app-password.ts.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { AppOptions, SampleApp } from '../../sample-app/app.js';
import { describeCredentialChecks } from './sample-app-credentials.js';
import { describePasswordChange } from './sample-app-password.js';
import { describeSessionFlows } from './sample-app-sessions.js';
import {
  ACCESS_TTL,
  appFactory,
  email,
  GRACE,
  LOCAL_IP,
  logIn,
  me,
  PASSWORD,
  refresh,
  SECRETS,
  securityEvents,
  sessionIdOf,
  signUp,
  type LoginBody,
} from './sample-app.js';

/**
 * The end-to-end suite. `base()` gives the store options of each new app
 * (called per app, so Redis apps each get a fresh key prefix).
 */
export function describeFlows(kind: 'memory' | 'redis' | 'redis cluster', base: () => Partial<AppOptions>): void {
  const apps = appFactory(base);
  let app: SampleApp;

  beforeEach(async () => {
    apps.reset();
    app = await apps.make();
  });
  afterEach(async function () {
    await apps.closeAll();
    // Whatever a test did, nothing it logged may carry a token, a password or a secret.
    for (const { raw } of apps.logs) {
      expect(raw, `log line of "${this.currentTest?.title ?? ''}"`).to.not.match(/eyJ[\w-]+\.eyJ/);
      for (const secret of [PASSWORD, SECRETS.accessTokenSecret, SECRETS.refreshTokenSecret]) {
        expect(raw).to.not.include(secret);
      }
    }
  });

  it('runs register, login, /me and refresh, then ends the session when a spent refresh token is replayed after the grace window', async () => {
    const address = email('Ann');
    const registered = await request(app.app)
      .post('/auth/register')
      .send({ email: `  ${address.toUpperCase()} `, password: PASSWORD });
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
    expect(securityEvents(apps.logs).filter((fields) => fields.event === 'reuse_detected')).to.deep.equal([
      { event: 'reuse_detected', userId: user.id, sessionId: sessionIdOf(first.accessToken), ip: LOCAL_IP },
    ]);
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
    const forged = await request(app.app)
      .post('/auth/logout')
      .send({ refreshToken: `${refreshToken}x` });
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

  describeCredentialChecks(() => app);
  describeSessionFlows(() => app, apps);
  describePasswordChange(() => app, apps);

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
      const res = await request(limited.app)
        .post('/auth/login')
        .send({ email: email('guess'), password: PASSWORD });
      expect(res.status).to.equal(401);
      expect(res.headers.ratelimit).to.match(new RegExp(`^"login"; r=${3 - i}; t=\\d+$`));
    }
    const blocked = await request(limited.app)
      .post('/auth/login')
      .send({ email: email('guess'), password: PASSWORD });
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
      const login = await request(unlimited.app)
        .post('/auth/login')
        .send({ email: email('guess'), password: PASSWORD });
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
    expect(res.body).to.deep.include({ status: 'ok', store: kind, storeOk: true });
    const { report } = res.body as { report: { ready: boolean; store: { ok: boolean } } };
    expect(report, 'auth.health()').to.deep.include({ ready: true });
    expect(report.store).to.include({ ok: true });
    expect(app.store).to.equal(kind);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(res.headers['x-content-type-options']).to.equal('nosniff');
    expect(res.headers['x-powered-by']).to.equal(undefined);
  });

  it('answers bad bodies and unknown routes with JSON 4xx, never 500', async () => {
    const cases: Array<
      [
        method: 'get' | 'post',
        path: string,
        type: string | undefined,
        body: string | undefined,
        status: number,
        json: object,
      ]
    > = [
      [
        'post',
        '/auth/login',
        'application/json',
        '{"email": "a@b.co", "pass',
        400,
        { error: 'invalid_request', message: 'body is not valid JSON' },
      ],
      [
        'post',
        '/auth/refresh',
        'application/json',
        '{refreshToken: x}',
        400,
        { error: 'invalid_request', message: 'body is not valid JSON' },
      ],
      [
        'post',
        '/auth/register',
        'application/json',
        '"just a string"',
        400,
        { error: 'invalid_request', message: 'body is not valid JSON' },
      ],
      [
        'post',
        '/auth/login',
        'text/plain',
        'email=a@b.co',
        400,
        { error: 'invalid_request', message: 'body must be a JSON object with email and password' },
      ],
      [
        'post',
        '/auth/register',
        'application/json',
        JSON.stringify({ email: email(), password: 'x'.repeat(11 * 1024) }),
        413,
        { error: 'payload_too_large', message: 'body is too large' },
      ],
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
