/**
 * POST /auth/password, run by `describeFlows` in memory and against Redis:
 * the change itself, its checks and rate limit, and the other sessions it
 * ends (refused on checked routes at once, on /me only once they expire).
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../../sample-app/app.js';
import { refusedWithin, sessions } from './sample-app-sessions.js';
import {
  ACCESS_TTL,
  email,
  LOCAL_IP,
  logIn,
  me,
  PASSWORD,
  refresh,
  securityEvents,
  signUp,
  type appFactory,
} from './sample-app.js';

const NEW_PASSWORD = 'a brand new passphrase';

function changePassword(sample: SampleApp, accessToken: string, body: unknown): request.Test {
  return request(sample.app)
    .post('/auth/password')
    .set('Authorization', `Bearer ${accessToken}`)
    .send(body as object);
}

export function describePasswordChange(current: () => SampleApp, apps: ReturnType<typeof appFactory>): void {
  describe('password change', () => {
    it('changes the password and ends every other session: checked routes refuse their tokens, /me accepts them until expiry', async () => {
      const app = current();
      const address = email();
      const user = await signUp(app, address);
      const phone = await logIn(app, address);
      const laptop = await logIn(app, address);

      const res = await changePassword(app, laptop.accessToken, {
        currentPassword: PASSWORD,
        newPassword: NEW_PASSWORD,
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(204);
      expect(res.headers['cache-control']).to.equal('no-store');

      // The other session: its refresh token is dead, its access token refused where revocation is checked...
      expect((await refresh(app, phone.refreshToken)).body).to.include({ error: 'token_revoked' });
      await refusedWithin(app, phone.accessToken);
      if (app.store !== 'redis cluster') {
        // (On a cluster it would pass, and end the laptop's session: no checkRevocation there.)
        const others = await request(app.app)
          .post('/auth/logout-others')
          .set('Authorization', `Bearer ${phone.accessToken}`);
        expect(others.body).to.include({ error: 'token_revoked' });
      }
      // ...but /me checks the signature alone: the documented trade-off, until the token expires.
      expect((await me(app, phone.accessToken)).status).to.equal(200);

      // The session that changed the password goes on.
      expect((await sessions(app, laptop.accessToken)).status).to.equal(200);
      const renewed = await refresh(app, laptop.refreshToken);
      expect(renewed.status).to.equal(200);

      const old = await request(app.app).post('/auth/login').send({ email: address, password: PASSWORD });
      expect(old.status).to.equal(401);
      expect(old.body).to.include({ error: 'invalid_credentials' });
      // A login whose check begins in the very ms of the change counts as begun before it (see
      // test/security-password-race.test.ts); the test clock stands still unless moved.
      apps.clock.advance(0.001);
      await logIn(app, address, NEW_PASSWORD);

      apps.clock.advance(ACCESS_TTL + 1);
      expect((await me(app, phone.accessToken)).body).to.include({ error: 'token_expired' });
      expect(securityEvents(apps.logs).filter((fields) => fields.event === 'sessions_revoked')).to.deep.equal([
        { event: 'sessions_revoked', userId: user.id, ip: LOCAL_IP, reason: 'password_changed' },
      ]);
      for (const { raw } of apps.logs) {
        expect(raw).to.not.include(NEW_PASSWORD);
        expect(raw).to.not.include(laptop.accessToken).and.not.include(phone.refreshToken);
      }
    });

    it('refuses a wrong current password with 401 invalid_credentials, changing and ending nothing', async () => {
      const app = current();
      const address = email();
      await signUp(app, address);
      const phone = await logIn(app, address);
      const laptop = await logIn(app, address);
      const res = await changePassword(app, laptop.accessToken, {
        currentPassword: 'not my password',
        newPassword: NEW_PASSWORD,
      });
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal({ error: 'invalid_credentials', message: 'current password is incorrect' });
      expect((await refresh(app, phone.refreshToken)).status).to.equal(200);
      await logIn(app, address);
      expect(securityEvents(apps.logs).filter((fields) => String(fields.event).startsWith('session'))).to.deep.equal(
        [],
      );
    });

    it('checks the body as register does: the new password 8 characters to 72 bytes', async () => {
      const app = current();
      const address = email();
      await signUp(app, address);
      const { accessToken } = await logIn(app, address);
      const cases: Array<[body: unknown, message: string]> = [
        [{ currentPassword: PASSWORD }, 'newPassword must be a string'],
        [{ newPassword: NEW_PASSWORD }, 'currentPassword must be a string'],
        [{ currentPassword: PASSWORD, newPassword: 12345678 }, 'newPassword must be a string'],
        [{ currentPassword: '', newPassword: NEW_PASSWORD }, 'currentPassword is required'],
        [{ currentPassword: PASSWORD, newPassword: 'short' }, 'newPassword must be at least 8 characters'],
        [{ currentPassword: PASSWORD, newPassword: '🔑🔑🔑🔑🔑🔑🔑' }, 'newPassword must be at least 8 characters'],
        [{ currentPassword: PASSWORD, newPassword: 'é'.repeat(37) }, 'newPassword must be at most 72 bytes'],
        [{ currentPassword: 'x'.repeat(73), newPassword: NEW_PASSWORD }, 'currentPassword must be at most 72 bytes'],
        [['not', 'an object'], 'body must be a JSON object with currentPassword and newPassword'],
      ];
      for (const [body, message] of cases) {
        const res = await changePassword(app, accessToken, body);
        expect(res.status, message).to.equal(400);
        expect(res.body, message).to.deep.equal({ error: 'invalid_request', message });
      }
      expect(
        (await changePassword(app, accessToken, { currentPassword: PASSWORD, newPassword: 'é'.repeat(36) })).status,
      ).to.equal(204);
      const missing = await request(app.app)
        .post('/auth/password')
        .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
      expect(missing.status).to.equal(401);
      expect(missing.body).to.include({ error: 'token_missing' });
    });

    it('is rate limited like login (its own count), and the first refused request is logged', async () => {
      const limited = await apps.make({ loginRateLimit: 2 });
      const address = email();
      await signUp(limited, address);
      const { accessToken } = await logIn(limited, address);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i += 1) {
        statuses.push(
          (await changePassword(limited, accessToken, { currentPassword: 'wrong password', newPassword: NEW_PASSWORD }))
            .status,
        );
      }
      expect(statuses).to.deep.equal([401, 401, 429, 429]);
      expect(securityEvents(apps.logs).filter((fields) => fields.event === 'rate_limited')).to.deep.equal([
        { event: 'rate_limited', ip: LOCAL_IP, reason: 'password' },
      ]);
    });
  });
}
