/**
 * express-token-pair/client sends the access token, and reacts to a 401,
 * only for the API's origins: the origin of refreshUrl (resolved against the
 * page) and those of the `origins` option. Every other URL, however it is
 * spelt (protocol-relative, backslashes, userinfo, another scheme or port, a
 * URL or Request object), is fetched exactly as given. On a stub fetch, in a
 * "page" at https://app.example (a `location` set on globalThis, as a worker has).
 */
import { expect } from 'chai';
import { createAuthClient, type AuthClient, type AuthClientOptions, type FetchLike } from '../lib/client/index.js';
import { memoryStore } from './helpers/client-server.js';

const PAGE = 'https://app.example/dir/page.html';

interface Call {
  input: string | URL | Request;
  init: RequestInit | undefined;
  authorization: string | null;
}

const json = (status: number, body: unknown): Response => Response.json(body, { status });

describe('client: origins', function () {
  let clients: AuthClient[] = [];
  let calls: Call[] = [];
  let ended: string[] = [];
  let hadLocation: boolean;
  let location: unknown;

  before(function () {
    hadLocation = 'location' in globalThis;
    location = (globalThis as { location?: unknown }).location;
    Object.defineProperty(globalThis, 'location', { value: new URL(PAGE), configurable: true, writable: true });
  });
  after(function () {
    if (hadLocation)
      Object.defineProperty(globalThis, 'location', { value: location, configurable: true, writable: true });
    else delete (globalThis as { location?: unknown }).location;
  });
  beforeEach(function () {
    calls = [];
    ended = [];
  });
  afterEach(function () {
    for (const client of clients) client.close();
    clients = [];
  });

  /**
   * Every server refuses every token with 401 token_expired, except the
   * refresh route, which hands out a new pair each time.
   */
  const fetcher: FetchLike = async (input, init) => {
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    calls.push({ input, init, authorization: headers.get('authorization') });
    const url = input instanceof Request ? input.url : String(input);
    if (url.endsWith('/auth/refresh'))
      return json(200, { accessToken: `at-${calls.length}`, refreshToken: `rt-${calls.length}` });
    return json(401, { error: 'token_expired' });
  };

  async function loggedIn(options: Partial<AuthClientOptions> = {}): Promise<AuthClient> {
    const client = createAuthClient({
      refreshUrl: '/auth/refresh',
      transport: memoryStore(),
      channel: false,
      retryDelay: 5,
      fetch: fetcher,
      onSessionEnded: ({ reason }) => {
        ended.push(reason);
      },
      ...options,
    });
    clients.push(client);
    await client.setTokens({ accessToken: 'at-0', refreshToken: 'rt-0' });
    return client;
  }

  const refreshes = (): number => calls.filter((call) => String(call.input).endsWith('/auth/refresh')).length;

  /** Spellings of a URL that is not on https://app.example, each with what fetch makes of it. */
  const FOREIGN: Array<[string, () => string | URL | Request]> = [
    ['absolute', () => 'https://other.example/x'],
    ['protocol-relative', () => '//other.example/x'],
    ['protocol-relative with a backslash', () => '/\\other.example/x'],
    ['two backslashes', () => '\\\\other.example\\x'],
    ['a tab inside //', () => '/\t/other.example/x'],
    ['leading spaces', () => '  //other.example/x'],
    ['uppercase host', () => 'HTTPS://OTHER.EXAMPLE/x'],
    ['userinfo that looks like the API', () => 'https://app.example@other.example/'],
    ['the API host as a subdomain of another', () => 'https://app.example.other.example/x'],
    ['http: on the same host', () => 'http://app.example/x'],
    ['another port on the same host', () => 'https://app.example:8443/x'],
    ['javascript:', () => 'javascript:alert(1)'],
    ['data:', () => 'data:text/plain,hi'],
    ['blob: of the page', () => 'blob:https://app.example/0b6c5c53-7b8e-4c6a-9d8e-2f1f1a2b3c4d'],
    ['a URL object', () => new URL('https://other.example/x')],
    ['a Request object', () => new Request('https://other.example/x')],
  ];

  it('never sends the token to another origin, however the URL is spelt, and fetches it untouched', async function () {
    const client = await loggedIn();
    for (const [name, make] of FOREIGN) {
      calls = [];
      const input = make();
      const init = { method: 'GET', headers: { accept: 'text/plain' } };
      const res = await client.fetch(input, init);
      expect(res.status, name).to.equal(401);
      expect(calls, name).to.have.lengthOf(1);
      expect(calls[0]!.authorization, name).to.equal(null);
      expect(calls[0]!.input, name).to.equal(input);
      expect(calls[0]!.init, name).to.equal(init); // the caller's own object: no header, no credentials added
    }
    const bare = 'https://other.example/y';
    await client.fetch(bare);
    expect(calls.at(-1)).to.deep.equal({ input: bare, init: undefined, authorization: null });
  });

  it("does not refresh on another origin's 401, so that such 401s cannot use up the refresh cap", async function () {
    const client = await loggedIn({ maxRefreshes: 5 });
    for (const [, make] of FOREIGN) await client.fetch(make());
    for (let i = 0; i < 6; i++) await client.fetch('https://other.example/401');
    expect(refreshes()).to.equal(0);
    expect(ended).to.deep.equal([]);
    expect(client.getAccessToken()).to.equal('at-0');
    // The API itself still gets its one refresh and one retry.
    calls = [];
    const res = await client.fetch('/me');
    expect(res.status).to.equal(401); // the stub refuses every token
    expect(calls.map((call) => [String(call.input), call.authorization])).to.deep.equal([
      ['/me', 'Bearer at-0'],
      ['/auth/refresh', null],
      ['/me', 'Bearer at-2'],
    ]);
  });

  it('sends the token to the API origin however its URLs are spelt: relative, absolute, uppercase, default port, objects', async function () {
    const client = await loggedIn({ maxRefreshes: 100 });
    const same: Array<() => string | URL | Request> = [
      () => '/me',
      () => 'me',
      () => './me',
      () => '../me',
      () => '?q=1',
      () => 'https://app.example/me',
      () => 'HTTPS://APP.EXAMPLE/me',
      () => 'https://app.example:443/me',
      () => new URL('/me', PAGE),
      () => new Request('https://app.example/me'),
    ];
    for (const make of same) {
      calls = [];
      const input = make();
      await client.fetch(input);
      expect(calls[0]?.authorization, String(input)).to.match(/^Bearer at-\d+$/);
      expect(refreshes(), String(input)).to.equal(1);
    }
  });

  it('adds the origins of the origins option, and only them', async function () {
    const client = await loggedIn({ origins: ['https://api.example', 'http://localhost:8080'] });
    for (const url of ['https://api.example/me', 'http://localhost:8080/me', '/me']) {
      calls = [];
      await client.fetch(url);
      expect(calls[0]?.authorization, url).to.match(/^Bearer /);
    }
    for (const url of [
      'https://api.example.evil/me',
      'http://api.example/me',
      'http://localhost:8081/me',
      'https://localhost:8080/me',
    ]) {
      calls = [];
      await client.fetch(url);
      expect(
        calls.map((call) => call.authorization),
        url,
      ).to.deep.equal([null]);
    }
  });

  it('refuses an origins option that is not a list of exact https (or localhost) origins, naming it', function () {
    const cases: Array<[unknown, string]> = [
      ['https://api.example', 'origins must be an array of origins'],
      [[42], 'origins[0] must be an origin such as https://api.example.com (got 42)'],
      [
        ['https://api.example', 'https://api.example/'],
        'origins[1] must be an origin such as https://api.example.com (got "https://api.example/")',
      ],
      [
        ['https://api.example/v1'],
        'origins[0] must be an origin such as https://api.example.com (got "https://api.example/v1")',
      ],
      [
        ['https://API.example'],
        'origins[0] must be an origin such as https://api.example.com (got "https://API.example")',
      ],
      [
        ['https://api.example:443'],
        'origins[0] must be an origin such as https://api.example.com (got "https://api.example:443")',
      ],
      [['https://*.example'], 'origins[0] must be an origin such as https://api.example.com (got "https://*.example")'],
      [['*'], 'origins[0] must be an origin such as https://api.example.com (got "*")'],
      [['null'], 'origins[0] must be an origin such as https://api.example.com (got "null")'],
      [['api.example'], 'origins[0] must be an origin such as https://api.example.com (got "api.example")'],
      [['http://api.example'], 'origins[0] must be https, or http on localhost (got "http://api.example")'],
      [['ws://localhost:8080'], 'origins[0] must be https, or http on localhost (got "ws://localhost:8080")'],
    ];
    for (const [origins, message] of cases) {
      expect(
        () => createAuthClient({ refreshUrl: '/auth/refresh', channel: false, origins } as AuthClientOptions),
        message,
      ).to.throw(TypeError, `express-token-pair/client: ${message}`);
    }
    for (const ok of [
      [],
      [
        'http://localhost:5173',
        'http://127.0.0.1:3000',
        'http://[::1]:8080',
        'http://app.localhost',
        'https://api.example:8443',
      ],
    ]) {
      clients.push(createAuthClient({ refreshUrl: '/auth/refresh', channel: false, origins: ok }));
    }
  });

  it('refuses a refreshUrl it cannot place (relative with no page, not http), and a logoutAllUrl off the API origins', function () {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'location')!;
    delete (globalThis as { location?: unknown }).location;
    try {
      expect(() => createAuthClient({ refreshUrl: '/auth/refresh', channel: false })).to.throw(
        TypeError,
        'express-token-pair/client: refreshUrl must be absolute where there is no page to resolve it against (got "/auth/refresh")',
      );
    } finally {
      Object.defineProperty(globalThis, 'location', saved);
    }
    expect(() => createAuthClient({ refreshUrl: 'javascript:alert(1)//auth/refresh', channel: false })).to.throw(
      TypeError,
      'express-token-pair/client: refreshUrl must be an http(s) URL (got "javascript:alert(1)//auth/refresh")',
    );
    expect(() =>
      createAuthClient({
        refreshUrl: '/auth/refresh',
        logoutAllUrl: 'https://other.example/logout-all',
        channel: false,
      }),
    ).to.throw(
      TypeError,
      'express-token-pair/client: logoutAllUrl must be on the origin of refreshUrl or one of origins (got "https://other.example/logout-all")',
    );
    clients.push(
      createAuthClient({
        refreshUrl: '/auth/refresh',
        logoutAllUrl: 'https://api.example/logout-all',
        origins: ['https://api.example'],
        channel: false,
      }),
    );
  });
});
