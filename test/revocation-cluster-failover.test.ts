/**
 * A Redis Cluster master SIGKILLed while logouts run through two instances
 * (each with its own cluster client, store `waitForReplicas: 1`, and view
 * with `revocationMaxLag` 1 s), through node-redis v5 and ioredis: no revoked
 * token is ever accepted on a checked route of either instance once
 * `revocationMaxLag` has passed since its logout was acknowledged (before,
 * during and after the failover), and no acknowledged logout is undone (its
 * refresh token never works again), on either instance.
 */
import { expect } from 'chai';
import {
  createTokenAuth,
  RedisSessionStore,
  StoreUnavailableError,
  TokenRevokedError,
  type AuthContext,
  type TokenAuth,
  type TokenPair,
} from '../lib/index.js';
import { RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import { connectCluster, deleteClusterPrefix, type ClusterSetup } from './helpers/redis-cluster-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { sleep, waitFor } from './helpers/revocation-cluster.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

const MAX_LAG = 1000;
const SESSIONS = 40;

interface Acknowledged {
  pair: TokenPair;
  context: AuthContext;
  /** performance.now() when the logout was answered. */
  at: number;
}

describe('checkRevocation through a Redis Cluster failover (SIGKILL of a master, waitForReplicas: 1)', function () {
  reportDuration('cluster revocation failover suite');
  this.timeout(180_000);
  let cluster: RedisCluster;
  const started = performance.now();

  before(async function () {
    requireCluster(this);
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.stop();
    console.log(`      (revocation-cluster-failover: ${Math.round((performance.now() - started) / 1000)} s)`);
  });

  for (const name of ['node-redis v5', 'ioredis'] as const) {
    it(`${name}: no revoked token accepted, no acknowledged logout undone`, async () => {
      const setups: ClusterSetup[] = [await connectCluster(name, cluster), await connectCluster(name, cluster)];
      const prefix = uniquePrefix();
      const auths: TokenAuth[] = setups.map((setup) =>
        createTokenAuth({
          accessToken: { secret: ACCESS },
          refreshToken: { secret: REFRESH },
          store: new RedisSessionStore({ client: setup.client, prefix, waitForReplicas: 1 }),
          revocationMaxLag: MAX_LAG,
        }),
      );
      let checking = true;
      let killed: number | undefined;
      try {
        await Promise.all(auths.map((auth) => auth.watchRevocations()));
        const pairs: TokenPair[] = [];
        for (let i = 0; i < SESSIONS; i += 1) pairs.push(await auths[i % 2]!.issue({ userId: `fo-${i}` }));
        const acknowledged: Acknowledged[] = [];
        const failed: string[] = [];
        const accepted: string[] = [];

        // Throughout: every acknowledged logout older than revocationMaxLag is refused on both instances.
        const checker = (async () => {
          while (checking) {
            const now = performance.now();
            for (const ack of acknowledged) {
              if (now - ack.at <= MAX_LAG + 50) continue;
              for (const [i, auth] of auths.entries()) {
                try {
                  auth.checkRevocation(ack.context);
                  accepted.push(`instance ${i} accepted ${ack.context.sessionId} ${Math.round(now - ack.at)} ms after`);
                } catch (error) {
                  if (!(error instanceof TokenRevokedError || error instanceof StoreUnavailableError)) throw error;
                }
              }
            }
            await sleep(10);
          }
        })();

        let failover: Promise<number> | undefined;
        for (let i = 0; i < SESSIONS; i += 1) {
          if (i === 10) {
            killed = await cluster.killMaster();
            failover = cluster.waitForFailover(killed, 30_000);
          }
          const pair = pairs[i]!;
          const instance = auths[(i + 1) % 2]!;
          try {
            expect(await instance.revoke(pair.refreshToken)).to.equal(true);
            acknowledged.push({ pair, context: instance.verifyAccessToken(pair.accessToken), at: performance.now() });
          } catch (error) {
            if (!(error instanceof StoreUnavailableError)) throw error;
            failed.push(pair.refreshToken);
          }
          await sleep(100);
        }
        const tookOver = await failover!;
        // The promoted replica has no replica of its own until the killed node rejoins: until then every
        // write of its shards answers 503 (waitForReplicas: 1). Then the logouts that failed are retried.
        await cluster.restartNode(killed!);
        killed = undefined;
        for (const token of failed) {
          const context = auths[0]!.verifyAccessToken(pairs.find((p) => p.refreshToken === token)!.accessToken);
          await waitFor('a retried logout to be answered', async () => {
            try {
              await auths[0]!.revoke(token); // false when the first try had ended it after all
              acknowledged.push({ pair: pairs.find((p) => p.refreshToken === token)!, context, at: performance.now() });
              return true;
            } catch (error) {
              if (!(error instanceof StoreUnavailableError)) throw error;
              return false;
            }
          });
        }
        // Both views trust the record again, and refuse every ended session.
        await waitFor(
          'both instances to refuse every ended session',
          () =>
            acknowledged.every(({ context }) =>
              auths.every((auth) => {
                try {
                  auth.checkRevocation(context);
                  return false;
                } catch (error) {
                  return error instanceof TokenRevokedError;
                }
              }),
            ),
          30_000,
        );
        await sleep(MAX_LAG + 200);
        checking = false;
        await checker;
        // No acknowledged logout undone: its refresh token is refused (never a new pair) on both instances.
        for (const { pair } of acknowledged) {
          for (const auth of auths) {
            let answer: unknown;
            await waitFor('a refresh answered (not 503)', async () => {
              try {
                answer = await auth.refresh(pair.refreshToken);
              } catch (error) {
                answer = error;
              }
              return !(answer instanceof StoreUnavailableError);
            });
            expect(answer, 'an ended session never refreshes').to.be.instanceOf(TokenRevokedError);
          }
        }
        console.log(
          `      (${name}: ${acknowledged.length - failed.length} logouts acknowledged during the run, ${failed.length}` +
            ` answered 503 and retried; failover in ${tookOver} ms)`,
        );
        expect(accepted, 'revoked tokens accepted on a checked route').to.deep.equal([]);
        expect(acknowledged).to.have.length(SESSIONS);
      } finally {
        checking = false;
        await Promise.all(auths.map((auth) => auth.close()));
        if (killed !== undefined) await cluster.restartNode(killed).catch(() => {});
        await deleteClusterPrefix(cluster, prefix).catch(() => {});
        for (const setup of setups) await setup.close();
      }
    });
  }
});
