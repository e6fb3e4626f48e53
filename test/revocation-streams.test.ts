/**
 * `RevocationFeed.streams()`: one row per stream followed, for health reports.
 * One Redis: one row, the store's stream (the Cluster's shards: revocation-cluster.test.ts).
 */
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { RedisSessionStore } from '../lib/index.js';
import { privateRedis, uniquePrefix } from './helpers/redis-server.js';

describe('Revocation feed streams() on one Redis', function () {
  this.timeout(30_000);
  const redis = privateRedis();

  it('names its one stream, with its last contact and the id of the last entry read', async () => {
    const prefix = uniquePrefix();
    const store = new RedisSessionStore({ client: redis.client, prefix });
    const feed = store.revocations();
    expect(feed.streams?.()).to.deep.equal([{ name: `${prefix}revocations`, lastContact: 0, lastId: '0-0' }]);
    const seen: string[] = [];
    try {
      await feed.follow((r) => seen.push(r.id), 0, { maxLag: 2000 });
      const sessionId = randomUUID();
      const now = Math.floor(Date.now() / 1000);
      const session = { userId: 'u', sessionId, jti: 'j', ttl: 60, maxLifetime: 60, claims: {}, meta: {} };
      await store.create(session, { now, revocationTtl: 900, maxSessions: 5 });
      await store.revoke({ now, revocationTtl: 900, userId: 'u', sessionId, grace: 0 });
      const deadline = performance.now() + 15_000;
      while (!seen.includes(sessionId) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(seen).to.include(sessionId);
      const entries = await redis.client.sendCommand<string[][]>(['XRANGE', `${prefix}revocations`, '-', '+']);
      const [row] = feed.streams!();
      expect(row!.name).to.equal(`${prefix}revocations`);
      expect(row!.lastContact).to.be.above(0);
      expect(row!.lastId).to.equal(entries.at(-1)![0]);
    } finally {
      await feed.close();
    }
  });
});
