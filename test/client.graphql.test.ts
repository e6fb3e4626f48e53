/**
 * express-token-pair/client and GraphQL: an answer whose errors say the
 * access token will not do counts as a 401, whatever its status. Against
 * the sample app's /graphql (401 before anything runs) and against a server
 * in the Apollo style (200, the guarded field UNAUTHENTICATED), built here
 * from the library's graphqlContext and requireAuth; the body table on a stub.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { buildSchema } from 'graphql';
import { createHandler } from 'graphql-http/lib/use/express';
import { createAuthClient, type AuthClient, type FetchLike } from '../lib/client/index.js';
import {
  createTokenAuth,
  graphqlContext,
  MemorySessionStore,
  refreshHandler,
  requireAuth,
  type TokenPairContext,
} from '../lib/index.js';
import { LOGIN } from './helpers/graphql.js';
import { memoryStore } from './helpers/client-server.js';
import { ACCESS_TTL, appFactory, email, PASSWORD, signUp } from './helpers/sample-app.js';

async function listen(app: express.Express): Promise<{ base: string; server: Server }> {
  const server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function stop(server: Server): void {
  server.closeAllConnections();
  server.close();
}

const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('client: GraphQL answers', function () {
  let clients: AuthClient[] = [];
  const counts = new Map<string, number>();
  const count = (key: string): number => counts.get(key) ?? 0;
  /** A client in body mode (no tabs), counting its requests by path. */
  function client(refreshUrl: string, fetcher: FetchLike = fetch, ended: string[] = []) {
    const store = memoryStore();
    const api = createAuthClient({
      refreshUrl,
      transport: store,
      channel: false,
      retryDelay: 5,
      onSessionEnded: ({ reason }) => {
        ended.push(reason);
      },
      fetch: (input, init) => {
        const path = new URL(input instanceof Request ? input.url : input).pathname;
        counts.set(path, count(path) + 1);
        return fetcher(input, init);
      },
    });
    clients.push(api);
    return { api, store };
  }
  const query = (api: AuthClient, url: string, document: string, headers: Record<string, string> = {}) =>
    api.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: document }),
    });

  beforeEach(() => {
    counts.clear();
  });
  afterEach(() => {
    for (const api of clients) api.close();
    clients = [];
  });

  describe('against the sample app', () => {
    const apps = appFactory(() => ({}));
    afterEach(() => apps.closeAll());

    it('logs in by mutation, then meets the 401 of an expired token with one refresh for all callers and one retry each', async () => {
      const sample = await apps.make();
      const { base, server } = await listen(sample.app);
      try {
        const address = email();
        await signUp(sample, address);
        const { api, store } = client(`${base}/auth/refresh`);
        const loggedIn = await api.fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: LOGIN, variables: { data: { email: address, password: PASSWORD } } }),
        });
        await api.setTokens(
          ((await loggedIn.json()) as { data: { login: { accessToken: string; refreshToken: string } } }).data.login,
        );
        const first = store.value;
        apps.clock.advance(ACCESS_TTL + 1);
        const answers = await Promise.all(
          Array.from({ length: 5 }, () => query(api, `${base}/graphql`, '{ me { email } }')),
        );
        expect(answers.map((res) => res.status)).to.deep.equal(Array(5).fill(200));
        for (const res of answers) expect(await res.json()).to.deep.equal({ data: { me: { email: address } } });
        expect(count('/auth/refresh')).to.equal(1);
        expect(count('/graphql')).to.equal(1 + 10); // the login, then 5 refused and 5 retried
        expect(store.value).to.be.a('string').and.not.equal(first);
      } finally {
        stop(server);
      }
    });
  });

  describe('against a server that answers 200 with UNAUTHENTICATED', () => {
    let now = Date.UTC(2030, 0, 1);
    const store = new MemorySessionStore();
    const auth = createTokenAuth({
      accessToken: { secret: 'client-graphql-access-secret-0123456789', ttl: 60 },
      refreshToken: { secret: 'client-graphql-refresh-secret-0123456789', ttl: '1d' },
      store,
      clock: () => now,
    });
    let base = '';
    let server: Server;

    before(async () => {
      const contextFor = graphqlContext(auth);
      const app = express();
      app.use(express.json());
      app.post('/refresh', refreshHandler(auth));
      // No HTTP-level check: the guarded field fails on its own, with 200, as Apollo servers answer.
      app.post(
        '/graphql',
        createHandler<TokenPairContext>({
          schema: buildSchema('type Query { me: String, open: String }'),
          rootValue: { me: (_: unknown, context: TokenPairContext) => requireAuth(context).userId, open: () => 'yes' },
          context: (req) => contextFor(req.raw.get('authorization')),
        }),
      );
      ({ base, server } = await listen(app));
    });
    after(async () => {
      stop(server);
      await auth.close();
      store.close();
    });

    it('refreshes once for 10 concurrent queries refused as token_expired, and retries each once', async () => {
      const { api } = client(`${base}/refresh`);
      await api.setTokens(await auth.issue({ userId: 'alice' }));
      now += 61_000;
      const answers = await Promise.all(Array.from({ length: 10 }, () => query(api, `${base}/graphql`, '{ me open }')));
      for (const res of answers) expect(await res.json()).to.deep.equal({ data: { me: 'alice', open: 'yes' } });
      expect(count('/refresh')).to.equal(1);
      expect(count('/graphql')).to.equal(20);
    });

    it('ends the session when the refresh is refused, and returns the refused answer as it is', async () => {
      const ended: string[] = [];
      const { api } = client(`${base}/refresh`, fetch, ended);
      const pair = await auth.issue({ userId: 'alice' });
      await api.setTokens(pair);
      await auth.revoke(pair.refreshToken);
      now += 61_000;
      const res = await query(api, `${base}/graphql`, '{ me open }');
      const body = (await res.json()) as { data: unknown; errors: Array<{ extensions: unknown }> };
      expect(body.data).to.deep.equal({ me: null, open: 'yes' });
      expect(body.errors[0]?.extensions).to.deep.equal({
        code: 'UNAUTHENTICATED',
        reason: 'token_expired',
        status: 401,
      });
      expect(ended).to.deep.equal(['token_revoked']);
      expect([count('/refresh'), count('/graphql')]).to.deep.equal([1, 1]);
    });
  });

  it('reads the errors of GraphQL requests only; token codes and a bare UNAUTHENTICATED get one refresh and one retry, at most', async () => {
    const cases: Array<[extensions: Record<string, unknown>, refreshes: boolean]> = [
      [{ code: 'UNAUTHENTICATED', reason: 'token_expired', status: 401 }, true],
      [{ code: 'UNAUTHENTICATED', reason: 'token_invalid' }, true],
      [{ code: 'UNAUTHENTICATED', reason: 'token_revoked' }, true],
      [{ code: 'token_expired' }, true], // a server that puts the stable code in code
      [{ code: 'UNAUTHENTICATED' }, true], // Apollo, NestJS
      [{ code: 'UNAUTHENTICATED', reason: 'refresh_reused' }, false],
      [{ code: 'invalid_credentials', reason: 'invalid_credentials', status: 401 }, false],
      [{ code: 'rate_limited', reason: 'rate_limited', status: 429 }, false],
      [{ code: 'FORBIDDEN' }, false],
    ];
    for (const [extensions, refreshes] of cases) {
      counts.clear();
      let served = 0;
      const { api } = client('https://api.test/refresh', async (input) => {
        if (String(input).endsWith('/refresh'))
          return json({ accessToken: 'at-2', refreshToken: 'rt-2', expiresIn: 60 });
        served += 1;
        return json({ data: { me: null }, errors: [{ message: 'no', path: ['me'], extensions }] });
      });
      await api.setTokens({ accessToken: 'at-1', refreshToken: 'rt-1' });
      const res = await query(api, 'https://api.test/graphql', '{ me }');
      expect([count('/refresh'), served], JSON.stringify(extensions)).to.deep.equal(refreshes ? [1, 2] : [0, 1]);
      expect(((await res.json()) as { errors: unknown[] }).errors).to.have.length(1); // the caller still reads its answer
    }

    // A REST call is not read for GraphQL errors; an Accept of application/graphql-response+json marks a GraphQL one.
    const unauthenticated = { errors: [{ message: 'no', extensions: { code: 'UNAUTHENTICATED' } }] };
    const { api } = client('https://api.test/refresh', async (input) =>
      String(input).endsWith('/refresh') ? json({ accessToken: 'at-2', refreshToken: 'rt-2' }) : json(unauthenticated),
    );
    await api.setTokens({ accessToken: 'at-1', refreshToken: 'rt-1' });
    counts.clear();
    await api.fetch('https://api.test/search', { method: 'POST', body: JSON.stringify({ text: 'shoes' }) });
    await api.fetch('https://api.test/items');
    expect(count('/refresh')).to.equal(0);
    await api.fetch('https://api.test/graphql?query=%7Bme%7D', {
      headers: { accept: 'application/graphql-response+json' },
    });
    expect(count('/refresh')).to.equal(1);
  });
});
