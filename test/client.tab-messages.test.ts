/**
 * What a tab takes from the BroadcastChannel, which any script of the
 * origin can post on: only messages of the exact shapes; a token only of the
 * session it holds (same user and session id, not older, not expired); an
 * 'ended' only once the server confirms it, by a refresh, and never for
 * another session.
 */
import { expect } from 'chai';
import { createAuthClient, type AuthClient, type SessionEndedEvent } from '../lib/client/index.js';
import { memoryStore, startServer, until, type TestServer } from './helpers/client-server.js';

let channels = 0;

describe('client: messages between tabs', function () {
  let server: TestServer;
  let clients: AuthClient[] = [];
  /** The forger's channels, closed after each test even when it fails (an open one keeps Node running). */
  let forgers: Array<InstanceType<typeof BroadcastChannel>> = [];
  const forgerOn = (channel: string): InstanceType<typeof BroadcastChannel> => {
    const forger = new BroadcastChannel(channel);
    forgers.push(forger);
    return forger;
  };

  before(async function () {
    server = await startServer();
  });
  after(async function () {
    await server.close();
  });
  beforeEach(function () {
    server.reset();
  });
  afterEach(async function () {
    for (const client of clients) client.close();
    for (const forger of forgers) forger.close();
    clients = [];
    forgers = [];
    await server.auth.revokeAll('alice');
  });

  /** A token as the server's look, unsigned (a tab cannot check signatures anyway). */
  function jwt(
    payload: Record<string, unknown>,
    header: Record<string, unknown> = { alg: 'HS256', typ: 'at+jwt' },
  ): string {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    return `${part(header)}.${part(payload)}.c2lnbmF0dXJl`;
  }

  it('adopts only a token of the session it holds, not older and not expired; ignores malformed messages', async function () {
    const channel = `etp-messages-${process.pid}-${++channels}`;
    const client = createAuthClient({
      refreshUrl: 'https://api.test/refresh',
      transport: memoryStore(),
      channel,
      fetch: () => {
        throw new Error('no request expected');
      },
    });
    clients.push(client);
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: 'alice', sid: 's1', jti: 'j1', iat: now - 10, exp: now + 890 };
    const held = jwt(claims);
    await client.setTokens({ accessToken: held, refreshToken: 'rt' });
    const next = jwt({ ...claims, jti: 'j2', iat: now, exp: now + 900 });
    const refused: Array<[string, unknown]> = [
      [
        'another user',
        { etp: 1, type: 'token', accessToken: jwt({ ...claims, sub: 'mallory', iat: now }), expiresAt: 1 },
      ],
      [
        'another session',
        { etp: 1, type: 'token', accessToken: jwt({ ...claims, sid: 's2', iat: now }), expiresAt: 1 },
      ],
      [
        'an older token',
        { etp: 1, type: 'token', accessToken: jwt({ ...claims, jti: 'j0', iat: now - 20 }), expiresAt: 1 },
      ],
      [
        'an expired token',
        { etp: 1, type: 'token', accessToken: jwt({ ...claims, iat: now - 5, exp: now - 1 }), expiresAt: 1 },
      ],
      [
        'exp before iat',
        { etp: 1, type: 'token', accessToken: jwt({ ...claims, iat: now + 10, exp: now + 5 }), expiresAt: 1 },
      ],
      ['no sid', { etp: 1, type: 'token', accessToken: jwt({ sub: 'alice', jti: 'j3', iat: now, exp: now + 900 }) }],
      [
        'a refresh token (typ rt+jwt)',
        { etp: 1, type: 'token', accessToken: jwt({ ...claims, iat: now }, { alg: 'HS256', typ: 'rt+jwt' }) },
      ],
      ['no typ', { etp: 1, type: 'token', accessToken: jwt({ ...claims, iat: now }, { alg: 'none' }) }],
      ['not a JWT', { etp: 1, type: 'token', accessToken: 'not-a-jwt' }],
      ['three parts, not JSON', { etp: 1, type: 'token', accessToken: 'a.b.c' }],
      [
        'a JSON array payload',
        {
          etp: 1,
          type: 'token',
          accessToken: `${next.split('.')[0]}.${Buffer.from('[1]').toString('base64url')}.c2ln`,
        },
      ],
      ['an unknown field', { etp: 1, type: 'token', accessToken: next, expiresAt: 1, from: 'tab' }],
      ['expiresAt not a number', { etp: 1, type: 'token', accessToken: next, expiresAt: 'soon' }],
      ['no etp', { type: 'token', accessToken: next }],
      ['another etp', { etp: 2, type: 'token', accessToken: next }],
      ['an unknown type', { etp: 1, type: 'tokens', accessToken: next }],
      ['an array', [1, 'token', next]],
      ['a string', next],
    ];
    const tokens: string[] = [];
    client.on('token', ({ accessToken }) => {
      tokens.push(accessToken);
    });
    const forger = forgerOn(channel);
    for (const [, message] of refused) forger.postMessage(message);
    forger.postMessage({ etp: 1, type: 'token', accessToken: next, expiresAt: Date.now() + 900_000 }); // then one it takes
    await until(() => client.getAccessToken() === next);
    expect(tokens).to.deep.equal([next]);
  });

  it("checks a forged 'ended' with the server: a live session goes on; one for another session is ignored", async function () {
    const channel = `etp-messages-${process.pid}-${++channels}`;
    const ended: SessionEndedEvent[] = [];
    const client = createAuthClient({
      refreshUrl: `${server.base}/refresh`,
      transport: memoryStore(),
      channel,
      retryDelay: 5,
      onSessionEnded: (event) => {
        ended.push(event);
      },
    });
    clients.push(client);
    await client.setTokens(await server.login());
    const first = client.getAccessToken()!;
    const sid = (JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    const forger = forgerOn(channel);
    for (const message of [
      { etp: 1, type: 'ended', reason: 'logout', sid: 'another-session' }, // ignored: not this session
      { etp: 1, type: 'ended', reason: 'logout', sid, by: 'x' }, // ignored: an unknown field
      { etp: 1, type: 'ended', reason: 'Log out <b>now</b>' }, // ignored: not a reason code
      { etp: 1, type: 'ended' }, // ignored: no reason
    ])
      forger.postMessage(message);
    forger.postMessage({ etp: 1, type: 'ended', reason: 'logout', sid }); // checked with the server
    await until(() => server.count('POST /refresh') === 1 && client.getAccessToken() !== first);
    forger.postMessage({ etp: 1, type: 'ended', reason: 'token_revoked' }); // no sid: checked too
    await until(() => server.count('POST /refresh') === 2);
    await client.refresh().catch(() => undefined); // joins or follows that check
    expect(ended).to.deep.equal([]);
    expect((await client.fetch(`${server.base}/me`)).status).to.equal(200);
  });

  it("still ends a tab whose session did end, with the other tab's reason, once the server confirms it", async function () {
    // Two tabs with stores of their own, each holding the pair: only the server can tell b.
    const channel = `etp-messages-${process.pid}-${++channels}`;
    const heard: Array<[string, SessionEndedEvent]> = [];
    const [a, b] = ['a', 'b'].map((name) => {
      const client = createAuthClient({
        refreshUrl: `${server.base}/refresh`,
        transport: memoryStore(),
        channel,
        retryDelay: 5,
        onSessionEnded: (event) => {
          heard.push([name, event]);
        },
      });
      clients.push(client);
      return client;
    }) as [AuthClient, AuthClient];
    const pair = await server.login();
    await a.setTokens(pair);
    await b.setTokens(pair);
    await server.auth.revokeAll('alice');
    expect(await a.refresh()).to.equal(undefined);
    await until(() => heard.length === 2);
    expect(heard).to.deep.equal([
      ['a', { reason: 'token_revoked', otherTab: false }],
      ['b', { reason: 'token_revoked', otherTab: true }],
    ]);
    expect(server.count('POST /refresh')).to.equal(2);
    expect(b.getAccessToken()).to.equal(undefined);
  });
});
