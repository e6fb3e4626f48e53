/**
 * HTTPS in the real process (issue 18, item 15): `NODE_ENV=production`
 * with TLS_CERT_FILE/TLS_KEY_FILE serves TLS itself; behind a proxy
 * (TRUST_PROXY) plain HTTP is refused and X-Forwarded-Proto: https let in;
 * HTTPS_REQUIRED=false serves plain HTTP and says so. One process each,
 * readiness awaited by event, a generous timeout (see sample-app-process.ts).
 */
import { expect } from 'chai';
import { send } from './helpers/https-client.js';
import { lines, listening, start, stop, type Run } from './helpers/sample-app-process.js';
import { selfSignedCertificate, type TestCertificate } from './helpers/tls-cert.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  PORT: '0',
  ACCESS_TOKEN_SECRET: 'https-access-secret-0123456789-abcdefghij',
  REFRESH_TOKEN_SECRET: 'https-refresh-secret-0123456789-abcdefghi',
};
const CREDENTIALS = { email: 'https-test@example.com', password: 'https test password' };
const REFUSED = {
  error: 'https_required',
  message: 'this API is served over HTTPS only: plain HTTP would expose passwords and tokens to anyone on the network',
};

describe('sample app server: HTTPS in production (issue 18, item 15)', function () {
  this.timeout(90_000);
  let run: Run | undefined;
  let certificate: TestCertificate;
  before(async () => {
    certificate = await selfSignedCertificate();
  });
  after(async () => {
    await certificate?.remove();
  });
  afterEach(async () => {
    await stop(run);
    run = undefined;
  });

  it('serves TLS itself with TLS_CERT_FILE and TLS_KEY_FILE: the login over https, no plain-HTTP answer, a clean stop', async () => {
    run = start({ ...PRODUCTION, TLS_CERT_FILE: certificate.certFile, TLS_KEY_FILE: certificate.keyFile });
    const base = await listening(run);
    expect(base).to.match(/^https:\/\/localhost:\d+$/);
    expect(run.output()).to.include('Serving HTTPS with the certificate in TLS_CERT_FILE');
    const ca = certificate.cert;
    expect((await send(`${base}/auth/register`, { method: 'POST', json: CREDENTIALS, ca })).status).to.equal(201);
    const login = await send(`${base}/auth/login`, { method: 'POST', json: CREDENTIALS, ca });
    expect(login.status).to.equal(200);
    expect(login.headers['strict-transport-security']).to.match(/^max-age=\d{7,}/);
    await send(`${base.replace('https:', 'http:')}/auth/login`, { method: 'POST', json: CREDENTIALS }).then(
      (res) => expect.fail(`plain HTTP answered ${res.status}`),
      (error: unknown) => {
        expect(error).to.be.instanceOf(Error);
      },
    );
    run.child.kill('SIGTERM');
    expect(await run.exited).to.equal(0);
    expect(run.output()).to.include('Stopped');
    expect(lines(run.output()).filter((line) => line.level !== 'info')).to.deep.equal([]);
  });

  it('behind a proxy (TRUST_PROXY), refuses plain HTTP with 403 and lets in X-Forwarded-Proto: https', async () => {
    run = start({ ...PRODUCTION, TRUST_PROXY: 'loopback' });
    const base = await listening(run);
    expect(run.output()).to.include('HTTPS required: plain-HTTP requests are refused');
    expect(run.output()).to.not.include('Warning');
    for (const path of ['/auth/register', '/auth/login']) {
      const refused = await send(`${base}${path}`, { method: 'POST', json: CREDENTIALS });
      expect([refused.status, refused.body], path).to.deep.equal([403, REFUSED]);
      const spoofed = await send(`${base}${path}`, {
        method: 'POST',
        json: CREDENTIALS,
        headers: { 'x-forwarded-proto': 'http' },
      });
      expect(spoofed.status, path).to.equal(403);
    }
    const proxied = { 'x-forwarded-proto': 'https' };
    expect(
      (await send(`${base}/auth/register`, { method: 'POST', json: CREDENTIALS, headers: proxied })).status,
    ).to.equal(201);
    const login = await send(`${base}/auth/login`, { method: 'POST', json: CREDENTIALS, headers: proxied });
    expect(login.status).to.equal(200);
    expect(login.headers['strict-transport-security']).to.match(/^max-age=\d{7,}/);
    expect((await send(`${base}/health`)).status).to.equal(200);
    expect(run.output()).to.not.include(CREDENTIALS.password);
  });

  it('warns at start-up that it serves plain HTTP with HTTPS_REQUIRED=false, and then does', async () => {
    run = start({ ...PRODUCTION, HTTPS_REQUIRED: 'false' });
    const base = await listening(run);
    const warnings = lines(run.output())
      .filter((line) => line.level === 'warn')
      .map((line) => line.msg);
    expect(warnings).to.deep.equal([
      'Warning: HTTPS_REQUIRED=false: plain HTTP is served in production, where passwords and tokens ' +
        'can be read by anyone on the network. Use it only for tests on a local machine.',
    ]);
    expect((await send(`${base}/auth/register`, { method: 'POST', json: CREDENTIALS })).status).to.equal(201);
    expect((await send(`${base}/auth/login`, { method: 'POST', json: CREDENTIALS })).status).to.equal(200);
  });

  it('warns at start-up when HTTPS is required and nothing can arrive over it, and refuses plain HTTP', async () => {
    run = start({ ...PRODUCTION });
    const base = await listening(run);
    const warnings = lines(run.output())
      .filter((line) => line.level === 'warn')
      .map((line) => line.msg);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^Warning: HTTPS is required, but the app serves no TLS/);
    const spoofed = await send(`${base}/auth/login`, {
      method: 'POST',
      json: CREDENTIALS,
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect([spoofed.status, spoofed.body]).to.deep.equal([403, REFUSED]);
  });
});
