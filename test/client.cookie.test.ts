/**
 * express-token-pair/client in cookie mode. First the request shapes, on a
 * stub fetch: refresh, login and logout go with credentials 'include' and
 * `x-token-transport: cookie`, and never send a refresh token. Then against
 * a real server with the library's cookieTransport, through a fetch with a
 * small cookie jar that, like a browser calling another origin, sends the
 * cookie only with credentials 'include'.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import {
  cookieTransport,
  createTokenAuth,
  csrfGuard,
  logoutHandler,
  MemorySessionStore,
  refreshHandler,
  requireAccessToken,
  sendTokenPair,
  type TokenAuth,
} from '../lib/index.js';
import { AuthClientError, createAuthClient, type AuthClient, type FetchLike } from '../lib/client/index.js';

const ORIGIN = 'http://localhost:5173';

interface Call {
  url: string;
  method: string;
  credentials: string | undefined;
  headers: Record<string, string>;
  body: unknown;
}

/** A fetch that records each call and answers from `answer`. */
function stubFetch(answer: (call: Call) => Response): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = async (input, init = {}) => {
    const call: Call = {
      url: String(input),
      method: init.method ?? 'GET',
      credentials: init.credentials,
      headers: Object.fromEntries(new Headers(init.headers)),
      body: init.body ?? undefined,
    };
    calls.push(call);
    return answer(call);
  };
  return { fetch, calls };
}

const json = (status: number, body: unknown): Response => Response.json(body, { status });

describe('client: cookie mode', function () {
  let clients: AuthClient[] = [];
  afterEach(function () {
    for (const client of clients) client.close();
    clients = [];
  });

  function newClient(fetch: FetchLike, transportHeader?: string): AuthClient {
    const client = createAuthClient({
      refreshUrl: 'https://api.test/auth/refresh',
      logoutUrl: 'https://api.test/auth/logout',
      channel: false,
      fetch,
      transportHeader,
    });
    clients.push(client);
    return client;
  }

  describe('request shapes (stub fetch)', function () {
    it('refreshes with credentials, the transport header and no body; sends the API call with the new Bearer token', async function () {
      let expired = true;
      const { fetch, calls } = stubFetch((call) => {
        if (call.url.endsWith('/refresh')) return json(200, { accessToken: 'a2', tokenType: 'Bearer', expiresIn: 900 });
        if (expired) {
          expired = false;
          return json(401, { error: 'token_expired' });
        }
        return json(200, { ok: true });
      });
      const client = newClient(fetch);
      await client.setTokens({ accessToken: 'a1', expiresIn: 900 });
      expect((await client.fetch('https://api.test/me')).status).to.equal(200);
      expect(calls).to.deep.equal([
        {
          url: 'https://api.test/me',
          method: 'GET',
          credentials: undefined,
          headers: { authorization: 'Bearer a1' },
          body: undefined,
        },
        {
          url: 'https://api.test/auth/refresh',
          method: 'POST',
          credentials: 'include',
          headers: { 'x-token-transport': 'cookie' },
          body: undefined,
        },
        {
          url: 'https://api.test/me',
          method: 'GET',
          credentials: undefined,
          headers: { authorization: 'Bearer a2' },
          body: undefined,
        },
      ]);
    });

    it('logs in and out with credentials and the transport header (a custom header name too)', async function () {
      const { fetch, calls } = stubFetch((call) =>
        call.url.endsWith('/login')
          ? json(200, { accessToken: 'a1', tokenType: 'Bearer', expiresIn: 900 })
          : new Response(null, { status: 204 }),
      );
      const client = newClient(fetch, 'x-auth-mode');
      await client.login('https://api.test/auth/login', { email: 'ann@example.com' });
      expect(client.getAccessToken()).to.equal('a1');
      await client.logout();
      expect(calls).to.deep.equal([
        {
          url: 'https://api.test/auth/login',
          method: 'POST',
          credentials: 'include',
          headers: { 'content-type': 'application/json', 'x-auth-mode': 'cookie' },
          body: '{"email":"ann@example.com"}',
        },
        {
          url: 'https://api.test/auth/logout',
          method: 'POST',
          credentials: 'include',
          headers: { 'x-auth-mode': 'cookie' },
          body: undefined,
        },
      ]);
    });

    it('reads the WWW-Authenticate challenge when a 401 has no JSON body', async function () {
      let first = true;
      const { fetch, calls } = stubFetch((call) => {
        if (call.url.endsWith('/refresh')) return json(200, { accessToken: 'a2' });
        if (!first) return json(200, {});
        first = false;
        return new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
      });
      const client = newClient(fetch);
      await client.setTokens({ accessToken: 'a1' });
      expect((await client.fetch('https://api.test/me')).status).to.equal(200);
      expect(calls.map((call) => call.url.slice('https://api.test'.length))).to.deep.equal([
        '/me',
        '/auth/refresh',
        '/me',
      ]);
    });

    it('does not refresh on a 401 that is not about the token, nor on a 403', async function () {
      const { fetch, calls } = stubFetch((call) =>
        call.url.endsWith('/a') ? json(401, { error: 'invalid_credentials' }) : json(403, { error: 'forbidden' }),
      );
      const client = newClient(fetch);
      await client.setTokens({ accessToken: 'a1' });
      expect((await client.fetch('https://api.test/a')).status).to.equal(401);
      expect((await client.fetch('https://api.test/b')).status).to.equal(403);
      expect(calls).to.have.lengthOf(2);
    });
  });

  describe('against cookieTransport', function () {
    let server: Server;
    let auth: TokenAuth;
    let store: MemorySessionStore;
    let base: string;
    let refreshes = 0;

    before(async function () {
      store = new MemorySessionStore();
      auth = createTokenAuth({
        accessToken: { secret: 'c'.repeat(32) },
        refreshToken: { secret: 'r'.repeat(32) },
        store,
      });
      const transport = cookieTransport({ allowedOrigins: [ORIGIN], cookie: { secure: false } });
      const app = express();
      app.use(express.json());
      app.post('/auth/login', csrfGuard(transport), (req, res, next) => {
        auth.issue({ userId: 'ann' }).then((pair) => {
          sendTokenPair(req, res, pair, transport);
        }, next);
      });
      app.post(
        '/auth/refresh',
        (_req, _res, next) => {
          refreshes++;
          next();
        },
        refreshHandler(auth, { transport }),
      );
      app.post('/auth/logout', logoutHandler(auth, { transport }));
      app.get('/me', requireAccessToken(auth), (req, res) => {
        res.json(req.auth);
      });
      server = createServer(app).listen(0, '127.0.0.1');
      await once(server, 'listening');
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(function () {
      server.closeAllConnections();
      server.close();
      store.close();
    });

    /** A browser page on ORIGIN: its cookie jar is sent and updated only with credentials 'include'. */
    function page(jar: Map<string, string>, origin = ORIGIN): AuthClient {
      const client = createAuthClient({
        refreshUrl: `${base}/auth/refresh`,
        logoutUrl: `${base}/auth/logout`,
        channel: false,
        fetch: async (input, init = {}) => {
          const headers = new Headers(init.headers);
          headers.set('origin', origin);
          const include = init.credentials === 'include';
          if (include && jar.size > 0)
            headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
          const res = await fetch(input, { ...init, headers });
          for (const line of include ? res.headers.getSetCookie() : []) {
            const [name = '', value = ''] = line.split(';')[0]!.split('=');
            if (value === '') jar.delete(name);
            else jar.set(name, value);
          }
          return res;
        },
      });
      clients.push(client);
      return client;
    }

    it('logs in, refreshes once from the cookie for concurrent calls, restores a new page, logs out', async function () {
      const jar = new Map<string, string>();
      const tab = page(jar);
      const pair = await tab.login(`${base}/auth/login`, {});
      expect(pair.refreshToken).to.equal(undefined);
      expect([...jar.keys()]).to.deep.equal(['etp_refresh']);
      const loginCookie = jar.get('etp_refresh');

      // A new page knows no access token: refresh() restores the session from the cookie.
      const next = page(jar);
      refreshes = 0;
      const token = await next.refresh();
      expect(token).to.be.a('string').and.not.equal(pair.accessToken);
      expect(jar.get('etp_refresh')).to.be.a('string').and.not.equal(loginCookie);
      await next.setTokens({ accessToken: 'not-a-jwt' }); // refused by the server: token_invalid
      const answers = await Promise.all(Array.from({ length: 5 }, () => next.fetch(`${base}/me`)));
      expect(answers.map((res) => res.status)).to.deep.equal([200, 200, 200, 200, 200]);
      expect(refreshes).to.equal(2);

      await next.logout();
      expect(jar.size).to.equal(0);
      expect(await auth.listSessions('ann')).to.deep.equal([]);
    });

    it('answers "no session" on a first visit (no cookie): refresh() resolves undefined, and no sessionended fires', async function () {
      const ended: string[] = [];
      // The README's snippet: a listener that redirects to the login page, which would load this page again.
      const client = page(new Map());
      client.on('sessionended', ({ reason }) => {
        ended.push(reason);
      });
      for (let load = 0; load < 3; load++) expect(await client.refresh()).to.equal(undefined);
      expect(ended).to.deep.equal([]);
      expect(client.getAccessToken()).to.equal(undefined);
    });

    it('fires sessionended once for a session the page held, when its cookie is gone', async function () {
      const jar = new Map<string, string>();
      const client = page(jar);
      const ended: string[] = [];
      client.on('sessionended', ({ reason }) => {
        ended.push(reason);
      });
      await client.login(`${base}/auth/login`, {});
      jar.clear();
      expect(await client.refresh()).to.equal(undefined);
      expect(await client.refresh()).to.equal(undefined);
      await client.logout();
      expect(ended).to.deep.equal(['token_missing']);
    });

    it('takes a 403 csrf_rejected as a failure, not the end of the session', async function () {
      const jar = new Map<string, string>();
      await page(jar).login(`${base}/auth/login`, {});
      const ended: string[] = [];
      const evil = page(jar, 'https://evil.example');
      evil.on('sessionended', ({ reason }) => {
        ended.push(reason);
      });
      const error = await evil.refresh().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error)
        .to.be.instanceOf(AuthClientError)
        .and.include({ code: 'refresh_failed', status: 403, serverCode: 'csrf_rejected' });
      expect(ended).to.deep.equal([]);
    });
  });
});
