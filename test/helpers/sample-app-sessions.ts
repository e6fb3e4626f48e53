/**
 * The session routes (issue #7), run by `describeFlows` in memory and
 * against Redis: listing and ending sessions, logout-others, password change,
 * and the revocation check on those routes next to the plain one on /me.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../../sample-app/app.js';
import {
  ACCESS_TTL,
  email,
  LOCAL_IP,
  logIn,
  me,
  PASSWORD,
  refresh,
  securityEvents,
  sessionIdOf,
  signUp,
  type appFactory,
  type LoginBody,
} from './sample-app.js';

interface SessionBody {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

export function sessions(sample: SampleApp, accessToken: string): request.Test {
  return request(sample.app).get('/auth/sessions').set('Authorization', `Bearer ${accessToken}`);
}

function bearer(test: request.Test, accessToken: string): request.Test {
  return test.set('Authorization', `Bearer ${accessToken}`);
}

/**
 * The bound the library puts on how late a checked route learns of a
 * revocation: `revocationMaxLag`'s default (the sample app keeps it), after
 * which it would answer 503 rather than accept. Measured on the monotonic clock.
 */
export const REVOCATION_MAX_LAG = 5000;

/**
 * Polls GET /auth/sessions with `accessToken` until it is refused as
 * revoked (the Redis feed takes a moment to reach this instance); resolves
 * the milliseconds that took. Fails after `within` (default `REVOCATION_MAX_LAG`).
 */
export async function refusedWithin(
  sample: SampleApp,
  accessToken: string,
  within = REVOCATION_MAX_LAG,
): Promise<number> {
  if (sample.store === 'redis cluster') {
    // A cluster's store keeps no revocation record, so the checked routes check the signature
    // only there (the documented trade-off): the token of an ended session still passes.
    const res = await sessions(sample, accessToken);
    expect(res.status, 'no checkRevocation on a cluster').to.equal(200);
    return 0;
  }
  const started = performance.now();
  for (;;) {
    const res = await sessions(sample, accessToken);
    if (res.status === 401) {
      expect(res.body).to.include({ error: 'token_revoked' });
      expect(res.headers['www-authenticate']).to.match(/^Bearer error="invalid_token"/);
      return performance.now() - started;
    }
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    if (performance.now() - started > within) throw new Error(`access token still accepted after ${within} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Logs in from a named device (its user agent). */
async function logInFrom(sample: SampleApp, address: string, device: string, password = PASSWORD): Promise<LoginBody> {
  const res = await request(sample.app)
    .post('/auth/login')
    .set('User-Agent', device)
    .send({ email: address, password });
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as LoginBody;
}

export function describeSessionFlows(current: () => SampleApp, apps: ReturnType<typeof appFactory>): void {
  describe('sessions', () => {
    it("lists the caller's sessions, most recently used first, the current one marked, never another user's", async () => {
      const app = current();
      const address = email('ann');
      await signUp(app, address);
      await signUp(app, email('bob')).then((bob) => logIn(app, bob.email));
      const laptop = await logInFrom(app, address, 'Laptop/1.0');
      apps.clock.advance(60);
      const phone = await logInFrom(app, address, 'Phone/2.0');

      const res = await sessions(app, laptop.accessToken);
      expect(res.status).to.equal(200);
      expect(res.headers['cache-control']).to.equal('no-store');
      const listed = (res.body as { sessions: SessionBody[] }).sessions;
      expect(listed.map((session) => session.id)).to.deep.equal([
        sessionIdOf(phone.accessToken),
        sessionIdOf(laptop.accessToken),
      ]);
      const [newest, oldest] = listed;
      const at = (seconds: number): string =>
        new Date((Math.floor(apps.clock.now / 1000) + seconds) * 1000).toISOString();
      expect(newest).to.deep.equal({
        id: sessionIdOf(phone.accessToken),
        createdAt: at(0),
        lastUsedAt: at(0),
        expiresAt: at(7 * 86_400),
        ip: LOCAL_IP,
        userAgent: 'Phone/2.0',
        current: false,
      });
      expect(oldest).to.include({ createdAt: at(-60), userAgent: 'Laptop/1.0', current: true });
      // Every session of its own is `current` for the token that asks.
      const fromPhone = (await sessions(app, phone.accessToken)).body as { sessions: SessionBody[] };
      expect(fromPhone.sessions.map((session) => session.current)).to.deep.equal([true, false]);

      const missing = await request(app.app).get('/auth/sessions');
      expect(missing.status).to.equal(401);
      expect(missing.body).to.include({ error: 'token_missing' });
    });

    it("ends one of the caller's sessions (204): its refresh token is dead and its access token refused on checked routes", async () => {
      const app = current();
      const address = email();
      const user = await signUp(app, address);
      const laptop = await logInFrom(app, address, 'Laptop/1.0');
      const phone = await logInFrom(app, address, 'Phone/2.0');
      const phoneId = sessionIdOf(phone.accessToken);

      const ended = await bearer(request(app.app).delete(`/auth/sessions/${phoneId}`), laptop.accessToken);
      expect(ended.status).to.equal(204);
      expect(ended.text).to.equal('');
      expect((await refresh(app, phone.refreshToken)).body).to.include({ error: 'token_revoked' });
      await refusedWithin(app, phone.accessToken);
      const left = (await sessions(app, laptop.accessToken)).body as { sessions: SessionBody[] };
      expect(left.sessions.map((session) => session.id)).to.deep.equal([sessionIdOf(laptop.accessToken)]);
      // Ending it again: it is no longer there.
      const again = await bearer(request(app.app).delete(`/auth/sessions/${phoneId}`), laptop.accessToken);
      expect(again.status).to.equal(404);

      // Its own session too: that is a logout.
      const self = await bearer(
        request(app.app).delete(`/auth/sessions/${sessionIdOf(laptop.accessToken)}`),
        laptop.accessToken,
      );
      expect(self.status).to.equal(204);
      expect((await refresh(app, laptop.refreshToken)).body).to.include({ error: 'token_revoked' });
      await refusedWithin(app, laptop.accessToken);
      expect(securityEvents(apps.logs).filter((fields) => fields.event === 'session_revoked')).to.deep.equal([
        { event: 'session_revoked', userId: user.id, sessionId: phoneId, ip: LOCAL_IP, reason: 'session_deleted' },
        {
          event: 'session_revoked',
          userId: user.id,
          sessionId: sessionIdOf(laptop.accessToken),
          ip: LOCAL_IP,
          reason: 'session_deleted',
        },
      ]);
    });

    it("answers another user's session id exactly as an unknown one: 404 not_found, same body, same timing, nothing ended", async () => {
      const app = current();
      const ann = await signUp(app, email('ann'));
      const bob = await signUp(app, email('bob'));
      const annSession = await logIn(app, ann.email);
      const bobSession = await logIn(app, bob.email);
      const end = (id: string): request.Test =>
        bearer(request(app.app).delete(`/auth/sessions/${encodeURIComponent(id)}`), annSession.accessToken);
      const bobsId = sessionIdOf(bobSession.accessToken);
      const unknown = 'AAAAAAAAAAAAAAAA';
      // The route's one store call, seen from outside: the same question (among Ann's own
      // sessions) and the same "no" for Bob's id as for one that never was.
      const calls: Array<[string | number, string, boolean]> = [];
      const revokeSession = app.auth.revokeSession.bind(app.auth);
      app.auth.revokeSession = async (userId, sessionId) => {
        const ended = await revokeSession(userId, sessionId);
        calls.push([userId, sessionId, ended]);
        return ended;
      };
      const answers: Array<{ status: number; text: string }> = [];
      try {
        for (const id of [bobsId, unknown, 'x'.repeat(2000), '{}', "'; DROP"]) {
          const res = await end(id);
          answers.push({ status: res.status, text: res.text });
        }
      } finally {
        app.auth.revokeSession = revokeSession;
      }
      for (const answer of answers) {
        expect(answer).to.deep.equal({
          status: 404,
          text: JSON.stringify({ error: 'not_found', message: 'no such session' }),
        });
      }
      // The over-long id is refused before the store; every other id is one call for Ann.
      expect(calls).to.deep.equal([
        [ann.id, bobsId, false],
        [ann.id, unknown, false],
        [ann.id, '{}', false],
        [ann.id, "'; DROP", false],
      ]);
      expect((await refresh(app, bobSession.refreshToken)).status, "Bob's session lives on").to.equal(200);

      // And the clock agrees, loosely: the fastest of interleaved runs (a busy machine slows
      // some runs, rarely all of them) stay within a factor of two.
      const time = async (id: string): Promise<number> => {
        const started = performance.now();
        expect((await end(id)).status).to.equal(404);
        return performance.now() - started;
      };
      let others = Infinity;
      let unknowns = Infinity;
      for (let i = 0; i < 25; i += 1) {
        others = Math.min(others, await time(bobsId));
        unknowns = Math.min(unknowns, await time(unknown));
      }
      expect(others / unknowns, `another user's ${others} ms, unknown ${unknowns} ms`).to.be.within(0.5, 2);
      expect(securityEvents(apps.logs).filter((fields) => fields.event === 'session_revoked')).to.deep.equal([]);
    });

    it("logout-others ends every session but the caller's, and none of another user's", async () => {
      const app = current();
      const address = email('ann');
      const user = await signUp(app, address);
      const bob = await signUp(app, email('bob'));
      const [laptop, phone, tablet] = [await logIn(app, address), await logIn(app, address), await logIn(app, address)];
      const other = await logIn(app, bob.email);
      if (!laptop || !phone || !tablet) throw new Error('no login');

      const res = await bearer(request(app.app).post('/auth/logout-others'), laptop.accessToken);
      expect(res.status).to.equal(204);
      for (const session of [phone, tablet]) {
        expect((await refresh(app, session.refreshToken)).body).to.include({ error: 'token_revoked' });
        await refusedWithin(app, session.accessToken);
        expect((await me(app, session.accessToken)).status, '/me checks the signature only').to.equal(200);
      }
      const left = (await sessions(app, laptop.accessToken)).body as { sessions: SessionBody[] };
      expect(left.sessions.map((session) => [session.id, session.current])).to.deep.equal([
        [sessionIdOf(laptop.accessToken), true],
      ]);
      expect((await refresh(app, laptop.refreshToken)).status).to.equal(200);
      expect((await refresh(app, other.refreshToken)).status).to.equal(200);
      expect(securityEvents(apps.logs).filter((fields) => fields.event === 'sessions_revoked')).to.deep.equal([
        { event: 'sessions_revoked', userId: user.id, ip: LOCAL_IP, reason: 'logout_others' },
      ]);
    });

    it('refuses the access token of a logged-out session on checked routes (logout-all too) while /me accepts it until it expires', async () => {
      const app = current();
      const address = email();
      const user = await signUp(app, address);
      const first = await logIn(app, address);
      expect((await request(app.app).post('/auth/logout').send({ refreshToken: first.refreshToken })).status).to.equal(
        204,
      );
      await refusedWithin(app, first.accessToken);
      const logoutAll = await bearer(request(app.app).post('/auth/logout-all'), first.accessToken);
      if (app.store === 'redis cluster') {
        expect(logoutAll.status, 'signature only on a cluster: nothing left to end').to.equal(204);
      } else {
        expect(logoutAll.status).to.equal(401);
        expect(logoutAll.body).to.include({ error: 'token_revoked' });
      }
      expect((await me(app, first.accessToken)).status).to.equal(200);

      // (On a cluster that logout-all went through: a login begun in its very ms counts as begun before it.)
      apps.clock.advance(0.001);
      const second = await logIn(app, address);
      const third = await logIn(app, address);
      expect((await bearer(request(app.app).post('/auth/logout-all'), second.accessToken)).status).to.equal(204);
      await refusedWithin(app, second.accessToken);
      await refusedWithin(app, third.accessToken);
      apps.clock.advance(ACCESS_TTL + 1);
      expect((await me(app, first.accessToken)).body).to.include({ error: 'token_expired' });
      expect(securityEvents(apps.logs).filter((fields) => String(fields.event).startsWith('session'))).to.deep.equal([
        {
          event: 'session_revoked',
          userId: user.id,
          sessionId: sessionIdOf(first.accessToken),
          ip: LOCAL_IP,
          reason: 'logout',
        },
        { event: 'sessions_revoked', userId: user.id, ip: LOCAL_IP, reason: 'logout_all' },
      ]);
    });
  });
}
