/**
 * Issue 18, item 2: a login with the old password that is in flight while
 * POST /auth/password changes it must not yield a session. The login reads
 * the old hash, the change writes the new one and ends the other sessions,
 * then the login's bcrypt check passes on the old hash: the library's
 * credential cut-off (`issue({ authenticatedAt })`) refuses it, 401
 * `credentials_changed`, over REST and GraphQL, with sessions in memory and
 * in Redis. The race is made certain by holding the login right after it
 * has read the account (a user store that waits there).
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { MemoryUserStore, type StoredUser, type User, type UserStore } from '../sample-app/users.js';
import { bodyOf, gql, LOGIN, reasons } from './helpers/graphql.js';
import { privateRedis, uniquePrefix } from './helpers/redis-server.js';
import { appFactory, email, logIn, PASSWORD, refresh, signUp, type LoginBody } from './helpers/sample-app.js';

const NEW_PASSWORD = 'a brand new passphrase';

/** Users in memory, whose next `findByEmail` can be held after it has read the account. */
class HeldUsers implements UserStore {
  readonly #inner = new MemoryUserStore();
  #held: { reached: () => void; released: Promise<void> } | undefined;

  /** The next `findByEmail` reads the account at once, then answers only after `release()`. */
  holdNext(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#held = { reached, released };
    return { reached: reachedPromise, release };
  }

  create(user: StoredUser): Promise<boolean> {
    return this.#inner.create(user);
  }

  async findByEmail(address: string): Promise<StoredUser | undefined> {
    const found = await this.#inner.findByEmail(address);
    const held = this.#held;
    this.#held = undefined;
    if (held) {
      held.reached();
      await held.released;
    }
    return found;
  }

  setPasswordHash(user: User, expected: string, passwordHash: string): Promise<boolean> {
    return this.#inner.setPasswordHash(user, expected, passwordHash);
  }
}

type Login = (sample: SampleApp, address: string) => PromiseLike<request.Response>;

const LOGINS: Array<[string, Login, (res: request.Response) => void]> = [
  [
    'POST /auth/login',
    (sample, address) => request(sample.app).post('/auth/login').send({ email: address, password: PASSWORD }),
    (res) => {
      expect(res.status, res.text).to.equal(401);
      expect(res.body).to.deep.equal({
        error: 'credentials_changed',
        message: 'the credentials changed after this login checked them; log in again',
      });
    },
  ],
  [
    'the GraphQL login',
    (sample, address) => gql(sample, LOGIN, { data: { email: address, password: PASSWORD } }),
    (res) => {
      expect(res.status, res.text).to.be.within(200, 499);
      expect(bodyOf(res).data?.login ?? null, res.text).to.equal(null);
      expect(reasons(res)).to.deep.equal([['credentials_changed', 'credentials_changed', 401]]);
    },
  ],
];

function describeRace(store: string, options: () => Record<string, unknown>): void {
  describe(`with sessions ${store}`, () => {
    const apps = appFactory(options);
    beforeEach(() => {
      apps.reset();
    });
    afterEach(() => apps.closeAll());

    for (const [name, login, refused] of LOGINS) {
      it(`${name} with the old password, in flight during the change, yields no session`, async () => {
        const users = new HeldUsers();
        const sample = await apps.make({ users });
        const address = email('race');
        await signUp(sample, address);
        const laptop = await logIn(sample, address);

        const held = users.holdNext();
        const inFlight = Promise.resolve(login(sample, address)); // reads the old hash, then waits
        await held.reached;
        apps.clock.advance(0.01);
        const changed = await request(sample.app)
          .post('/auth/password')
          .set('Authorization', `Bearer ${laptop.accessToken}`)
          .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
        expect(changed.status, changed.text).to.equal(204);
        apps.clock.advance(0.01);
        held.release(); // bcrypt now passes on the old hash
        refused(await inFlight);

        const sessions = await request(sample.app)
          .get('/auth/sessions')
          .set('Authorization', `Bearer ${laptop.accessToken}`);
        expect(
          (sessions.body as { sessions: Array<{ current: boolean }> }).sessions.map((s) => s.current),
          'only the laptop',
        ).to.deep.equal([true]);
        // A login that begins after the change, with the new password, works.
        apps.clock.advance(0.001);
        const fresh = await logIn(sample, address, NEW_PASSWORD);
        expect((await refresh(sample, fresh.refreshToken)).status).to.equal(200);
      });
    }

    it('lets a login that read the account after the change through (the cut-off is not a lock-out)', async () => {
      const users = new HeldUsers();
      const sample = await apps.make({ users });
      const address = email('after');
      await signUp(sample, address);
      const laptop = await logIn(sample, address);
      const changed = await request(sample.app)
        .post('/auth/password')
        .set('Authorization', `Bearer ${laptop.accessToken}`)
        .send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
      expect(changed.status).to.equal(204);
      apps.clock.advance(0.001);
      const body: LoginBody = await logIn(sample, address, NEW_PASSWORD);
      expect((await refresh(sample, body.refreshToken)).status).to.equal(200);
    });
  });
}

describe('security: a login in flight during a password change (issue 18 item 2)', () => {
  describeRace('in memory', () => ({}));

  describe('on Redis', () => {
    const redis = privateRedis();
    describeRace('in Redis', () => ({ redis: { client: redis.client, prefix: uniquePrefix() } }));
  });
});
