/**
 * What the app hands `issue()` and `revokeAll()`: user ids, claims and
 * metadata. A bad one is an `InputError` thrown before anything is signed
 * or stored, so it can never leave an orphan session behind.
 */
import { expect } from 'chai';
import {
  createTokenAuth,
  InputError,
  MemorySessionStore,
  type NewSession,
  type SessionStore,
  type TokenAuth,
  type TokenAuthEvents,
} from '../lib/index.js';
import { ACCESS, REFRESH } from './helpers/token-auth.js';

/** A memory store that counts what reaches it. */
class CountingStore extends MemorySessionStore {
  created: NewSession[] = [];

  override create(...args: Parameters<SessionStore['create']>): ReturnType<SessionStore['create']> {
    this.created.push(args[0]);
    return super.create(...args);
  }
}

async function thrown(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

function payload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('issue() and revokeAll() input', () => {
  let store: CountingStore;
  let auth: TokenAuth;

  beforeEach(() => {
    store = new CountingStore();
    auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store,
      maxSessionsPerUser: 2,
    });
  });
  afterEach(() => store.close());

  async function expectInputError(call: () => unknown, message: string | RegExp): Promise<void> {
    const error = await thrown(call);
    expect(error, String(error)).to.be.instanceOf(InputError);
    expect((error as InputError).code).to.equal('ERR_ETP_INPUT');
    if (typeof message === 'string') expect((error as Error).message).to.include(message);
    else expect((error as Error).message).to.match(message);
  }

  describe('claims', () => {
    const prototypeNames = [
      'toString',
      'constructor',
      'valueOf',
      'hasOwnProperty',
      'isPrototypeOf',
      'toLocaleString',
      '__defineGetter__',
    ];

    it('refuses Object.prototype names before storing anything, so they cannot evict real sessions', async () => {
      const real = await auth.issue({ userId: 'ann' });
      const second = await auth.issue({ userId: 'ann' });
      for (const name of prototypeNames) {
        await expectInputError(
          () => auth.issue({ userId: 'ann', claims: { [name]: 'x' } }),
          `claim "${name}" is an Object.prototype name`,
        );
      }
      // `__proto__` as an own key (what JSON.parse makes of it).
      await expectInputError(
        () =>
          auth.issue({ userId: 'ann', claims: JSON.parse('{"__proto__":{"admin":true}}') as Record<string, unknown> }),
        'claim "__proto__" is an Object.prototype name',
      );
      expect(store.created, 'nothing reached the store').to.have.length(2);
      expect((await auth.refresh(real.refreshToken)).tokenType, 'the real sessions survive').to.equal('Bearer');
      expect((await auth.refresh(second.refreshToken)).tokenType).to.equal('Bearer');
    });

    it('refuses what is not plain JSON, naming where', async () => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const cases: Array<[unknown, string]> = [
        [{ when: new Date(0) }, 'claims.when must be a plain object, array or primitive (got a Date)'],
        [{ n: Number.NaN }, 'claims.n must be a finite number'],
        [{ n: Infinity }, 'claims.n must be a finite number'],
        [{ big: 1n }, 'claims.big is a bigint'],
        [{ f: () => 1 }, 'claims.f is a function'],
        [{ u: undefined }, 'claims.u is a undefined'],
        [{ list: [1, Symbol('s')] }, 'claims.list[1] is a symbol'],
        [
          { deep: { inner: JSON.parse('{"__proto__":1}') as unknown } },
          'claims.deep.inner must not have a "__proto__" key',
        ],
        [cyclic, 'nested more than 16 levels deep (or is cyclic)'],
        [new Map([['a', 1]]), 'claims must be a plain object'],
        [['a'], 'claims must be a plain object'],
        ['role=admin', 'claims must be a plain object'],
      ];
      for (const [claims, message] of cases) {
        await expectInputError(() => auth.issue({ userId: 'ann', claims: claims as Record<string, unknown> }), message);
      }
      expect(store.created).to.have.length(0);
    });

    it("refuses the package's own claim names", async () => {
      for (const name of ['sub', 'sid', 'jti', 'iat', 'exp', 'nbf', 'iss', 'aud', 'typ']) {
        await expectInputError(
          () => auth.issue({ userId: 'ann', claims: { [name]: 1 } }),
          `claim "${name}" is reserved`,
        );
      }
      expect(store.created).to.have.length(0);
    });

    it('refuses claims that would make an access token longer than the verifier accepts, and takes any that fit', async () => {
      await expectInputError(
        () => auth.issue({ userId: 'ann', claims: { blob: 'x'.repeat(6000) } }),
        /^express-token-pair: claims make the access token \d+ characters long; the limit is 8192$/,
      );
      expect(store.created).to.have.length(0);
      const big = await auth.issue({
        userId: 'ann',
        claims: { blob: 'x'.repeat(5000), nested: { list: [1, 'two', null, true] } },
      });
      expect(auth.verifyAccessToken(big.accessToken).claims).to.deep.equal({
        blob: 'x'.repeat(5000),
        nested: { list: [1, 'two', null, true] },
      });
      expect(auth.verifyAccessToken((await auth.refresh(big.refreshToken)).accessToken).claims.blob).to.have.length(
        5000,
      );
    });

    it('copies the claims, so a later change by the caller does not reach the tokens', async () => {
      const claims = { roles: ['reader'] };
      const pair = await auth.issue({ userId: 'ann', claims });
      claims.roles.push('admin');
      const next = await auth.refresh(pair.refreshToken);
      expect(payload(next.accessToken).roles).to.deep.equal(['reader']);
    });
  });

  describe('userId', () => {
    it("treats a safe integer as its decimal string: 42, 42.0 and '42' are one user", async () => {
      const a = await auth.issue({ userId: 42 });
      const b = await auth.issue({ userId: 42.0 });
      expect(payload(a.accessToken).sub).to.equal('42');
      expect(auth.verifyAccessToken(b.accessToken).userId).to.equal('42');
      expect(await auth.revokeAll('42'), "both sessions are the string id's").to.equal(2);
      expect(payload((await auth.issue({ userId: 0 })).accessToken).sub).to.equal('0');
      expect(payload((await auth.issue({ userId: -7 })).accessToken).sub).to.equal('-7');
    });

    it('refuses numbers whose string would not name one user', async () => {
      for (const userId of [-0, 1.5, Number.NaN, Infinity, 2 ** 53, -(2 ** 53), 1e21]) {
        await expectInputError(() => auth.issue({ userId }), 'userId must be a safe integer or a string');
        await expectInputError(() => auth.revokeAll(userId), 'userId must be a safe integer or a string');
      }
      expect(store.created).to.have.length(0);
    });

    it('refuses control characters, line separators and lone surrogates, which would reach logs and keys', async () => {
      for (const userId of [
        'ann\r\nINFO admin logged in',
        'ann\n',
        'a\u0000b',
        'a\u001bb',
        'a\u007fb',
        'a\u0085b',
        'a\u2028b',
        'a\u2029b',
        'a\ud800b',
        'a\udc00',
      ]) {
        await expectInputError(() => auth.issue({ userId }), 'userId must not contain control characters');
        await expectInputError(() => auth.revokeAll(userId), 'userId must not contain control characters');
      }
      expect(store.created).to.have.length(0);
      expect(payload((await auth.issue({ userId: 'Zoë 東京 😀' })).accessToken).sub, 'other Unicode is fine').to.equal(
        'Zoë 東京 😀',
      );
    });

    it('refuses empty, long and non-string ids', async () => {
      for (const userId of ['', 'x'.repeat(257), null, undefined, {}, ['a'], true]) {
        await expectInputError(() => auth.issue({ userId: userId as string }), 'userId must be');
      }
      expect(payload((await auth.issue({ userId: 'x'.repeat(256) })).accessToken).sub).to.have.length(256);
    });

    it('refuses a missing input object', async () => {
      await expectInputError(
        () => auth.issue(undefined as never),
        'issue() needs { userId, claims?, meta?, authenticatedAt? }',
      );
    });
  });

  describe('meta', () => {
    it('keeps IP and user agent short and free of control characters, in the store and in events', async () => {
      const events: Array<TokenAuthEvents['issued']> = [];
      auth.on('issued', (event) => events.push(event));
      await auth.issue({
        userId: 'ann',
        meta: { ip: '203.0.113.7\r\nX', userAgent: `curl\u0000/8 ${'u'.repeat(600)}` },
      });
      const meta = store.created[0]!.meta;
      expect(meta.ip).to.equal('203.0.113.7\ufffd\ufffdX');
      expect(meta.userAgent).to.have.length(512);
      expect(meta.userAgent!.startsWith('curl\ufffd/8 ')).to.equal(true);
      expect(events[0]!.meta).to.deep.equal(meta);
    });

    it('drops values that are not strings, and takes undefined (req.ip, req.get() may give it)', async () => {
      await auth.issue({ userId: 'ann', meta: { ip: undefined, userAgent: 42 as never } });
      expect(store.created[0]!.meta).to.deep.equal({});
    });
  });
});
