/**
 * TokenAuth without HTTP, over a session's life: refresh (rotation, grace,
 * reuse detection, sliding expiry), revoke and revokeAll, the events it
 * reports, and failing closed when the store is down. Time is the `now` each
 * test sets (seconds).
 */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import {
  MemorySessionStore,
  StoreUnavailableError,
  type SessionStore,
  type TokenAuth,
  type TokenAuthEvents,
  type TokenAuthOptions,
} from '../lib/index.js';
import { decode, makeAuth, rejection, T0 } from './helpers/token-auth.js';

describe('TokenAuth (core)', () => {
  let store: MemorySessionStore;
  let now: number;
  let auth: TokenAuth;
  const make = (over: Partial<TokenAuthOptions> = {}): TokenAuth => makeAuth(store, () => now, over);

  beforeEach(() => {
    now = T0;
    store = new MemorySessionStore();
    auth = make();
  });
  afterEach(() => store.close());

  describe('refresh', () => {
    it('rotates: a new pair, the old refresh token becomes the previous one', async () => {
      const first = await auth.issue({ userId: 'u1', claims: { role: 'admin' } });
      now += 60;
      const second = await auth.refresh(first.refreshToken);
      expect(second.refreshToken).to.not.equal(first.refreshToken);
      expect(decode(second.accessToken).payload).to.include({ sub: 'u1', role: 'admin', iat: T0 + 60 });
      expect(decode(second.refreshToken).payload).to.include({ iat: T0 + 60, exp: T0 + 60 + 7 * 86_400 });
      expect(decode(second.refreshToken).payload.sid).to.equal(decode(first.refreshToken).payload.sid);
    });

    it('hands out the very same successor within the grace window', async () => {
      const first = await auth.issue({ userId: 'u1' });
      const second = await auth.refresh(first.refreshToken);
      now += 5;
      const again = await auth.refresh(first.refreshToken);
      expect(again.refreshToken).to.equal(second.refreshToken);
      expect(again.accessToken).to.not.equal(second.accessToken);
    });

    it('detects reuse after the grace window and revokes the whole session', async () => {
      const events: Array<TokenAuthEvents['reuse_detected']> = [];
      auth.on('reuse_detected', (event) => events.push(event));
      const first = await auth.issue({ userId: 'u1' });
      const second = await auth.refresh(first.refreshToken);
      now += 6;
      const reused = await rejection(auth.refresh(first.refreshToken, { ip: '198.51.100.9', userAgent: 'curl/8' }));
      expect(reused.code).to.equal('refresh_reused');
      expect(reused.status).to.equal(401);
      expect(events).to.deep.equal([
        {
          userId: 'u1',
          sessionId: decode(first.refreshToken).payload.sid,
          meta: { ip: '198.51.100.9', userAgent: 'curl/8' },
        },
      ]);
      expect((await rejection(auth.refresh(second.refreshToken))).code, 'the successor died too').to.equal(
        'token_revoked',
      );
    });

    it('slides the refresh expiry but never past maxLifetime', async () => {
      let pair = await auth.issue({ userId: 'u1' });
      for (let day = 6; day < 30; day += 6) {
        now = T0 + day * 86_400;
        pair = await auth.refresh(pair.refreshToken);
      }
      expect(decode(pair.refreshToken).payload.exp).to.equal(T0 + 30 * 86_400);
      now = T0 + 30 * 86_400;
      expect((await rejection(auth.refresh(pair.refreshToken))).code).to.equal('token_expired');
    });

    it('answers token_expired for an expired refresh token', async () => {
      const pair = await auth.issue({ userId: 'u1' });
      now = T0 + 7 * 86_400;
      expect((await rejection(auth.refresh(pair.refreshToken))).code).to.equal('token_expired');
    });

    it('answers invalid_request for a missing or non-string token', async () => {
      for (const token of [undefined, null, '', 42, {}, ['a']]) {
        const error = await rejection(auth.refresh(token as never));
        expect(error.code, String(token)).to.equal('invalid_request');
        expect(error.status).to.equal(400);
      }
    });

    it('lets concurrent refreshes of one token share one successor', async () => {
      const first = await auth.issue({ userId: 'u1' });
      const pairs = await Promise.all(Array.from({ length: 20 }, () => auth.refresh(first.refreshToken)));
      expect(new Set(pairs.map((p) => p.refreshToken)).size).to.equal(1);
      expect((await auth.refresh(pairs[0]!.refreshToken)).tokenType).to.equal('Bearer');
    });
  });

  describe('revoke and revokeAll', () => {
    it('logs out one session, idempotently, even with an expired (genuine) refresh token', async () => {
      const first = await auth.issue({ userId: 'u1' });
      const other = await auth.issue({ userId: 'u1' });
      now = T0 + 6 * 86_400;
      const current = await auth.refresh(first.refreshToken);
      now = T0 + 8 * 86_400; // first.refreshToken has expired; the session lives on in current
      expect(await auth.revoke(first.refreshToken)).to.equal(true);
      expect(await auth.revoke(first.refreshToken)).to.equal(false);
      expect((await rejection(auth.refresh(current.refreshToken))).code).to.equal('token_revoked');
      now = T0 + 6 * 86_400;
      expect((await auth.refresh(other.refreshToken)).tokenType, 'the other session lives').to.equal('Bearer');
    });

    it('refuses a forged refresh token', async () => {
      const forged = jwt.sign({ sub: 'u1', sid: 's', jti: 'j' }, 'x'.repeat(32), {
        header: { alg: 'HS256', typ: 'rt+jwt' },
      });
      expect((await rejection(auth.revoke(forged))).code).to.equal('token_invalid');
    });

    it('logs out every session of the user', async () => {
      const a = await auth.issue({ userId: 'u1' });
      const b = await auth.issue({ userId: 'u1' });
      const c = await auth.issue({ userId: 'u2' });
      expect(await auth.revokeAll('u1')).to.equal(2);
      for (const pair of [a, b])
        expect((await rejection(auth.refresh(pair.refreshToken))).code).to.equal('token_revoked');
      expect((await auth.refresh(c.refreshToken)).tokenType).to.equal('Bearer');
    });
  });

  describe('events', () => {
    it('reports issued, refreshed, revoked and never carries a token', async () => {
      const seen: Array<[string, unknown]> = [];
      for (const name of ['issued', 'refreshed', 'reuse_detected', 'revoked'] as const) {
        auth.on(name, (event) => seen.push([name, event]));
      }
      const pair = await auth.issue({ userId: 'u1', meta: { ip: '192.0.2.1', userAgent: 'UA' } });
      const next = await auth.refresh(pair.refreshToken);
      await auth.refresh(pair.refreshToken);
      await auth.revoke(next.refreshToken);
      await auth.revokeAll('u1');
      expect(seen.map(([name]) => name)).to.deep.equal(['issued', 'refreshed', 'refreshed', 'revoked', 'revoked']);
      expect(seen[0]![1]).to.deep.include({ userId: 'u1', meta: { ip: '192.0.2.1', userAgent: 'UA' } });
      expect(seen[2]![1]).to.include({ grace: true });
      expect(seen[3]![1]).to.include({ count: 1 });
      const text = JSON.stringify(seen);
      for (const token of [pair.accessToken, pair.refreshToken, next.refreshToken]) {
        expect(text).to.not.include(token.split('.')[2]);
      }
    });

    it('keeps the outcome when a listener throws', async () => {
      const warnings: string[] = [];
      const onWarning = (warning: Error): void => {
        warnings.push(warning.message);
      };
      process.on('warning', onWarning);
      auth.on('issued', () => {
        throw new Error('listener bug');
      });
      const pair = await auth.issue({ userId: 'u1' });
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);
      expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('u1');
      expect(warnings.some((w) => w.includes('"issued" listener threw'))).to.equal(true);
    });
  });

  describe('a failing store', () => {
    const broken: SessionStore = {
      create: () => Promise.reject(new Error('ECONNREFUSED')),
      rotate: () => Promise.reject(new Error('ECONNREFUSED')),
      revoke: () => Promise.reject(new Error('ECONNREFUSED')),
      revokeAll: () => Promise.reject(new Error('ECONNREFUSED')),
      list: () => Promise.reject(new Error('ECONNREFUSED')),
      ping: () => Promise.reject(new Error('ECONNREFUSED')),
    };

    it('fails closed with store_unavailable (503) and keeps the cause', async () => {
      const working = await auth.issue({ userId: 'u1' });
      const down = make({ store: broken });
      const calls: Array<() => Promise<unknown>> = [
        () => down.issue({ userId: 'u1' }),
        () => down.refresh(working.refreshToken),
        () => down.revoke(working.refreshToken),
        () => down.revokeAll('u1'),
        () => down.ping(),
        () => down.listSessions('u1'),
        () => down.revokeSession('u1', 's1'),
        () => down.revokeOtherSessions('u1', 's1'),
      ];
      for (const call of calls) {
        const error = await rejection(call());
        expect(error).to.be.instanceOf(StoreUnavailableError);
        expect(error.status).to.equal(503);
        expect((error.cause as Error).message).to.equal('ECONNREFUSED');
      }
      expect(down.verifyAccessToken(working.accessToken).userId, 'access tokens still verify').to.equal('u1');
    });
  });
});
