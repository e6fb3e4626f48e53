import { expect } from 'chai';
import { buildSchema, parse, validate } from 'graphql';
import request from 'supertest';
import type { SampleApp } from '../sample-app/app.js';
import { depthLimit, MAX_DEPTH } from '../sample-app/graphql/limits.js';
import type { UserStore } from '../sample-app/users.js';
import { flipLastChar, sign, unsigned } from './helpers/forged-tokens.js';
import { bodyOf, gql, gqlLogin, gqlRefresh, gqlRegister, ME, reasons, REGISTER, type Pair } from './helpers/graphql.js';
import { ACCESS_TTL, appFactory, email, PASSWORD, SECRETS, until } from './helpers/sample-app.js';

describe('sample app: POST /graphql at the HTTP level', () => {
  const apps = appFactory(() => ({}));
  let app: SampleApp;

  beforeEach(async () => {
    apps.reset();
    app = await apps.make();
  });
  afterEach(() => apps.closeAll());

  async function session(): Promise<Pair> {
    const address = email();
    await gqlRegister(app, address);
    return gqlLogin(app, address);
  }

  it('refuses a forged, expired or revoked bearer token with 401, WWW-Authenticate and the stable code: no data, nothing run', async () => {
    const { accessToken, refreshToken } = await session();
    const payload = { sub: 'u1', sid: 's1', jti: 'j1', exp: Math.floor(Date.now() / 1000) + 60 };
    const forged: Array<[token: string, reason: string]> = [
      [flipLastChar(accessToken), 'token_invalid'],
      ['not.a.token', 'token_invalid'],
      [refreshToken, 'token_invalid'], // a refresh token is no access token
      [sign(payload, 'another-secret-of-at-least-32-bytes!!', 'at+jwt'), 'token_invalid'],
      [unsigned(payload, 'at+jwt'), 'token_invalid'],
    ];
    const address = email('victim');
    // A guarded field beside a mutation that would create an account: the 401 comes first.
    const mixed = 'mutation($data: LoginInput!) { register(data: $data) { id } logoutAll }';
    for (const [token, reason] of forged) {
      const res = await gql(app, mixed, { data: { email: address, password: PASSWORD } }, token);
      expect(res.status, reason).to.equal(401);
      expect(res.headers['www-authenticate']).to.match(/^Bearer error="invalid_token", error_description="/);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.headers['content-type']).to.match(/^application\/json/);
      expect(bodyOf(res)).to.have.all.keys('errors'); // never partial data
      expect(reasons(res)).to.deep.equal([[reason, 'UNAUTHENTICATED', 401]]);
    }
    await gqlRegister(app, address); // none of those requests registered it

    apps.clock.advance(ACCESS_TTL + 1);
    const expired = await gql(app, ME, undefined, accessToken);
    expect(expired.status).to.equal(401);
    expect(bodyOf(expired)).to.deep.equal({
      errors: [
        {
          message: 'token has expired',
          extensions: { code: 'UNAUTHENTICATED', reason: 'token_expired', status: 401 },
        },
      ],
    });
    const live = await session();
    await request(app.app).post('/auth/logout').send({ refreshToken: live.refreshToken });
    const revoked = await gql(app, ME, undefined, live.accessToken);
    expect(revoked.status).to.equal(401);
    expect(reasons(revoked)).to.deep.equal([['token_revoked', 'UNAUTHENTICATED', 401]]);
    const bare = await request(app.app).post('/graphql').set('Authorization', 'Bearer').send({ query: ME });
    expect(bare.status).to.equal(400);
    expect(bare.headers['www-authenticate']).to.match(/^Bearer error="invalid_request"/);
    expect(reasons(bare)).to.deep.equal([['invalid_request', 'invalid_request', 400]]);
  });

  it('runs an operation of public fields despite a refused token: the refresh mutation with the expired access token attached', async () => {
    const { accessToken, refreshToken } = await session();
    apps.clock.advance(ACCESS_TTL + 1);
    const renewed = await gqlRefresh(app, refreshToken, accessToken);
    expect(renewed.status).to.equal(200);
    const pair = bodyOf(renewed).data?.refreshToken as Pair;
    expect(bodyOf(await gql(app, ME, undefined, pair.accessToken)).errors).to.equal(undefined);
    const login = await gql(app, REGISTER, { data: { email: email(), password: PASSWORD } }, 'garbage');
    expect(bodyOf(login).errors).to.equal(undefined);
  });

  it('answers a guarded field without a token with 200 and UNAUTHENTICATED, the other fields resolved', async () => {
    const guarded: Array<[query: string, field: string]> = [
      ['{ __typename me { id } }', 'me'],
      ['query { __typename getCurrentUser { email } }', 'getCurrentUser'],
      ['mutation { __typename logoutAll }', 'logoutAll'],
    ];
    for (const [query, field] of guarded) {
      for (const header of [undefined, 'Basic dXNlcjpwYXNz']) {
        // another scheme is no bearer token
        const req = request(app.app).post('/graphql').send({ query });
        const res = await (header === undefined ? req : req.set('Authorization', header));
        expect(res.status, field).to.equal(200);
        expect(res.headers['www-authenticate']).to.equal(undefined);
        expect(bodyOf(res).data).to.deep.include({ [field]: null });
        expect(bodyOf(res).data?.__typename).to.be.oneOf(['Query', 'Mutation']);
        expect(bodyOf(res).errors).to.deep.equal([
          {
            message: 'no bearer token',
            path: [field],
            extensions: { code: 'UNAUTHENTICATED', reason: 'token_missing', status: 401 },
          },
        ]);
      }
    }
    const address = email();
    const mixed = await gql(app, 'mutation($data: LoginInput!) { register(data: $data) { email } logoutAll }', {
      data: { email: address, password: PASSWORD },
    });
    expect(bodyOf(mixed).data).to.deep.equal({ register: { email: address }, logoutAll: null });
    expect(reasons(mixed)).to.deep.equal([['token_missing', 'UNAUTHENTICATED', 401]]);
  });

  it('refuses what is over the limits: body size, tokens and depth; other methods get 405', async () => {
    const big = await request(app.app)
      .post('/graphql')
      .send({ query: `{ me { id } } # ${'x'.repeat(17_000)}` });
    expect(big.status).to.equal(413);
    expect(reasons(big)).to.deep.equal([['payload_too_large', 'payload_too_large', 413]]);
    const address = email();
    const many = `mutation($data: LoginInput!) { register(data: $data) { id } ${'__typename '.repeat(1000)} }`;
    const tokens = await gql(app, many, { data: { email: address, password: PASSWORD } });
    expect(bodyOf(tokens).errors?.[0]?.message).to.match(/^Syntax Error: Document contains more tha[nt] 1000 tokens/);
    expect(bodyOf(tokens)).to.not.have.property('data');
    const deep = await gql(app, '{ me { id { a { b { c { d } } } } } }');
    expect(bodyOf(deep).errors?.map((error) => error.message)).to.include(
      `the operation is 6 fields deep; the limit is ${MAX_DEPTH}`,
    );
    expect(bodyOf(deep)).to.not.have.property('data');
    await gqlRegister(app, address); // the refused requests ran nothing
    for (const method of ['get', 'put', 'delete'] as const) {
      const res = await request(app.app)[method]('/graphql');
      expect(res.status, method).to.equal(405);
      expect(res.headers.allow).to.equal('POST');
      expect(reasons(res)).to.deep.equal([['method_not_allowed', 'method_not_allowed', 405]]);
    }
    const text = await request(app.app).post('/graphql').set('Content-Type', 'text/plain').send(ME);
    expect(text.status).to.equal(415);
  });

  it('measures depth through fragments, each once, and leaves cycles to graphql', () => {
    const recursive = buildSchema('type Node { child: Node, name: String } type Query { root: Node }');
    const depthErrors = (query: string, max: number): string[] =>
      validate(recursive, parse(query), [depthLimit(max)]).map((error) => error.message);
    expect(depthErrors('{ root { child { child { name } } } }', 4)).to.deep.equal([]);
    expect(depthErrors('{ root { child { child { child { name } } } } }', 4)).to.deep.equal([
      'the operation is 5 fields deep; the limit is 4',
    ]);
    const viaFragments =
      'query { root { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ... on Node { child { name } } } }';
    expect(depthErrors(viaFragments, 4)).to.deep.equal(['the operation is 5 fields deep; the limit is 4']);
    // A fragment spread over and over is measured once (no exponential walk).
    const fanOut = Array.from(
      { length: 30 },
      (_, i) => `fragment F${i} on Node { child { ...F${i + 1} } name ...F${i + 1} }`,
    ).join(' ');
    expect(depthErrors(`{ root { ...F0 } } ${fanOut} fragment F30 on Node { name }`, 40)).to.deep.equal([]);
    expect(depthErrors('{ root { ...A } } fragment A on Node { child { ...A } }', 4)).to.deep.equal([]);
    expect(depthErrors('{ __schema { types { fields { type { ofType { ofType { name } } } } } } }', 2)).to.deep.equal(
      [],
    );
  });

  it('keeps introspection on outside production, and turns it off when NODE_ENV=production', async () => {
    const introspect = '{ __schema { queryType { name } } }';
    expect(bodyOf(await gql(app, introspect)).data).to.deep.equal({ __schema: { queryType: { name: 'Query' } } });
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    let production: SampleApp;
    try {
      production = await apps.make();
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
    for (const query of [introspect, '{ __type(name: "User") { name } }']) {
      const res = await gql(production, query);
      expect(bodyOf(res).errors?.[0]?.message).to.match(/^GraphQL introspection has been disabled/);
      expect(bodyOf(res)).to.not.have.property('data');
    }
    expect(bodyOf(await gql(production, '{ __typename }')).data).to.deep.equal({ __typename: 'Query' });
  });

  it('logs no token and no password from the variables, and masks a resolver bug while logging it', async () => {
    const address = email();
    await gqlRegister(app, address);
    const { accessToken, refreshToken } = await gqlLogin(app, address);
    const renewed = bodyOf(await gqlRefresh(app, refreshToken)).data?.refreshToken as Pair;
    // A variable of the wrong type: graphql quotes the value back to the client, never to the log.
    const coerced = await gql(app, REGISTER, { data: { email: address, password: ['hunter2-in-a-list'] } });
    expect(bodyOf(coerced).errors?.[0]?.message).to.include('hunter2-in-a-list');
    await gql(app, ME, undefined, flipLastChar(accessToken));

    const broken: UserStore = {
      create: async () => true,
      findByEmail: async () => {
        throw new Error('database password is hunter2');
      },
      setPasswordHash: async () => false,
    };
    const buggy = await apps.make({ users: broken });
    const res = await gql(buggy, 'mutation($d: LoginInput!) { login(data: $d) { accessToken } }', {
      d: { email: address, password: PASSWORD },
    });
    expect(res.status).to.equal(200);
    expect(bodyOf(res)).to.deep.equal({
      data: { login: null },
      errors: [
        {
          message: 'something went wrong',
          path: ['login'],
          extensions: { code: 'internal_error', reason: 'internal_error', status: 500 },
        },
      ],
    });
    await until(() => apps.logs.some((line) => line.text.startsWith('unexpected error in GraphQL field login')));
    expect(apps.logs.filter((line) => line.level === 'error').map((line) => line.text.split('\n')[0])).to.deep.equal([
      'unexpected error in GraphQL field login Error: database password is hunter2',
    ]);
    await until(() => apps.logs.filter((line) => line.text.startsWith('POST /graphql')).length >= 6);
    for (const { raw } of apps.logs) {
      for (const secret of [
        PASSWORD,
        accessToken,
        refreshToken,
        renewed.accessToken,
        renewed.refreshToken,
        'hunter2-in-a-list',
        SECRETS.accessTokenSecret,
      ]) {
        expect(raw).to.not.include(secret);
      }
    }
  });
});
