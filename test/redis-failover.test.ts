/**
 * RedisSessionStore through Redis Cluster failovers, under continuous refresh:
 * 30 users on a real local cluster (3 masters + 3 replicas) each keep
 * refreshing through a TokenAuth (reuse grace 5 s, store timeout 800 ms; on a
 * 503 they wait the Retry-After second and present the same token again)
 * while the master of some of them is SIGKILLed and its replica takes over,
 * three times per client (the old master rejoining as a replica in between,
 * and in sync before the next kill: see `RedisCluster.restartNode`).
 * No session may be lost: every refresh returns a new pair or a 503, never a
 * 401; every user refreshes again after each failover; each user's last
 * token still refreshes. Prints, per client and kill, how long the users on
 * the killed shard were refused.
 */
import { expect } from 'chai';
import { createTokenAuth, MemorySessionStore } from '../lib/index.js';
import { RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import { connectCluster, deleteClusterPrefix, type ClusterClientName } from './helpers/redis-cluster-clients.js';
import {
  explain,
  failoverAuth,
  finalRefresh,
  killDuringRefresh,
  loginUsers,
  refreshLoops,
  type KillReport,
  type Outcome,
  type User,
} from './helpers/failover.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

const USERS = 30;
const KILLS = 3;
/** The store's timeout, ms. */
const TIMEOUT = 800;
/** Pause between a user's successful refreshes, ms. */
const PACE = 100;
/** Longest wait, from a kill, for every user to refresh twice after the failover, ms. */
const CAP = 30_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
/** A gap of `report`, or how long was waited for it in vain (cut short by a lost session, or the cap). */
const gap = (report: KillReport, ms: number | undefined): string =>
  ms !== undefined
    ? secs(ms)
    : report.lost
      ? `not within ${secs(report.waited)} (a session was lost)`
      : `not within ${secs(report.waited)}`;

function describeKill(report: KillReport): string {
  return (
    `master ${report.port} (${report.users} users): failover ${secs(report.failover)}, first user back` +
    ` ${gap(report, report.firstBack)}, all back ${gap(report, report.allBack)} after the kill; ${report.refused} refusals (503)`
  );
}

describe('RedisSessionStore through Redis Cluster failovers (SIGKILLed master, continuous refresh)', function () {
  reportDuration('cluster failover suite');
  this.timeout(60_000);
  let cluster: RedisCluster;
  const gaps = new Map<ClusterClientName, KillReport[]>();

  before(async function () {
    requireCluster(this);
    cluster = await RedisCluster.start();
  });
  after(async () => {
    if (gaps.size > 0) {
      console.log('      from a kill: first user of the killed shard back / all of them back');
      for (const [name, reports] of gaps) {
        console.log(
          `        ${name.padEnd(14)} ${reports.map((r) => `${gap(r, r.firstBack)} / ${gap(r, r.allBack)}`).join(';  ')}`,
        );
      }
    }
    await cluster?.stop();
  });

  it('the loops tell a 401 from a 503 (a lost session would be seen)', async () => {
    const auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH, reuseGrace: 0 },
      store: new MemorySessionStore(),
    });
    const first = await auth.issue({ userId: 'reused' });
    await auth.refresh(first.refreshToken);
    const user: User = { id: 'reused', master: 0, token: first.refreshToken };
    const outcome = await finalRefresh(auth, user);
    expect(outcome.kind).to.equal('other');
    expect(outcome.detail).to.match(/^RefreshReusedError/);
    expect(explain(outcome, [outcome], outcome.at)).to.contain('reused: RefreshReusedError');
  });

  for (const name of ['node-redis v5', 'node-redis v6', 'ioredis', 'node-redis v4'] as const) {
    it(
      `${name}: over ${KILLS} kills, no session lost (only new pairs or 503s), every user back after each failover,` +
        ' every last token still refreshes',
      async function () {
        this.timeout(3 * CAP);
        const setup = await connectCluster(name, cluster);
        const prefix = uniquePrefix();
        const reports: KillReport[] = [];
        gaps.set(name, reports);
        try {
          const auth = failoverAuth(setup.client, prefix, TIMEOUT);
          const users = await loginUsers(auth, cluster, prefix, USERS);
          expect(new Set(users.map((u) => u.master)).size, 'users on every master').to.equal(3);
          for (let kill = 0; kill < KILLS; kill++) {
            const target = cluster.masters()[kill % 3]!.port;
            const victims = users.filter((u) => u.master === target);
            const outcomes: Outcome[] = [];
            const stop = { stopped: false };
            const loops = refreshLoops(auth, users, outcomes, stop, PACE);
            await sleep(300);
            expect(victims, `users on master ${target}`).not.to.deep.equal([]);
            let report: KillReport;
            try {
              report = await killDuringRefresh(cluster, users, victims, outcomes, { cap: CAP });
            } finally {
              stop.stopped = true;
              await loops;
            }
            reports.push(report);
            const { killedAt } = report;
            console.log(`      kill ${kill + 1}: ${describeKill(report)}`);

            const lost = outcomes.filter((o) => o.kind === 'other');
            expect(
              lost.map((o) => explain(o, outcomes, killedAt)),
              'refreshes answered neither a new pair nor a 503',
            ).to.deep.equal([]);
            const failedOverAt = killedAt + report.failover;
            const behind = users.filter(
              (u) => outcomes.filter((o) => o.user === u.id && o.kind === 'ok' && o.at >= failedOverAt).length < 2,
            );
            expect(
              behind.map((u) => `${u.id} (master ${u.master})`),
              `users without 2 refreshes within ${CAP} ms of the kill`,
            ).to.deep.equal([]);
            for (const o of outcomes.filter((x) => x.kind === 'ok'))
              expect(o.detail, 'a new token').not.to.equal(o.presented);

            await cluster.restartNode(report.port);
            for (const user of users) user.master = (await cluster.masterForKey(`${prefix}{${user.id}}`)).port;
          }
          const last = await Promise.all(users.map((user) => finalRefresh(auth, user)));
          expect(
            last.filter((o) => o.kind !== 'ok').map((o) => `${o.user}: ${o.detail}`),
            'last tokens that no longer refresh',
          ).to.deep.equal([]);
        } finally {
          for (const node of cluster.nodes) if (!node.alive) await cluster.restartNode(node.port);
          await setup.close();
          await deleteClusterPrefix(cluster, prefix);
        }
      },
    );
  }
});
