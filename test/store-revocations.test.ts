/**
 * The revocation record's own rules; the record itself is part of the store
 * contract (lib/store-contract/revocations.ts, run by test/stores.test.ts
 * against every store and client setup): the feed's connection, and reading
 * XREAD replies in every shape (node-redis v6 answers with a map).
 */
import { expect } from 'chai';
import { OptionError, RedisSessionStore } from '../lib/index.js';
import { parseRead } from '../lib/revocation/redis-feed.js';
import { parseStepReply } from '../lib/revocation/redis-stream-replies.js';

describe('Revocation record: RedisSessionStore options', () => {
  it('refuses revocations() with sendCommand alone, naming blockingSendCommand', () => {
    const store = new RedisSessionStore({ sendCommand: async () => null });
    expect(() => store.revocations()).to.throw(
      OptionError,
      "express-token-pair: RedisSessionStore: checkRevocation needs blockingSendCommand (a second connection's sendCommand, for the revocation feed)",
    );
  });

  it('refuses a blockingSendCommand that is not a function, or is the sendCommand itself', () => {
    const send = async () => null;
    expect(() => new RedisSessionStore({ sendCommand: send, blockingSendCommand: 'x' as never })).to.throw(
      OptionError,
      'RedisSessionStore: blockingSendCommand must be a function',
    );
    expect(() => new RedisSessionStore({ sendCommand: send, blockingSendCommand: send })).to.throw(
      OptionError,
      'blockingSendCommand must send on a second connection, not the one of sendCommand',
    );
  });
});

describe('Revocation feed: reading XREAD replies', () => {
  const entries = [
    ['1-0', ['k', 's', 'id', 'sid-1', 'at', '100']],
    ['2-0', ['k', 'u', 'id', 'user-1', 'at', '101']],
  ];
  const wanted = [
    ['1-0', { kind: 'session', id: 'sid-1', at: 100 }],
    ['2-0', { kind: 'user', id: 'user-1', at: 101 }],
  ];

  it('reads RESP2 arrays, RESP3 objects and Maps alike, and null as nothing', () => {
    const shapes: Array<[string, unknown]> = [
      ['RESP2', [['etp:revocations', entries]]],
      ['RESP3 object', { 'etp:revocations': entries }],
      ['RESP3 Map', new Map([['etp:revocations', entries]])],
      ['RESP3 map as a flat array', ['etp:revocations', entries]],
      [
        'Buffers',
        [
          [
            Buffer.from('etp:revocations'),
            entries.map(([id, f]) => [Buffer.from(id as string), (f as string[]).map((x) => Buffer.from(x))]),
          ],
        ],
      ],
    ];
    for (const [name, reply] of shapes) expect(parseRead(reply), name).to.deep.equal(wanted);
    expect(parseRead(null)).to.deep.equal([]);
  });

  it('passes over an entry that is not a revocation, keeping its id, and refuses a reply it cannot read', () => {
    expect(
      parseRead([
        [
          's',
          [
            ['3-0', ['k', 'x', 'id', 'a', 'at', '1']],
            ['4-0', ['id', 'a']],
          ],
        ],
      ]),
    ).to.deep.equal([
      ['3-0', undefined],
      ['4-0', undefined],
    ]);
    for (const bad of ['OK', 42, [['s', 'nope']], [['s', [['only-id']]]]]) {
      expect(() => parseRead(bad), JSON.stringify(bad)).to.throw(Error);
    }
  });
});

describe('Revocation feed on a Cluster: reading the step script reply', () => {
  const info = ['length', 1, 'entries-added', 3, 'last-generated-id', '5-0', 'max-deleted-entry-id', '0-0'];
  const withFirst = [...info, 'first-entry', ['5-0', ['k', 's', 'id', 'sid-9', 'at', '7']]];

  it('reads {1, XINFO, {key, entries}, TIME} and {0, {}, {key, {}}, TIME} (no such stream)', () => {
    expect(
      parseStepReply([
        1,
        withFirst,
        ['etp:{etp0-1}revocations', [['5-0', ['k', 's', 'id', 'sid-9', 'at', '7']]]],
        ['1800000000', '12'],
      ]),
    ).to.deep.equal({
      info: { length: 1, added: 3, last: 5n << 64n, maxDeleted: 0n, first: 5n << 64n },
      entries: [['5-0', { kind: 'session', id: 'sid-9', at: 7 }]],
      now: 1800000000,
    });
    expect(parseStepReply([0, [], ['etp:{etp0-1}revocations', []], ['1800000001', '0']])).to.deep.equal({
      info: undefined,
      entries: [],
      now: 1800000001,
    });
  });

  it('refuses a reply of another shape', () => {
    for (const bad of [null, 'OK', [1, withFirst, ['k', []]], [1, ['length'], ['k', []], ['1', '0']]]) {
      expect(() => parseStepReply(bad), JSON.stringify(bad)).to.throw(Error);
    }
  });
});
