/**
 * A revocation made on one instance is enforced on every other instance
 * within `revocationMaxLag` (the library's bound: past it, a checked route
 * answers 503 rather than accept; usually it takes a few ms, as the log line
 * shows): two instances of the sample app, each with its own Redis
 * connection, on one private redis-server, with real clocks.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { RedisServer, requireRedis, uniquePrefix } from './helpers/redis-server.js';
import { refusedWithin, REVOCATION_MAX_LAG, sessions } from './helpers/sample-app-sessions.js';
import { appFactory, email, logIn, me, sessionIdOf, signUp } from './helpers/sample-app.js';

const WITHIN = REVOCATION_MAX_LAG;

describe('sample app, two instances on one Redis', function () {
  this.timeout(60_000); // generous for a busy machine; the bound under test is WITHIN, on the monotonic clock
  let server: RedisServer;
  const apps = appFactory(() => ({}));
  let one: SampleApp;
  let two: SampleApp;
  const delays: number[] = [];

  before(async function () {
    requireRedis(this, true);
    server = await RedisServer.start();
  });
  beforeEach(async () => {
    apps.reset();
    const prefix = uniquePrefix();
    // Real clocks (the store then dates everything by Redis's TIME); each instance connects on its own.
    one = await apps.make({ redis: { url: server.url, prefix }, clock: undefined });
    two = await apps.make({ redis: { url: server.url, prefix }, clock: undefined });
  });
  afterEach(() => apps.closeAll());
  after(async () => {
    if (delays.length > 0)
      console.log(`      revocation reached the other instance in ${delays.join(', ')} ms (limit ${WITHIN})`);
    await server?.stop();
  });

  /** Runs `revoke` on one instance, then resolves how long until `other` refused `accessToken`. */
  async function delayUntilRefused(
    other: SampleApp,
    accessToken: string,
    revoke: () => Promise<number>,
  ): Promise<number> {
    expect((await sessions(other, accessToken)).status, 'accepted before').to.equal(200);
    const started = performance.now();
    expect(await revoke()).to.equal(204);
    await refusedWithin(other, accessToken, WITHIN);
    const elapsed = Math.round(performance.now() - started);
    delays.push(elapsed);
    expect(elapsed).to.be.at.most(WITHIN);
    return elapsed;
  }

  it('a logout on one instance is enforced on the other within revocationMaxLag; /me there still accepts the token', async () => {
    const address = email();
    await signUp(one, address);
    const session = await logIn(one, address);
    await delayUntilRefused(
      two,
      session.accessToken,
      async () => (await request(one.app).post('/auth/logout').send({ refreshToken: session.refreshToken })).status,
    );
    expect((await me(two, session.accessToken)).status, 'signature only').to.equal(200);
  });

  it('ending a session from the list, logout-others and logout-all on one instance are enforced on the other within revocationMaxLag', async () => {
    const address = email();
    await signUp(two, address);
    const [phone, laptop, tablet, desktop] = [
      await logIn(one, address),
      await logIn(two, address),
      await logIn(one, address),
      await logIn(two, address),
    ];
    if (!phone || !laptop || !tablet || !desktop) throw new Error('no login');
    await delayUntilRefused(
      two,
      phone.accessToken,
      async () =>
        (
          await request(one.app)
            .delete(`/auth/sessions/${sessionIdOf(phone.accessToken)}`)
            .set('Authorization', `Bearer ${tablet.accessToken}`)
        ).status,
    );
    await delayUntilRefused(
      one,
      laptop.accessToken,
      async () =>
        (await request(two.app).post('/auth/logout-others').set('Authorization', `Bearer ${desktop.accessToken}`))
          .status,
    );
    await delayUntilRefused(
      two,
      desktop.accessToken,
      async () =>
        (await request(one.app).post('/auth/logout-all').set('Authorization', `Bearer ${desktop.accessToken}`)).status,
    );
  });
});
