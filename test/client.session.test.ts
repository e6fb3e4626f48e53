/**
 * express-token-pair/client, the ends of a session, in body mode against a
 * real server: the refresh answers 401 (revoked, reused) -> `sessionended`
 * once and no more refreshes; a revoked token on a checkRevocation route;
 * login, logout and logout everywhere; bad options refused by name.
 */
import { expect } from 'chai';
import {
  AuthClientError,
  createAuthClient,
  type AuthClient,
  type AuthClientOptions,
  type SessionEndedEvent,
  type TokenEvent,
} from '../lib/client/index.js';
import { ACCESS_TTL, memoryStore, REUSE_GRACE, startServer, type TestServer } from './helpers/client-server.js';

describe('client: session', function () {
  let server: TestServer;
  let clients: AuthClient[] = [];
  let ended: SessionEndedEvent[] = [];

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
  afterEach(async function () {
    for (const client of clients) client.close();
    clients = [];
    await server.auth.revokeAll('alice');
  });

  function newClient(options: Partial<AuthClientOptions> = {}) {
    const store = memoryStore();
    const client = createAuthClient({
      refreshUrl: `${server.base}/refresh`,
      logoutUrl: `${server.base}/logout`,
      logoutAllUrl: `${server.base}/logout-all`,
      transport: store,
      channel: false,
      retryDelay: 5,
      onSessionEnded: (event) => {
        ended.push(event);
      },
      ...options,
    });
    clients.push(client);
    return { client, store };
  }

  async function loggedIn(options: Partial<AuthClientOptions> = {}) {
    const made = newClient(options);
    await made.client.setTokens(await server.login());
    return made;
  }

  it('ends the session once when the refresh is refused (token_revoked); later calls do not refresh', async function () {
    const { client, store } = await loggedIn();
    await server.auth.revokeAll('alice');
    server.clock.advance(ACCESS_TTL + 1);
    const answers = await Promise.all([1, 2, 3].map(() => client.fetch(`${server.base}/me`)));
    expect(answers.map((res) => res.status)).to.deep.equal([401, 401, 401]);
    expect(ended).to.deep.equal([{ reason: 'token_revoked', otherTab: false }]);
    expect(client.getAccessToken()).to.equal(undefined);
    expect(store.value).to.equal(undefined);
    const later = await client.fetch(`${server.base}/me`);
    expect(later.status).to.equal(401);
    expect(await later.json()).to.include({ error: 'token_missing' });
    expect(server.count('POST /refresh')).to.equal(1);
    expect(ended).to.have.lengthOf(1);
  });

  it('ends the session with refresh_reused when another party rotated the refresh token', async function () {
    const { client, store } = await loggedIn();
    await server.auth.refresh(store.value!); // a thief's copy, used first
    server.clock.advance(Math.max(ACCESS_TTL, REUSE_GRACE) + 1);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(401);
    expect(ended).to.deep.equal([{ reason: 'refresh_reused', otherTab: false }]);
  });

  it('tries one refresh on token_revoked from a checkRevocation route, which then ends the session', async function () {
    const { client } = await loggedIn();
    expect((await client.fetch(`${server.base}/checked`)).status).to.equal(200);
    await server.auth.revokeAll('alice');
    const res = await client.fetch(`${server.base}/checked`);
    expect(res.status).to.equal(401);
    expect(await res.json()).to.include({ error: 'token_revoked' });
    expect(server.count('POST /refresh')).to.equal(1);
    expect(ended).to.deep.equal([{ reason: 'token_revoked', otherTab: false }]);
  });

  it('answers "no session" without a request when body mode has no refresh token, and fires nothing: the page held none', async function () {
    const { client } = newClient();
    expect(await client.refresh()).to.equal(undefined);
    expect(ended).to.deep.equal([]);
    expect(server.count('POST /refresh')).to.equal(0);
  });

  it('answers "no session" for a stored refresh token the server refuses, clears it, and fires nothing: the page held none', async function () {
    const pair = await server.login();
    await server.auth.revoke(pair.refreshToken);
    const { client, store } = newClient();
    store.value = pair.refreshToken;
    expect(await client.refresh()).to.equal(undefined);
    expect(store.value).to.equal(undefined);
    expect(await client.refresh()).to.equal(undefined);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(ended).to.deep.equal([]);
  });

  it('fires sessionended once when the store empties under a session the page held (no_refresh_token)', async function () {
    const { client, store } = await loggedIn();
    store.value = undefined;
    expect(await client.refresh()).to.equal(undefined);
    expect(await client.refresh()).to.equal(undefined);
    expect(ended).to.deep.equal([{ reason: 'no_refresh_token', otherTab: false }]);
  });

  it('fires sessionended once for a refresh refused and then a logout()', async function () {
    const { client } = await loggedIn();
    await server.auth.revokeAll('alice');
    expect(await client.refresh()).to.equal(undefined);
    await client.logout();
    await client.logout();
    expect(ended).to.deep.equal([{ reason: 'token_revoked', otherTab: false }]);
  });

  it('does not fire sessionended for a logout() on a page that held no session', async function () {
    const { client } = newClient();
    await client.logout();
    expect(ended).to.deep.equal([]);
  });

  it('resumes after a new login: tokens again, sessionended can fire again', async function () {
    const { client } = await loggedIn();
    await server.auth.revokeAll('alice');
    expect(await client.refresh()).to.equal(undefined);
    await client.setTokens(await server.login());
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
    await server.auth.revokeAll('alice');
    expect(await client.refresh()).to.equal(undefined);
    expect(ended.map((event) => event.reason)).to.deep.equal(['token_revoked', 'token_revoked']);
  });

  it('logs in with login(): POSTs JSON, keeps the pair, emits token', async function () {
    const { client, store } = newClient();
    const tokens: TokenEvent[] = [];
    client.on('token', (event) => {
      tokens.push(event);
    });
    const before = Date.now();
    const pair = await client.login(`${server.base}/login`, { password: 'secret' });
    const after = Date.now();
    expect(client.getAccessToken()).to.equal(pair.accessToken);
    expect(store.value).to.equal(pair.refreshToken);
    expect(tokens).to.have.lengthOf(1);
    expect(tokens[0]).to.include({ accessToken: pair.accessToken, source: 'login' });
    // The client dates expiry by its own clock when the answer arrives: between these two reads.
    expect(tokens[0]!.expiresAt).to.be.within(before + ACCESS_TTL * 1000, after + ACCESS_TTL * 1000);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);

    const error = await client.login(`${server.base}/login`, { password: 'wrong' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error)
      .to.be.instanceOf(AuthClientError)
      .and.include({ code: 'login_failed', status: 401, serverCode: 'invalid_credentials' });
    expect((error as Error).message).to.equal('express-token-pair/client: login answered 401 invalid_credentials');
  });

  it('logs out: the server ends the session, the tokens are forgotten, sessionended says logout', async function () {
    const { client, store } = await loggedIn();
    const refreshToken = store.value!;
    await client.logout();
    expect(server.count('POST /logout')).to.equal(1);
    expect(client.getAccessToken()).to.equal(undefined);
    expect(store.value).to.equal(undefined);
    expect(ended).to.deep.equal([{ reason: 'logout', otherTab: false }]);
    expect(await server.auth.listSessions('alice')).to.deep.equal([]);
    const replay = await fetch(`${server.base}/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken }),
    });
    expect(replay.status).to.equal(401);
  });

  it('logs out everywhere, refreshing an expired access token first', async function () {
    const { client } = await loggedIn();
    await server.login(); // another device
    server.clock.advance(ACCESS_TTL + 1);
    await client.logout({ everywhere: true });
    expect(server.count('POST /refresh')).to.equal(1);
    expect(server.count('POST /logout-all')).to.equal(2);
    expect(await server.auth.listSessions('alice')).to.deep.equal([]);
    expect(ended).to.deep.equal([{ reason: 'logout', otherTab: false }]);
  });

  it('forgets the tokens even when the logout request fails, and says so (logout_failed)', async function () {
    const { client, store } = await loggedIn({ fetch: () => Promise.reject(new TypeError('offline')) });
    const error = await client.logout().then(
      () => undefined,
      (e: unknown) => e as AuthClientError,
    );
    expect(error).to.include({
      code: 'logout_failed',
      message: 'express-token-pair/client: the logout request failed',
    });
    expect((error!.cause as Error).message).to.equal('offline');
    expect(client.getAccessToken()).to.equal(undefined);
    expect(store.value).to.equal(undefined);
    expect(ended).to.deep.equal([{ reason: 'logout', otherTab: false }]);
  });

  it('reports a listener that throws without changing the outcome', async function () {
    const { client } = newClient();
    const reported: unknown[] = [];
    const original = console.error;
    console.error = (error: unknown) => {
      reported.push(error);
    };
    try {
      const off = client.on('token', () => {
        throw new Error('listener bug');
      });
      await client.setTokens(await server.login());
      off();
      await client.setTokens(await server.login());
    } finally {
      console.error = original;
    }
    expect(reported.map((error) => (error as Error).message)).to.deep.equal(['listener bug']);
    expect(client.getAccessToken()).to.be.a('string');
  });

  it('refuses bad options, naming them', function () {
    const base = { refreshUrl: '/refresh', channel: false as const };
    const cases: Array<[unknown, string]> = [
      [undefined, 'createAuthClient(options) needs an options object'],
      [{}, 'refreshUrl must be a URL or a non-empty string'],
      [{ ...base, refreshUrl: '' }, 'refreshUrl must be a URL or a non-empty string'],
      [{ ...base, logoutUrl: 42 }, 'logoutUrl must be a URL or a non-empty string'],
      [{ ...base, refreshURL: '/x' }, 'unknown option refreshURL'],
      [{ ...base, transport: 'body' }, "transport must be 'cookie' or a store { get(), set(token) }"],
      [{ ...base, transport: { get: () => undefined } }, "transport must be 'cookie' or a store { get(), set(token) }"],
      [{ ...base, transportHeader: 'x token' }, 'transportHeader must be a header name'],
      [{ ...base, channel: '' }, 'channel must be a non-empty string or false'],
      [{ ...base, locks: {} }, 'locks must be a LockManager (navigator.locks) or false'],
      [{ ...base, lockTimeout: 0 }, 'lockTimeout must be an integer of at least 1 (got 0)'],
      [{ ...base, maxRefreshes: 1.5 }, 'maxRefreshes must be an integer of at least 1 (got 1.5)'],
      [{ ...base, refreshTimeout: '10s' }, 'refreshTimeout must be an integer of at least 1 (got string)'],
      [{ ...base, retryDelay: -1 }, 'retryDelay must be an integer of at least 0 (got -1)'],
      [{ ...base, onSessionEnded: 'login.html' }, 'onSessionEnded must be a function'],
    ];
    for (const [options, message] of cases) {
      expect(() => createAuthClient(options as AuthClientOptions), message).to.throw(
        TypeError,
        `express-token-pair/client: ${message}`,
      );
    }
    const { client } = newClient({ logoutAllUrl: undefined });
    return client.logout({ everywhere: true }).then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => {
        expect((error as Error).message).to.equal(
          'express-token-pair/client: logout({ everywhere: true }) needs the logoutAllUrl option',
        );
      },
    );
  });
});
