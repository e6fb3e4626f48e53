/**
 * HTTPS enforced in the sample app (issue 18, item 15), in-process: the
 * `httpsRequired` check (require-https.ts) over supertest, behind a
 * simulated proxy (X-Forwarded-Proto under `trustProxy`), and over real TLS
 * with a self-signed certificate. The environment (HTTPS_REQUIRED,
 * TLS_CERT_FILE, TLS_KEY_FILE) and the real process: sample-app.https-config
 * and sample-app.https-server tests.
 */
import { once } from 'node:events';
import type { Server } from 'node:net';
import { expect } from 'chai';
import request from 'supertest';
import { createApp, type SampleApp } from '../sample-app/app.js';
import { createHttpServer, createHttpsServer } from '../sample-app/http-server.js';
import { MemoryUserStore, type StoredUser } from '../sample-app/users.js';
import { send } from './helpers/https-client.js';
import { appFactory, email, PASSWORD, SECRETS } from './helpers/sample-app.js';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.js';

const REFUSED = {
  error: 'https_required',
  message: 'this API is served over HTTPS only: plain HTTP would expose passwords and tokens to anyone on the network',
};

/** A user store that counts lookups: a refused login must not reach it. */
class CountingUsers extends MemoryUserStore {
  lookups = 0;
  override async findByEmail(address: string): Promise<StoredUser | undefined> {
    this.lookups += 1;
    return super.findByEmail(address);
  }
}

/** A request as a TLS-terminating proxy on this host would forward it. */
function viaProxy(test: request.Test, proto = 'https'): request.Test {
  return test.set('X-Forwarded-Proto', proto);
}

describe('sample app: HTTPS required (issue 18, item 15)', function () {
  this.timeout(120_000); // generous for a busy machine (openssl, TLS handshakes); nothing here is bounded by the clock
  const apps = appFactory(() => ({
    httpsRequired: true,
    publicOrigins: ['https://app.example.com', 'https://www.example.com'],
  }));
  beforeEach(() => {
    apps.reset();
  });
  afterEach(() => apps.closeAll());

  it('refuses POST /auth/login over plain HTTP with 403 https_required before anything else: no body parsed, no rate limit counted, no user looked up', async () => {
    const users = new CountingUsers();
    const sample = await apps.make({ users, loginRateLimit: 1, trustProxy: ['loopback'] });
    const address = email('https');
    const attempts = [
      request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD }),
      request(sample.app).post('/auth/login').set('Content-Type', 'application/json').send('{ not json'),
      request(sample.app)
        .post('/auth/login')
        .send({ email: address, password: 'x'.repeat(20_000) }),
      request(sample.app).post('/auth/register').send({ email: address, password: PASSWORD }),
      request(sample.app).post('/auth/refresh').set('Cookie', 'refresh_token=whatever').send({}),
      request(sample.app)
        .post('/graphql')
        .send({ query: `mutation { login(email: "${address}", password: "${PASSWORD}") { accessToken } }` }),
      request(sample.app).get('/me').set('Authorization', 'Bearer a.b.c'),
      request(sample.app).get('/auth/sessions').set('Authorization', 'Bearer a.b.c'),
      request(sample.app).delete('/auth/sessions/abc'),
    ];
    for (const attempt of attempts) {
      const res = await attempt;
      expect(res.status, `attempt ${attempts.indexOf(attempt)}`).to.equal(403);
      expect(res.body).to.deep.equal(REFUSED);
      expect(res.headers['cache-control']).to.equal('no-store');
    }
    expect(users.lookups, 'user lookups').to.equal(0);
    // Over HTTPS (a trusted proxy's X-Forwarded-Proto), the one login a minute allowed is still there.
    expect(
      (await viaProxy(request(sample.app).post('/auth/register')).send({ email: address, password: PASSWORD })).status,
    ).to.equal(201);
    const login = await viaProxy(request(sample.app).post('/auth/login')).send({ email: address, password: PASSWORD });
    expect(login.status, JSON.stringify(login.body)).to.equal(200);
    expect(login.headers['strict-transport-security']).to.match(/^max-age=\d{7,}/);
    // Logged like any request (the refusal visible to the operator), the body never read.
    const refused = apps.logs.filter((line) => line.text === 'POST /auth/login 403');
    expect(refused).to.have.length(3);
    for (const { raw } of apps.logs) expect(raw).to.not.include(PASSWORD);
  });

  it('redirects GET and HEAD without credentials to the https origin (308), never to a host the request alone names', async () => {
    const sample = await apps.make();
    const page = await request(sample.app).get('/demo.js?v=1').set('Host', 'www.example.com');
    expect(page.status).to.equal(308);
    expect(page.headers.location).to.equal('https://www.example.com/demo.js?v=1');
    expect(page.body).to.deep.equal(REFUSED);
    const head = await request(sample.app).head('/').set('Host', 'www.example.com');
    expect([head.status, head.headers.location]).to.deep.equal([308, 'https://www.example.com/']);
    for (const [host, path, location] of [
      ['evil.example', '/', 'https://app.example.com/'],
      ['app.example.com', '//evil.example/x', 'https://app.example.com//evil.example/x'],
      ['app.example.com:80', '/.well-known/jwks.json', 'https://app.example.com/.well-known/jwks.json'],
    ] as const) {
      const res = await request(sample.app).get(path).set('Host', host);
      expect([res.status, res.headers.location], `${host} ${path}`).to.deep.equal([308, location]);
    }
    // A request that already carries a token is refused, not redirected: the client must change, not retry.
    const withToken = await request(sample.app).get('/').set('Authorization', 'Bearer a.b.c');
    expect([withToken.status, withToken.headers.location]).to.deep.equal([403, undefined]);
  });

  it('refuses page requests too when no https origin is configured (nowhere to redirect)', async () => {
    const sample = await apps.make({ publicOrigins: ['http://localhost:3000'] });
    const res = await request(sample.app).get('/');
    expect([res.status, res.headers.location, res.body]).to.deep.equal([403, undefined, REFUSED]);
  });

  it('answers GET and HEAD /health over plain HTTP (load balancers check that way), and nothing else', async () => {
    const sample = await apps.make();
    expect((await request(sample.app).get('/health')).status).to.equal(200);
    expect((await request(sample.app).head('/health')).status).to.equal(200);
    expect((await request(sample.app).post('/health')).status).to.equal(403);
    expect((await request(sample.app).get('/health/')).status).to.equal(308);
    expect((await request(sample.app).get('/health?x=1').set('Authorization', 'Bearer a.b.c')).status).to.equal(200);
  });

  it('under TRUST_PROXY, counts a request as HTTPS only when a trusted proxy says X-Forwarded-Proto: https', async () => {
    const cases: Array<[trustProxy: false | number | string[], proto: string | undefined, status: number]> = [
      [1, 'https', 200],
      [1, 'http', 403],
      [1, undefined, 403],
      [['loopback'], 'https', 200],
      [['loopback'], 'https, http', 200],
      [['loopback'], 'HTTP', 403],
      // From anyone not trusted the header is the client's own word: ignored.
      [false, 'https', 403],
      [['10.0.0.1'], 'https', 403],
    ];
    for (const [trustProxy, proto, status] of cases) {
      const sample = await apps.make({ trustProxy });
      let req = request(sample.app).get('/me').set('Authorization', 'Bearer a.b.c');
      if (proto !== undefined) req = req.set('X-Forwarded-Proto', proto);
      const res = await req;
      const label = `trustProxy ${JSON.stringify(trustProxy)}, X-Forwarded-Proto ${String(proto)}`;
      // Past the check, /me answers 401 for the made-up token: the request got in.
      expect(res.status === 403 ? 403 : 200, label).to.equal(status);
      if (status === 200) expect(res.status, label).to.equal(401);
      else expect(res.body, label).to.deep.equal(REFUSED);
    }
  });

  it('is off unless asked: createApp serves plain HTTP by default, and refuses a setting that is not a boolean', async () => {
    const sample = await apps.make({ httpsRequired: undefined });
    expect(
      (await request(sample.app).post('/auth/register').send({ email: email(), password: PASSWORD })).status,
    ).to.equal(201);
    const bad = createApp({ ...SECRETS, httpsRequired: 'false' as unknown as boolean });
    await bad.then(
      () => expect.fail('created'),
      (error: unknown) => {
        expect(error).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.equal('createApp: httpsRequired must be true or false (got false)');
      },
    );
  });

  describe('over real TLS (createHttpsServer, a self-signed certificate)', () => {
    let certificate: TestCertificate;
    const servers: Server[] = [];
    before(async () => {
      certificate = await selfSignedCertificate();
    });
    after(async () => {
      await certificate?.remove();
    });
    afterEach(() => {
      for (const server of servers.splice(0)) server.close();
    });

    async function listen(server: Server): Promise<number> {
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const address = server.address();
      return typeof address === 'object' && address ? address.port : 0;
    }

    it('serves the whole login over TLS, with HSTS; the same app over plain HTTP refuses it', async () => {
      const sample: SampleApp = await apps.make();
      const tlsPort = await listen(createHttpsServer(sample.app, certificate));
      const plainPort = await listen(createHttpServer(sample.app));
      const credentials = { email: email('tls'), password: PASSWORD };
      const ca = certificate.cert;
      expect(
        (await send(`https://localhost:${tlsPort}/auth/register`, { method: 'POST', json: credentials, ca })).status,
      ).to.equal(201);
      const login = await send(`https://localhost:${tlsPort}/auth/login`, { method: 'POST', json: credentials, ca });
      expect(login.status).to.equal(200);
      expect(login.body).to.have.property('accessToken');
      expect(login.headers['strict-transport-security']).to.match(/^max-age=\d{7,}/);
      const plain = await send(`http://127.0.0.1:${plainPort}/auth/login`, { method: 'POST', json: credentials });
      expect([plain.status, plain.body]).to.deep.equal([403, REFUSED]);
      // Plain HTTP to the TLS port gets no HTTP answer at all.
      await send(`http://127.0.0.1:${tlsPort}/auth/login`, { method: 'POST', json: credentials }).then(
        (res) => expect.fail(`answered ${res.status}`),
        (error: unknown) => {
          expect(error).to.be.instanceOf(Error);
        },
      );
    });
  });
});
