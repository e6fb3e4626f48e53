/**
 * What one POST /graphql can make the app do: aliases (or fragments) must not
 * multiply writes to the revocation record.
 */
import { expect } from 'chai';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { bodyOf, gql, gqlLogin, gqlRegister, LOGOUT, reasons } from './helpers/graphql.js';
import { privateRedis, uniquePrefix } from './helpers/redis-server.js';
import { appFactory, email, logIn, PASSWORD, signUp } from './helpers/sample-app.js';

describe('sample app: one POST /graphql cannot multiply writes to the revocation record', function () {
  this.timeout(60_000); // generous: many requests, and the machine may be busy
  const redis = privateRedis();
  const apps = appFactory(() => ({}));
  let app: SampleApp;
  let stream: string;

  beforeEach(async () => {
    apps.reset();
    const prefix = uniquePrefix();
    stream = `${prefix}session:revocations`;
    app = await apps.make({ redis: { client: redis.client, prefix } });
  });
  afterEach(() => apps.closeAll());

  const entries = (): Promise<number> => redis.client.xLen(stream);

  it('refuses 50 aliased session-ending fields with 400 before any runs, and runs one', async function () {
    this.timeout(60_000);
    const address = email();
    await signUp(app, address);
    const sessions = await Promise.all(Array.from({ length: 50 }, () => logIn(app, address)));
    const [first] = sessions;
    if (first === undefined) throw new Error('no session');
    const before = await entries();

    const variables = Object.fromEntries(sessions.map(({ refreshToken }, i) => [`t${i}`, refreshToken]));
    const fifty: Array<[label: string, query: string, variables?: Record<string, unknown>]> = [
      [
        '50 logouts of 50 sessions',
        `mutation(${sessions.map((_, i) => `$t${i}: String!`).join(', ')}) {
        ${sessions.map((_, i) => `a${i}: logout(refreshToken: $t${i})`).join(' ')} }`,
        variables,
      ],
      ['50 logoutAll', `mutation { ${sessions.map((_, i) => `a${i}: logoutAll`).join(' ')} }`],
      [
        'logoutAll and logout',
        'mutation($t0: String!) { logoutAll logout(refreshToken: $t0) }',
        { t0: first.refreshToken },
      ],
      [
        'two refreshTokens',
        'mutation($t0: String!) { a: refreshToken(refreshToken: $t0) { accessToken } b: refreshToken(refreshToken: $t0) { accessToken } }',
        { t0: first.refreshToken },
      ],
      [
        'two fragments',
        'mutation { ...F ...G } fragment F on Mutation { a: logoutAll } fragment G on Mutation { b: logoutAll }',
      ],
    ];
    for (const [label, query, vars] of fifty) {
      const res = await gql(app, query, vars, first.accessToken);
      expect(res.status, label).to.equal(400);
      expect(bodyOf(res), label).to.have.all.keys('errors');
      expect(reasons(res), label).to.deep.equal([['invalid_request', 'invalid_request', 400]]);
      expect(bodyOf(res).errors?.[0]?.message).to.match(/^at most one of refreshToken, logout, logoutAll per request/);
      expect(await entries(), label).to.equal(before);
    }
    // Nothing ran: every session still refreshes.
    for (const { refreshToken } of sessions.slice(0, 3)) {
      expect((await request(app.app).post('/auth/refresh').send({ refreshToken })).status).to.equal(200);
    }

    // One session-ending field runs (beside other fields), and writes for the one session it ends.
    const last = sessions[49];
    if (last === undefined) throw new Error('no session');
    const one = await gql(app, `mutation($t: String!) { __typename logout(refreshToken: $t) }`, {
      t: last.refreshToken,
    });
    expect(bodyOf(one)).to.deep.equal({ data: { __typename: 'Mutation', logout: true } });
    expect(await entries()).to.equal(before + 1);
    const same = await gql(
      app,
      `mutation { ...F ...F } fragment F on Mutation { logoutAll }`,
      undefined,
      first.accessToken,
    );
    expect(bodyOf(same)).to.deep.equal({ data: { logoutAll: true } }); // one field, spread twice: graphql runs it once
  });

  it('still runs one logout per request, request after request', async () => {
    const address = email();
    await gqlRegister(app, address, PASSWORD);
    for (let i = 0; i < 3; i += 1) {
      const { refreshToken } = await gqlLogin(app, address);
      expect(bodyOf(await gql(app, LOGOUT, { token: refreshToken }))).to.deep.equal({ data: { logout: true } });
    }
  });
});
