/**
 * checkRevocation over RedisSessionStore, on a private redis-server: a
 * revocation made through one TokenAuth is enforced by another (separate
 * clients, as two app instances), how soon; no Redis command per guarded
 * request; and a revocation made while the feed's connection is down is
 * enforced once it is back (the feed resumes from the last id it saw).
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createClient } from 'redis';
import {
  createTokenAuth,
  RedisSessionStore,
  requireAccessToken,
  TokenRevokedError,
  type AuthContext,
  type RedisSessionStoreOptions,
  type TokenAuth,
} from '../lib/index.js';
import { FEED_CONNECTION_NAME } from '../lib/revocation/redis-feed.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

type Client = ReturnType<typeof createClient>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether `context` is refused as revoked now; any other error (503) fails the test. */
function revoked(auth: TokenAuth, context: AuthContext): boolean {
  try {
    auth.checkRevocation(context);
    return false;
  } catch (error) {
    if (error instanceof TokenRevokedError) return true;
    throw error;
  }
}

/** Milliseconds until `auth` refuses `context`, checking at once and then every 5 ms; Infinity after `limit`. */
async function delayUntilRevoked(auth: TokenAuth, context: AuthContext, limit = 15_000): Promise<number> {
  const started = performance.now();
  while (!revoked(auth, context)) {
    if (performance.now() - started > limit) return Infinity;
    await sleep(5);
  }
  return performance.now() - started;
}

/** `INFO commandstats` as command -> calls. */
async function commandCalls(client: Client): Promise<Map<string, number>> {
  const info = String(await client.sendCommand(['INFO', 'commandstats']));
  return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The ids of the feed connections Redis sees. */
async function feedConnections(client: Client): Promise<string[]> {
  const list = String(await client.sendCommand(['CLIENT', 'LIST']));
  return list
    .split('\n')
    .filter((line) => line.includes(` name=${FEED_CONNECTION_NAME} `))
    .map((line) => /id=(\d+)/.exec(line)![1]!);
}

describe('checkRevocation across instances on a real redis-server', function () {
  let server: RedisServer;
  let admin: Client;
  let clientA: Client;
  let clientB: Client;
  let prefix: string;
  let auths: TokenAuth[];

  const connect = async (): Promise<Client> => {
    const client = createClient({
      url: server.url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: () => 50 },
    });
    client.on('error', () => {
      /* reconnects by itself */
    });
    await client.connect();
    return client;
  };

  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
    [admin, clientA, clientB] = await Promise.all([connect(), connect(), connect()]);
  });
  after(async () => {
    for (const client of [admin, clientA, clientB]) if (client?.isOpen) client.destroy();
    await server?.stop();
  });
  beforeEach(() => {
    prefix = uniquePrefix();
    auths = [];
  });
  afterEach(async () => {
    await Promise.all(auths.map((auth) => auth.close()));
  });

  function makeAuth(client: RedisSessionStoreOptions['client']): TokenAuth {
    const auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store: new RedisSessionStore({ client, prefix }),
    });
    auths.push(auth);
    return auth;
  }

  it('enforces on B every revocation made on A, within revocationMaxLag', async function () {
    this.timeout(180_000);
    const a = makeAuth(clientA);
    const b = makeAuth(clientB);
    await b.watchRevocations();
    const kinds = ['revokeSession', 'logout', 'revokeOtherSessions', 'revokeAll'] as const;
    const delays: number[] = [];
    for (let i = 0; i < 120; i += 1) {
      const kind = kinds[i % kinds.length]!;
      const userId = `user-${i}`;
      const pair = await a.issue({ userId });
      const kept = await a.issue({ userId });
      const context = b.verifyAccessToken(pair.accessToken);
      const keptContext = b.verifyAccessToken(kept.accessToken);
      expect(revoked(b, context), 'live before').to.equal(false);
      if (kind === 'revokeSession') await a.revokeSession(userId, context.sessionId);
      else if (kind === 'logout') await a.revoke(pair.refreshToken);
      else if (kind === 'revokeOtherSessions') await a.revokeOtherSessions(userId, keptContext.sessionId);
      else await a.revokeAll(userId);
      const delay = await delayUntilRevoked(b, context);
      // A bound on correctness, not speed (the median is printed): past revocationMaxLag (5 s) B would answer 503 anyway.
      expect(delay, `${kind} #${i} reached B`).to.be.at.most(5000);
      delays.push(delay);
      expect(revoked(b, keptContext), `${kind}: the kept session`).to.equal(kind === 'revokeAll');
    }
    const sorted = [...delays].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    console.log(
      `      cross-instance revocation delay over ${sorted.length}: median ${median.toFixed(1)} ms, worst ${sorted.at(-1)!.toFixed(1)} ms (polled every 5 ms)`,
    );
  });

  it('costs no Redis command per guarded request', async function () {
    const sent: string[][] = [];
    const counting = {
      get isReady() {
        return clientB.isReady;
      },
      sendCommand: (args: string[]) => {
        sent.push(args);
        return clientB.sendCommand(args);
      },
      duplicate: (overrides?: { name?: string }) => clientB.duplicate(overrides),
    };
    const a = makeAuth(clientA);
    const b = makeAuth(counting);
    const app = express();
    app.get('/me', requireAccessToken(b, { checkRevocation: true }), (_req, res) => {
      res.json({ ok: true });
    });
    await b.watchRevocations();
    const pairs = await Promise.all(Array.from({ length: 20 }, (_, i) => a.issue({ userId: `u${i}` })));
    for (const pair of pairs.slice(0, 5)) await a.revoke(pair.refreshToken);
    while (b.revocationViewSize < 5) await sleep(5);

    const before = await commandCalls(admin);
    const started = performance.now();
    const statuses = new Map<number, number>();
    for (let i = 0; i < 300; i += 1) {
      const res = await request(app)
        .get('/me')
        .set('Authorization', `Bearer ${pairs[i % pairs.length]!.accessToken}`);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    const elapsed = Math.round(performance.now() - started);
    const after = await commandCalls(admin);
    expect(Object.fromEntries(statuses)).to.deep.equal({ 200: 225, 401: 75 });
    expect(sent, "commands on the app's connection").to.deep.equal([]);
    const grown = [...after]
      .filter(([name, calls]) => calls !== (before.get(name) ?? 0))
      .map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const);
    // The feed's own: each step is MULTI, XINFO STREAM, XREAD, TIME, EXEC, then one XREAD BLOCK; and this test's INFO.
    const feed = new Set(['multi', 'xinfo|stream', 'xread', 'time', 'exec', 'info']);
    const others = grown.filter(([name]) => !feed.has(name));
    expect(others, "commands Redis ran besides the feed's").to.deep.equal([]);
    const calls = (name: string): number => grown.find(([n]) => n === name)?.[1] ?? 0;
    const steps = Math.ceil(elapsed / 1000) + 2;
    expect(calls('exec'), `feed steps in ${elapsed} ms (one per second at most, blocking between)`).to.be.at.most(
      steps,
    );
    expect(calls('xread'), `XREADs in ${elapsed} ms`).to.be.at.most(2 * steps);
  });

  it("enforces a revocation made while the feed's connection was down, once it is back", async function () {
    const a = makeAuth(admin);
    const b = makeAuth(clientB);
    await b.watchRevocations();
    let feeds: string[] = [];
    for (let tries = 0; tries < 100 && feeds.length !== 1; tries += 1) {
      feeds = await feedConnections(admin);
      if (feeds.length !== 1) await sleep(20);
    }
    expect(feeds, 'one named feed connection').to.have.length(1);
    const pair = await a.issue({ userId: 'u1' });
    const context = b.verifyAccessToken(pair.accessToken);
    // Sent back to back on one connection: Redis kills the feed's connection, then records the revocation.
    const [killed, ended] = await Promise.all([
      admin.sendCommand(['CLIENT', 'KILL', 'ID', feeds[0]!]),
      a.revokeSession('u1', context.sessionId),
    ]);
    expect([killed, ended]).to.deep.equal([1, true]);
    expect(await delayUntilRevoked(b, context), 'enforced after the reconnect').to.be.below(Infinity);
    const now = await feedConnections(admin);
    expect(now, 'a new feed connection, named again').to.have.length(1);
    expect(now[0]).not.to.equal(feeds[0]);
  });
});
