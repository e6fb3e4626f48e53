import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createApp } from '../sample-app/app.js';
import { BcryptPool } from '../sample-app/bcrypt-pool.js';
import { errorHandler } from '../sample-app/errors.js';
import { MemoryUserStore, type UserStore } from '../sample-app/users.js';
import { describeFlows } from './helpers/sample-app-flows.js';
import { appFactory, captureLogger, email, PASSWORD, SECRETS, signUp, until } from './helpers/sample-app.js';

describe('sample app, in memory', () => {
  describe('end to end', () => {
    describeFlows('memory', () => ({}));
  });

  describe('memory only', () => {
    const apps = appFactory(() => ({}));
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    it('answers a bug with a bare 500 JSON and logs the details instead', async () => {
      const broken: UserStore = {
        create: async () => true,
        findByEmail: async () => {
          throw new Error('database password is hunter2');
        },
        setPasswordHash: async () => false,
      };
      const sample = await apps.make({ users: broken });
      const res = await request(sample.app).post('/auth/login').send({ email: email(), password: PASSWORD });
      expect(res.status).to.equal(500);
      expect(res.body).to.deep.equal({ error: 'internal_error', message: 'something went wrong' });
      expect(res.text).to.not.include('hunter2');
      // The error's stack, then the request line (a 5xx is an error), with no stack of its own.
      await until(() => apps.logs.filter((line) => line.level === 'error').length >= 2);
      const logged = apps.logs.filter((line) => line.level === 'error');
      expect(logged.map((line) => line.text.split('\n')[0])).to.deep.equal([
        'unexpected error on POST /auth/login Error: database password is hunter2',
        'POST /auth/login 500',
      ]);
      expect(logged[1]?.fields).to.include.keys('req', 'res', 'responseTime');
      expect(logged[1]?.fields).to.not.have.property('err');
    });

    it('takes about as long for an unknown email as for a wrong password (a dummy bcrypt hash)', async function () {
      this.timeout(60_000);
      // Real cost: at 10 one bcrypt comparison takes tens of milliseconds; skipping it would take ~1 ms.
      const sample = await apps.make({ bcryptCost: 10 });
      const address = email();
      await signUp(sample, address);
      const login = async (who: string): Promise<number> => {
        const start = performance.now();
        const res = await request(sample.app).post('/auth/login').send({ email: who, password: 'wrong password' });
        expect(res.status).to.equal(401);
        return performance.now() - start;
      };
      // What takes the time, counted: each login runs exactly one bcrypt comparison, of the
      // password sent against a hash of the configured cost (the dummy one for an unknown email).
      const compares: Array<[string, string]> = [];
      // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the pool as `this`
      const compare = BcryptPool.prototype.compare;
      BcryptPool.prototype.compare = function (this: BcryptPool, password: string, hash: string) {
        compares.push([password, hash.slice(0, 7)]);
        return compare.call(this, password, hash);
      };
      let wrong = Infinity;
      let unknown = Infinity;
      try {
        for (let i = 0; i < 5; i += 1) {
          compares.length = 0;
          wrong = Math.min(wrong, await login(address));
          expect(compares, 'a wrong password').to.deep.equal([['wrong password', '$2b$10$']]);
          compares.length = 0;
          unknown = Math.min(unknown, await login(email('nobody')));
          expect(compares, 'an unknown email').to.deep.equal([['wrong password', '$2b$10$']]);
        }
      } finally {
        BcryptPool.prototype.compare = compare;
      }
      // And the clock agrees, loosely: the fastest of interleaved runs (a busy machine slows some, rarely all).
      expect(unknown / wrong, `unknown ${unknown} ms, wrong ${wrong} ms`).to.be.within(0.5, 2);
    });

    it('ignores X-Forwarded-For by default, so a client cannot dodge the limit by inventing addresses', async () => {
      const sample = await apps.make({ loginRateLimit: 2 });
      const statuses: number[] = [];
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
        const res = await request(sample.app)
          .post('/auth/login')
          .set('X-Forwarded-For', ip)
          .send({ email: email(), password: PASSWORD });
        statuses.push(res.status);
      }
      expect(statuses).to.deep.equal([401, 401, 429]);
      // express-rate-limit tells the operator the header is there but not trusted.
      expect(
        apps.logs.some((line) => line.level === 'warn' && line.text.includes('ERR_ERL_UNEXPECTED_X_FORWARDED_FOR')),
      ).to.equal(true);
    });

    it('counts each client behind a trusted proxy separately (trustProxy: 1)', async () => {
      const sample = await apps.make({ loginRateLimit: 2, trustProxy: 1 });
      const statuses: number[] = [];
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.1', '203.0.113.2', '203.0.113.1']) {
        const res = await request(sample.app)
          .post('/auth/login')
          .set('X-Forwarded-For', ip)
          .send({ email: email(), password: PASSWORD });
        statuses.push(res.status);
      }
      expect(statuses).to.deep.equal([401, 401, 401, 401, 429]);
    });

    it('refuses a trust-proxy hop count above 5, and within it a client rotating its own X-Forwarded-For entries is still limited', async () => {
      // With 99 hops Express would take the left-most entry, which the client writes itself: every request a new IP.
      for (const trustProxy of [6, 99, -1, 1.5]) {
        const error = await createApp({ ...SECRETS, bcryptCost: 4, trustProxy }).then(
          async (sample) => {
            await sample.close();
            return undefined;
          },
          (caught: unknown) => caught,
        );
        expect(error, String(trustProxy)).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.match(/^createApp: trustProxy must be a number of proxies from 1 to 5/);
      }
      // Each proxy appends the address it saw; whatever the client wrote comes first.
      const chains: Array<[hops: number, appended: string]> = [
        [1, '198.51.100.7'],
        [2, '198.51.100.7, 10.0.0.2'],
        [5, '198.51.100.7, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5'],
      ];
      for (const [hops, appended] of chains) {
        const sample = await apps.make({ loginRateLimit: 10, trustProxy: hops });
        const statuses: number[] = [];
        for (let i = 0; i < 15; i += 1) {
          const res = await request(sample.app)
            .post('/auth/login')
            .set('X-Forwarded-For', `203.0.113.${i + 1}, ${appended}`)
            .send({ email: email(), password: PASSWORD });
          statuses.push(res.status);
        }
        expect(statuses, `${hops} hops`).to.deep.equal([...Array<number>(10).fill(401), ...Array<number>(5).fill(429)]);
      }
    });

    it('answers JSON in any charset but UTF-8 with 415 unsupported_media_type; UTF-8 and no charset work', async () => {
      const sample = await apps.make();
      // superagent would JSON-encode a Buffer: send the bytes as they are.
      const post = (type: string, bytes: Buffer): request.Test =>
        request(sample.app)
          .post('/auth/login')
          .set('Content-Type', type)
          .serialize((data: unknown) => data as string)
          .send(bytes);
      const body = JSON.stringify({ email: email(), password: PASSWORD });
      const utf32 = Buffer.alloc(body.length * 4);
      for (let i = 0; i < body.length; i += 1) utf32.writeUInt32BE(body.charCodeAt(i), i * 4);
      const refused: Array<[charset: string, bytes: Buffer]> = [
        ['utf-16le', Buffer.from(body, 'utf16le')],
        ['UTF-16LE', Buffer.from(body, 'utf16le')],
        ['"utf-16le"', Buffer.from(body, 'utf16le')],
        ['utf-16be', Buffer.from(body, 'utf16le').swap16()],
        ['utf-16', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(body, 'utf16le')])],
        ['utf-32', utf32],
        [
          'utf-7',
          Buffer.from(
            body.replace(
              /[@"{}:,]/g,
              (c) => `+${Buffer.from(c, 'utf16le').swap16().toString('base64').replace(/=+$/, '')}-`,
            ),
          ),
        ],
      ];
      for (const [charset, bytes] of refused) {
        const res = await post(`application/json; charset=${charset}`, bytes);
        expect(res.status, charset).to.equal(415);
        expect(res.body, charset).to.deep.equal({
          error: 'unsupported_media_type',
          message: 'JSON must be encoded in UTF-8',
        });
      }
      const latin1 = await post('application/json; charset=latin1', Buffer.from(body, 'latin1'));
      expect(latin1.status).to.equal(415);
      expect(latin1.body).to.include({ error: 'unsupported_media_type' });
      for (const type of ['application/json', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"']) {
        const res = await post(type, Buffer.from(body));
        expect(res.status, type).to.equal(401); // parsed: an unknown email
        expect(res.body).to.include({ error: 'invalid_credentials' });
      }
    });

    it("answers body-parser errors with a fixed message per kind, never echoing the client's charset, encoding or body", async () => {
      const sample = await apps.make();
      const body = JSON.stringify({ email: email(), password: PASSWORD });
      const cases: Array<
        [headers: Record<string, string>, sent: string, status: number, json: object, echo: string[]]
      > = [
        [
          { 'Content-Type': 'application/json; charset="UTF-<IMG SRC=X>"' },
          body,
          415,
          { error: 'unsupported_media_type', message: 'JSON must be encoded in UTF-8' },
          ['<', 'img'],
        ],
        [
          { 'Content-Type': 'application/json; charset="latin1-<b>bold</b>"' },
          body,
          415,
          { error: 'unsupported_media_type', message: 'JSON must be encoded in UTF-8' },
          ['<', 'latin1', 'bold'],
        ],
        [
          { 'Content-Type': 'application/json', 'Content-Encoding': 'x-<script>alert(1)</script>' },
          body,
          415,
          { error: 'unsupported_media_type', message: 'unsupported content encoding' },
          ['<', 'script', 'alert', 'x-'],
        ],
        [
          { 'Content-Type': 'application/json' },
          '<script>alert(1)</script>',
          400,
          { error: 'invalid_request', message: 'body is not valid JSON' },
          ['<', 'script', 'alert'],
        ],
        [
          { 'Content-Type': 'application/json' },
          `{"email":"<svg onload=alert(1)>","password":"${'x'.repeat(11 * 1024)}"}`,
          413,
          { error: 'payload_too_large', message: 'body is too large' },
          ['<', 'svg', 'alert'],
        ],
      ];
      for (const [headers, sent, status, json, echo] of cases) {
        const res = await request(sample.app).post('/auth/login').set(headers).send(sent);
        const label = JSON.stringify(headers);
        expect(res.status, label).to.equal(status);
        expect(res.body, label).to.deep.equal(json);
        for (const bytes of echo) expect(res.text.toLowerCase(), label).to.not.include(bytes.toLowerCase());
      }
      // Any other client error the parser raises gets the generic message, not its own text.
      const other = express()
        .post('/', () => {
          throw Object.assign(new Error('request said <script>'), {
            status: 400,
            type: 'request.size.invalid',
            expose: true,
          });
        })
        .use(errorHandler(captureLogger([])));
      const res = await request(other).post('/');
      expect(res.status).to.equal(400);
      expect(res.body).to.deep.equal({ error: 'invalid_request', message: 'invalid request' });
    });

    it('hashes passwords with bcrypt cost 10 unless told otherwise', async function () {
      this.timeout(20_000);
      const users = new MemoryUserStore();
      const sample = await createApp({ ...SECRETS, users, logger: captureLogger([]) });
      try {
        const address = email();
        await signUp(sample, address);
        expect((await users.findByEmail(address))?.passwordHash).to.match(/^\$2b\$10\$[./A-Za-z0-9]{53}$/);
      } finally {
        await sample.close();
      }
    });

    it('refuses bad options naming them', async () => {
      const cases: Array<[options: Record<string, unknown>, message: RegExp]> = [
        [{ bcryptCost: 3 }, /createApp: bcryptCost must be a whole number from 4 to 15 \(got 3\)/],
        [{ loginRateLimit: -1 }, /createApp: loginRateLimit must be a whole number/],
        [{ refreshRateLimit: 1.5 }, /createApp: refreshRateLimit must be a whole number/],
        [{ redis: {} }, /createApp: redis needs one of client, url, clusterUrls or sentinel/],
        [{ redis: { url: 'redis://x', sentinel: { sentinels: [], name: 'm' } } }, /redis needs one of client, url/],
        [{ refreshTokenSecret: 'short' }, /express-token-pair: refreshToken.secret must be at least 32 bytes/],
        [{ reuseGrace: -1 }, /express-token-pair: refreshToken.reuseGrace/],
        [{ trustProxy: ['0.0.0.0/0'] }, /^createApp: trustProxy subnet "0.0.0.0\/0" is too wide/],
        [
          { trustProxy: true },
          /^createApp: trustProxy must be false, a number of proxies or a list of addresses \(got true\)$/,
        ],
        [{ trustProxy: ['nginx'] }, /^createApp: trustProxy entry "nginx" is not an address, a subnet or loopback/],
      ];
      for (const [options, message] of cases) {
        let error: unknown;
        try {
          const sample = await createApp({ ...SECRETS, bcryptCost: 4, ...options });
          await sample.close();
        } catch (caught) {
          error = caught;
        }
        expect(error, JSON.stringify(options)).to.be.instanceOf(TypeError);
        expect((error as Error).message).to.match(message);
      }
    });
  });
});
