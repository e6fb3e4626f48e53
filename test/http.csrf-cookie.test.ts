/**
 * lib/http/ without any framework: the transport choice and its CSRF
 * refusals, the refresh cookie read from a Cookie header (a name twice is
 * 400 cookie_ambiguous), and the Set-Cookie strings that write and clear it.
 * The same cases as test/cookie-transport.*.test.ts, as plain objects.
 */
import { expect } from 'chai';
import { presentedRefreshToken, transportOf } from '../lib/http/csrf.js';
import { clearRefreshCookie, cookieValues, writeRefreshCookie } from '../lib/http/refresh-cookie.js';
import type { HttpRequest } from '../lib/http/types.js';
import {
  CookieAmbiguousError,
  cookieTransport,
  CsrfRejectedError,
  TokenMissingError,
  type CookieTransport,
  type TokenPair,
} from '../lib/index.js';

const ORIGIN = 'https://app.example.com';
const HEADER = 'x-token-transport';
const NAME = '__Host-etp_refresh';
const transport = cookieTransport({ allowedOrigins: [ORIGIN, 'http://localhost:3000'] });

const NO_HEADER = `a request with the refresh cookie needs the ${HEADER}: cookie header`;
const WRONG_MODE = `the ${HEADER} header must be cookie`;
const BAD_ORIGIN = "the request's Origin is not allowed";
const NO_ORIGIN = 'a request without Origin must be Sec-Fetch-Site: same-origin';
const AMBIGUOUS = 'the refresh cookie appears more than once; none was used';

function post(headers: Record<string, string | string[]>, body?: unknown): HttpRequest {
  return { method: 'POST', url: '/auth/refresh', headers, body };
}

/** A pair as the core returns it: the refresh token's lifetime non-enumerable. */
function pair(refreshToken: string, lifetime: number): TokenPair {
  const value: TokenPair = { accessToken: 'a.b.c', refreshToken, tokenType: 'Bearer', expiresIn: 900 };
  return Object.defineProperty(value, 'refreshExpiresIn', { value: lifetime, enumerable: false });
}

describe('lib/http: transport choice, CSRF and the refresh cookie, no framework', function () {
  describe('transportOf', function () {
    const refused: Array<[string, Record<string, string>, string]> = [
      [
        'the cookie alone, as a cross-site form POST sends it',
        { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
        NO_HEADER,
      ],
      [
        'the cookie alone, even from the allowed origin',
        { origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
        NO_HEADER,
      ],
      ['the header with another value', { [HEADER]: 'body', origin: ORIGIN }, WRONG_MODE],
      ['the header in another case', { [HEADER]: 'Cookie', origin: ORIGIN }, WRONG_MODE],
      ['a wrong Origin', { [HEADER]: 'cookie', origin: 'https://evil.example' }, BAD_ORIGIN],
      ['Origin: null', { [HEADER]: 'cookie', origin: 'null' }, BAD_ORIGIN],
      [
        'an Origin that only starts like the allowed one',
        { [HEADER]: 'cookie', origin: `${ORIGIN}.evil.example` },
        BAD_ORIGIN,
      ],
      ['the allowed host over http', { [HEADER]: 'cookie', origin: 'http://app.example.com' }, BAD_ORIGIN],
      [
        'a wrong Origin claiming Sec-Fetch-Site: same-origin',
        { [HEADER]: 'cookie', origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' },
        BAD_ORIGIN,
      ],
      ['no Origin, Sec-Fetch-Site: cross-site', { [HEADER]: 'cookie', 'sec-fetch-site': 'cross-site' }, NO_ORIGIN],
      ['no Origin, Sec-Fetch-Site: same-site', { [HEADER]: 'cookie', 'sec-fetch-site': 'same-site' }, NO_ORIGIN],
      ['no Origin, no Sec-Fetch-Site', { [HEADER]: 'cookie' }, NO_ORIGIN],
    ];
    for (const [name, headers, message] of refused) {
      it(`refuses ${name} (403 csrf_rejected), with the cookie or without`, function () {
        expect(() => transportOf(post({ ...headers, cookie: `${NAME}=t` }), transport)).to.throw(
          CsrfRejectedError,
          message,
        );
        if (headers[HEADER] !== undefined)
          expect(() => transportOf(post(headers), transport)).to.throw(CsrfRejectedError, message);
      });
    }

    const accepted: Array<[string, Record<string, string>]> = [
      ['the allowed Origin', { [HEADER]: 'cookie', origin: ORIGIN }],
      [
        'the other allowed Origin, cross-site by Fetch Metadata',
        { [HEADER]: 'cookie', origin: 'http://localhost:3000', 'sec-fetch-site': 'cross-site' },
      ],
      ['no Origin, Sec-Fetch-Site: same-origin', { [HEADER]: 'cookie', 'sec-fetch-site': 'same-origin' }],
    ];
    for (const [name, headers] of accepted) {
      it(`accepts ${name}: cookie mode, with every value of the cookie`, function () {
        expect(transportOf(post({ ...headers, cookie: `${NAME}=t` }), transport)).to.deep.equal({
          mode: 'cookie',
          cookies: ['t'],
        });
        expect(transportOf(post(headers), transport)).to.deep.equal({ mode: 'cookie', cookies: [] });
      });
    }

    it('body mode without the header and the cookie (no Origin needed), and always without a transport', function () {
      expect(transportOf(post({}), transport)).to.deep.equal({ mode: 'body' });
      expect(transportOf(post({ cookie: 'theme=dark' }), transport)).to.deep.equal({ mode: 'body' });
      expect(transportOf(post({ [HEADER]: 'body', cookie: `${NAME}=t` }), undefined)).to.deep.equal({ mode: 'body' });
    });

    it('reads the header a transport names', function () {
      const custom = cookieTransport({ allowedOrigins: [ORIGIN], header: 'X-Refresh-Mode' });
      expect(transportOf(post({ 'x-refresh-mode': 'cookie', origin: ORIGIN }), custom)).to.deep.equal({
        mode: 'cookie',
        cookies: [],
      });
      expect(transportOf(post({ [HEADER]: 'cookie', origin: ORIGIN }), custom)).to.deep.equal({ mode: 'body' });
    });
  });

  describe('reading the cookie', function () {
    const twice: Array<[string, string]> = [
      ['the planted copy first', `${NAME}=m; ${NAME}=v`],
      ['no space after the semicolon', `${NAME}=m;${NAME}=v`],
      ['spaces around the name and the value', `${NAME} = m ;  ${NAME}=v`],
      ['tabs around the name', `\t${NAME}\t=m; ${NAME}=v`],
      ['an empty planted value', `${NAME}=; ${NAME}=v`],
      ['the same value twice', `${NAME}=v; ${NAME}=v`],
      ['among other cookies', `theme=dark; ${NAME}=m; sid=1; ${NAME}=v; lang=en`],
      ['three times', `${NAME}=m; ${NAME}=garbage; ${NAME}=v`],
    ];
    const cookieMode = { [HEADER]: 'cookie', origin: ORIGIN };
    for (const [name, cookie] of twice) {
      it(`the name twice, ${name}: 400 cookie_ambiguous, neither value used`, function () {
        expect(cookieValues(cookie, NAME)).to.have.length.above(1);
        expect(() => presentedRefreshToken(post({ ...cookieMode, cookie }, { refreshToken: 'v' }), transport)).to.throw(
          CookieAmbiguousError,
          AMBIGUOUS,
        );
      });
    }

    it('the name in two header lines (a list, as Node never gives for Cookie but a plain caller might): ambiguous too', function () {
      expect(() =>
        presentedRefreshToken(post({ ...cookieMode, cookie: [`${NAME}=m`, `${NAME}=v`] }), transport),
      ).to.throw(CookieAmbiguousError);
    });

    const others: Array<[string, string]> = [
      ['the name in lower case', `${NAME.toLowerCase()}=m`],
      ['the name in upper case', `${NAME.toUpperCase()}=m`],
      ['the name quoted', `"${NAME}"=m`],
      ['the name percent-encoded', `${NAME.replace('etp_', 'etp%5F')}=m`],
      ['a nameless cookie whose value is the name', NAME],
      ['a longer name', `${NAME}2=m`],
      ['a shorter name', `${NAME.slice(0, -1)}=m`],
    ];
    for (const [name, other] of others) {
      it(`ignores ${name}: the real cookie is used beside it, in either order; alone it is no cookie`, function () {
        for (const cookie of [`${other}; ${NAME}=v`, `${NAME}=v; ${other}`]) {
          expect(presentedRefreshToken(post({ ...cookieMode, cookie }), transport), cookie).to.deep.equal({
            token: 'v',
            cookie: true,
          });
        }
        expect(() => presentedRefreshToken(post({ ...cookieMode, cookie: other }), transport)).to.throw(
          TokenMissingError,
          'no refresh token cookie',
        );
      });
    }

    it('decodes a percent-encoded value, keeps a malformed one and a quoted one as sent, and does not split at commas', function () {
      expect(cookieValues(`${NAME}=a%2Eb`, NAME)).to.deep.equal(['a.b']);
      expect(cookieValues(`${NAME}=a%FFb`, NAME)).to.deep.equal(['a%FFb']);
      expect(cookieValues(`${NAME}="v"`, NAME)).to.deep.equal(['"v"']);
      expect(cookieValues(`${NAME}=a, ${NAME}=b`, NAME)).to.deep.equal([`a, ${NAME}=b`]);
      expect(cookieValues(undefined, NAME)).to.deep.equal([]);
    });

    it("cookie mode takes the cookie alone: the body's token is never read, even with no cookie", function () {
      expect(
        presentedRefreshToken(post({ ...cookieMode, cookie: `${NAME}=v` }, { refreshToken: 'b' }), transport),
      ).to.deep.equal({ token: 'v', cookie: true });
      expect(() => presentedRefreshToken(post(cookieMode, { refreshToken: 'b' }), transport)).to.throw(
        TokenMissingError,
        'no refresh token cookie',
      );
    });

    it("body mode takes the JSON body's refreshToken, whatever it is (the core judges it), or undefined", function () {
      expect(presentedRefreshToken(post({}, { refreshToken: 'b' }), transport)).to.deep.equal({
        token: 'b',
        cookie: false,
      });
      expect(presentedRefreshToken(post({}, { refreshToken: 42 }), undefined)).to.deep.equal({
        token: 42,
        cookie: false,
      });
      for (const body of [undefined, null, 'refreshToken=b', {}]) {
        expect(presentedRefreshToken(post({}, body), transport), JSON.stringify(body)).to.deep.equal({
          token: undefined,
          cookie: false,
        });
      }
    });

    it('the CSRF checks come first: the name twice without the header is 403, not 400', function () {
      expect(() => presentedRefreshToken(post({ origin: ORIGIN, cookie: `${NAME}=m; ${NAME}=v` }), transport)).to.throw(
        CsrfRejectedError,
        NO_HEADER,
      );
    });
  });

  describe('writing and clearing the cookie', function () {
    const rows: Array<[string, CookieTransport, string]> = [
      ['the default __Host- cookie', transport, `${NAME}=%s; Max-Age=%d; Path=/; HttpOnly; Secure; SameSite=Strict`],
      [
        'a shadowable cookie with a domain',
        cookieTransport({
          allowedOrigins: [ORIGIN],
          cookie: { name: '__Secure-etp_refresh', path: '/auth', domain: 'Example.com', sameSite: 'none' },
        }),
        '__Secure-etp_refresh=%s; Max-Age=%d; Domain=example.com; Path=/auth; HttpOnly; Secure; SameSite=None',
      ],
      [
        'a local, not Secure, cookie',
        cookieTransport({ allowedOrigins: ['http://localhost:3000'], cookie: { secure: false, sameSite: 'lax' } }),
        'etp_refresh=%s; Max-Age=%d; Path=/auth; HttpOnly; SameSite=Lax',
      ],
    ];
    const expected = (format: string, value: string, maxAge: number): string =>
      format.replace('%s', value).replace('%d', String(maxAge));
    for (const [name, chosen, format] of rows) {
      it(`${name}: the refresh token with Max-Age its lifetime, and Max-Age=0 with no value to clear it`, function () {
        expect(writeRefreshCookie(chosen, pair('r.e.f', 604_800))).to.equal(expected(format, 'r.e.f', 604_800));
        expect(clearRefreshCookie(chosen)).to.equal(expected(format, '', 0));
      });
    }

    it("takes Max-Age from the pair's refreshExpiresIn, without reading the token", function () {
      expect(writeRefreshCookie(transport, pair('opaque', 600))).to.equal(
        `${NAME}=opaque; Max-Age=600; Path=/; HttpOnly; Secure; SameSite=Strict`,
      );
    });

    it("a copy of the pair (spread, so no refreshExpiresIn) still gets the token's own exp - iat", function () {
      const payload = Buffer.from(JSON.stringify({ iat: 1000, exp: 1900 })).toString('base64url');
      const copy = { ...pair(`h.${payload}.s`, 600), user: { id: 'alice' } };
      expect(copy).to.not.have.property('refreshExpiresIn');
      expect(writeRefreshCookie(transport, copy)).to.equal(
        `${NAME}=h.${payload}.s; Max-Age=900; Path=/; HttpOnly; Secure; SameSite=Strict`,
      );
    });
  });
});
