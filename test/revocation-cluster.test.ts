/**
 * checkRevocation on a real Redis Cluster (3 masters + 3 replicas), through
 * node-redis v5 and ioredis cluster clients: two instances (two stores, two
 * views); A ends sessions, B follows every shard's stream (16 shards). A
 * revocation on A is refused on B's checked routes within a poll; an ending
 * and its entry are one script in one slot; and whenever B cannot prove it
 * read every entry of a shard (trimmed past its last id, deleted, deleted and
 * written again, a reshard that lost the slot's keys, a start after a trim),
 * B's checked routes answer 503 for tokens not known ended, plain routes keep
 * working, and B recovers. A reshard that moves the keys (MIGRATE) loses nothing.
 */
import { expect } from 'chai';
import { RedisSessionStore, StoreUnavailableError, TokenRevokedError, type TokenAuth } from '../lib/index.js';
import { slotOf } from '../lib/stores/redis/layout.js';
import { RedisCluster, requireCluster, reportDuration } from './helpers/redis-cluster.js';
import { connectCluster, deleteClusterPrefix, type ClusterSetup } from './helpers/redis-cluster-clients.js';
import { uniquePrefix } from './helpers/redis-server.js';
import { sleep, StepGate, TwoInstances, waitFor } from './helpers/revocation-cluster.js';

describe('checkRevocation on a Redis Cluster (3 masters + 3 replicas, 16 shards)', function () {
  reportDuration('cluster revocation suite');
  this.timeout(120_000);
  let cluster: RedisCluster;
  const started = performance.now();

  before(async function () {
    requireCluster(this);
    cluster = await RedisCluster.start();
  });
  after(async () => {
    await cluster?.stop();
    console.log(`      (revocation-cluster: ${Math.round((performance.now() - started) / 1000)} s)`);
  });

  for (const name of ['node-redis v5', 'ioredis'] as const) {
    describe(`with ${name}`, () => {
      let setups: ClusterSetup[];
      let t: TwoInstances;

      beforeEach(async () => {
        setups = [await connectCluster(name, cluster), await connectCluster(name, cluster)];
        t = new TwoInstances(setups[0]!, setups[1]!, uniquePrefix());
      });
      afterEach(async () => {
        try {
          await t.close();
          await deleteClusterPrefix(cluster, t.prefix);
        } finally {
          for (const setup of setups) await setup.close();
        }
      });

      it('refuses on B, within a poll, a session ended on A: 50 revocations over every shard', async () => {
        const a = t.instanceA();
        const b = t.instanceB(new StepGate(setups[1]!));
        t.clockB = () => Date.now();
        await b.auth.watchRevocations();
        const delays: number[] = [];
        for (let i = 0; i < 50; i += 1) {
          const pair = await a.issue({ userId: `delay-${i}` });
          const context = b.auth.verifyAccessToken(pair.accessToken);
          b.auth.checkRevocation(context);
          // At every phase of B's poll (a revocation right after B's poll waits a whole interval).
          await sleep((i * 53) % 250);
          await a.revoke(pair.refreshToken);
          const ended = performance.now();
          await waitFor(`revocation ${i} on B`, () => refused(b.auth, context));
          delays.push(performance.now() - ended);
        }
        delays.sort((x, y) => x - y);
        const median = Math.round(delays[25]!);
        const max = Math.round(delays.at(-1)!);
        console.log(`      (${name}: revocation on A refused on B after median ${median} ms, max ${max} ms, n=50)`);
      });

      it("fails an ending whose shard stream cannot be written, with nothing ended; other shards' endings go on", async () => {
        const a = t.instanceA();
        const [victim, bystander] = [t.usersIn(3, 1, 'v')[0]!, t.usersIn(5, 1, 'b')[0]!];
        const stream = t.layout.stream(victim)!;
        const pair = await a.issue({ userId: victim });
        const other = await a.issue({ userId: bystander });
        await t.admin(stream, ['SET', stream, 'not a stream']);
        let failure: unknown;
        try {
          await a.revoke(pair.refreshToken);
        } catch (error) {
          failure = error;
        }
        expect(failure).to.be.instanceOf(StoreUnavailableError);
        await expectRejects(a.revokeAll(victim), StoreUnavailableError);
        expect(await a.listSessions(victim), 'nothing ended').to.have.length(1);
        const next = await a.refresh(pair.refreshToken);
        expect(next.refreshToken, 'the session still refreshes').to.be.a('string');
        expect(await a.revoke(other.refreshToken), 'another shard').to.equal(true);
        await t.admin(stream, ['DEL', stream]);
        expect(await a.revoke(next.refreshToken)).to.equal(true);
      });

      /** A and B (B following), and users of shard 7: `ended` and `other` of it, `live` elsewhere. */
      async function gapSetup(): Promise<{
        a: TokenAuth;
        gate: StepGate;
        b: ReturnType<TwoInstances['instanceB']>;
        stream: string;
        users: string[];
      }> {
        const a = t.instanceA();
        const gate = new StepGate(setups[1]!);
        const b = t.instanceB(gate);
        await b.auth.watchRevocations();
        const users = t.usersIn(7, 4, 'g');
        return { a, gate, b, stream: t.layout.stream(users[0]!)!, users };
      }

      it('a shard stream trimmed past B’s last id while B was cut off: 503 until the missed window expires', async () => {
        const { a, gate, b, stream, users } = await gapSetup();
        const ended = await a.issue({ userId: users[0]! });
        const other = await a.issue({ userId: users[1]! });
        const live = await a.issue({ userId: 'live' });
        expect((await b.get('/checked', ended)).status, 'before').to.equal(200);
        await gate.hold(stream);
        await a.revoke(ended.refreshToken);
        await a.revoke(other.refreshToken);
        const ids = await t.streamIds(stream);
        expect(ids).to.have.length(2);
        await t.admin(stream, ['XTRIM', stream, 'MINID', ids[1]!]);
        await gate.open();
        await waitFor('B to read the entry left', async () => (await b.get('/checked', other)).status === 401);
        await t.expectClosedUntilExpired(b, ended, live);
      });

      it('a shard stream deleted while B was cut off: 503', async () => {
        const { a, gate, b, stream, users } = await gapSetup();
        const first = await a.issue({ userId: users[0]! });
        await a.revoke(first.refreshToken);
        await waitFor('B to read the first entry', async () => (await b.get('/checked', first)).status === 401);
        const ended = await a.issue({ userId: users[1]! });
        const live = await a.issue({ userId: 'live' });
        await gate.hold(stream);
        await a.revoke(ended.refreshToken);
        await t.admin(stream, ['DEL', stream]);
        await gate.open();
        await t.expectClosedUntilExpired(b, ended, live);
      });

      it('a shard stream deleted and written again while B was cut off: 503', async () => {
        const { a, gate, b, stream, users } = await gapSetup();
        const first = await a.issue({ userId: users[0]! });
        await a.revoke(first.refreshToken);
        await waitFor('B to read the first entry', async () => (await b.get('/checked', first)).status === 401);
        const ended = await a.issue({ userId: users[1]! });
        const other = await a.issue({ userId: users[2]! });
        const live = await a.issue({ userId: 'live' });
        await gate.hold(stream);
        await a.revoke(ended.refreshToken);
        await t.admin(stream, ['DEL', stream]);
        await a.revoke(other.refreshToken);
        await gate.open();
        await waitFor('B to read the new stream', async () => (await b.get('/checked', other)).status === 401);
        await t.expectClosedUntilExpired(b, ended, live);
      });

      it('B started after a shard stream was trimmed: 503 until what it missed could no longer matter', async () => {
        const a = t.instanceA();
        const users = t.usersIn(9, 2, 'c');
        const stream = t.layout.stream(users[0]!)!;
        const ended = await a.issue({ userId: users[0]! });
        const other = await a.issue({ userId: users[1]! });
        const live = await a.issue({ userId: 'live' });
        await a.revoke(ended.refreshToken);
        await a.revoke(other.refreshToken);
        await t.admin(stream, ['XTRIM', stream, 'MINID', (await t.streamIds(stream))[1]!]);
        const b = t.instanceB(new StepGate(setups[1]!));
        await b.auth.watchRevocations();
        expect((await b.get('/checked', other)).status, 'the entry it read').to.equal(401);
        await t.expectClosedUntilExpired(b, ended, live);
      });

      for (const keys of ['migrate', 'drop'] as const) {
        const what =
          keys === 'migrate'
            ? 'a reshard that moves a shard’s slot (MIGRATE) while B is cut off loses nothing: the ended session is refused, no gap'
            : 'a reshard that loses a shard’s slot keys while B is cut off: 503 until the missed window expires';
        it(what, async () => {
          const { a, gate, b, stream, users } = await gapSetup();
          const ended = await a.issue({ userId: users[0]! });
          const first = await a.issue({ userId: users[1]! });
          const live = await a.issue({ userId: 'live' });
          await a.revoke(first.refreshToken);
          await waitFor('B to read the first entry', async () => (await b.get('/checked', first)).status === 401);
          await gate.hold(stream);
          await a.revoke(ended.refreshToken);
          const slot = slotOf(stream);
          const from = await cluster.masterForSlot(slot);
          const to = cluster.masters().find((m) => m.port !== from.port)!;
          await cluster.moveSlot(slot, to.port, { keys });
          await gate.open();
          if (keys === 'drop') {
            await t.expectClosedUntilExpired(b, ended, live);
            return;
          }
          await waitFor('B to read the moved stream', async () => (await b.get('/checked', ended)).status !== 200);
          expect((await b.get('/checked', ended)).status).to.equal(401);
          expect((await b.get('/checked', live)).status, 'no gap').to.equal(200);
          const moved = await a.issue({ userId: users[2]! });
          await a.revoke(moved.refreshToken);
          await waitFor('B to follow the shard on its new master', async () => {
            return (await b.get('/checked', moved)).status === 401;
          });
        });
      }

      it('a read Redis ran before a logout, answered after it, then a silent shard: refused once revocationMaxLag has passed since the logout', async () => {
        const maxLag = 1000;
        const gate = new StepGate(setups[1]!);
        const b = t.instanceB(gate, maxLag);
        t.clockB = () => Date.now();
        await b.auth.watchRevocations();
        const a = t.instanceA();
        const user = t.usersIn(11, 1, 'late')[0]!;
        const stream = t.layout.stream(user)!;
        const ended = await a.issue({ userId: user });
        const context = b.auth.verifyAccessToken(ended.accessToken);
        const step = gate.delayNext(stream);
        await step.answered; // Redis has read the stream: the logout is not in that read
        await a.revoke(ended.refreshToken);
        const acknowledged = performance.now();
        await sleep(300);
        const held = gate.hold(stream);
        step.release(); // the old read's reply arrives now, 300 ms after the logout; then the shard goes silent
        await held;
        await waitFor(
          'revocationMaxLag to pass since the logout',
          () => performance.now() > acknowledged + maxLag + 100,
        );
        let answer = 'accepted';
        try {
          b.auth.checkRevocation(context);
        } catch (error) {
          answer = error instanceof Error ? error.message : String(error);
        }
        expect(answer, 'the ended session, revocationMaxLag after its logout').to.not.equal('accepted');
        await gate.open();
        await waitFor('B to read the logout', () => refused(b.auth, context));
      });

      it('one silent shard makes B refuse ("not current"): lastContact() is the oldest shard’s, per streams()', async () => {
        const gate = new StepGate(setups[1]!);
        const b = t.instanceB(gate);
        t.clockB = () => Date.now();
        await b.auth.watchRevocations();
        const stream = t.layout.streams[2]!;
        const pair = await t.instanceA().issue({ userId: 'contact' });
        expect((await b.get('/checked', pair)).status).to.equal(200);
        // The same feed, seen from outside: one row per shard.
        const feed = new RedisSessionStore({
          sendCommand: gate.send,
          cluster: true,
          prefix: t.prefix,
        }).revocations();
        try {
          await feed.follow(() => {}, 0, { maxLag: 1000 });
          expect(feed.streams!().map((row) => row.name)).to.deep.equal(t.layout.streams);
          await gate.hold(stream);
          const silent = (): number => feed.streams!().find((row) => row.name === stream)!.lastContact;
          const heldAt = silent();
          await waitFor('the other shards to be heard from again', () =>
            feed.streams!().every((row) => row.name === stream || row.lastContact > heldAt),
          );
          expect(feed.lastContact(), 'the oldest shard').to.equal(silent());
          // Silent for longer than revocationMaxLag (default 5 s): B refuses.
          await waitFor(
            'B to stop trusting a view with one silent shard',
            async () => {
              return (await b.get('/checked', pair)).status === 503;
            },
            20_000,
          );
          expect((await b.get('/checked', pair)).body).to.deep.include({ message: 'revocation record is not current' });
          expect((await b.get('/plain', pair)).status).to.equal(200);
          await gate.open();
          await waitFor('B to trust it again', async () => (await b.get('/checked', pair)).status === 200);
        } finally {
          await feed.close();
        }
      });
    });
  }
});

function refused(auth: TokenAuth, context: ReturnType<TokenAuth['verifyAccessToken']>): boolean {
  try {
    auth.checkRevocation(context);
    return false;
  } catch (error) {
    if (error instanceof TokenRevokedError) return true;
    throw error;
  }
}

async function expectRejects(work: Promise<unknown>, type: new (...args: never[]) => Error): Promise<void> {
  let failure: unknown;
  try {
    await work;
  } catch (error) {
    failure = error;
  }
  expect(failure).to.be.instanceOf(type);
}
