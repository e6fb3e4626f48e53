/**
 * RedisSessionStore through a Redis Sentinel failover, under continuous
 * traffic, for each Sentinel client (node-redis v5 and v6 `createSentinel`,
 * ioredis with `sentinels`): a fresh set per client (1 master, 2 replicas, 3
 * sentinels: with `waitForReplicas: 1`, writes need a replica after the
 * failover too), 12 sessions refreshing over HTTP in a loop (a 503: the same
 * token again), every third one logging out from the moment the master is
 * SIGKILLed, and a route behind `checkRevocation` asked all along. Asserted:
 * refresh and logout answer only 200/204 or 503, never 500 nor 401 (no
 * session lost); after the failover every session refreshes again with the
 * token it was last given; every 204 logout stays logged out (its refresh
 * token 401, its access token refused on the checked route once the feed
 * has recovered). Printed per client: the gap, from the kill to the first
 * refresh answered 200 after it, and the 503s. No timing is asserted.
 */
import { expect } from 'chai';
import { boundedSendCommand, StoreUnavailableError } from '../lib/index.js';
import { RedisSentinelSet, requireSentinel } from './helpers/redis-sentinel.js';
import { connectSentinel, SENTINEL_CLIENT_NAMES, until, type SentinelSetup } from './helpers/redis-sentinel-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { Traffic, trafficApp, type Answer } from './helpers/sentinel-traffic.js';

const SESSIONS = 12;
/** Every LEAVERS-th session logs out once the master is killed. */
const LEAVERS = 3;
/** Longest wait for anything that must happen after the kill (a failover, every session back), ms. */
const CAP = 60_000;

const summary = (answers: Answer[]): string => {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(`${a.route} ${a.status}`, (counts.get(`${a.route} ${a.status}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k}: ${n}`).join(', ');
};

describe('RedisSessionStore through a Sentinel failover (SIGKILL of the master under traffic)', function () {
  this.timeout(4 * CAP);
  const started = Date.now();
  const gaps: string[] = [];
  before(function () {
    requireSentinel(this);
  });
  after(() => {
    if (gaps.length) console.log(`      gaps: ${gaps.join('; ')}`);
    console.log(`      Sentinel failover suite took ${Date.now() - started} ms`);
  });

  for (const name of SENTINEL_CLIENT_NAMES) {
    describe(`with ${name}`, () => {
      let set: RedisSentinelSet;
      let setup: SentinelSetup | undefined;
      beforeEach(async () => {
        set = await RedisSentinelSet.start({ replicas: 2 });
        setup = await connectSentinel(name, set);
      });
      afterEach(async () => {
        await setup?.close();
        await set?.stop();
      });

      it('loses no session, fakes no success, and answers 503 while there is no master', async () => {
        const app = await trafficApp(setup!.client, uniquePrefix());
        const traffic = new Traffic(app);
        try {
          await traffic.login(SESSIONS, LEAVERS);
          traffic.start();
          const refreshedTwice = (): boolean =>
            traffic.sessions.every(
              (s) => traffic.answers.filter((a) => a.session === s.index && a.status === 200).length >= 2,
            );
          await until(refreshedTwice, 'every session refreshed twice before the kill');

          const oldMaster = await set.killMaster();
          const killedAt = Date.now();
          traffic.startLogouts();
          const newMaster = await set.waitForFailover(CAP);
          const failoverMs = Date.now() - killedAt;
          const backAfterKill = (index: number): boolean =>
            traffic.answers.some(
              (a) => a.session === index && a.at > killedAt && a.route !== 'checked' && a.status < 300,
            );
          await until(
            () => traffic.sessions.every((s) => backAfterKill(s.index)),
            'every session answered 2xx after the kill',
            CAP,
          );
          await traffic.stop();

          const after = traffic.answers.filter((a) => a.at >= killedAt);
          const firstBack = after
            .filter((a) => a.route === 'refresh' && a.status === 200)
            .reduce((min, a) => Math.min(min, a.settled), Infinity);
          const gap = firstBack - killedAt;
          const refused = after.filter((a) => a.route !== 'checked' && a.status === 503).length;
          gaps.push(`${name} ${gap} ms`);
          console.log(
            `      ${name}: master ${oldMaster} killed, ${newMaster} named after ${failoverMs} ms;` +
              ` gap to the first refresh 200: ${gap} ms; refresh/logout 503s after the kill: ${refused}`,
          );
          console.log(`      answers: ${summary(traffic.answers)}`);

          // Only 200/204 and 503 on refresh and logout (never 500, never a 401: no session lost), 200 or 503 on the checked route.
          const wrong = traffic.answers.filter((a) =>
            a.route === 'checked' ? a.status !== 200 && a.status !== 503 : ![200, 204, 503].includes(a.status),
          );
          expect(wrong, JSON.stringify(wrong.slice(0, 5))).to.deep.equal([]);
          expect(app.unexpected).to.deep.equal([]);
          expect(refused, 'refresh and logout answered 503 in the gap').to.be.greaterThan(0);

          // No session lost: each refreshes again with the token it was last given (one whose last answer was a 503 presents it again).
          for (const session of traffic.sessions.filter((s) => !s.leaver)) {
            const { status, body } = await traffic.ask('refresh', session, session.refreshToken);
            expect(
              status,
              `session ${session.index} (last answer ${session.lastOk ? 200 : 503}): ${JSON.stringify(body)}`,
            ).to.equal(200);
          }
          // No false success: every 204 logout stays logged out.
          const leavers = traffic.sessions.filter((s) => s.leaver);
          expect(
            leavers.every((s) => s.loggedOut),
            'every leaver logged out',
          ).to.equal(true);
          for (const session of leavers) {
            const { status, body } = await traffic.ask('refresh', session, session.refreshToken);
            expect(status, `logged-out session ${session.index}: ${JSON.stringify(body)}`).to.equal(401);
          }
          await until(
            async () => {
              for (const session of leavers) {
                if ((await traffic.ask('checked', session, session.accessToken)).status !== 401) return false;
              }
              return true;
            },
            'every logged-out access token refused on the checked route',
            CAP,
          );
        } finally {
          await traffic.stop();
          await app.close();
        }
      });

      if (name !== 'ioredis sentinels') {
        it('refuses a WAIT sent after the client changed masters (it would count no write of this connection)', async () => {
          const send = boundedSendCommand(setup!.client, 5000);
          const key = `${uniquePrefix()}wait`;
          await send(['EVAL', "return redis.call('SET', KEYS[1], '1')", '1', key]);
          await set.killMaster();
          await set.waitForFailover(CAP);
          const sentinel = setup!.client as { getMasterNode(): { port: number } | undefined };
          // The client usually follows within seconds (the test above shows it serving again). Once, on
          // a loaded CI machine, node-redis v5 had not within 60 s: the WAIT must be refused then too.
          const followed = await until(
            async () => {
              await send(['TIME']).catch(() => {});
              return sentinel.getMasterNode()?.port === set.masterPort;
            },
            'the client follows the new master',
            CAP,
          ).then(
            () => true,
            () => false,
          );
          if (!followed) console.log(`      ${name}: the client had not followed the new master; WAIT sent anyway`);
          const outcome = await send(['WAIT', '1', '500']).then(
            (reply) => `acknowledged by ${String(reply)}`,
            (error: unknown) => error,
          );
          expect(outcome).to.be.instanceOf(StoreUnavailableError);
        });
      }
    });
  }
});
