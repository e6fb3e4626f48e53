/**
 * The Cluster layout of the revocation record (lib/stores/redis/layout.ts):
 * shard tags in their slot ranges, users spread by slot, and keys that never
 * collide, whatever `{`, `}` or `:` a user id holds.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { shardedLayout, shardOf, shardTag, singleLayout, SLOTS } from '../lib/stores/redis/layout.js';
import { OptionError, RedisSessionStore } from '../lib/index.js';

const slotOf = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;
/** The slot Redis Cluster gives a key: that of its hash tag (the first `{...}`, non-empty), else the whole key. */
const keySlot = (key: string): number => slotOf(key);

describe('Redis Cluster layout of the revocation record', () => {
  it("finds each shard's tag in the shard's slot range, the same every time", () => {
    for (const shards of [1, 3, 16, 64, 256, 1024]) {
      const layout = shardedLayout('etp:', shards);
      expect(layout.streams).to.have.length(shards);
      layout.streams.forEach((stream, i) => {
        const slot = keySlot(stream);
        expect(slot, `${stream} (shard ${i} of ${shards})`).to.be.at.least(Math.ceil((i * SLOTS) / shards));
        expect(slot, `${stream} (shard ${i} of ${shards})`).to.be.below(Math.ceil(((i + 1) * SLOTS) / shards));
        expect(stream).to.equal(`etp:{${shardTag(i, shards)}}revocations`);
      });
      expect(new Set(layout.streams).size).to.equal(shards);
    }
    expect(shardTag(0, 16)).to.equal(shardTag(0, 16));
  });

  it("puts a user's sessions, cut-off and shard stream in one slot, the shard floor(slot(userId) * shards / 16384)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '{', '}', ':', 'u', 'c', '1', 'é') }),
        fc.integer({ min: 1, max: 64 }),
        (userId, shards) => {
          const layout = shardedLayout('p:', shards);
          const shard = shardOf(userId, shards);
          expect(shard).to.equal(Math.floor((slotOf(userId) * shards) / SLOTS));
          const slot = keySlot(layout.user(userId));
          expect(keySlot(layout.cutOff(userId))).to.equal(slot);
          expect(layout.stream(userId)).to.equal(layout.streams[shard]);
          expect(keySlot(layout.stream(userId)!)).to.equal(slot);
        },
      ),
    );
  });

  it('never gives two users, or a user and a cut-off, or either and a stream, the same key', () => {
    const odd = fc.string({
      unit: fc.constantFrom('a', '{', '}', ':', 'u', 'c', 'r', 'cutoff', 'revocations', 'u:', 'c:'),
    });
    for (const layout of [shardedLayout('p:', 1), shardedLayout('p:', 16), singleLayout('p:', true)]) {
      fc.assert(
        fc.property(odd, odd, (a, b) => {
          const keys = (id: string): string[] => [layout.user(id), layout.cutOff(id)];
          const [userA, cutA] = keys(a);
          const [userB, cutB] = keys(b);
          expect(userA).to.not.equal(cutB);
          expect(cutA).to.not.equal(userB);
          if (a !== b) {
            expect(userA).to.not.equal(userB);
            expect(cutA).to.not.equal(cutB);
          }
          for (const stream of layout.streams) expect([userA, cutA]).to.not.include(stream);
        }),
        { numRuns: 2000 },
      );
    }
    // The obvious collisions of a `<user key>:cutoff` spelling in one shard: spelled apart here.
    const layout = shardedLayout('p:', 1);
    expect(layout.user('alice:cutoff')).to.not.equal(layout.cutOff('alice'));
    expect(layout.user('c:alice')).to.not.equal(layout.cutOff('alice'));
  });

  it('refuses shards off a cluster, without a record, or out of 1..1024, naming the option', () => {
    const send = async (): Promise<unknown> => null;
    const cases: Array<[object, string]> = [
      [{ sendCommand: send, shards: 16 }, 'shards is for a Redis Cluster only'],
      [{ sendCommand: send, cluster: true, shards: 0 }, 'shards must be a whole number from 1 to 1024 (got 0)'],
      [{ sendCommand: send, cluster: true, shards: 1025 }, 'shards must be a whole number from 1 to 1024 (got 1025)'],
      [{ sendCommand: send, cluster: true, shards: 2.5 }, 'shards must be a whole number from 1 to 1024 (got 2.5)'],
      [{ sendCommand: send, cluster: true, revocationRecord: false, shards: 4 }, 'shards needs the revocation record'],
      [{ sendCommand: send, cluster: 'yes' }, 'cluster must be a boolean'],
    ];
    for (const [options, message] of cases) {
      expect(() => new RedisSessionStore(options), message).to.throw(OptionError, `RedisSessionStore: ${message}`);
    }
  });

  it('with sendCommand and cluster: true, sends sharded keys and follows every shard without blockingSendCommand', async () => {
    const sent: string[][] = [];
    const store = new RedisSessionStore({
      sendCommand: async (args) => {
        sent.push(args);
        return args[0] === 'TIME' ? ['1800000000', '0'] : 'unknown';
      },
      cluster: true,
      shards: 4,
      prefix: 'p:',
    });
    const feed = store.revocations();
    expect(feed.streams!()).to.have.length(4);
    await feed.close();
    await store.revoke({ now: 1, revocationTtl: 900, userId: 'a{b}', sessionId: 's', grace: 0 });
    const layout = shardedLayout('p:', 4);
    const script = sent.find((args) => args[0] === 'EVALSHA')!;
    expect(script.slice(2, 7)).to.deep.equal([
      '4',
      layout.user('a{b}'),
      layout.cutOff('a{b}'),
      layout.proofs('a{b}'),
      layout.stream('a{b}'),
    ]);
  });
});
