import { expect } from 'chai';
import request from 'supertest';
import { createApp } from '../sample-app/app.js';
import { createLogger, LOG_SETTINGS, type LogFields, type Logger } from '../sample-app/logger.js';
import {
  appFactory,
  email,
  LOCAL_IP,
  PASSWORD,
  SECRETS,
  securityEvents,
  sessionIdOf,
  signUp,
  until,
  type LoginBody,
} from './helpers/sample-app.js';

const VOCABULARY = ['event', 'userId', 'sessionId', 'ip', 'reason'];

describe('sample app logs', () => {
  const apps = appFactory(() => ({}));
  beforeEach(() => {
    apps.reset();
  });
  afterEach(() => apps.closeAll());

  it('writes one JSON line per request: method, path, status, IP and headers, Authorization and Cookie redacted', async () => {
    const app = await apps.make();
    const address = email();
    await signUp(app, address);
    const login = await request(app.app).post('/auth/login').send({ email: address, password: PASSWORD });
    const { accessToken } = login.body as LoginBody;
    await request(app.app)
      .get('/me?access_token=in-the-query')
      .set('Authorization', `Bearer ${accessToken}`)
      .set('Cookie', 'session=a-cookie-value');
    await request(app.app).get('/health');
    await until(() => apps.logs.some((line) => line.text === 'GET /me 200'));

    const requests = apps.logs.filter((line) => 'req' in line.fields);
    expect(requests.map((line) => [line.level, line.text])).to.deep.equal([
      ['info', 'POST /auth/register 201'],
      ['info', 'POST /auth/login 200'],
      ['info', 'GET /me 200'],
    ]); // a healthy /health is not logged
    const meLine = requests[2];
    expect(meLine?.fields.req).to.deep.include({ method: 'GET', url: '/me', ip: LOCAL_IP });
    expect(meLine?.fields.req).to.have.property('id');
    expect((meLine?.fields.req as { headers: Record<string, string> }).headers).to.include({
      authorization: '[Redacted]',
      cookie: '[Redacted]',
    });
    expect(meLine?.fields.res).to.deep.equal({ statusCode: 200 });
    expect(meLine?.fields.responseTime).to.be.a('number');
    for (const { raw } of apps.logs) {
      expect(raw).to.not.include(accessToken).and.not.include('a-cookie-value').and.not.include('in-the-query');
    }
  });

  it('logs security events with ids, IP and reason, and never a token or a password, in any line', async () => {
    const app = await apps.make({ loginRateLimit: 4, refreshRateLimit: 3 });
    const address = email();
    const user = await signUp(app, address);
    const logIn = async (device: string): Promise<LoginBody> =>
      (
        await request(app.app)
          .post('/auth/login')
          .set('User-Agent', device)
          .send({ email: address, password: PASSWORD })
      ).body as LoginBody;
    const refresh = (token: string, device: string): request.Test =>
      request(app.app).post('/auth/refresh').set('User-Agent', device).send({ refreshToken: token });
    const laptop = await logIn('Laptop/1.0');
    const phone = await logIn('Phone/2.0');
    const tokens = [laptop.accessToken, laptop.refreshToken, phone.accessToken, phone.refreshToken];

    // A refresh from another browser than the session's: suspicious.
    const renewed = (await refresh(laptop.refreshToken, 'Other/9.9')).body as LoginBody;
    tokens.push(renewed.accessToken, renewed.refreshToken);
    // The spent token again, past the grace window: reuse, the session ends.
    apps.clock.advance(10);
    expect((await refresh(laptop.refreshToken, 'Laptop/1.0')).status).to.equal(401);
    // The password changes (ending the phone's session too)...
    const tablet = await logIn('Tablet/3.0');
    tokens.push(tablet.accessToken, tablet.refreshToken);
    const changed = await request(app.app)
      .post('/auth/password')
      .set('Authorization', `Bearer ${tablet.accessToken}`)
      .send({ currentPassword: PASSWORD, newPassword: 'the next passphrase' });
    expect(changed.status).to.equal(204);
    // ...then logins and refreshes beyond their limits: one line each, at the first refused request.
    for (let i = 0; i < 3; i += 1)
      await request(app.app).post('/auth/login').send({ email: address, password: 'guess' });
    for (let i = 0; i < 3; i += 1) await refresh(tablet.refreshToken, 'Tablet/3.0');

    const laptopId = sessionIdOf(laptop.accessToken);
    expect(securityEvents(apps.logs)).to.deep.equal([
      { event: 'suspicious', userId: user.id, sessionId: laptopId, ip: LOCAL_IP, reason: 'user_agent_changed' },
      { event: 'reuse_detected', userId: user.id, sessionId: laptopId, ip: LOCAL_IP },
      { event: 'sessions_revoked', userId: user.id, ip: LOCAL_IP, reason: 'password_changed' },
      { event: 'rate_limited', ip: LOCAL_IP, reason: 'login' },
      { event: 'rate_limited', ip: LOCAL_IP, reason: 'refresh' },
    ]);
    const warnings = apps.logs
      .filter((line) => 'event' in line.fields && line.level === 'warn')
      .map((line) => line.text);
    expect(warnings).to.deep.equal([
      "suspicious refresh: the user agent differs from the session's last one",
      'refresh token reuse: session revoked',
      'rate limit login reached',
      'rate limit refresh reached',
    ]);
    for (const { fields } of apps.logs.filter((line) => 'event' in line.fields)) {
      expect(VOCABULARY, JSON.stringify(fields)).to.include.members(Object.keys(fields));
    }
    for (const { raw } of apps.logs) {
      for (const secret of [...tokens, PASSWORD, 'the next passphrase']) expect(raw).to.not.include(secret);
      expect(raw).to.not.match(/eyJ[\w-]+\.eyJ/);
    }
  });

  it('redacts password and token fields at the first three levels, credentials headers and Set-Cookie', () => {
    const written: string[] = [];
    const logger = createLogger({
      write: (line: string) => {
        written.push(line);
      },
    }).child({}, LOG_SETTINGS);
    logger.info(
      {
        password: 'p1',
        token: 't1',
        body: { password: 'p2', currentPassword: 'p3', newPassword: 'p4', accessToken: 't2', refreshToken: 't3' },
        req: {
          headers: { authorization: 'Bearer t4', cookie: 'c1', 'user-agent': 'kept' },
          body: { password: 'p5', token: 't5' },
        },
        res: { headers: { 'set-cookie': ['c2'] } },
      },
      'everything secret',
    );
    const line = written.join('');
    for (const secret of ['p1', 'p2', 'p3', 'p4', 'p5', 't1', 't2', 't3', 't4', 't5', 'c1', 'c2']) {
      expect(line).to.not.include(`"${secret}"`);
    }
    expect(line).to.include('"user-agent":"kept"');
    expect(line.match(/\[Redacted\]/g)).to.have.length(12);
  });

  it('writes every line as one line: CR, LF, C1, line separators and bidi controls escaped, the JSON unchanged', () => {
    const written: string[] = [];
    const logger = createLogger({
      write: (line: string) => {
        written.push(line);
      },
    });
    const nasty = 'ua\r\n{"level":"info","msg":"admin logged in"}\u0000\u001b[31m\u007f\u0085\u2028\u2029\u202e\u2066';
    logger.info({ userAgent: nasty }, `info ${nasty}`);
    logger.warn(`warn ${nasty}`);
    logger.error({ err: new Error(`bad input ${nasty}`) }, `error ${nasty}`);
    expect(written).to.have.length(3);
    for (const line of written) {
      expect(line.endsWith('\n')).to.equal(true);
      // eslint-disable-next-line no-control-regex
      expect(line.slice(0, -1)).to.not.match(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    }
    expect(written.map((line) => (JSON.parse(line) as { msg: string }).msg)).to.deep.equal([
      `info ${nasty}`,
      `warn ${nasty}`,
      `error ${nasty}`,
    ]);
    const [first, , last] = written.map(
      (line) => JSON.parse(line) as { userAgent?: string; err?: { message: string; stack: string } },
    );
    expect(first?.userAgent).to.equal(nasty);
    expect(last?.err?.message).to.equal(`bad input ${nasty}`);
    expect(last?.err?.stack.split('\n').length).to.be.above(1); // frames, inside one JSON string
  });

  it('takes a plain { info, warn, error } logger too, and hands it every line, redacted, with its fields', async () => {
    const got: Array<[level: string, message: string, extra: unknown]> = [];
    const plain: Logger = {
      info: (message: string, fields?: LogFields) => {
        got.push(['info', message, fields]);
      },
      warn: (message: string, fields?: LogFields) => {
        got.push(['warn', message, fields]);
      },
      error: (message: string, error?: unknown) => {
        got.push(['error', message, error]);
      },
    };
    const app = await createApp({ ...SECRETS, bcryptCost: 4, logger: plain });
    try {
      await request(app.app)
        .post('/auth/login')
        .set('Authorization', 'Bearer not-a-token')
        .send({ email: email(), password: PASSWORD });
      await until(() => got.length > 0);
      const [level, message, fields] = got[0] ?? [];
      expect([level, message]).to.deep.equal(['info', 'POST /auth/login 401']);
      expect((fields as { req: { headers: Record<string, string> } }).req.headers.authorization).to.equal('[Redacted]');
    } finally {
      await app.close();
    }
  });
});
