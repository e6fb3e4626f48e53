/**
 * Two client instances on one BroadcastChannel name behave like two tabs of
 * one app (BroadcastChannel delivers between instances of one process): one
 * refreshes, the other takes its token; with a shared lock manager (a
 * stand-in for navigator.locks, which Node lacks) a tab that waited for the
 * lock takes the token of the tab that held it; logout and the end of a
 * session reach every tab.
 */
import { expect } from 'chai';
import {
  AuthClientError,
  createAuthClient,
  type AuthClient,
  type AuthClientOptions,
  type LockManagerLike,
  type SessionEndedEvent,
} from '../lib/client/index.js';
import { ACCESS_TTL, memoryStore, startServer, until, type TestServer } from './helpers/client-server.js';

/** An in-process exclusive lock manager, as navigator.locks behaves across tabs. */
function lockManager(): LockManagerLike {
  const waiting = new Map<string, Array<() => void>>();
  const held = new Set<string>();
  return {
    async request(name, options, callback) {
      if (held.has(name)) {
        await new Promise<void>((resolve, reject) => {
          const queue = waiting.get(name) ?? [];
          waiting.set(name, queue);
          const onAbort = (): void => {
            queue.splice(queue.indexOf(grant), 1);
            reject(new Error('AbortError'));
          };
          const grant = (): void => {
            options.signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          options.signal?.addEventListener('abort', onAbort);
          queue.push(grant);
        });
      }
      held.add(name);
      try {
        return await callback({ name });
      } finally {
        const next = waiting.get(name)?.shift();
        if (next) next();
        else held.delete(name);
      }
    },
  };
}

let channels = 0;

describe('client: tabs', function () {
  let server: TestServer;
  let clients: AuthClient[] = [];

  before(async function () {
    server = await startServer();
  });
  after(async function () {
    await server.close();
  });
  beforeEach(function () {
    server.reset();
  });
  afterEach(function () {
    for (const client of clients) client.close();
    clients = [];
  });

  /** Two tabs sharing a channel and a refresh token store (as localStorage is shared). */
  async function twoTabs(options: Partial<AuthClientOptions> = {}) {
    const channel = `etp-test-${process.pid}-${++channels}`;
    const store = memoryStore();
    const ended: Array<[string, SessionEndedEvent]> = [];
    const tab = (name: string): AuthClient => {
      const client = createAuthClient({
        refreshUrl: `${server.base}/refresh`,
        logoutUrl: `${server.base}/logout`,
        transport: store,
        channel,
        retryDelay: 5,
        onSessionEnded: (event) => {
          ended.push([name, event]);
        },
        ...options,
      });
      clients.push(client);
      return client;
    };
    const [a, b] = [tab('a'), tab('b')];
    await a.setTokens(await server.login());
    await until(() => b.getAccessToken() === a.getAccessToken());
    return { a, b, store, ended, channel };
  }

  it('hands a token one tab refreshed to the other, which then does not refresh', async function () {
    const { a, b } = await twoTabs();
    server.clock.advance(ACCESS_TTL + 1);
    expect((await a.fetch(`${server.base}/me`)).status).to.equal(200);
    await until(() => b.getAccessToken() === a.getAccessToken());
    expect((await b.fetch(`${server.base}/me`)).status).to.equal(200);
    expect(server.count('POST /refresh')).to.equal(1);
    expect(server.count('GET /me')).to.equal(3); // a: 401 and retry; b: 200 at once
  });

  it('with a shared lock: a tab that waited for the lock takes the token of the tab that held it', async function () {
    const { a, b } = await twoTabs({ locks: lockManager() });
    server.clock.advance(ACCESS_TTL + 1);
    const release = server.hold('/refresh');
    const fromA = Array.from({ length: 5 }, () => a.fetch(`${server.base}/me`));
    await until(() => server.count('POST /refresh') === 1);
    const fromB = Array.from({ length: 5 }, () => b.fetch(`${server.base}/me`));
    await until(() => server.count('GET /me') === 10); // b's 401s are in: b now waits for the lock
    release();
    const answers = await Promise.all([...fromA, ...fromB]);
    expect(answers.map((res) => res.status)).to.deep.equal(Array(10).fill(200));
    expect(server.count('POST /refresh')).to.equal(1);
    expect(b.getAccessToken()).to.equal(a.getAccessToken());
  });

  it('without locks (Node): a tab that heard another start refreshing waits for its token', async function () {
    const { a, b, channel } = await twoTabs();
    const heard: unknown[] = [];
    const observer = new BroadcastChannel(channel); // hears what b hears
    observer.onmessage = (event: MessageEvent) => {
      heard.push(event.data);
    };
    server.clock.advance(ACCESS_TTL + 1);
    const release = server.hold('/refresh');
    const first = a.fetch(`${server.base}/me`);
    await until(() => server.count('POST /refresh') === 1 && heard.length > 0);
    observer.close();
    expect(heard).to.deep.equal([{ etp: 1, type: 'refreshing' }]);
    await new Promise((resolve) => setImmediate(resolve));
    const second = b.fetch(`${server.base}/me`);
    await until(() => server.count('GET /me') === 2);
    release();
    expect([(await first).status, (await second).status]).to.deep.equal([200, 200]);
    expect(server.count('POST /refresh')).to.equal(1);
  });

  it('ends the session in every tab on logout: the others drop their token and are told', async function () {
    const { a, b, ended } = await twoTabs();
    await a.logout();
    await until(() => ended.length === 2);
    expect(ended).to.deep.equal([
      ['a', { reason: 'logout', otherTab: false }],
      ['b', { reason: 'logout', otherTab: true }],
    ]);
    expect(b.getAccessToken()).to.equal(undefined);
    expect((await b.fetch(`${server.base}/me`)).status).to.equal(401);
    expect(server.count('POST /refresh')).to.equal(0);
  });

  it('ends the session in every tab when one learns that the refresh was refused', async function () {
    const { a, ended } = await twoTabs();
    await server.auth.revokeAll('alice');
    expect(await a.refresh()).to.equal(undefined);
    await until(() => ended.length === 2);
    expect(ended).to.deep.equal([
      ['a', { reason: 'token_revoked', otherTab: false }],
      ['b', { reason: 'token_revoked', otherTab: true }],
    ]);
  });

  it("fires sessionended once per tab when each learns the end itself and then hears the other's 'ended'", async function () {
    const { a, b, ended, channel } = await twoTabs();
    const heard: unknown[] = [];
    const observer = new BroadcastChannel(channel);
    observer.onmessage = (event: MessageEvent) => {
      heard.push(event.data);
    };
    await server.auth.revokeAll('alice');
    // No lock: both present the refresh token before hearing from the other, and both are refused.
    expect(await Promise.all([a.refresh(), b.refresh()])).to.deep.equal([undefined, undefined]);
    expect(server.count('POST /refresh')).to.equal(2);
    await until(() => heard.filter((message) => (message as { type?: unknown }).type === 'ended').length === 2);
    observer.postMessage({ etp: 1, type: 'ended', reason: 'logout' }); // and a third, late one
    // Then a marker each tab visibly takes (a tab holding no session takes a new login's token):
    // once both hold it, both have handled the late 'ended' posted before it.
    const marker = (await server.login()).accessToken;
    observer.postMessage({ etp: 1, type: 'token', accessToken: marker });
    await until(() => a.getAccessToken() === marker && b.getAccessToken() === marker);
    observer.close();
    expect(ended).to.deep.equal([
      ['a', { reason: 'token_revoked', otherTab: false }],
      ['b', { reason: 'token_revoked', otherTab: false }],
    ]);
  });

  it('gives up a refresh when the lock is not granted within lockTimeout (lock_timeout)', async function () {
    const locks = lockManager();
    const channel = `etp-test-${process.pid}-${++channels}`;
    let unlock!: () => void;
    void locks.request(
      `${channel}:refresh`,
      {},
      () =>
        new Promise<void>((resolve) => {
          unlock = resolve;
        }),
    );
    const ended: unknown[] = [];
    const client = createAuthClient({
      refreshUrl: `${server.base}/refresh`,
      transport: memoryStore(),
      channel,
      locks,
      lockTimeout: 50,
      onSessionEnded: (event) => {
        ended.push(event);
      },
    });
    clients.push(client);
    await client.setTokens(await server.login());
    server.clock.advance(ACCESS_TTL + 1);
    const error = await client.fetch(`${server.base}/me`).then(
      () => undefined,
      (e: unknown) => e as AuthClientError,
    );
    expect(error).to.be.instanceOf(AuthClientError).and.include({
      code: 'lock_timeout',
      message: 'express-token-pair/client: another tab held the refresh lock for over 50 ms',
    });
    expect(server.count('POST /refresh')).to.equal(0);
    expect(ended).to.deep.equal([]);
    unlock();
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
  });

  it('does without a lock manager that refuses outright (an opaque origin)', async function () {
    const locks: LockManagerLike = { request: () => Promise.reject(new Error('SecurityError')) };
    const client = createAuthClient({
      refreshUrl: `${server.base}/refresh`,
      transport: memoryStore(),
      channel: false,
      locks,
    });
    clients.push(client);
    await client.setTokens(await server.login());
    server.clock.advance(ACCESS_TTL + 1);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
    expect(server.count('POST /refresh')).to.equal(1);
  });

  it("ignores other scripts' messages on the channel", async function () {
    const channel = `etp-test-${process.pid}-${++channels}`;
    const store = memoryStore();
    // Every request the client makes, recorded as it is made (a message that set off a refresh shows at once).
    const requested: string[] = [];
    const client = createAuthClient({
      refreshUrl: `${server.base}/refresh`,
      transport: store,
      channel,
      fetch: (input, init) => {
        requested.push(String(input));
        return fetch(input, init);
      },
    });
    clients.push(client);
    await client.setTokens(await server.login());
    const taken: string[] = [];
    client.on('token', (event) => {
      taken.push(event.accessToken);
    });
    const ended: unknown[] = [];
    client.on('sessionended', (event) => {
      ended.push(event);
    });
    const other = new BroadcastChannel(channel);
    for (const message of [
      null,
      'token',
      { type: 'token', accessToken: 'x' },
      { etp: 1, type: 'token', accessToken: 7 },
      { etp: 1, type: 'ended' },
      { etp: 1, type: 'unknown' },
    ])
      other.postMessage(message);
    // Then one it does take, a newer token of its own session, to know the rest went by.
    server.clock.advance(1);
    const marker = (await server.auth.refresh(store.value!)).accessToken;
    other.postMessage({ etp: 1, type: 'token', accessToken: marker });
    await until(() => client.getAccessToken() === marker);
    other.close();
    expect(taken, 'only the marker was taken').to.deep.equal([marker]);
    expect(ended).to.deep.equal([]);
    expect(requested, 'no message made it refresh').to.deep.equal([]);
  });
});
