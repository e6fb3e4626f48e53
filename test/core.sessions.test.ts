/**
 * The core's session API: listing and ending sessions, the refreshClaims
 * hook, suspicious-activity events, and tokens dated by the store's clock.
 * Time is the test's own clock.
 */
import { expect } from 'chai';
import {
  InputError,
  MemorySessionStore,
  OptionError,
  type Claims,
  type TokenAuth,
  type TokenAuthEvents,
  type TokenAuthOptions,
} from '../lib/index.js';
import { makeAuth, T0 } from './helpers/token-auth.js';

function payload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

async function failure(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as { code?: string; message: string },
  );
}

describe('TokenAuth sessions', () => {
  let store: MemorySessionStore;
  let now: number;
  let auth: TokenAuth;
  const make = (over: Partial<TokenAuthOptions> = {}): TokenAuth => makeAuth(store, () => now, over);

  beforeEach(() => {
    now = T0;
    store = new MemorySessionStore();
    auth = make();
  });
  afterEach(async () => {
    await auth.close();
    store.close();
  });

  describe('listSessions, revokeSession, revokeOtherSessions', () => {
    it("lists the user's live sessions, most recently used first, with the client that used them last", async () => {
      const phone = await auth.issue({ userId: 'ann', meta: { ip: '198.51.100.7', userAgent: 'Phone' } });
      now += 10;
      const laptop = await auth.issue({ userId: 'ann', meta: { ip: '203.0.113.1', userAgent: 'Laptop' } });
      await auth.issue({ userId: 'bob' });
      now += 10;
      await auth.refresh(phone.refreshToken, { ip: '198.51.100.8', userAgent: 'Phone' });
      const sessions = await auth.listSessions('ann');
      expect(sessions).to.deep.equal([
        {
          sessionId: payload(phone.accessToken).sid,
          createdAt: T0,
          lastUsedAt: T0 + 20,
          expiresAt: T0 + 20 + 7 * 86_400,
          ip: '198.51.100.8',
          userAgent: 'Phone',
        },
        {
          sessionId: payload(laptop.accessToken).sid,
          createdAt: T0 + 10,
          lastUsedAt: T0 + 10,
          expiresAt: T0 + 10 + 7 * 86_400,
          ip: '203.0.113.1',
          userAgent: 'Laptop',
        },
      ]);
      expect(await auth.listSessions('nobody')).to.deep.equal([]);
    });

    it('ends one session by id, only for its own user, and says whether it did', async () => {
      const mine = await auth.issue({ userId: 'ann' });
      const other = await auth.issue({ userId: 'ann' });
      const bobs = await auth.issue({ userId: 'bob' });
      const events: Array<TokenAuthEvents['revoked']> = [];
      auth.on('revoked', (event) => events.push(event));
      const bobsId = payload(bobs.accessToken).sid as string;
      expect(await auth.revokeSession('ann', bobsId), "someone else's session id").to.equal(false);
      expect(await auth.revokeSession('ann', 'no-such-session')).to.equal(false);
      const otherId = payload(other.accessToken).sid as string;
      expect(await auth.revokeSession('ann', otherId)).to.equal(true);
      expect(await auth.revokeSession('ann', otherId), 'idempotent').to.equal(false);
      expect((await failure(auth.refresh(other.refreshToken))).code).to.equal('token_revoked');
      expect((await auth.refresh(mine.refreshToken)).tokenType).to.equal('Bearer');
      expect((await auth.refresh(bobs.refreshToken)).tokenType).to.equal('Bearer');
      expect(events.map((e) => e.count)).to.deep.equal([0, 0, 1, 0]);
      expect(events[2]).to.deep.equal({ userId: 'ann', sessionId: otherId, count: 1 });
    });

    it('ends every session but the one kept, and refuses bad ids as InputError', async () => {
      const keep = await auth.issue({ userId: 'ann' });
      const others = [await auth.issue({ userId: 'ann' }), await auth.issue({ userId: 'ann' })];
      const keepId = payload(keep.accessToken).sid as string;
      expect(await auth.revokeOtherSessions('ann', keepId)).to.equal(2);
      for (const other of others)
        expect((await failure(auth.refresh(other.refreshToken))).code).to.equal('token_revoked');
      expect((await auth.listSessions('ann')).map((s) => s.sessionId)).to.deep.equal([keepId]);
      for (const call of [
        () => auth.revokeOtherSessions('ann', ''),
        () => auth.revokeSession('ann', ''),
        () => auth.listSessions('a\nb'),
        () => auth.revokeSession(-0, 'x'),
      ]) {
        expect(await failure(call())).to.be.instanceOf(InputError);
      }
    });
  });

  describe('refreshClaims', () => {
    it('recomputes the claims at each refresh, before rotating, and keeps them for later refreshes', async () => {
      const seen: Array<{ userId: string; sessionId: string }> = [];
      let role: string | undefined = 'editor';
      auth = make({
        refreshClaims: (session) => {
          seen.push(session);
          return role === undefined ? undefined : { role };
        },
      });
      const pair = await auth.issue({ userId: 'ann', claims: { role: 'admin' } });
      const next = await auth.refresh(pair.refreshToken);
      expect(auth.verifyAccessToken(next.accessToken).claims).to.deep.equal({ role: 'editor' });
      expect(seen).to.deep.equal([{ userId: 'ann', sessionId: payload(pair.accessToken).sid }]);
      role = undefined;
      const kept = await auth.refresh(next.refreshToken);
      expect(auth.verifyAccessToken(kept.accessToken).claims, "undefined keeps the session's claims").to.deep.equal({
        role: 'editor',
      });
    });

    it('leaves the refresh token unspent when the hook throws, and refuses claims it may not return', async () => {
      let fail = true;
      auth = make({
        refreshClaims: async () => {
          if (fail) throw new Error('users database down');
          return { role: 'x' };
        },
      });
      const pair = await auth.issue({ userId: 'ann' });
      expect((await failure(auth.refresh(pair.refreshToken))).message).to.equal('users database down');
      fail = false;
      expect((await auth.refresh(pair.refreshToken)).tokenType, 'the same token still works').to.equal('Bearer');
      const reserved: Claims = { sub: 'mallory' };
      const bad = make({ refreshClaims: () => reserved });
      const other = await bad.issue({ userId: 'ann' });
      expect(await failure(bad.refresh(other.refreshToken))).to.be.instanceOf(InputError);
      delete reserved.sub;
      expect((await bad.refresh(other.refreshToken)).tokenType, 'nothing was rotated by the refused one').to.equal(
        'Bearer',
      );
    });

    it('is refused at construction when it is not a function', () => {
      expect(() => make({ refreshClaims: { role: 'x' } as never })).to.throw(
        OptionError,
        'refreshClaims must be a function',
      );
    });
  });

  describe('suspicious events', () => {
    let events: Array<TokenAuthEvents['suspicious']>;
    const watch = (target: TokenAuth): void => {
      target.on('suspicious', (event) => events.push(event));
    };
    beforeEach(() => {
      events = [];
    });

    it("fires when a refresh comes from another IP or user agent than the session's last one", async () => {
      watch(auth);
      const pair = await auth.issue({ userId: 'ann', meta: { ip: '198.51.100.7', userAgent: 'Firefox' } });
      const same = await auth.refresh(pair.refreshToken, { ip: '198.51.100.7', userAgent: 'Firefox' });
      expect(events).to.deep.equal([]);
      await auth.refresh(same.refreshToken, { ip: '203.0.113.9', userAgent: 'curl/8' });
      const sid = payload(pair.accessToken).sid;
      expect(events.map((e) => [e.reason, e.sessionId, e.userId])).to.deep.equal([
        ['ip_changed', sid, 'ann'],
        ['user_agent_changed', sid, 'ann'],
      ]);
      expect(events[0]!.detail).to.equal('from 198.51.100.7 to 203.0.113.9');
      expect(events[0]!.meta).to.deep.equal({ ip: '203.0.113.9', userAgent: 'curl/8' });
      expect(JSON.stringify(events)).to.not.include(pair.refreshToken.split('.')[2]);
    });

    it('fires for a grace answer to another client too (a thief racing the owner)', async () => {
      watch(auth);
      const pair = await auth.issue({ userId: 'ann', meta: { ip: '198.51.100.7' } });
      await auth.refresh(pair.refreshToken, { ip: '198.51.100.7' });
      await auth.refresh(pair.refreshToken, { ip: '192.0.2.66' });
      expect(events.map((e) => e.reason)).to.deep.equal(['ip_changed']);
    });

    it('fires when one session refreshes more often than suspiciousRefreshes within one access-token lifetime', async () => {
      auth = make({ suspiciousRefreshes: 3 });
      watch(auth);
      let { refreshToken } = await auth.issue({ userId: 'ann' });
      for (let i = 0; i < 4; i += 1) {
        now += 60;
        ({ refreshToken } = await auth.refresh(refreshToken));
      }
      expect(events.map((e) => [e.reason, e.detail])).to.deep.equal([
        ['refresh_rate', '4 refreshes within 900 s (limit 3)'],
      ]);
      now += 900; // a new window
      await auth.refresh(refreshToken);
      expect(events).to.have.length(1);
    });

    it('stays quiet for one refresh per access-token lifetime, the normal pace', async () => {
      auth = make({ suspiciousRefreshes: 1 });
      watch(auth);
      let { refreshToken } = await auth.issue({ userId: 'ann', meta: { ip: '198.51.100.7', userAgent: 'Firefox' } });
      for (let i = 0; i < 5; i += 1) {
        now += 900;
        ({ refreshToken } = await auth.refresh(refreshToken, { ip: '198.51.100.7', userAgent: 'Firefox' }));
      }
      expect(events).to.deep.equal([]);
    });
  });

  describe('dates', () => {
    it("dates both tokens of a refreshed pair by the store's time of the rotation", async () => {
      const pair = await auth.issue({ userId: 'ann' });
      now += 100;
      const next = await auth.refresh(pair.refreshToken);
      expect(payload(next.accessToken)).to.include({ iat: T0 + 100, exp: T0 + 100 + 900 });
      expect(payload(next.refreshToken)).to.include({ iat: T0 + 100 });
      expect(auth.verifyAccessToken(next.accessToken).issuedAt).to.equal(T0 + 100);
    });
  });
});
