/**
 * Malformed percent-encoding in the URL (issue 18, item 10): `%FF`, a lone
 * `%`, an overlong UTF-8 sequence... Express decodes route parameters lazily
 * and throws a URIError carrying status 400; serve-static refuses such paths
 * with its own 400. Every route family answers 400 (or 404 where the path is
 * simply no route) as the usual JSON error, never a 5xx, and nothing is logged
 * as an error.
 */
import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { errorHandler } from '../sample-app/errors.js';
import { readSigningKey } from '../sample-app/signing-key.js';
import { appFactory, captureLogger, email, logIn, signUp, type LogLine } from './helpers/sample-app.js';

type Method = 'get' | 'head' | 'post' | 'delete';

/** [method, path, the status it must get]: one row per route family and spelling. */
const CASES: Array<[Method, string, 400 | 404]> = [
  // sessions/:id: the parameter is decoded when the route matches, before any handler.
  ['delete', '/auth/sessions/%FF', 400],
  ['delete', '/auth/sessions/%', 400],
  ['delete', '/auth/sessions/%E0%80', 400],
  ['delete', '/auth/sessions/%C0%AF', 400], // an overlong '/'
  ['delete', '/auth/sessions/abc%zz', 400],
  // the browser client at /client/:file
  ['get', '/client/%E0.js', 400],
  ['get', '/client/%', 400],
  ['head', '/client/%FF.js', 400],
  ['get', '/client/index%FF.js', 400],
  // the demo page's static files (serve-static refuses the path, then nothing else has it)
  ['get', '/%E0', 404],
  ['get', '/demo.js%FF', 404],
  ['get', '/%2e%2e/%FF', 404],
  ['head', '/index.html%', 404],
  // auth routes
  ['post', '/auth/login%FF', 404],
  ['post', '/auth/%FF', 404],
  ['post', '/auth/refresh/%E0', 404],
  ['get', '/auth/sessions%FF', 404],
  ['get', '/me%FF', 404],
  // graphql
  ['post', '/graphql%FF', 404],
  ['post', '/graphql/%FF', 404],
  ['get', '/graphql/%', 404],
  // health and jwks
  ['get', '/health%FF', 404],
  ['get', '/health/%E0', 404],
  ['get', '/.well-known/jwks.json%FF', 404],
  ['get', '/.well-known/%E0', 404],
  // no route at all
  ['get', '/%FF', 404],
  ['delete', '/nope/%E0%80', 404],
  ['post', '/%', 404],
];

describe('sample app: malformed percent-encoding in the URL (issue 18, item 10)', function () {
  this.timeout(30_000);
  const apps = appFactory(() => ({}));
  let sample: SampleApp;
  let accessToken: string;

  before(async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // With a signing key, so that /.well-known/jwks.json is a route too.
    sample = await apps.make({
      accessTokenSecret: undefined,
      accessTokenKey: readSigningKey(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined),
    });
    const address = email('bad-url');
    await signUp(sample, address);
    ({ accessToken } = await logIn(sample, address));
  });
  beforeEach(() => {
    apps.logs.length = 0;
  });
  after(() => apps.closeAll());

  it('answers every route family 400 (or 404 where no route has the path) as JSON, never 5xx', async () => {
    const answers: string[] = [];
    for (const [method, path, status] of CASES) {
      for (const token of [undefined, accessToken]) {
        let req = request(sample.app)[method](path);
        if (token !== undefined) req = req.set('Authorization', `Bearer ${token}`);
        const res = await req;
        const label = `${method.toUpperCase()} ${path}${token ? ' (with a token)' : ''}`;
        answers.push(`${label} ${res.status}`);
        expect(res.status, label).to.equal(status);
        expect(res.headers['content-type'], label).to.match(/^application\/json/);
        if (method === 'head') continue;
        const expected =
          status === 400
            ? { error: 'invalid_request', message: 'the URL is not valid percent-encoding' }
            : { error: 'not_found', message: 'no such route' };
        expect(res.body, label).to.deep.equal(expected);
      }
    }
    expect(answers).to.have.length(CASES.length * 2);
  });

  it('logs no error and no stack for any of them: each is one info line with its status', async () => {
    for (const [method, path] of CASES) await request(sample.app)[method](path);
    expect(apps.logs.filter((line) => line.level !== 'info').map((line) => line.text)).to.deep.equal([]);
    expect(apps.logs.map((line) => line.raw).join('\n')).to.not.match(/URIError|\n\s+at /);
    const statuses = apps.logs
      .filter((line) => 'res' in line.fields)
      .map((line) => (line.fields.res as { statusCode: number }).statusCode);
    expect(statuses).to.have.length(CASES.length);
    expect(
      statuses.every((status) => status === 400 || status === 404),
      String(statuses),
    ).to.equal(true);
  });

  it('still decodes well-formed parameters: an encoded session id that exists nowhere is 404, not 400', async () => {
    const res = await request(sample.app)
      .delete('/auth/sessions/%41%42%43')
      .set('Authorization', `Bearer ${accessToken}`);
    expect(res.status).to.equal(404);
  });
});

describe("sample app error handler: any error carrying a 4xx status is the client's (issue 18, item 10)", () => {
  it('answers its status with a fixed message, whoever threw it, and logs only real bugs', async () => {
    const logs: LogLine[] = [];
    const thrown: Array<[path: string, error: unknown, status: number, body: object]> = [
      [
        '/status-only',
        Object.assign(new Error('no <b>expose</b> here'), { status: 400 }),
        400,
        { error: 'invalid_request', message: 'invalid request' },
      ],
      [
        '/status-code-only',
        Object.assign(new Error('from a library'), { statusCode: 405 }),
        405,
        { error: 'invalid_request', message: 'invalid request' },
      ],
      [
        '/not-found',
        Object.assign(new Error('ENOENT /secret/path'), { status: 404, expose: false }),
        404,
        { error: 'not_found', message: 'invalid request' },
      ],
      [
        '/uri',
        Object.assign(new URIError("Failed to decode param '%FF'"), { status: 400 }),
        400,
        { error: 'invalid_request', message: 'the URL is not valid percent-encoding' },
      ],
      ['/bug', new TypeError('x is undefined'), 500, { error: 'internal_error', message: 'something went wrong' }],
      [
        '/server-status',
        Object.assign(new Error('upstream'), { status: 502 }),
        500,
        { error: 'internal_error', message: 'something went wrong' },
      ],
      [
        '/not-a-number',
        Object.assign(new Error('odd'), { status: '400' }),
        500,
        { error: 'internal_error', message: 'something went wrong' },
      ],
    ];
    const app = express();
    for (const [path, error] of thrown)
      app.get(path, () => {
        throw error;
      });
    app.use(errorHandler(captureLogger(logs)));
    for (const [path, , status, body] of thrown) {
      const res = await request(app).get(path);
      expect(res.status, path).to.equal(status);
      expect(res.body, path).to.deep.equal(body);
    }
    expect(logs.filter((line) => line.level === 'error').map((line) => line.text.split(' ')[4])).to.deep.equal([
      '/bug',
      '/server-status',
      '/not-a-number',
    ]);
  });
});
