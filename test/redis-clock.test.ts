/**
 * One clock for session decisions: app instances whose clocks disagree share
 * one Redis, and the grace window, expiry and last use follow Redis's TIME,
 * never an instance's own clock. Also: the user key lives as long as the
 * user's longest-lived session, and the store refuses bad options.
 */
import { expect } from 'chai';
import { createClient } from 'redis';
import {
  createTokenAuth,
  OptionError,
  RedisSessionStore,
  type TokenAuth,
  type TokenAuthEvents,
  type TokenPair,
} from '../lib/index.js';
import { requireRedis, sharedRedis, uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

const SKEW = 60;

type Client = ReturnType<typeof createClient>;

function payload(token: string): { iat: number; exp: number } {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
}

async function code(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'ok',
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );
}

describe('RedisSessionStore: one clock (Redis TIME) for every instance', function () {
  let redis: { url: string; close: () => Promise<void> };
  let client: Client;
  let prefix: string;

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
  beforeEach(() => {
    prefix = uniquePrefix();
  });
  afterEach(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(keys);
  });

  /** An app instance whose clock is `skew` seconds off, sharing the one Redis. */
  function instance(skew: number, grace = 5): TokenAuth {
    return createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH, reuseGrace: grace },
      store: new RedisSessionStore({ client, prefix }),
      clock: () => Date.now() + skew * 1000,
    });
  }

  async function redisSeconds(): Promise<number> {
    const [seconds] = (await client.sendCommand(['TIME'])) as unknown as [string, string];
    return Number(seconds);
  }

  /**
   * Runs `step`, then expects `key`'s TTL to be `seconds` less only the
   * whole seconds that have passed since `step` began (however slow the
   * machine), give or take Redis's rounding.
   */
  async function expectTtlAfter(
    step: () => Promise<unknown>,
    key: string,
    seconds: number,
    what?: string,
  ): Promise<void> {
    const started = performance.now();
    await step();
    const ttl = await client.ttl(key);
    const passed = Math.ceil((performance.now() - started) / 1000);
    expect(ttl, what).to.be.within(seconds - passed - 1, seconds);
  }

  it('an instance 60 s behind does not take a replay after the grace window for a grace retry', async function () {
    const onTime = instance(0, 1);
    const behind = instance(-SKEW, 1);
    const reuses: Array<TokenAuthEvents['reuse_detected']> = [];
    behind.on('reuse_detected', (event) => reuses.push(event));
    const first = await onTime.issue({ userId: 'ann' });
    const second = await onTime.refresh(first.refreshToken);
    await new Promise((resolve) => setTimeout(resolve, 2100)); // past the 1 s grace window, by Redis's clock
    // By its own clock, `behind` is a minute before the rotation: a negative age must not count as grace.
    expect(await code(behind.refresh(first.refreshToken))).to.equal('refresh_reused');
    expect(reuses).to.have.length(1);
    expect(await code(onTime.refresh(second.refreshToken)), 'the session was revoked').to.equal('token_revoked');
  });

  it('an instance 60 s ahead still honours the grace window for a benign retry', async () => {
    const onTime = instance(0);
    const ahead = instance(SKEW);
    const first = await onTime.issue({ userId: 'ann' });
    const second = await onTime.refresh(first.refreshToken);
    // A retry of the same refresh arrives at the other instance at once: by its clock a minute later.
    const retry = await ahead.refresh(first.refreshToken);
    expect(retry.refreshToken, 'the same successor').to.equal(second.refreshToken);
    expect((await ahead.refresh(second.refreshToken)).tokenType).to.equal('Bearer');
  });

  it("dates refresh tokens and sessions by Redis's clock, whatever the instance's clock says", async () => {
    const before = await redisSeconds();
    const ahead = instance(3600);
    const behind = instance(-3600);
    const pairs: TokenPair[] = [await ahead.issue({ userId: 'ann' }), await behind.issue({ userId: 'bob' })];
    pairs.push(await behind.refresh(pairs[0]!.refreshToken), await ahead.refresh(pairs[1]!.refreshToken));
    const after = await redisSeconds();
    for (const pair of pairs) {
      const { iat, exp } = payload(pair.refreshToken);
      expect(iat).to.be.within(before, after);
      expect(exp - iat).to.equal(7 * 86_400);
    }
    // The user key expires by Redis's clock too: a week after ann's last refresh, not a week from either instance's time.
    const ttl = await client.ttl(`${prefix}{ann}`);
    const expires = payload(pairs[2]!.refreshToken).iat + 7 * 86_400;
    const now = await redisSeconds();
    expect(ttl).to.be.within(expires - now - 1, expires - now + 1);
  });

  it('treats a logout with a rotated-out token as reuse, on another instance too', async () => {
    const onTime = instance(0, 0);
    const behind = instance(-SKEW, 0);
    const events: string[] = [];
    behind.on('reuse_detected', () => events.push('reuse_detected'));
    behind.on('revoked', ({ count }) => events.push(`revoked ${count}`));
    const first = await onTime.issue({ userId: 'ann' });
    const second = await onTime.refresh(first.refreshToken);
    expect(await behind.revoke(first.refreshToken)).to.equal(true);
    expect(events).to.deep.equal(['reuse_detected', 'revoked 1']);
    expect(await code(onTime.refresh(second.refreshToken))).to.equal('token_revoked');
  });

  it("without a revocation record, touches only the user's key (one Cluster slot) and refuses checkRevocation", async () => {
    const sent: string[][] = [];
    const store = new RedisSessionStore({
      sendCommand: (args) => {
        sent.push(args);
        return client.sendCommand(args);
      },
      prefix,
      revocationRecord: false,
    });
    const auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH, reuseGrace: 0 },
      store,
    });
    const first = await auth.issue({ userId: 'ann' });
    await auth.refresh(first.refreshToken);
    expect(await code(auth.refresh(first.refreshToken)), 'reuse detection still works').to.equal('refresh_reused');
    await auth.issue({ userId: 'ann' });
    expect(await auth.revokeAll('ann')).to.equal(1);
    // Besides TIME (read once, to place the scripts' deadlines on Redis's clock), only the user's keys:
    // the sessions, the credential cut-off and the DPoP proofs (untouched without DPoP), one hash tag.
    expect(sent.filter((args) => args[0] === 'TIME')).to.have.length(1);
    for (const args of sent.filter((a) => a[0] !== 'TIME')) {
      expect(args.slice(2, 6), args[0]).to.deep.equal([
        '3',
        `${prefix}{ann}`,
        `${prefix}{ann}:cutoff`,
        `${prefix}{ann}:dpop`,
      ]);
    }
    expect(await client.keys(`${prefix}*`)).to.deep.equal([`${prefix}{ann}:cutoff`]);
    expect(() => auth.watchRevocations()).to.throw(OptionError, 'revocationRecord: false');
  });

  it("keeps the user key as long as the user's longest-lived session, not the shortest", async () => {
    const store = new RedisSessionStore({ client, prefix, clock: 'caller' });
    const now = await redisSeconds();
    const session = (sessionId: string, ttl: number) => ({
      userId: 'ann',
      sessionId,
      jti: `${sessionId}-1`,
      ttl,
      maxLifetime: 100 * ttl,
      claims: {},
      meta: {},
    });
    const options = { now, maxSessions: 100, revocationTtl: 900 };
    const key = `${prefix}{ann}`;
    await expectTtlAfter(() => store.create(session('short', 600), options), key, 600);
    await expectTtlAfter(
      () => store.create(session('long', 6000), options),
      key,
      6000,
      'a longer session lengthens the key',
    );
    // Set when 'long' was created: only the time since then may have gone.
    const started = performance.now();
    await store.create(session('shorter', 60), options);
    const ttl = await client.ttl(key);
    expect(ttl, 'a shorter one does not shorten it').to.be.above(
      6000 - Math.ceil((performance.now() - started) / 1000) - 60,
    );
    await store.revoke({ userId: 'ann', sessionId: 'long', jti: 'long-1', now, grace: 5, revocationTtl: 900 });
    // Rotating the short one with a long ttl: its expiry slides past the key's, which must follow.
    await expectTtlAfter(
      () =>
        store.rotate({
          userId: 'ann',
          sessionId: 'short',
          jti: 'short-1',
          nextJti: 'short-2',
          now,
          ttl: 9000,
          grace: 5,
          meta: {},
          window: 900,
          revocationTtl: 900,
        }),
      key,
      9000,
      'the key follows a rotation past it',
    );
  });
});

describe('RedisSessionStore options', () => {
  const send = async (): Promise<unknown> => 'OK';
  const cases: Array<[unknown, string]> = [
    [undefined, 'RedisSessionStore: options are required'],
    [{}, 'RedisSessionStore: client or sendCommand is required'],
    [
      { sendCommand: send, prefx: 'a:' },
      'RedisSessionStore: unknown option prefx (known: client, sendCommand, blockingSendCommand, prefix, timeout, clock, revocationRecord, shards, cluster, waitForReplicas)',
    ],
    [
      { client: {} },
      'RedisSessionStore: client must be a node-redis client or cluster (v4, v5, v6) or an ioredis client or Cluster (for any other client, pass sendCommand)',
    ],
    [{ client: { sendCommand: send }, sendCommand: send }, 'RedisSessionStore: pass client or sendCommand, not both'],
    [{ sendCommand: 'redis://localhost' }, 'RedisSessionStore: sendCommand must be a function'],
    [{ sendCommand: send, prefix: 'a{b}:' }, 'RedisSessionStore: prefix must be a string without { or }'],
    [{ sendCommand: send, timeout: 0 }, 'RedisSessionStore: timeout must be a positive whole number of milliseconds'],
    [{ sendCommand: send, clock: 'local' }, "RedisSessionStore: clock must be 'redis' or 'caller' (got \"local\")"],
    [{ sendCommand: send, revocationRecord: 'no' }, 'RedisSessionStore: revocationRecord must be a boolean'],
  ];
  it('refuses each bad option with an OptionError naming it', () => {
    for (const [options, message] of cases) {
      expect(() => new RedisSessionStore(options as never), message).to.throw(
        OptionError,
        `express-token-pair: ${message}`,
      );
    }
  });
});
