/**
 * The core's credential cut-off: `issue({ authenticatedAt })` is refused
 * when a password change (`revokeOtherSessions`) or `revokeAll` came at or
 * after the moment the credential check began, so a login that checked the
 * old password while it changed never yields a session. Time is the test's
 * own clock, in ms.
 */
import { expect } from 'chai';
import {
  createTokenAuth,
  CredentialsChangedError,
  InputError,
  MemorySessionStore,
  type TokenAuth,
} from '../lib/index.js';
import { ACCESS, REFRESH, T0 } from './helpers/token-auth.js';

describe('TokenAuth credential cut-offs (issue({ authenticatedAt }))', () => {
  let store: MemorySessionStore;
  let ms: number;
  let auth: TokenAuth;

  beforeEach(() => {
    ms = T0 * 1000 + 250;
    store = new MemorySessionStore();
    auth = createTokenAuth({
      accessToken: { secret: ACCESS },
      refreshToken: { secret: REFRESH },
      store,
      clock: () => ms,
    });
  });
  afterEach(async () => {
    await auth.close();
    store.close();
  });

  async function failure(promise: Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
    return promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error as Error,
    );
  }

  it('reads its clock in ms with now()', () => {
    expect(auth.now()).to.equal(T0 * 1000 + 250);
    ms += 7;
    expect(auth.now()).to.equal(T0 * 1000 + 257);
  });

  it('refuses a login whose check began before a password change ended the other sessions, with 401 credentials_changed', async () => {
    const laptop = await auth.issue({ userId: 'ann' });
    const laptopId = auth.verifyAccessToken(laptop.accessToken).sessionId;
    const began = auth.now(); // the in-flight login reads the old hash...
    ms += 30;
    expect(await auth.revokeOtherSessions('ann', laptopId)).to.equal(0); // ...the password changes...
    ms += 40;
    const issued: unknown[] = [];
    auth.on('issued', (event) => issued.push(event));
    const error = await failure(auth.issue({ userId: 'ann', authenticatedAt: began })); // ...and the login finishes.
    expect(error).to.be.instanceOf(CredentialsChangedError);
    expect(error).to.include({ code: 'credentials_changed', status: 401 });
    expect(error.message).to.equal('the credentials changed after this login checked them; log in again');
    expect(issued, 'no issued event').to.deep.equal([]);
    expect(
      (await auth.listSessions('ann')).map((s) => s.sessionId),
      'only the laptop',
    ).to.deep.equal([laptopId]);

    const after = auth.now();
    ms += 1;
    const pair = await auth.issue({ userId: 'ann', authenticatedAt: after });
    expect(auth.verifyAccessToken(pair.accessToken).userId).to.equal('ann');
    expect(await auth.listSessions('ann')).to.have.length(2);
  });

  it('counts a check that began in the same ms as the cut-off as before it, and revokeAll cuts off a user with no sessions', async () => {
    const began = auth.now();
    expect(await auth.revokeAll('bob')).to.equal(0);
    expect(await failure(auth.issue({ userId: 'bob', authenticatedAt: began }))).to.be.instanceOf(
      CredentialsChangedError,
    );
    expect(await failure(auth.issue({ userId: 'bob', authenticatedAt: began - 1 }))).to.be.instanceOf(
      CredentialsChangedError,
    );
    await auth.issue({ userId: 'bob' }); // without authenticatedAt: no such check
    await auth.issue({ userId: 'carol', authenticatedAt: began }); // another user
    ms += 1;
    await auth.issue({ userId: 'bob', authenticatedAt: began + 1 });
  });

  it('still refuses at the oldest accepted age (5 minutes), however long the user has had no session', async () => {
    const began = auth.now();
    await auth.revokeAll('bob');
    ms += 300_000;
    expect(await failure(auth.issue({ userId: 'bob', authenticatedAt: began }))).to.be.instanceOf(
      CredentialsChangedError,
    );
  });

  it('refuses an authenticatedAt that is no time, ahead of the clock or over 5 minutes old with an InputError naming it, storing nothing', async () => {
    const cases: Array<[unknown, string]> = [
      [
        '2026-01-01',
        'authenticatedAt must be a time in Unix milliseconds (read it with auth.now() when the credential check begins)',
      ],
      [Number.NaN, 'authenticatedAt must be a time in Unix milliseconds'],
      [new Date(ms), 'authenticatedAt must be a time in Unix milliseconds'],
      [
        ms + 5,
        "authenticatedAt is 5 ms ahead of the core's clock (read it with auth.now() when the credential check begins)",
      ],
      [ms / 1000, 'authenticatedAt is'],
      [ms - 300_001, 'authenticatedAt is 300001 ms ago; a credential check older than 300 s is refused'],
    ];
    for (const [authenticatedAt, message] of cases) {
      const error = await failure(auth.issue({ userId: 'ann', authenticatedAt: authenticatedAt as number }));
      expect(error, String(authenticatedAt)).to.be.instanceOf(InputError);
      expect(error.message, String(authenticatedAt)).to.include(`express-token-pair: ${message}`);
    }
    expect(await auth.listSessions('ann')).to.deep.equal([]);
    await auth.issue({ userId: 'ann', authenticatedAt: ms - 300_000 });
  });
});
