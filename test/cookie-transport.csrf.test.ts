/**
 * The cookie transport's CSRF defence, on Express 5 and on Express 4: a
 * request that carries the refresh cookie or the transport header needs the
 * header set to `cookie` and an allowed Origin (or, without one,
 * Sec-Fetch-Site: same-origin). A refused request is 403 csrf_rejected,
 * sets no cookie, and did no store work: its session still refreshes.
 */
import { expect } from 'chai';
import type { TokenPair } from '../lib/index.js';
import {
  COOKIE,
  expectNoCookie,
  expectRefreshCookie,
  HEADER,
  ORIGIN,
  startCookieApp,
  type CookieApp,
} from './helpers/cookie-app.js';
import {
  clock,
  expectError,
  frameworks,
  http,
  REFRESH_TTL,
  resetTestState,
  REUSE_GRACE,
  type Test,
} from './helpers/express-app.js';

const NO_HEADER = `a request with the refresh cookie needs the ${HEADER}: cookie header`;
const WRONG_MODE = `the ${HEADER} header must be cookie`;
const BAD_ORIGIN = "the request's Origin is not allowed";
const NO_ORIGIN = 'a request without Origin must be Sec-Fetch-Site: same-origin';

/** Request headers (besides the cookie, which every refused case of refresh and logout carries). */
type Headers = Record<string, string>;

const refused: Array<[string, Headers, string]> = [
  [
    'the cookie alone, as a cross-site form POST sends it',
    {
      Origin: 'https://evil.example',
      'Sec-Fetch-Site': 'cross-site',
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    NO_HEADER,
  ],
  ['the cookie alone, even from the allowed origin', { Origin: ORIGIN, 'Sec-Fetch-Site': 'same-origin' }, NO_HEADER],
  ['the header with another value', { [HEADER]: 'body', Origin: ORIGIN }, WRONG_MODE],
  ['the header in another case', { [HEADER]: 'Cookie', Origin: ORIGIN }, WRONG_MODE],
  ['a wrong Origin', { [HEADER]: 'cookie', Origin: 'https://evil.example' }, BAD_ORIGIN],
  ['Origin: null (sandboxed frame, file:)', { [HEADER]: 'cookie', Origin: 'null' }, BAD_ORIGIN],
  [
    'an Origin that only starts like the allowed one',
    { [HEADER]: 'cookie', Origin: `${ORIGIN}.evil.example` },
    BAD_ORIGIN,
  ],
  ['the allowed host over http', { [HEADER]: 'cookie', Origin: 'http://app.example.com' }, BAD_ORIGIN],
  [
    'a wrong Origin claiming Sec-Fetch-Site: same-origin',
    { [HEADER]: 'cookie', Origin: 'https://evil.example', 'Sec-Fetch-Site': 'same-origin' },
    BAD_ORIGIN,
  ],
  ['no Origin, Sec-Fetch-Site: cross-site', { [HEADER]: 'cookie', 'Sec-Fetch-Site': 'cross-site' }, NO_ORIGIN],
  ['no Origin, Sec-Fetch-Site: same-site', { [HEADER]: 'cookie', 'Sec-Fetch-Site': 'same-site' }, NO_ORIGIN],
  ['no Origin, no Sec-Fetch-Site', { [HEADER]: 'cookie' }, NO_ORIGIN],
];

const accepted: Array<[string, Headers]> = [
  ['the allowed Origin', { [HEADER]: 'cookie', Origin: ORIGIN }],
  [
    'the other allowed Origin, cross-site by Fetch Metadata',
    { [HEADER]: 'cookie', Origin: 'http://localhost:3000', 'Sec-Fetch-Site': 'cross-site' },
  ],
  ['no Origin, Sec-Fetch-Site: same-origin', { [HEADER]: 'cookie', 'Sec-Fetch-Site': 'same-origin' }],
];

for (const [frameworkName, framework] of frameworks) {
  describe(`Cookie transport CSRF checks on ${frameworkName}`, function () {
    let app: CookieApp;

    before(function () {
      app = startCookieApp(framework);
    });

    after(function () {
      app.close();
    });

    beforeEach(resetTestState);

    const post = (path: string, headers: Headers, cookie?: string): Test => {
      const test = http(app.server).post(path);
      for (const [name, value] of Object.entries(headers)) test.set(name, value);
      return cookie === undefined ? test : test.set('Cookie', `${COOKIE}=${cookie}`);
    };
    async function login(): Promise<string> {
      return expectRefreshCookie(await post('/auth/login', { [HEADER]: 'cookie', Origin: ORIGIN }), REFRESH_TTL);
    }
    /** Asserts a 403 csrf_rejected with no cookie set and no store call made. */
    function expectRejected(res: Awaited<Test>, message: string, callsBefore: number): void {
      expectError(res, 403, 'csrf_rejected', message);
      expectNoCookie(res);
      expect(app.calls.slice(callsBefore), 'store calls of a refused request').to.deep.equal([]);
    }
    /** The session of `cookie` is untouched: past the grace window, it still rotates (a spent token would be reused). */
    async function stillRefreshes(cookie: string): Promise<void> {
      clock.advance(REUSE_GRACE + 1);
      expectRefreshCookie(await post('/auth/refresh', { [HEADER]: 'cookie', Origin: ORIGIN }, cookie), REFRESH_TTL);
    }

    for (const [name, headers, message] of refused) {
      it(`refresh refuses ${name}, before any store work`, async function () {
        const cookie = await login();
        const before = app.calls.length;
        expectRejected(await post('/auth/refresh', headers, cookie).send({ refreshToken: cookie }), message, before);
        await stillRefreshes(cookie);
      });

      it(`logout refuses ${name}, and the session lives on`, async function () {
        const cookie = await login();
        const before = app.calls.length;
        expectRejected(await post('/auth/logout', headers, cookie), message, before);
        await stillRefreshes(cookie);
      });
    }

    for (const [name, headers, message] of refused.filter(([, headers]) => HEADER in headers)) {
      it(`login refuses ${name} (the header alone, no cookie yet) before creating a session`, async function () {
        const before = app.calls.length;
        expectRejected(await post('/auth/login', headers), message, before);
      });

      it(`sendTokenPair on its own refuses ${name}, and sends no token`, async function () {
        const res = await post('/auth/login-unguarded', headers);
        expectError(res, 403, 'csrf_rejected', message);
        expectNoCookie(res);
      });
    }

    it('logout-all refuses the cookie without the header, even with a valid access token', async function () {
      const res = await post('/auth/login', { [HEADER]: 'cookie', Origin: ORIGIN });
      const cookie = expectRefreshCookie(res, REFRESH_TTL);
      const before = app.calls.length;
      const refusal = await post(
        '/auth/logout-all',
        { Authorization: `Bearer ${(res.body as TokenPair).accessToken}` },
        cookie,
      );
      expectRejected(refusal, NO_HEADER, before);
      await stillRefreshes(cookie);
    });

    for (const [name, headers] of accepted) {
      it(`accepts ${name}: refresh, then logout`, async function () {
        const cookie = await login();
        const next = expectRefreshCookie(await post('/auth/refresh', headers, cookie), REFRESH_TTL);
        const out = await post('/auth/logout', headers, next);
        expect(out.status, out.text).to.equal(204);
      });

      it(`accepts ${name} at login`, async function () {
        expectRefreshCookie(await post('/auth/login', headers), REFRESH_TTL);
      });
    }

    it('a body-mode request (no header, no cookie) needs no Origin at all', async function () {
      const pair = (await post('/auth/login', { Origin: 'https://evil.example' })).body as TokenPair;
      expect(pair.refreshToken).to.be.a('string');
      const res = await post('/auth/refresh', { Origin: 'https://evil.example' }).send({
        refreshToken: pair.refreshToken,
      });
      expect(res.status, res.text).to.equal(200);
      expectNoCookie(res);
    });
  });
}
