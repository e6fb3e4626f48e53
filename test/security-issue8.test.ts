/**
 * Attack pass of issue 8 (docs/threat-model.md): lost-successor adoption,
 * key rings, the Redis script deadline and the replica/OOM handling, seen
 * by someone holding stolen tokens, controlling request timing or reading
 * answers. The three clock-step tests failed before their fixes (see the
 * threat model); the others pin a property that held and that no other
 * suite checks.
 */
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import {
  MemorySessionStore,
  RedisSessionStore,
  StoreUnavailableError,
  type SessionStore,
  type TokenAuth,
  type TokenAuthOptions,
} from '../lib/index.js';
import { base64url, signRaw } from './helpers/forged-tokens.js';
import { privateRedis, uniquePrefix } from './helpers/redis-server.js';
import { decode, makeAuth, REFRESH, rejection, T0 } from './helpers/token-auth.js';

const R_OLD = 'refresh-key-old-0123456789abcdefghijk';
const R_NEW = 'refresh-key-new-0123456789abcdefghijk';

/**
 * A thief copies a refresh token; the owner rotates it out, the clock of
 * the store steps back a minute, the owner refreshes once more, and the
 * thief presents the copy. Its iat is later than the session's current
 * issue time, so it passes for a successor the store lost.
 */
async function stolenAfterStepBack(store: SessionStore): Promise<{ outcome: string; reuseEvents: number }> {
  let now = T0;
  const auth = makeAuth(store, () => now);
  let reuseEvents = 0;
  auth.on('reuse_detected', () => {
    reuseEvents += 1;
  });
  const first = await auth.issue({ userId: 'u' });
  now = T0 + 10;
  const stolen = (await auth.refresh(first.refreshToken)).refreshToken; // iat T0 + 10: the thief's copy
  now = T0 + 20;
  const owner = await auth.refresh(stolen);
  now = T0 - 40; // the clock steps back a minute
  await auth.refresh(owner.refreshToken); // the session's current token is now dated T0 - 40
  now = T0 - 20;
  const outcome = await auth.refresh(stolen).then(
    () => 'a new pair for the thief',
    (error: unknown) => String((error as { code?: string }).code),
  );
  return { outcome, reuseEvents };
}

describe('issue 8: lost-successor adoption against a thief', () => {
  let store: MemorySessionStore;
  let now: number;
  const make = (over: Partial<TokenAuthOptions> = {}): TokenAuth => makeAuth(store, () => now, over);

  beforeEach(() => {
    now = T0;
    store = new MemorySessionStore();
  });
  afterEach(() => store.close());

  it("a stolen rotated-out token is still reuse after the store's clock stepped back (NTP step, VM restore)", async () => {
    expect(await stolenAfterStepBack(store)).to.deep.equal({ outcome: 'refresh_reused', reuseEvents: 1 });
  });

  it("grace answers carry the current token's iat, never a later one: the copy is reuse after the next rotation", async () => {
    const auth = make();
    const first = await auth.issue({ userId: 'u' });
    now = T0 + 10;
    const owner = await auth.refresh(first.refreshToken);
    now = T0 + 12;
    const thief = await auth.refresh(first.refreshToken); // within the grace window: the one successor again
    expect(thief.refreshToken).to.equal(owner.refreshToken);
    expect(decode(thief.refreshToken).payload.iat).to.equal(T0 + 10);
    now = T0 + 30;
    await auth.refresh(owner.refreshToken);
    now = T0 + 40;
    expect(await rejection(auth.refresh(thief.refreshToken))).to.include({ code: 'refresh_reused' });
  });

  it('a later token of another session or user adopts nothing here; an expired or retired-key later token is refused first', async () => {
    const auth = make({ refreshToken: { keys: [{ kid: 'r2', secret: R_NEW }], reuseGrace: 5, ttl: '1h' } });
    const a = await auth.issue({ userId: 'u' });
    now = T0 + 10;
    const b = await auth.issue({ userId: 'u' }); // later iat than a's current token
    const other = await auth.issue({ userId: 'v' });
    now = T0 + 20;
    for (const token of [b.refreshToken, other.refreshToken]) await auth.refresh(token);
    const sids = (await auth.listSessions('u')).map((s) => s.sessionId).sort();
    expect(sids).to.deep.equal([decode(a.refreshToken).payload.sid, decode(b.refreshToken).payload.sid].sort());
    expect((await auth.refresh(a.refreshToken)).refreshToken, 'session a untouched').to.be.a('string');
    // A token dated after the current one, but expired: token_expired before the store is asked.
    const c = await auth.issue({ userId: 'w' });
    now = T0 + 3700;
    expect(await rejection(auth.refresh(c.refreshToken))).to.include({ code: 'token_expired' });
    // Signed by a refresh key since retired, dated later than the session's current token: token_invalid.
    now = T0 + 30;
    const d = await auth.issue({ userId: 'x' });
    const later = { ...decode(d.refreshToken).payload, jti: 'lost-successor-1', iat: T0 + 40 };
    const byRetired = signRaw({ alg: 'HS256', typ: 'rt+jwt', kid: 'r1' }, JSON.stringify(later), R_OLD);
    now = T0 + 50;
    expect(await rejection(auth.refresh(byRetired))).to.include({ code: 'token_invalid' });
    expect(await rejection(auth.revoke(byRetired))).to.include({ code: 'token_invalid' });
    expect((await auth.refresh(d.refreshToken)).refreshToken, 'session d untouched').to.be.a('string');
  });
});

describe('issue 8: key rings against kid and algorithm tricks', () => {
  const store = new MemorySessionStore();
  after(() => store.close());
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { privateKey: second } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  it("refuses an HS256 token signed with a ring key's public PEM under that key's kid (the kid path, not the single key)", async () => {
    const auth = makeAuth(store, () => T0, {
      accessToken: {
        keys: [
          { kid: 'ec-2', privateKey: second },
          { kid: 'ec-1', privateKey, legacy: true },
        ],
      },
      refreshToken: { secret: REFRESH },
    });
    const pair = await auth.issue({ userId: 'u' });
    const claims = decode(pair.accessToken).payload;
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    for (const header of [
      { alg: 'HS256', typ: 'at+jwt', kid: 'ec-1' },
      { alg: 'HS256', typ: 'at+jwt' },
    ]) {
      const input = `${base64url(header)}.${base64url(claims)}`;
      const forged = `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
      expect(await rejection(() => auth.verifyAccessToken(forged)), JSON.stringify(header)).to.include({
        code: 'token_invalid',
      });
    }
    expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('u');
  });

  it('refuses a kid hidden in a __proto__ member, a 6,000-character kid and a kid array, without legacy, as token_invalid', async () => {
    const secret = 'access-key-ring-0123456789abcdefghij';
    const auth = makeAuth(store, () => T0, {
      accessToken: { keys: [{ kid: 'a0', secret }] },
      refreshToken: { secret: REFRESH },
    });
    const body = JSON.stringify({ sub: 'u', sid: 'session-id-0001', jti: 'token-id-000001', iat: T0, exp: T0 + 900 });
    const raw = (headerJson: string): string => {
      const input = `${Buffer.from(headerJson).toString('base64url')}.${Buffer.from(body).toString('base64url')}`;
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    };
    const headers = [
      '{"alg":"HS256","typ":"at+jwt","__proto__":{"kid":"a0"}}',
      `{"alg":"HS256","typ":"at+jwt","kid":"${'a'.repeat(6000)}"}`,
      '{"alg":"HS256","typ":"at+jwt","kid":["a0"]}',
    ];
    for (const header of headers) {
      expect(await rejection(() => auth.verifyAccessToken(raw(header))), header.slice(0, 60)).to.include({
        code: 'token_invalid',
      });
    }
    expect(auth.verifyAccessToken(raw('{"alg":"HS256","typ":"at+jwt","kid":"a0"}')).userId).to.equal('u');
  });
});

describe('issue 8: Redis deadlines, adoption races and the probe', function () {
  this.timeout(20_000);
  const redis = privateRedis();

  /** A store on `client` whose commands are recorded, and whose TIME can be made to fail. */
  function recorded(prefix: string) {
    const sent: string[] = [];
    const state = { failTime: false };
    const sendCommand = async (args: string[]): Promise<unknown> => {
      sent.push(args[0]!);
      if (args[0] === 'TIME' && state.failTime) throw new Error('connection reset');
      return redis.client.sendCommand(args);
    };
    return { store: new RedisSessionStore({ sendCommand, prefix }), sent, state };
  }
  const authOn = (store: RedisSessionStore, grace = 5): TokenAuth =>
    makeAuth(store, () => Math.floor(Date.now() / 1000), {
      refreshToken: { secret: REFRESH, reuseGrace: grace },
    });

  it('an app clock stepped back after TIME was read does not turn every script into a 503', async () => {
    const auth = authOn(new RedisSessionStore({ client: redis.client, prefix: uniquePrefix() }));
    const pair = await auth.issue({ userId: 'stepped' }); // the offset to Redis's clock is read here
    const realNow = Date.now;
    Date.now = () => realNow() - 120_000; // NTP steps the clock back two minutes
    try {
      // Each deadline is now two minutes in Redis's past: 'late', 503, and no re-read for 2 min + 60 s.
      const outcome = await auth.refresh(pair.refreshToken).then(
        () => 'refreshed',
        (error: unknown) => (error as Error).message,
      );
      expect(outcome).to.equal('refreshed');
    } finally {
      Date.now = realNow;
    }
  });

  it("the same with RedisSessionStore on a clock that steps back (clock: 'caller'; Redis TIME stepping back alike)", async () => {
    const store = new RedisSessionStore({ client: redis.client, prefix: uniquePrefix(), clock: 'caller' });
    expect(await stolenAfterStepBack(store)).to.deep.equal({ outcome: 'refresh_reused', reuseEvents: 1 });
  });

  it('sends no script when TIME fails (503), and works once TIME answers', async () => {
    const { store, sent, state } = recorded(uniquePrefix());
    const auth = authOn(store);
    state.failTime = true;
    expect(await rejection(auth.issue({ userId: 'timeless' }))).to.be.instanceOf(StoreUnavailableError);
    expect(
      sent.filter((name) => name !== 'TIME'),
      'nothing but TIME',
    ).to.deep.equal([]);
    state.failTime = false;
    const pair = await auth.issue({ userId: 'timeless' });
    expect((await auth.refresh(pair.refreshToken)).refreshToken).to.be.a('string');
  });

  it('hands concurrent presenters of one lost successor the same successor, and later ones reuse', async () => {
    const prefix = uniquePrefix();
    // A 3 s grace, so that eight concurrent scripts land inside it even on a busy machine (Redis's clock),
    // and a long store timeout, so that a slow script is slow, not 'late'.
    const grace = 3;
    const auth = authOn(new RedisSessionStore({ client: redis.client, prefix, timeout: 10_000 }), grace);
    const pair = await auth.issue({ userId: 'race' });
    const key = `${prefix}{race}`;
    await redis.client.sendCommand(['COPY', key, `${key}:before`]);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the successor is dated a second later
    const lost = await auth.refresh(pair.refreshToken);
    await redis.client.sendCommand(['COPY', `${key}:before`, key, 'REPLACE']); // Redis loses that rotation
    const answers = await Promise.all(Array.from({ length: 8 }, () => auth.refresh(lost.refreshToken)));
    expect(new Set(answers.map((a) => a.refreshToken)).size, 'one successor').to.equal(1);
    // Past the grace window: whole seconds, inclusive (age <= grace), so one second more.
    await new Promise((resolve) => setTimeout(resolve, (grace + 1) * 1000 + 100));
    expect(await rejection(auth.refresh(lost.refreshToken))).to.include({ code: 'refresh_reused' });
    await redis.client.del(`${key}:before`);
  });

  it('ping() leaves no probe key behind, and no user id can name it', async () => {
    const prefix = uniquePrefix();
    const auth = authOn(new RedisSessionStore({ client: redis.client, prefix }));
    await auth.ping();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await redis.client.keys(`${prefix}*`)).to.deep.equal([]);
    await auth.issue({ userId: 'probe' });
    expect(await redis.client.keys(`${prefix}*`)).to.deep.equal([`${prefix}{probe}`]);
  });
});
