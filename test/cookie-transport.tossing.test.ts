/**
 * Cookie tossing (issue 18, item 4) over HTTP, on Express 5 and on Express 4.
 * A sibling subdomain can plant a cookie of the refresh cookie's name
 * (Domain= the parent, a longer Path, so browsers send it first). A request
 * that carries the name more than once is refused, 400 cookie_ambiguous,
 * before any store work and without touching the cookie: no session is ever
 * chosen by cookie order, whichever copy comes first. Spellings that are not
 * the name (another case, quoted, percent-encoded, nameless) are other
 * cookies and are ignored. test/browser.cookie-tossing.test.ts plants them
 * from a real sibling host in Chromium.
 */
import { expect } from 'chai';
import type { RefreshCookieOptions, TokenPair } from '../lib/index.js';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  cookieMode,
  expectNoCookie,
  HEADER,
  ORIGIN,
  setCookies,
  startCookieApp,
  type CookieApp,
} from './helpers/cookie-app.js';
import { clock, expectError, frameworks, http, resetTestState, REUSE_GRACE, type Test } from './helpers/express-app.js';

/**
 * A POST written byte for byte (supertest folds a repeated header into one
 * line): `lines` are its header lines. The status, the head and the body.
 */
async function rawPost(
  server: Server,
  path: string,
  lines: string[],
): Promise<{ status: number; head: string; body: string }> {
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    const { port } = server.address() as AddressInfo;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end(
          `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((line) => `${line}\r\n`).join('')}Content-Length: 0\r\nConnection: close\r\n\r\n`,
        );
      });
      let text = '';
      socket
        .setEncoding('utf8')
        .on('data', (chunk: string) => {
          text += chunk;
        })
        .on('error', reject)
        .on('close', () => {
          resolve(text);
        });
    });
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), head, body };
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}

const AMBIGUOUS = 'the refresh cookie appears more than once; none was used';

/** A Cookie header (or headers) carrying the victim's token `v` and a planted one `m`, under the name `n`. */
type Spelling = [string, (n: string, v: string, m: string) => string];

/** Spellings that carry the name twice, as the cookie parser reads names: each must be refused. */
const twice: Spelling[] = [
  ['the planted copy first (a longer Path)', (n, v, m) => `${n}=${m}; ${n}=${v}`],
  ['the planted copy last', (n, v, m) => `${n}=${v}; ${n}=${m}`],
  ['no space after the semicolon', (n, v, m) => `${n}=${m};${n}=${v}`],
  ['spaces around the name and the value', (n, v, m) => `${n} = ${m} ;  ${n}=${v}`],
  ['tabs around the name', (n, v, m) => `\t${n}\t=${m}; ${n}=${v}`],
  ['an empty planted value', (n, v) => `${n}=; ${n}=${v}`],
  ['a quoted planted value', (n, v, m) => `${n}="${m}"; ${n}=${v}`],
  ['a percent-encoded planted value', (n, v, m) => `${n}=${encodeURIComponent(`${m}%`)}; ${n}=${v}`],
  ['the same value twice', (n, v) => `${n}=${v}; ${n}=${v}`],
  ['among other cookies', (n, v, m) => `theme=dark; ${n}=${m}; sid=1; ${n}=${v}; lang=en`],
  ['three times', (n, v, m) => `${n}=${m}; ${n}=garbage; ${n}=${v}`],
];

/** Cookies that are not the refresh cookie, though another parser might fold them into it: ignored. */
const others: Array<[string, (n: string, m: string) => string]> = [
  ['the name in lower case (the prefix as browsers now match it)', (n, m) => `${n.toLowerCase()}=${m}`],
  ['the name in upper case', (n, m) => `${n.toUpperCase()}=${m}`],
  ['the name quoted', (n, m) => `"${n}"=${m}`],
  ['the name percent-encoded', (n, m) => `${n.replace('etp_', 'etp%5F')}=${m}`],
  ['a nameless cookie whose value is the name (sent without "=")', (n) => n],
  ['a longer name', (n, m) => `${n}2=${m}`],
  ['a shorter name', (n, m) => `${n.slice(0, -1)}=${m}`],
];

const configs: Array<[string, RefreshCookieOptions | undefined]> = [
  ['the default __Host- cookie', undefined],
  ['a shadowable cookie (__Secure-, Path=/auth)', { name: '__Secure-etp_refresh', path: '/auth' }],
];

for (const [frameworkName, framework] of frameworks) {
  for (const [configName, options] of configs) {
    describe(`Cookie tossing on ${frameworkName}, ${configName}`, function () {
      let app: CookieApp;

      before(function () {
        app = startCookieApp(framework, options);
      });

      after(function () {
        app.close();
      });

      beforeEach(resetTestState);

      const name = (): string => app.transport.cookie.name;
      /** A cookie-mode POST from the allowed origin with `cookie` as the Cookie header(s). */
      const post = (path: string, cookie?: string): Test => {
        const test = cookieMode(http(app.server).post(path));
        return cookie === undefined ? test : test.set('Cookie', cookie);
      };
      /** A fresh session of `userId`: its refresh token. */
      async function session(userId: string): Promise<string> {
        return (await app.auth.issue({ userId })).refreshToken;
      }
      const whose = (res: Awaited<Test>): string =>
        app.auth.verifyAccessToken((res.body as TokenPair).accessToken).userId;
      /** 400 cookie_ambiguous, no Set-Cookie, no store call since `before`. */
      function expectAmbiguous(res: Awaited<Test>, before: number, label: string): void {
        expectError(res, 400, 'cookie_ambiguous', AMBIGUOUS);
        expectNoCookie(res);
        expect(app.calls.slice(before), `store calls of a refused request (${label})`).to.deep.equal([]);
      }
      /** `token` was not spent: past the grace window it still rotates, for `userId`. */
      async function expectUnspent(token: string, userId: string): Promise<void> {
        clock.advance(REUSE_GRACE + 1);
        const res = await post('/auth/refresh', `${name()}=${token}`);
        expect(res.status, res.text).to.equal(200);
        expect(whose(res)).to.equal(userId);
      }

      for (const [spelling, header] of twice) {
        it(`refuses a refresh with the name twice, ${spelling}: no session chosen, none spent`, async function () {
          const victim = await session('alice');
          const planted = await session('mallory');
          const before = app.calls.length;
          expectAmbiguous(await post('/auth/refresh', header(name(), victim, planted)), before, spelling);
          await expectUnspent(victim, 'alice');
          await expectUnspent(planted, 'mallory');
        });
      }

      it('refuses the name in two Cookie header lines, in either order (Node joins them with "; ")', async function () {
        const victim = await session('alice');
        const planted = await session('mallory');
        for (const lines of [
          [`Cookie: ${name()}=${planted}`, `cookie: ${name()}=${victim}`],
          [`Cookie: ${name()}=${victim}`, `Cookie: ${name()}=${planted}`],
        ]) {
          const before = app.calls.length;
          const res = await rawPost(app.server, '/auth/refresh', [`${HEADER}: cookie`, `Origin: ${ORIGIN}`, ...lines]);
          expect(res.status, res.body).to.equal(400);
          expect(JSON.parse(res.body)).to.deep.equal({ error: 'cookie_ambiguous', message: AMBIGUOUS });
          expect(res.head, 'no Set-Cookie').to.not.match(/^set-cookie:/im);
          expect(app.calls.slice(before)).to.deep.equal([]);
        }
        await expectUnspent(victim, 'alice');
        await expectUnspent(planted, 'mallory');
      });

      it('refuses planted garbage beside the real cookie, in either order (no lockout by a 401, no cookie cleared)', async function () {
        const victim = await session('alice');
        for (const cookie of [`${name()}=garbage; ${name()}=${victim}`, `${name()}=${victim}; ${name()}=garbage`]) {
          expectAmbiguous(await post('/auth/refresh', cookie), app.calls.length, cookie);
        }
        await expectUnspent(victim, 'alice');
      });

      for (const [spelling, other] of others) {
        it(`ignores ${spelling}: the one real cookie is used, in either order; alone it is no cookie`, async function () {
          const planted = await session('mallory');
          for (const order of ['before', 'after']) {
            const victim = await session('alice');
            const cookies = [other(name(), planted), `${name()}=${victim}`];
            const res = await post('/auth/refresh', (order === 'before' ? cookies : cookies.reverse()).join('; '));
            expect(res.status, `${order}: ${res.text}`).to.equal(200);
            expect(whose(res), order).to.equal('alice');
          }
          expectError(
            await post('/auth/refresh', other(name(), planted)),
            401,
            'token_missing',
            'no refresh token cookie',
          );
          await expectUnspent(planted, 'mallory');
        });
      }

      it('a comma does not separate cookies: "name=a, name=b" is one value, refused as a token', async function () {
        const victim = await session('alice');
        const planted = await session('mallory');
        const res = await post('/auth/refresh', `${name()}=${victim}, ${name()}=${planted}`);
        expectError(res, 401, 'token_invalid', 'token is invalid');
        expectNoCookie(res);
      });

      it('a refresh token in the body does not break the tie', async function () {
        const victim = await session('alice');
        const planted = await session('mallory');
        const before = app.calls.length;
        const res = await post('/auth/refresh', `${name()}=${planted}; ${name()}=${victim}`).send({
          refreshToken: victim,
        });
        expectAmbiguous(res, before, 'with a body');
      });

      it('logout refuses the name twice too, and both sessions live on', async function () {
        const victim = await session('alice');
        const planted = await session('mallory');
        const before = app.calls.length;
        expectAmbiguous(await post('/auth/logout', `${name()}=${planted}; ${name()}=${victim}`), before, 'logout');
        await expectUnspent(victim, 'alice');
        await expectUnspent(planted, 'mallory');
      });

      it('the CSRF checks come first: the name twice without the transport header is 403', async function () {
        const victim = await session('alice');
        const res = await http(app.server)
          .post('/auth/refresh')
          .set('Origin', 'https://app.example.com')
          .set('Cookie', `${name()}=garbage; ${name()}=${victim}`);
        expectError(
          res,
          403,
          'csrf_rejected',
          'a request with the refresh cookie needs the x-token-transport: cookie header',
        );
      });

      it("a login with the name twice reads neither copy and sets the host's own cookie", async function () {
        const res = await post('/auth/login', `${name()}=garbage; ${name()}=garbage`);
        expect(res.status, res.text).to.equal(200);
        expect(setCookies(res).map((cookie) => cookie.name)).to.deep.equal([name()]);
        expect(whose(res)).to.equal('alice');
      });

      it("logout-all with the name twice ends the caller's sessions (the access token says whose) and leaves the cookie", async function () {
        const login = await post('/auth/login');
        const victim = setCookies(login)[0]!.value;
        const planted = await session('mallory');
        const res = await post('/auth/logout-all', `${name()}=${planted}; ${name()}=${victim}`).set(
          'Authorization',
          `Bearer ${(login.body as TokenPair).accessToken}`,
        );
        expect(res.status, res.text).to.equal(204);
        // Clearing the host's own copy would leave the planted one alone in the jar, to be used next.
        expectNoCookie(res);
        expectError(await post('/auth/refresh', `${name()}=${victim}`), 401, 'token_revoked', 'session has ended');
        await expectUnspent(planted, 'mallory');
      });
    });
  }
}
