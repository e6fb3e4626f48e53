/**
 * A refresh whose reply from Redis comes too late: the client got a 503, but
 * the rotation did happen. A client that waits the `Retry-After` it was given
 * and tries again must get the successor (grace), not be logged out as a
 * thief.
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { createClient } from 'redis';
import { createTokenAuth, RedisSessionStore, refreshHandler, type TokenAuthEvents } from '../lib/index.js';
import { requireRedis, sharedRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

describe('a refresh answered 503 after it happened in Redis', function () {
  this.timeout(20_000);
  let redis: { url: string; close: () => Promise<void> };
  let client: ReturnType<typeof createClient>;

  before(async function () {
    requireRedis(this);
    redis = await sharedRedis();
    client = createClient({ url: redis.url });
    await client.connect();
  });
  after(async () => {
    if (client?.isOpen) await client.close();
    await redis?.close();
  });

  it('gets the successor when retried after Retry-After, with the default grace and store timeout', async () => {
    let lateBy = 0;
    const prefix = uniquePrefix();
    const store = new RedisSessionStore({
      // Redis runs each command at once; the reply reaches the app `lateBy` ms later.
      sendCommand: async (args) => {
        const reply = await client.sendCommand(args);
        await new Promise((resolve) => setTimeout(resolve, lateBy));
        return reply;
      },
      prefix,
    });
    const auth = createTokenAuth({ accessToken: { secret: ACCESS }, refreshToken: { secret: REFRESH }, store });
    const reuses: Array<TokenAuthEvents['reuse_detected']> = [];
    auth.on('reuse_detected', (event) => reuses.push(event));
    const app = express().use(express.json()).post('/refresh', refreshHandler(auth));
    try {
      const pair = await auth.issue({ userId: 'ann' });
      lateBy = 1500; // past the store's default 1 s timeout
      const first = await request(app).post('/refresh').send({ refreshToken: pair.refreshToken });
      expect(first.status).to.equal(503);
      const wait = Number(first.headers['retry-after']);
      expect(wait, 'a Retry-After in seconds').to.be.above(0);
      lateBy = 0;
      await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 600)); // the late reply, then Retry-After
      const retry = await request(app).post('/refresh').send({ refreshToken: pair.refreshToken });
      expect(retry.status, retry.text).to.equal(200);
      expect(reuses, 'no theft reported').to.deep.equal([]);
      const next = await request(app)
        .post('/refresh')
        .send({ refreshToken: (retry.body as { refreshToken: string }).refreshToken });
      expect(next.status, 'the successor is the live token').to.equal(200);
    } finally {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(keys);
    }
  });
});
