/**
 * The revocation feed's proof that it read every entry (redis-stream-proof.ts),
 * step by step on made-up XINFO STREAM snapshots, and the replies it reads.
 * Ids here are `<ms>-0`; a step's `now` is Redis's time in seconds.
 */
import { expect } from 'chai';
import { StreamProof } from '../lib/revocation/redis-stream-proof.js';
import { parseId, parseStreamInfo, type StreamInfo } from '../lib/revocation/redis-stream-replies.js';

const NOW = 2_000_000;
const id = (ms: number): bigint => parseId(`${ms}-0`);

/** A stream to which entries 1..added were added (at ms 1000 × i), of which `kept` are left. */
function stream(added: number, kept: number[], maxDeleted = 0): StreamInfo {
  return {
    length: kept.length,
    added,
    last: id(1000 * added),
    maxDeleted: id(maxDeleted),
    first: kept.length > 0 ? id(1000 * kept[0]!) : undefined,
  };
}
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A proof that has read entries 1..n of a stream with all of them kept. */
function readUpTo(n: number): StreamProof {
  const proof = new StreamProof();
  expect(proof.step(stream(n, range(1, n)), 0n, n, id(1000 * n), NOW)).to.deep.equal({
    through: undefined,
    resume: id(1000 * n),
  });
  return proof;
}

describe('Revocation feed: the proof that nothing was missed', () => {
  it('trusts, at start, a stream from which nothing was removed, and a missing one', () => {
    expect(new StreamProof().step(stream(3, [1, 2, 3]), 0n, 3, id(3000), NOW).through).to.equal(undefined);
    expect(new StreamProof().step(undefined, 0n, 0, 0n, NOW).through).to.equal(undefined);
  });

  it('at start, a trimmed stream is a gap through the entry before the first one kept', () => {
    // Entries 1..4 trimmed: whatever they were, none is later than just below entry 5 (5 s).
    const result = new StreamProof().step(stream(6, [5, 6]), 0n, 2, id(6000), NOW);
    expect(result.through).to.equal(4);
    expect(result.resume).to.equal(id(5000) - 1n);
  });

  it('goes on without a gap while trimming takes only entries it read (its own last id included)', () => {
    const proof = readUpTo(3);
    expect(proof.step(stream(5, [3, 4, 5]), id(3000), 2, id(5000), NOW).through, 'trimmed below its last id').to.equal(
      undefined,
    );
    expect(proof.step(stream(5, []), id(5000), 0, id(5000), NOW).through, 'everything, its last id too').to.equal(
      undefined,
    );
    expect(proof.step(stream(6, [6]), id(5000), 1, id(6000), NOW).through, 'a new one after').to.equal(undefined);
  });

  it('finds a gap when entries after its last id were trimmed unread, through the last one that can be gone', () => {
    const proof = readUpTo(3);
    const result = proof.step(stream(8, [7, 8]), id(3000), 2, id(8000), NOW);
    expect(result.through, 'entries 4..6 gone').to.equal(6);
    expect(proof.step(stream(8, [7, 8]), result.resume, 2, id(8000), NOW).through, 'then goes on').to.equal(undefined);
  });

  it("finds a gap when an entry after its last id was XDEL'd", () => {
    const proof = readUpTo(3);
    expect(proof.step(stream(6, [1, 2, 3, 4, 6], 5000), id(3000), 2, id(6000), NOW).through).to.equal(6);
  });

  it('finds the entry a blocking read could not see because it was trimmed before that read', () => {
    const proof = readUpTo(3);
    proof.delivered(2); // entries 5 and 6; entry 4 was trimmed away first
    expect(proof.step(stream(6, [5, 6]), id(6000), 0, id(6000), NOW).through).to.equal(4);
  });

  it("takes a stream that is gone, or another one in its place, as a gap through Redis's time now", () => {
    expect(readUpTo(3).step(undefined, id(3000), 0, id(3000), NOW), 'deleted').to.deep.equal({
      through: NOW,
      resume: 0n,
    });
    expect(readUpTo(3).step(stream(2, [1, 2]), id(3000), 0, id(3000), NOW).through, 'fewer ever added').to.equal(NOW);
    // Deleted and written again with 5 entries, ids past the old ones: the counts fit, the ids do not.
    const again: StreamInfo = { length: 5, added: 5, last: id(9000), maxDeleted: 0n, first: id(5000) };
    expect(
      readUpTo(3).step(again, id(3000), 3, id(7000), NOW).through,
      'first entry above the anchor with none removed',
    ).to.equal(NOW);
    const lower: StreamInfo = { length: 4, added: 4, last: id(2500), maxDeleted: 0n, first: id(1) };
    expect(readUpTo(3).step(lower, id(3000), 0, id(3000), NOW).through, 'ids below its last id').to.equal(NOW);
    const counted: StreamInfo = { length: 4, added: 4, last: id(4000), maxDeleted: 0n, first: id(1000) };
    expect(readUpTo(3).step(counted, id(3000), 2, id(4000), NOW).through, 'read to the end, counts off').to.equal(NOW);
  });

  it('after a stream is gone, a new one is read from its start without another gap', () => {
    const proof = readUpTo(3);
    expect(proof.step(undefined, id(3000), 0, id(3000), NOW).through).to.equal(NOW);
    expect(proof.step(undefined, 0n, 0, 0n, NOW).through, 'still gone').to.equal(undefined);
    expect(proof.step(stream(1, [1]), 0n, 1, id(1000), NOW).through, 'written again').to.equal(undefined);
  });
});

describe('Revocation feed: reading XINFO STREAM', () => {
  const flat = [
    'length',
    2,
    'radix-tree-keys',
    1,
    'radix-tree-nodes',
    2,
    'last-generated-id',
    '9-1',
    'max-deleted-entry-id',
    '0-0',
    'entries-added',
    5,
    'recorded-first-entry-id',
    '8-0',
    'groups',
    0,
    'first-entry',
    ['8-0', ['k', 's']],
    'last-entry',
    ['9-1', ['k', 's']],
  ];
  const wanted: StreamInfo = { length: 2, added: 5, last: parseId('9-1'), maxDeleted: 0n, first: parseId('8-0') };

  it('reads RESP2 arrays, RESP3 objects and Maps alike', () => {
    const pairs: Array<[unknown, unknown]> = [];
    for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i], flat[i + 1]]);
    expect(parseStreamInfo(flat)).to.deep.equal(wanted);
    expect(parseStreamInfo(Object.fromEntries(pairs))).to.deep.equal(wanted);
    expect(parseStreamInfo(new Map(pairs))).to.deep.equal(wanted);
    expect(
      parseStreamInfo([...flat.slice(0, 16), 'first-entry', null, 'last-entry', null].map((v, i) => (i === 1 ? 0 : v))),
    ).to.deep.equal({ ...wanted, length: 0, first: undefined });
  });

  it('refuses a reply without the Redis 7 counters, or one it cannot read', () => {
    const old = flat.slice(0, 8).concat(flat.slice(12));
    expect(() => parseStreamInfo(old)).to.throw('the revocation feed needs Redis 7.0 or later');
    expect(() => parseStreamInfo('OK')).to.throw(Error);
    expect(() => parseStreamInfo(flat.map((v) => (v === '9-1' ? 'nine' : v)))).to.throw('unexpected stream id');
  });
});
