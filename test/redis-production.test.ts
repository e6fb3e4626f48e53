/**
 * RedisSessionStore against what production Redis does to it: a script that
 * Redis runs after the store gave up on it, a replica or an empty syncing
 * replica, a full Redis, an evicting maxmemory-policy, clients of every kind.
 */
import { expect } from 'chai';
import { createClient, createCluster } from 'redis';
import { createCluster as createCluster4 } from 'redis4';
import { Cluster, Redis } from 'ioredis';
import {
  createTokenAuth,
  OptionError,
  RedisSessionStore,
  StoreUnavailableError,
  TokenRevokedError,
  type TokenAuth,
} from '../lib/index.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

type Client = ReturnType<typeof createClient>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejection(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

async function connect(server: RedisServer): Promise<Client> {
  const client = createClient({ url: server.url, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

function authOn(client: object, options: { grace?: number; timeout?: number } = {}): TokenAuth {
  return createTokenAuth({
    accessToken: { secret: ACCESS },
    refreshToken: { secret: REFRESH, reuseGrace: options.grace ?? 5 },
    store: new RedisSessionStore({ client, prefix: 'etp-prod:', timeout: options.timeout ?? 1000 }),
  });
}

describe('RedisSessionStore in production conditions', function () {
  this.timeout(30_000);
  let primary: RedisServer;
  let client: Client;

  before(async function () {
    requireRedis(this, true);
    primary = await RedisServer.start();
    client = await connect(primary);
  });
  after(async () => {
    if (client?.isOpen) client.destroy();
    await primary?.stop();
  });

  describe('a command Redis runs only after the store gave up on it', () => {
    it('changes nothing: the same refresh token still rotates, even with no grace window', async () => {
      const replies: unknown[] = [];
      const watched = {
        get isReady() {
          return client.isReady;
        },
        sendCommand: (args: string[]) => {
          const reply = client.sendCommand(args);
          if (args[0] === 'EVALSHA')
            reply.then(
              (value) => replies.push(value),
              (e: unknown) => replies.push(String(e)),
            );
          return reply;
        },
      };
      const auth = authOn(watched, { grace: 0, timeout: 300 });
      // Load the rotate script (so that what Redis runs late is the refresh, not a NOSCRIPT).
      await auth.refresh((await auth.issue({ userId: 'late-0' })).refreshToken);
      const pair = await auth.issue({ userId: 'late-1' });
      replies.length = 0;
      primary.pause();
      let error: Error;
      try {
        error = await rejection(auth.refresh(pair.refreshToken));
        await sleep(200);
      } finally {
        primary.resume();
      }
      expect(error).to.be.instanceOf(StoreUnavailableError);
      const deadline = Date.now() + 5000;
      while (!replies.includes('late') && Date.now() < deadline) await sleep(20);
      expect(replies, 'Redis ran the refresh after its deadline').to.include('late');
      // Had it rotated, this retry would be a rotated-out token: reuse, and the session revoked.
      const next = await auth.refresh(pair.refreshToken);
      expect(next.refreshToken).to.be.a('string');
      expect((await auth.refresh(next.refreshToken)).refreshToken).to.be.a('string');
    });

    it("places the deadline on Redis's clock, not this process's (an app clock an hour behind still works)", async () => {
      const realNow = Date.now;
      Date.now = () => realNow() - 3_600_000;
      try {
        const auth = authOn(client, { grace: 0 });
        const pair = await auth.issue({ userId: 'late-2' });
        const next = await auth.refresh(pair.refreshToken);
        expect(await auth.revoke(next.refreshToken)).to.equal(true);
      } finally {
        Date.now = realNow;
      }
    });
  });

  describe('a rotation Redis lost (a failover before it replicated, a restore from an older copy)', () => {
    it("takes the client's newer refresh token as current instead of revoking the session as reused", async () => {
      const auth = authOn(client, { grace: 0 });
      const events: string[] = [];
      auth.on('reuse_detected', () => events.push('reuse_detected'));
      const pair = await auth.issue({ userId: 'lost-1' });
      const key = 'etp-prod:{lost-1}';
      await client.sendCommand(['COPY', key, `${key}:before`]);
      await sleep(1100); // the next token is dated a second later than the first
      const newer = await auth.refresh(pair.refreshToken);
      // Redis loses that rotation: the key is back as it was before it.
      expect(await client.sendCommand(['COPY', `${key}:before`, key, 'REPLACE'])).to.equal(1);
      const next = await auth.refresh(newer.refreshToken);
      expect(next.refreshToken).to.be.a('string');
      expect(events).to.deep.equal([]);
      // The token Redis had kept as current is older than the one taken over: reuse.
      const error = await rejection(auth.refresh(pair.refreshToken));
      expect(error.name).to.equal('RefreshReusedError');
      expect(events).to.deep.equal(['reuse_detected']);
    });
  });

  describe('a replica', () => {
    let replica: RedisServer;
    let replicaClient: Client;

    before(async () => {
      replica = await RedisServer.start();
      replicaClient = await connect(replica);
    });
    after(async () => {
      if (replicaClient?.isOpen) replicaClient.destroy();
      await replica?.stop();
    });

    async function follow(port: number, linked: boolean): Promise<void> {
      await replicaClient.sendCommand(['REPLICAOF', '127.0.0.1', String(port)]);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const info = String(await replicaClient.sendCommand(['INFO', 'replication']));
        if (!linked || info.includes('master_link_status:up')) return;
        if (Date.now() > deadline) throw new Error('the replica did not sync');
        await sleep(50);
      }
    }

    /** Every operation on the replica: a 503, never an answer about the session. */
    async function expectAllUnavailable(auth: TokenAuth, refreshToken: string): Promise<void> {
      for (const [name, work] of [
        ['ping', auth.ping()],
        ['issue', auth.issue({ userId: 'r1' })],
        ['refresh', auth.refresh(refreshToken)],
        ['revoke', auth.revoke(refreshToken)],
        ['revokeAll', auth.revokeAll('r1')],
        ['listSessions', auth.listSessions('r1')],
      ] as const) {
        const error = await rejection(work);
        expect(error, name).to.be.instanceOf(StoreUnavailableError);
        expect(error, name).not.to.be.instanceOf(TokenRevokedError);
      }
    }

    it('that holds the session answers 503 to everything (READONLY), and ping() rejects', async () => {
      await follow(primary.port, true);
      const pair = await authOn(client).issue({ userId: 'r1' });
      expect(await client.sendCommand(['WAIT', '1', '5000']), 'the replica has it').to.equal(1);
      expect(await replicaClient.sendCommand(['EXISTS', 'etp-prod:{r1}'])).to.equal(1);
      const auth = authOn(replicaClient);
      await expectAllUnavailable(auth, pair.refreshToken);
      const error = await rejection(auth.refresh(pair.refreshToken));
      expect(String(error.cause)).to.match(/READONLY/);
      // The primary still has it, untouched.
      expect((await authOn(client).refresh(pair.refreshToken)).refreshToken).to.be.a('string');
    });

    it('that is empty and still syncing answers 503, not "no such session"', async () => {
      const pair = await authOn(client).issue({ userId: 'r1' });
      const nowhere = await RedisServer.start();
      const port = nowhere.port;
      await nowhere.stop();
      // Its private server: empty it as a full resync would, then point it at a primary that is gone.
      await replicaClient.sendCommand(['REPLICAOF', 'NO', 'ONE']);
      await replicaClient.sendCommand(['FLUSHALL']);
      await follow(port, false);
      expect(await replicaClient.sendCommand(['EXISTS', 'etp-prod:{r1}'])).to.equal(0);
      await expectAllUnavailable(authOn(replicaClient), pair.refreshToken);
      await replicaClient.sendCommand(['REPLICAOF', 'NO', 'ONE']);
      await authOn(replicaClient).ping();
    });
  });

  describe('a full Redis (maxmemory reached, noeviction)', () => {
    afterEach(async () => {
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory', '0']);
    });

    it('refuses logins and refreshes with 503 and ping() rejects, but logout still works', async () => {
      const auth = authOn(client);
      const pair = await auth.issue({ userId: 'full-1' });
      const other = await auth.issue({ userId: 'full-2' });
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory', '1']);
      for (const work of [auth.refresh(pair.refreshToken), auth.issue({ userId: 'full-3' }), auth.ping()]) {
        const error = await rejection(work);
        expect(error).to.be.instanceOf(StoreUnavailableError);
        expect(String(error.cause)).to.match(/OOM/);
      }
      expect(await auth.revoke(pair.refreshToken)).to.equal(true);
      expect(await auth.revokeAll('full-2')).to.equal(1);
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory', '0']);
      expect(await rejection(auth.refresh(other.refreshToken))).to.be.instanceOf(TokenRevokedError);
    });
  });

  describe('checkServer()', () => {
    afterEach(async () => {
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
    });

    it('warns of every maxmemory-policy that can evict session keys, naming the setting and the fix', async () => {
      const store = new RedisSessionStore({ client, prefix: uniquePrefix() });
      for (const policy of ['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl', 'allkeys-lfu']) {
        await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', policy]);
        const warnings = await store.checkServer();
        expect(
          warnings.map((w) => w.code),
          policy,
        ).to.deep.equal(['eviction_policy']);
        expect(warnings[0]!.message).to.contain(`maxmemory-policy is ${policy}`).and.contain('noeviction');
      }
      await client.sendCommand(['CONFIG', 'SET', 'maxmemory-policy', 'noeviction']);
      expect(await store.checkServer()).to.deep.equal([]);
    });

    it('rejects with 503 when Redis does not answer', async () => {
      const store = new RedisSessionStore({ sendCommand: () => new Promise(() => {}), timeout: 50 });
      expect(await rejection(store.checkServer())).to.be.instanceOf(StoreUnavailableError);
    });
  });
});

describe('RedisSessionStore: which clients it takes', () => {
  it('tells node-redis and ioredis clients and clusters apart, without connecting', async () => {
    const nodeCluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    const nodeCluster4 = createCluster4({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    const io = new Redis({ lazyConnect: true });
    const ioCluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    try {
      const kinds = [createClient(), nodeCluster, nodeCluster4, io, ioCluster].map(
        (client) => new RedisSessionStore({ client }).clientKind,
      );
      expect(kinds).to.deep.equal([
        'node-redis',
        'node-redis cluster',
        'node-redis cluster',
        'ioredis',
        'ioredis cluster',
      ]);
    } finally {
      io.disconnect();
      ioCluster.disconnect();
    }
  });

  it('keeps the revocation record on a cluster by default (one stream per shard), and none with revocationRecord: false', () => {
    const cluster = createCluster({ rootNodes: [{ url: 'redis://127.0.0.1:1' }] });
    expect(new RedisSessionStore({ client: cluster }).revocations().streams!()).to.have.length(16);
    expect(new RedisSessionStore({ client: cluster, shards: 3 }).revocations().streams!()).to.have.length(3);
    expect(() => new RedisSessionStore({ client: cluster, revocationRecord: false }).revocations()).to.throw(
      OptionError,
      'checkRevocation needs the revocation record',
    );
    expect(new RedisSessionStore({ client: createClient() }).revocations().streams!()).to.have.length(1);
  });

  it('refuses at construction a client it cannot use, naming what it takes', () => {
    for (const client of [{}, { get: () => null }, { isCluster: false }, 'redis://localhost', null]) {
      expect(() => new RedisSessionStore({ client: client as never }), JSON.stringify(client)).to.throw(
        OptionError,
        /RedisSessionStore: client must be (a Redis client|a node-redis client or cluster \(v4, v5, v6\) or an ioredis client or Cluster)/,
      );
    }
  });
});
