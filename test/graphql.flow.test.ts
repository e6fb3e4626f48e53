import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import {
  bodyOf,
  gql,
  gqlLogin,
  gqlRefresh,
  gqlRegister,
  LOGIN,
  LOGOUT,
  ME,
  reasons,
  REGISTER,
  type Pair,
} from './helpers/graphql.js';
import {
  ACCESS_TTL,
  appFactory,
  email,
  GRACE,
  LOCAL_IP,
  logIn,
  me,
  PASSWORD,
  refresh,
  SECRETS,
  securityEvents,
  sessionIdOf,
  signUp,
  type LoginBody,
} from './helpers/sample-app.js';

describe('sample app: POST /graphql flows', () => {
  const apps = appFactory(() => ({}));
  let app: SampleApp;

  beforeEach(async () => {
    apps.reset();
    app = await apps.make();
  });
  afterEach(async function () {
    await apps.closeAll();
    // Variables carry passwords and tokens: no log line may hold one.
    for (const { raw } of apps.logs) {
      expect(raw, `log line of "${this.currentTest?.title ?? ''}"`).to.not.match(/eyJ[\w-]+\.eyJ/);
      for (const secret of [PASSWORD, SECRETS.accessTokenSecret, SECRETS.refreshTokenSecret])
        expect(raw).to.not.include(secret);
    }
  });

  it('runs register, login, the guarded queries, refreshToken and logout, with no-store on every answer', async () => {
    const address = email('Ann');
    const user = await gqlRegister(app, `  ${address.toUpperCase()} `);
    expect(user.email).to.equal(address.toLowerCase());
    const login = await gql(app, LOGIN, { data: { email: address, password: PASSWORD } });
    expect(login.headers['cache-control']).to.equal('no-store');
    const first = bodyOf(login).data?.login as Pair & { tokenType: string; expiresIn: number; user: unknown };
    expect(first).to.include({ tokenType: 'Bearer', expiresIn: ACCESS_TTL });
    expect(first.user).to.deep.equal(user);

    const mine = await gql(app, ME, undefined, first.accessToken);
    expect(mine.status).to.equal(200);
    expect(mine.headers['cache-control']).to.equal('no-store');
    expect(bodyOf(mine)).to.deep.equal({ data: { me: user, getCurrentUser: { id: user.id } } });

    const renewed = await gqlRefresh(app, first.refreshToken);
    const second = bodyOf(renewed).data?.refreshToken as Pair & { expiresIn: number };
    expect(second.refreshToken).to.be.a('string').and.not.equal(first.refreshToken);
    expect(second.expiresIn).to.equal(ACCESS_TTL);
    expect(bodyOf(await gql(app, ME, undefined, second.accessToken)).data?.me).to.deep.equal(user);

    const out = await gql(app, LOGOUT, { token: second.refreshToken });
    expect(bodyOf(out)).to.deep.equal({ data: { logout: true } });
    expect(bodyOf(await gql(app, LOGOUT, { token: second.refreshToken })).data).to.deep.equal({ logout: true }); // idempotent
    const after = await gqlRefresh(app, second.refreshToken);
    expect(after.status).to.equal(200);
    expect(bodyOf(after).data).to.deep.equal({ refreshToken: null });
    expect(reasons(after)).to.deep.equal([['token_revoked', 'UNAUTHENTICATED', 401]]);
    // The ended session's access token is refused at once: /graphql checks the revocation record.
    const ended = await gql(app, ME, undefined, second.accessToken);
    expect(ended.status).to.equal(401);
    expect(reasons(ended)).to.deep.equal([['token_revoked', 'UNAUTHENTICATED', 401]]);
    expect(securityEvents(apps.logs)).to.deep.equal([
      {
        event: 'session_revoked',
        userId: user.id,
        sessionId: sessionIdOf(first.accessToken),
        ip: LOCAL_IP,
        reason: 'logout',
      },
    ]);
  });

  it("answers the app's own failures with their REST codes: invalid_credentials, email_taken, invalid_request", async () => {
    const address = email();
    await gqlRegister(app, address);
    const cases: Array<[query: string, data: Record<string, unknown>, reason: string, status: number]> = [
      [REGISTER, { email: address, password: PASSWORD }, 'email_taken', 409],
      [REGISTER, { email: email(), password: 'short' }, 'invalid_request', 400],
      [REGISTER, { email: 'not-an-email', password: PASSWORD }, 'invalid_request', 400],
      [LOGIN, { email: address, password: 'wrong password' }, 'invalid_credentials', 401],
      [LOGIN, { email: email('nobody'), password: PASSWORD }, 'invalid_credentials', 401],
    ];
    for (const [query, data, reason, status] of cases) {
      const res = await gql(app, query, { data });
      expect(res.status, reason).to.equal(200);
      // A wrong password is no token failure: its code stays invalid_credentials, never UNAUTHENTICATED.
      expect(reasons(res), JSON.stringify(data)).to.deep.equal([[reason, reason, status]]);
    }
  });

  it('gives concurrent refreshToken mutations with one token one successor', async () => {
    const address = email();
    await gqlRegister(app, address);
    const { refreshToken } = await gqlLogin(app, address);
    const answers = await Promise.all(Array.from({ length: 8 }, () => gqlRefresh(app, refreshToken)));
    const successors = answers.map((res) => (bodyOf(res).data?.refreshToken as Pair | null)?.refreshToken);
    expect(answers.map((res) => res.status)).to.deep.equal(Array(8).fill(200));
    expect(new Set(successors).size, JSON.stringify(answers.map(bodyOf))).to.equal(1);
    expect(successors[0]).to.be.a('string');
    expect(bodyOf(await gqlRefresh(app, successors[0]!)).errors).to.equal(undefined);
  });

  it('revokes the session when a spent refresh token comes back after the grace window', async () => {
    const address = email();
    const user = await gqlRegister(app, address);
    const first = await gqlLogin(app, address);
    const second = bodyOf(await gqlRefresh(app, first.refreshToken)).data?.refreshToken as Pair;
    apps.clock.advance(GRACE + 1);
    const replay = await gqlRefresh(app, first.refreshToken);
    expect(replay.status).to.equal(200);
    expect(reasons(replay)).to.deep.equal([['refresh_reused', 'UNAUTHENTICATED', 401]]);
    expect(bodyOf(replay).data).to.deep.equal({ refreshToken: null });
    expect(reasons(await gqlRefresh(app, second.refreshToken))).to.deep.equal([
      ['token_revoked', 'UNAUTHENTICATED', 401],
    ]);
    expect((await gql(app, ME, undefined, second.accessToken)).status).to.equal(401);
    expect(securityEvents(apps.logs)).to.deep.equal([
      { event: 'reuse_detected', userId: user.id, sessionId: sessionIdOf(first.accessToken), ip: LOCAL_IP },
    ]);
  });

  it('shares sessions with the REST routes: a REST pair refreshes over GraphQL, and the reverse', async () => {
    const address = email();
    const user = await signUp(app, address);
    const rest = await logIn(app, address);
    const viaGraphql = bodyOf(await gqlRefresh(app, rest.refreshToken)).data?.refreshToken as Pair;
    const backToRest = await refresh(app, viaGraphql.refreshToken);
    expect(backToRest.status).to.equal(200);
    expect((await me(app, viaGraphql.accessToken)).body).to.deep.equal({ user });
    expect(bodyOf(await gql(app, ME, undefined, (backToRest.body as LoginBody).accessToken)).data?.me).to.deep.equal(
      user,
    );

    const graphql = await gqlLogin(app, address);
    const viaRest = (await refresh(app, graphql.refreshToken)).body as LoginBody;
    expect(bodyOf(await gqlRefresh(app, viaRest.refreshToken)).errors).to.equal(undefined);
    // A REST logout ends it for GraphQL too, and the spent GraphQL token counts as reuse there as well.
    expect(
      (
        await request(app.app)
          .post('/auth/logout')
          .send({ refreshToken: (backToRest.body as LoginBody).refreshToken })
      ).status,
    ).to.equal(204);
    expect(reasons(await gqlRefresh(app, (backToRest.body as LoginBody).refreshToken))).to.deep.equal([
      ['token_revoked', 'UNAUTHENTICATED', 401],
    ]);
  });

  it('logoutAll ends every session of the user and none of another user', async () => {
    const ann = email('ann');
    const bob = email('bob');
    const annUser = await gqlRegister(app, ann);
    await gqlRegister(app, bob);
    const laptop = await gqlLogin(app, ann);
    const phone = await gqlLogin(app, ann);
    const other = await gqlLogin(app, bob);
    const out = await gql(app, 'mutation { logoutAll }', undefined, phone.accessToken);
    expect(bodyOf(out)).to.deep.equal({ data: { logoutAll: true } });
    for (const session of [laptop, phone]) {
      expect(reasons(await gqlRefresh(app, session.refreshToken))).to.deep.equal([
        ['token_revoked', 'UNAUTHENTICATED', 401],
      ]);
    }
    expect(bodyOf(await gqlRefresh(app, other.refreshToken)).errors).to.equal(undefined);
    expect(securityEvents(apps.logs)).to.deep.equal([
      { event: 'sessions_revoked', userId: annUser.id, ip: LOCAL_IP, reason: 'logout_all' },
    ]);
  });

  it('counts login, register and refreshToken against the REST limits, per field, in one budget with REST', async () => {
    const limited = await apps.make({ loginRateLimit: 3, refreshRateLimit: 2 });
    const address = email();
    await gqlRegister(limited, address); // register's own budget
    await logIn(limited, address); // 1 of 3, over REST
    const data = { email: address, password: PASSWORD };
    const twice = await gql(
      limited,
      `mutation($data: LoginInput!) {
      a: login(data: $data) { accessToken } b: login(data: $data) { refreshToken } }`,
      { data },
    );
    expect(twice.status).to.equal(200); // 2 and 3
    expect(bodyOf(twice).errors).to.equal(undefined);
    expect(twice.headers.ratelimit).to.match(/^"login"; r=0; t=\d+$/);
    const blocked = await gql(limited, LOGIN, { data });
    expect(blocked.status).to.equal(429);
    expect(blocked.headers['cache-control']).to.equal('no-store');
    expect(bodyOf(blocked)).to.deep.equal({
      errors: [
        {
          message: 'too many requests; try again later',
          extensions: { code: 'rate_limited', reason: 'rate_limited', status: 429 },
        },
      ],
    });
    expect((await request(limited.app).post('/auth/login').send(data)).status).to.equal(429); // the same budget
    expect(bodyOf(await gql(limited, ME)).data).to.deep.equal({ me: null, getCurrentUser: null }); // queries are not counted

    // One refreshToken field per request at most (graphql.aliases.test.ts): the budget is counted across requests.
    let { refreshToken } = bodyOf(twice).data?.b as Pair;
    for (let i = 0; i < 2; i += 1) {
      const renewed = await gqlRefresh(limited, refreshToken);
      expect(bodyOf(renewed).errors, renewed.text).to.equal(undefined);
      ({ refreshToken } = bodyOf(renewed).data?.refreshToken as Pair);
    }
    const refused = await gqlRefresh(limited, refreshToken);
    expect(refused.status).to.equal(429); // the third refresh is over the limit of 2: nothing ran
    expect(reasons(refused)).to.deep.equal([['rate_limited', 'rate_limited', 429]]);
    expect((await refresh(limited, refreshToken)).status).to.equal(429); // REST shares the budget; the token is still unspent
    expect(securityEvents(apps.logs)).to.deep.equal([
      { event: 'rate_limited', ip: LOCAL_IP, reason: 'login' },
      { event: 'rate_limited', ip: LOCAL_IP, reason: 'refresh' },
    ]);
  });
});
