/**
 * cookieTransport(options) and the handlers' transport option: parsed once,
 * defaults filled in, every bad configuration refused at start-up with an
 * OptionError naming the option.
 */
import { expect } from 'chai';
import {
  cookieTransport,
  csrfGuard,
  logoutHandler,
  MemorySessionStore,
  OptionError,
  refreshHandler,
  sendTokenPair,
  type CookieTransportOptions,
} from '../lib/index.js';
import { newAuth } from './helpers/express-app.js';

const APP = 'https://app.example.com';
const LOCAL = 'http://localhost:3000';

const bad: Array<[string, unknown, string]> = [
  ['no options', undefined, 'cookieTransport(options) needs { allowedOrigins: [...] }'],
  ['no allowed origin', {}, 'cookieTransport: allowedOrigins must be a non-empty array of origins'],
  ['an empty list', { allowedOrigins: [] }, 'cookieTransport: allowedOrigins must be a non-empty array of origins'],
  [
    'a string instead of a list',
    { allowedOrigins: APP },
    'cookieTransport: allowedOrigins must be a non-empty array of origins',
  ],
  [
    'a trailing slash',
    { allowedOrigins: [`${APP}/`] },
    `cookieTransport: allowedOrigins[0] must be a bare origin such as https://app.example.com, no path or trailing slash (got "${APP}/"; did you mean '${APP}'?)`,
  ],
  ['a path', { allowedOrigins: [LOCAL, `${APP}/app`] }, 'allowedOrigins[1] must be a bare origin'],
  ['upper case', { allowedOrigins: ['https://App.example.com'] }, `did you mean '${APP}'?`],
  ['a default port spelled out', { allowedOrigins: ['https://app.example.com:443'] }, `did you mean '${APP}'?`],
  [
    'no scheme',
    { allowedOrigins: ['app.example.com'] },
    'allowedOrigins[0] must be a bare origin such as https://app.example.com, no path or trailing slash (got "app.example.com")',
  ],
  ['a wildcard', { allowedOrigins: ['*'] }, 'allowedOrigins[0] must be a bare origin'],
  ['null', { allowedOrigins: ['null'] }, 'allowedOrigins[0] must be a bare origin'],
  ['another scheme', { allowedOrigins: ['ftp://app.example.com'] }, 'allowedOrigins[0] must be a bare origin'],
  [
    'a number',
    { allowedOrigins: [42] },
    'allowedOrigins[0] must be a bare origin such as https://app.example.com, no path or trailing slash (got 42)',
  ],
  [
    'http off localhost',
    { allowedOrigins: ['http://app.example.com'] },
    'cookieTransport: allowedOrigins[0] must be https (http only for localhost and 127.0.0.1; got http://app.example.com)',
  ],
  [
    'an unknown option',
    { allowedOrigins: [APP], origins: [APP] },
    'cookieTransport: unknown option origins (known: allowedOrigins, cookie, header)',
  ],
  [
    'an unknown cookie option',
    { allowedOrigins: [APP], cookie: { maxAge: 60 } },
    'cookieTransport: unknown option cookie.maxAge (known: cookie.name, cookie.path, cookie.domain, cookie.sameSite, cookie.secure)',
  ],
  ['cookie not an object', { allowedOrigins: [APP], cookie: 'etp' }, 'cookieTransport: cookie must be an object'],
  [
    'sameSite none without secure',
    { allowedOrigins: [LOCAL], cookie: { sameSite: 'none', secure: false } },
    "cookieTransport: cookie.sameSite 'none' needs cookie.secure (browsers refuse it otherwise)",
  ],
  [
    'an unknown sameSite',
    { allowedOrigins: [APP], cookie: { sameSite: 'Strict' } },
    "cookieTransport: cookie.sameSite must be 'strict', 'lax' or 'none'",
  ],
  [
    'secure false for a real origin',
    { allowedOrigins: [LOCAL, APP], cookie: { secure: false } },
    'cookieTransport: cookie.secure false is only for local development: every allowed origin must be http://localhost or http://127.0.0.1',
  ],
  [
    'secure as a string',
    { allowedOrigins: [APP], cookie: { secure: 'false' } },
    'cookieTransport: cookie.secure must be a boolean',
  ],
  [
    'a relative path',
    { allowedOrigins: [APP], cookie: { path: 'auth' } },
    'cookieTransport: cookie.path must start with / and hold no spaces, semicolons or control characters (got "auth")',
  ],
  [
    'a path with a semicolon',
    { allowedOrigins: [APP], cookie: { path: '/auth;Domain=evil.example' } },
    'cookie.path must start with /',
  ],
  [
    'a domain with a port',
    { allowedOrigins: [APP], cookie: { domain: 'example.com:443' } },
    'cookieTransport: cookie.domain must be a host name such as example.com (got "example.com:443")',
  ],
  [
    'a name with a space',
    { allowedOrigins: [APP], cookie: { name: 'etp refresh' } },
    'cookieTransport: cookie.name must be a cookie name',
  ],
  ['a name with =', { allowedOrigins: [APP], cookie: { name: 'a=b' } }, 'cookie.name must be a cookie name'],
  [
    'a __Secure- name without secure',
    { allowedOrigins: [LOCAL], cookie: { name: '__Secure-rt', secure: false } },
    'cookieTransport: cookie.name __Secure-rt needs cookie.secure',
  ],
  [
    'a __Host- name with another path',
    { allowedOrigins: [APP], cookie: { name: '__Host-rt', path: '/auth' } },
    'cookieTransport: cookie.name __Host-rt needs cookie.path \'/\' and no cookie.domain (a __Host- cookie has Path=/ and no Domain, the only kind a sibling subdomain cannot shadow); got cookie.path "/auth"',
  ],
  [
    'a __Host- name with a domain',
    { allowedOrigins: [APP], cookie: { name: '__Host-rt', domain: 'example.com' } },
    'cookie.name __Host-rt needs cookie.path \'/\' and no cookie.domain (a __Host- cookie has Path=/ and no Domain, the only kind a sibling subdomain cannot shadow); got cookie.domain "example.com"',
  ],
  [
    'a lower-case __host- name with a domain (browsers match the prefix in any case)',
    { allowedOrigins: [APP], cookie: { name: '__host-rt', path: '/', domain: 'example.com' } },
    "cookie.name __host-rt needs cookie.path '/' and no cookie.domain",
  ],
  [
    'a __HOST- name with another path',
    { allowedOrigins: [APP], cookie: { name: '__HOST-rt', path: '/auth' } },
    "cookie.name __HOST-rt needs cookie.path '/'",
  ],
  [
    'the default name with another path',
    { allowedOrigins: [APP], cookie: { path: '/auth' } },
    'cookieTransport: cookie.path "/auth" does not go with the default cookie.name __Host-etp_refresh (a __Host- cookie has Path=/ and no Domain, the only kind a sibling subdomain cannot shadow); drop it, or also set cookie.name (e.g. \'__Secure-etp_refresh\') and accept that a sibling subdomain can then plant a cookie of that name (see the README)',
  ],
  [
    'the default name with a domain',
    { allowedOrigins: [APP], cookie: { domain: 'example.com' } },
    'cookieTransport: cookie.domain "example.com" does not go with the default cookie.name __Host-etp_refresh',
  ],
  [
    'a __Host- name without secure',
    { allowedOrigins: [LOCAL], cookie: { name: '__Host-rt', secure: false } },
    'cookieTransport: cookie.name __Host-rt needs cookie.secure',
  ],
  [
    'a header name with a space',
    { allowedOrigins: [APP], header: 'x token' },
    'cookieTransport: header must be an HTTP header name (got "x token")',
  ],
  [
    'a CORS-safelisted header',
    { allowedOrigins: [APP], header: 'Content-Type' },
    'cookieTransport: header Content-Type cannot serve as the required custom header',
  ],
  [
    'a header scripts cannot set',
    { allowedOrigins: [APP], header: 'sec-fetch-mode' },
    'header sec-fetch-mode cannot serve as the required custom header',
  ],
  [
    'Authorization as the header',
    { allowedOrigins: [APP], header: 'authorization' },
    'header authorization cannot serve',
  ],
];

describe('cookieTransport options', function () {
  it('refuses each bad configuration at start-up, naming the option', function () {
    for (const [name, options, message] of bad) {
      let error: unknown;
      try {
        cookieTransport(options as CookieTransportOptions);
      } catch (thrown) {
        error = thrown;
      }
      expect(error, name).to.be.instanceOf(OptionError);
      expect((error as OptionError).message, name)
        .to.match(/^express-token-pair: /)
        .and.include(message);
    }
  });

  it('fills in the defaults: a __Host- cookie on Path=/, Strict, Secure; the x-token-transport header', function () {
    const transport = cookieTransport({ allowedOrigins: [APP, LOCAL] });
    expect(transport).to.deep.equal({
      allowedOrigins: [APP, LOCAL],
      header: 'x-token-transport',
      cookie: { name: '__Host-etp_refresh', path: '/', domain: undefined, sameSite: 'strict', secure: true },
    });
    expect(
      Object.isFrozen(transport) && Object.isFrozen(transport.cookie) && Object.isFrozen(transport.allowedOrigins),
    ).to.equal(true);
  });

  it("takes every option, lower-cases the header and domain, and leaves the caller's object alone", function () {
    const options = {
      allowedOrigins: ['https://a.example.com', 'https://b.example.net'],
      cookie: { name: 'rt', path: '/api/auth', domain: 'Example.com', sameSite: 'none', secure: true },
      header: 'X-Auth-Mode',
    } as const;
    const copy = structuredClone(options);
    expect(cookieTransport(options)).to.deep.equal({
      allowedOrigins: ['https://a.example.com', 'https://b.example.net'],
      header: 'x-auth-mode',
      cookie: { name: 'rt', path: '/api/auth', domain: 'example.com', sameSite: 'none', secure: true },
    });
    expect(options).to.deep.equal(copy);
  });

  it('allows secure: false for local origins only, and then drops the prefix and keeps Path=/auth', function () {
    const transport = cookieTransport({ allowedOrigins: [LOCAL, 'http://127.0.0.1:5173'], cookie: { secure: false } });
    expect(transport.cookie).to.deep.equal({
      name: 'etp_refresh',
      path: '/auth',
      domain: undefined,
      sameSite: 'strict',
      secure: false,
    });
    // Only when asked: local origins alone keep the Secure default.
    expect(cookieTransport({ allowedOrigins: [LOCAL] }).cookie).to.deep.equal({
      name: '__Host-etp_refresh',
      path: '/',
      domain: undefined,
      sameSite: 'strict',
      secure: true,
    });
  });

  it('defaults the path to / for any __Host- name, and to /auth for any other', function () {
    const cookie = (options: CookieTransportOptions['cookie']): unknown =>
      cookieTransport({ allowedOrigins: [APP], cookie: options }).cookie;
    expect(cookie({ name: '__Host-rt' })).to.include({ name: '__Host-rt', path: '/' });
    expect(cookie({ name: '__host-rt', path: '/' })).to.include({ name: '__host-rt', path: '/' });
    expect(cookie({ name: '__Secure-etp_refresh' })).to.include({ name: '__Secure-etp_refresh', path: '/auth' });
    expect(cookie({ name: '__Secure-etp_refresh', path: '/auth', domain: 'example.com' })).to.include({
      name: '__Secure-etp_refresh',
      path: '/auth',
      domain: 'example.com',
    });
    expect(cookie({ path: '/' })).to.include({ name: '__Host-etp_refresh', path: '/' });
  });
});

describe('the transport option of the handlers', function () {
  const store = new MemorySessionStore();
  const auth = newAuth(store);
  const transport = cookieTransport({ allowedOrigins: [APP] });
  after(function () {
    store.close();
  });

  it('refreshHandler refuses unknown options and a transport cookieTransport() did not make', function () {
    expect(() => refreshHandler(auth, { transprot: transport } as never)).to.throw(
      OptionError,
      'express-token-pair: refreshHandler: unknown option transprot (known: transport)',
    );
    expect(() => refreshHandler(auth, { transport: { ...transport } })).to.throw(
      OptionError,
      'express-token-pair: refreshHandler option transport must be the object returned by cookieTransport()',
    );
    expect(() => refreshHandler(auth, 'cookie' as never)).to.throw(
      OptionError,
      'express-token-pair: refreshHandler options must be an object',
    );
    expect(refreshHandler(auth, { transport })).to.be.a('function');
  });

  it('logoutHandler refuses unknown options and a transport cookieTransport() did not make', function () {
    expect(() => logoutHandler(auth, { all: true, cookie: true } as never)).to.throw(
      OptionError,
      'express-token-pair: logoutHandler: unknown option cookie (known: all, transport)',
    );
    expect(() => logoutHandler(auth, { transport: { allowedOrigins: [APP] } as never })).to.throw(
      OptionError,
      'express-token-pair: logoutHandler option transport must be the object returned by cookieTransport()',
    );
    expect(logoutHandler(auth, { transport, all: true })).to.be.a('function');
  });

  it('csrfGuard and sendTokenPair refuse anything but a transport', function () {
    for (const notTransport of [undefined, { ...transport }]) {
      expect(() => csrfGuard(notTransport as never)).to.throw(
        OptionError,
        'express-token-pair: csrfGuard(transport): transport must be the object returned by cookieTransport()',
      );
    }
    expect(() => {
      sendTokenPair({} as never, {} as never, {} as never, { ...transport });
    }).to.throw(
      OptionError,
      'express-token-pair: sendTokenPair(req, res, pair, transport): transport must be the object returned by cookieTransport()',
    );
  });
});
