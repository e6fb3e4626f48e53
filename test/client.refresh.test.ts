/**
 * express-token-pair/client against a real server in body mode: one refresh
 * for all concurrent callers, a 401 that arrives mid-refresh joining it,
 * each request retried at most once, a stale token retried without a
 * refresh, and refresh failures that leave the session alone.
 */
import { expect } from 'chai';
import { AuthClientError, createAuthClient, type AuthClient, type AuthClientOptions } from '../lib/client/index.js';
import { ACCESS_TTL, memoryStore, startServer, until, type TestServer } from './helpers/client-server.js';

describe('client: refresh', function () {
  let server: TestServer;
  let clients: AuthClient[] = [];
  let ended: string[] = [];

  before(async function () {
    server = await startServer();
  });
  after(async function () {
    await server.close();
  });
  beforeEach(function () {
    server.reset();
    ended = [];
  });
  afterEach(function () {
    for (const client of clients) client.close();
    clients = [];
  });

  /** A logged-in client in body mode (no tab sync), and its refresh token store. */
  async function loggedIn(options: Partial<AuthClientOptions> = {}) {
    const store = memoryStore();
    const client = createAuthClient({
      refreshUrl: `${server.base}/refresh`,
      transport: store,
      channel: false,
      retryDelay: 5,
      onSessionEnded: ({ reason }) => {
        ended.push(reason);
      },
      ...options,
    });
    clients.push(client);
    await client.setTokens(await server.login());
    return { client, store };
  }

  it('sends the access token as a Bearer header, with no refresh while it is valid', async function () {
    const { client } = await loggedIn();
    const res = await client.fetch(`${server.base}/me`);
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { userId: string }).userId).to.equal('alice');
    expect(server.count('POST /refresh')).to.equal(0);
  });

  it('refreshes once for 10 concurrent calls with an expired token, and all 10 succeed', async function () {
    const { client, store } = await loggedIn();
    const first = store.value;
    server.clock.advance(ACCESS_TTL + 1);
    const answers = await Promise.all(Array.from({ length: 10 }, () => client.fetch(`${server.base}/me`)));
    expect(answers.map((res) => res.status)).to.deep.equal(Array(10).fill(200));
    // 10 refused with the expired token, 10 retried with the new one; one refresh.
    expect(server.count('GET /me')).to.equal(20);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(store.value).to.be.a('string').and.not.equal(first);
    expect(store.writes).to.equal(2); // login, one rotation
    expect(ended).to.deep.equal([]);
  });

  it('lets a 401 that arrives mid-refresh join that refresh instead of starting another', async function () {
    const answered: string[] = [];
    const { client } = await loggedIn({
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        answered.push(`${new URL(input instanceof Request ? input.url : input).pathname} ${res.status}`);
        return res;
      },
    });
    server.clock.advance(ACCESS_TTL + 1);
    const releaseSlow = server.hold('/slow');
    const slow = client.fetch(`${server.base}/slow`); // sent with the expired token, answered later
    await until(() => server.count('GET /slow') === 1);
    const releaseRefresh = server.hold('/refresh');
    const me = client.fetch(`${server.base}/me`); // 401: starts the refresh, which the server holds
    await until(() => server.count('POST /refresh') === 1);
    releaseSlow();
    await until(() => answered.includes('/slow 401'));
    expect(answered).to.deep.equal(['/me 401', '/slow 401']); // the refresh is still unanswered
    releaseRefresh();
    const [slowRes, meRes] = await Promise.all([slow, me]);
    expect([slowRes.status, meRes.status]).to.deep.equal([200, 200]);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(answered.slice(2).sort()).to.deep.equal(['/me 200', '/refresh 200', '/slow 200']);
  });

  it('retries each request at most once: a route that always answers 401 gets one retry, then its 401', async function () {
    const { client } = await loggedIn();
    const res = await client.fetch(`${server.base}/always-401`);
    expect(res.status).to.equal(401);
    expect(await res.json()).to.deep.equal({ error: 'token_expired' });
    expect(server.count('GET /always-401')).to.equal(2);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(ended).to.deep.equal([]);
  });

  it('retries a 401 of a request sent with a token since replaced, without refreshing', async function () {
    const { client } = await loggedIn();
    const release = server.hold('/slow');
    const slow = client.fetch(`${server.base}/slow`); // carries the first token
    await until(() => server.count('GET /slow') === 1);
    server.clock.advance(ACCESS_TTL + 1); // ...which has now expired
    const fresh = await client.refresh();
    expect(fresh).to.be.a('string');
    release();
    const res = await slow;
    expect(res.status).to.equal(200);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(server.count('GET /slow')).to.equal(2);
  });

  it('does not end the session on a network error in the refresh; the next call refreshes', async function () {
    let failures = 2;
    const { client } = await loggedIn({
      fetch: (input, init) =>
        String(input).endsWith('/refresh') && failures-- > 0
          ? Promise.reject(new TypeError('fetch failed'))
          : fetch(input, init),
    });
    const token = client.getAccessToken();
    server.clock.advance(ACCESS_TTL + 1);
    const error = await client.fetch(`${server.base}/me`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(AuthClientError);
    expect((error as AuthClientError).code).to.equal('refresh_failed');
    expect((error as AuthClientError).message).to.equal('express-token-pair/client: the refresh request failed');
    expect(ended).to.deep.equal([]);
    expect(client.getAccessToken()).to.equal(token);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
    expect(server.count('POST /refresh')).to.equal(1);
  });

  it('retries a refresh whose answer was lost, and gets the same successor within the reuse grace', async function () {
    let lose = 1;
    const { client, store } = await loggedIn({
      fetch: async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).endsWith('/refresh') && lose-- > 0) throw new TypeError('connection reset');
        return res;
      },
    });
    server.clock.advance(ACCESS_TTL + 1);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
    expect(server.count('POST /refresh')).to.equal(2);
    server.clock.advance(ACCESS_TTL + 1);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
    expect(ended).to.deep.equal([]);
    expect(store.value).to.be.a('string');
  });

  it('retries a refresh once after a 503, honouring Retry-After', async function () {
    const { client } = await loggedIn();
    server.unavailable(1, '0');
    server.clock.advance(ACCESS_TTL + 1);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
    expect(server.count('POST /refresh')).to.equal(2);
  });

  it('rejects with the 503 after a second one, and the session goes on', async function () {
    const { client } = await loggedIn();
    server.unavailable(2, '0');
    server.clock.advance(ACCESS_TTL + 1);
    const error = await client.refresh().then(
      () => undefined,
      (e: unknown) => e as AuthClientError,
    );
    expect(error).to.include({ code: 'refresh_failed', status: 503, serverCode: 'store_unavailable', retryAfter: 0 });
    expect(error!.message).to.equal('express-token-pair/client: the refresh answered 503 store_unavailable');
    expect(ended).to.deep.equal([]);
    expect(await client.refresh()).to.be.a('string');
  });

  it('refuses more than maxRefreshes refreshes within refreshWindow (refresh_limit)', async function () {
    const { client } = await loggedIn({ maxRefreshes: 2, refreshWindow: 60_000 });
    for (let i = 0; i < 2; i++) expect((await client.fetch(`${server.base}/always-401`)).status).to.equal(401);
    const error = await client.fetch(`${server.base}/always-401`).then(
      () => undefined,
      (e: unknown) => e as AuthClientError,
    );
    expect(error?.code).to.equal('refresh_limit');
    expect(error?.message).to.equal('express-token-pair/client: 2 refreshes within 60000 ms: not refreshing again');
    expect(server.count('POST /refresh')).to.equal(2);
  });

  it('replays string, Blob, URLSearchParams, ArrayBuffer, FormData and Request bodies', async function () {
    const { client } = await loggedIn({ maxRefreshes: 10 });
    const url = `${server.base}/echo`;
    const form = new FormData();
    form.set('a', '1');
    const cases: Array<[string, () => Promise<Response>, string]> = [
      ['string', () => client.fetch(url, { method: 'POST', body: 'a=1' }), 'a=1'],
      ['Blob', () => client.fetch(url, { method: 'POST', body: new Blob(['a=1']) }), 'a=1'],
      ['URLSearchParams', () => client.fetch(url, { method: 'POST', body: new URLSearchParams({ a: '1' }) }), 'a=1'],
      ['ArrayBuffer', () => client.fetch(url, { method: 'POST', body: new TextEncoder().encode('a=1').buffer }), 'a=1'],
      ['FormData', () => client.fetch(url, { method: 'POST', body: form }), 'name="a"'],
      ['Request', () => client.fetch(new Request(url, { method: 'POST', body: 'a=1' })), 'a=1'],
    ];
    for (const [name, send, expected] of cases) {
      server.clock.advance(ACCESS_TTL + 1);
      const res = await send();
      expect(res.status, name).to.equal(200);
      expect(await res.text(), name).to.include(expected);
    }
    expect(server.count('POST /refresh')).to.equal(cases.length);
    expect(server.count('POST /echo')).to.equal(2 * cases.length);
  });

  it('cannot send a ReadableStream body twice: returns its 401 once the refresh is done', async function () {
    const { client } = await loggedIn();
    server.clock.advance(ACCESS_TTL + 1);
    const body = new Blob(['a=1']).stream();
    const res = await client.fetch(`${server.base}/echo`, { method: 'POST', body, duplex: 'half' });
    expect(res.status).to.equal(401);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(server.count('POST /echo')).to.equal(1);
    expect((await client.fetch(`${server.base}/echo`, { method: 'POST', body: 'again' })).status).to.equal(200);
  });

  describe('the refresh cap on a monotonic clock', function () {
    /** A refresh route that hands out a new pair each time. */
    function stubClient(options: Partial<AuthClientOptions> = {}): AuthClient {
      let issued = 0;
      const client = createAuthClient({
        refreshUrl: 'https://api.test/refresh',
        transport: memoryStore('rt-0'),
        channel: false,
        fetch: async () => {
          issued++;
          return Response.json({ accessToken: `at-${issued}`, refreshToken: `rt-${issued}`, expiresIn: 900 });
        },
        ...options,
      });
      clients.push(client);
      return client;
    }

    it('keeps refreshing every 15 minutes after the wall clock steps back two hours (the cap reads performance.now)', async function () {
      const realNow = Date.now;
      let wall = Date.now();
      let monotonic = performance.now();
      Date.now = () => wall;
      // Shadows Performance.prototype.now on this instance, until deleted.
      Object.defineProperty(performance, 'now', { value: () => monotonic, configurable: true, writable: true });
      try {
        const client = stubClient();
        expect(await client.refresh()).to.equal('at-1');
        wall -= 2 * 3_600_000; // NTP steps the clock back
        for (let i = 2; i <= 10; i++) {
          wall += 15 * 60_000;
          monotonic += 15 * 60_000;
          expect(await client.refresh(), `refresh ${i}`).to.equal(`at-${i}`);
        }
      } finally {
        Date.now = realNow;
        delete (performance as { now?: unknown }).now;
      }
    });

    it('counts on the clock option when given: the cap holds within a window of it, whatever the wall clock does', async function () {
      let now = 0;
      const client = stubClient({ clock: () => now, maxRefreshes: 2, refreshWindow: 60_000 });
      const realNow = Date.now;
      Date.now = () => realNow() - 3_600_000;
      try {
        expect(await client.refresh()).to.equal('at-1');
        now += 59_999;
        expect(await client.refresh()).to.equal('at-2');
        const error = await client.refresh().then(
          () => undefined,
          (e: unknown) => e as AuthClientError,
        );
        expect(error?.code).to.equal('refresh_limit');
        now += 1; // 60 s after the first
        expect(await client.refresh()).to.equal('at-3');
      } finally {
        Date.now = realNow;
      }
      expect(() =>
        createAuthClient({ refreshUrl: 'https://api.test/refresh', channel: false, clock: 'performance' as never }),
      ).to.throw(TypeError, 'express-token-pair/client: clock must be a function returning milliseconds');
    });
  });
});
