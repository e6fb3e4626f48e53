import { expect } from 'chai';
import { buildSchema, graphql } from 'graphql';
import {
  createTokenAuth,
  graphqlContext,
  graphqlExtensions,
  GraphQLTokenError,
  InvalidRequestError,
  MemorySessionStore,
  OptionError,
  requireAuth,
  StoreUnavailableError,
  TokenExpiredError,
  TokenMissingError,
  toGraphQLError,
  type TokenAuth,
  type TokenPairContext,
} from '../lib/index.js';

describe('GraphQL helpers (lib/graphql.ts, no graphql import)', () => {
  let now: number;
  let store: MemorySessionStore;
  let auth: TokenAuth;

  beforeEach(() => {
    now = Date.UTC(2030, 0, 1);
    store = new MemorySessionStore();
    auth = createTokenAuth({
      accessToken: { secret: 'graphql-tests-access-secret-0123456789', ttl: 60 },
      refreshToken: { secret: 'graphql-tests-refresh-secret-0123456789', ttl: '1d' },
      store,
      clock: () => now,
    });
  });
  afterEach(async () => {
    await auth.close();
    store.close();
  });

  it('maps every stable code: UNAUTHENTICATED for a missing or refused token, the stable code otherwise, always as reason', () => {
    const table: Array<[reason: string, status: number, code: string]> = [
      ['token_missing', 401, 'UNAUTHENTICATED'],
      ['token_invalid', 401, 'UNAUTHENTICATED'],
      ['token_expired', 401, 'UNAUTHENTICATED'],
      ['token_revoked', 401, 'UNAUTHENTICATED'],
      ['refresh_reused', 401, 'UNAUTHENTICATED'],
      ['invalid_request', 400, 'invalid_request'],
      ['csrf_rejected', 403, 'csrf_rejected'],
      ['store_unavailable', 503, 'store_unavailable'],
      ['invalid_credentials', 401, 'invalid_credentials'], // an app's 401 that is no token failure
      ['rate_limited', 429, 'rate_limited'],
    ];
    for (const [reason, status, code] of table) {
      expect(graphqlExtensions(reason, status), reason).to.deep.equal({ code, reason, status });
    }
  });

  it('turns a TokenPairError into an error with extensions and the original as cause; anything else stays as it is', () => {
    const original = new TokenExpiredError('token has expired');
    const mapped = toGraphQLError(original);
    expect(mapped).to.be.an.instanceOf(GraphQLTokenError);
    expect(mapped.message).to.equal('token has expired');
    expect(mapped.cause).to.equal(original);
    expect(mapped.extensions).to.deep.equal({ code: 'UNAUTHENTICATED', reason: 'token_expired', status: 401 });
    expect(toGraphQLError(new StoreUnavailableError('down')).extensions).to.deep.equal({
      code: 'store_unavailable',
      reason: 'store_unavailable',
      status: 503,
    });
    const bug = new TypeError('x is undefined');
    expect(toGraphQLError(bug)).to.equal(bug);
  });

  it('is copied into the answer by graphql-js 16: the guarded field fails, the others resolve', async () => {
    const { accessToken } = await auth.issue({ userId: 'ann', claims: { email: 'ann@example.com' } });
    const contextFor = graphqlContext(auth);
    const schema = buildSchema('type Query { me: String, open: String, broken: String }');
    const rootValue = {
      me: (_: unknown, context: TokenPairContext) => requireAuth(context).claims.email,
      open: () => 'yes',
      broken: () => {
        throw toGraphQLError(new InvalidRequestError('bad input'));
      },
    };
    const anonymous = await graphql({ schema, rootValue, source: '{ me open }', contextValue: contextFor(undefined) });
    expect(JSON.parse(JSON.stringify(anonymous))).to.deep.equal({
      errors: [
        {
          message: 'no bearer token',
          locations: [{ line: 1, column: 3 }],
          path: ['me'],
          extensions: { code: 'UNAUTHENTICATED', reason: 'token_missing', status: 401 },
        },
      ],
      data: { me: null, open: 'yes' },
    });
    const signedIn = await graphql({
      schema,
      rootValue,
      source: '{ me broken }',
      contextValue: contextFor(`Bearer ${accessToken}`),
    });
    expect(signedIn.data).to.deep.equal({ me: 'ann@example.com', broken: null });
    expect(signedIn.errors?.[0]?.extensions).to.deep.equal({
      code: 'invalid_request',
      reason: 'invalid_request',
      status: 400,
    });
  });

  it('builds the context once per request: the caller, or why there is none', async () => {
    const { accessToken, refreshToken } = await auth.issue({ userId: 'ann' });
    const contextFor = graphqlContext(auth);
    const signedIn = contextFor(`Bearer ${accessToken}`);
    expect(signedIn.authError).to.equal(undefined);
    expect(signedIn.auth).to.include({ userId: 'ann' });
    expect(auth.owns(signedIn.auth)).to.equal(true);
    expect(requireAuth(signedIn)).to.equal(signedIn.auth);
    const cases: Array<[header: string | null | undefined, code: string]> = [
      [undefined, 'token_missing'],
      [null, 'token_missing'],
      ['', 'token_missing'],
      ['Basic dXNlcjpwYXNz', 'token_missing'],
      ['Bearer', 'invalid_request'],
      [`Bearer ${accessToken} extra`, 'invalid_request'],
      ['Bearer not.a.token', 'token_invalid'],
      [`Bearer ${refreshToken}`, 'token_invalid'],
    ];
    for (const [header, code] of cases) {
      const context = contextFor(header);
      expect(context.auth, String(header)).to.equal(undefined);
      expect(context.authError?.code, String(header)).to.equal(code);
      expect(() => requireAuth(context))
        .to.throw(GraphQLTokenError)
        .with.property('extensions')
        .that.deep.includes({ reason: code });
    }
    now += 61_000;
    expect(contextFor(`bearer  ${accessToken}`).authError).to.be.an.instanceOf(TokenExpiredError);
  });

  it('refuses the token of an ended session with checkRevocation, and not without', async () => {
    const { accessToken, refreshToken } = await auth.issue({ userId: 'ann' });
    const checked = graphqlContext(auth, { checkRevocation: true });
    await auth.watchRevocations();
    expect(checked(`Bearer ${accessToken}`).auth).to.not.equal(undefined);
    await auth.revoke(refreshToken);
    expect(checked(`Bearer ${accessToken}`).authError?.code).to.equal('token_revoked');
    expect(graphqlContext(auth)(`Bearer ${accessToken}`).auth).to.include({ userId: 'ann' });
  });

  it('catches wiring mistakes and bad options at creation', () => {
    const bad: Array<[() => unknown, new (...args: never[]) => Error, RegExp]> = [
      [
        () => graphqlContext(Object.create(null) as TokenAuth),
        TypeError,
        /graphqlContext\(auth\) needs the object returned by createTokenAuth\(\)/,
      ],
      [
        () => graphqlContext(auth, { checkRevocation: 'yes' as unknown as boolean }),
        OptionError,
        /checkRevocation must be a boolean/,
      ],
      [() => graphqlContext(auth, { checkRevokation: true } as never), OptionError, /unknown option checkRevokation/],
      [() => graphqlContext(auth, null as never), OptionError, /options must be an object/],
      [
        () => requireAuth({} as TokenPairContext),
        TypeError,
        /requireAuth\(context\) needs a context built by graphqlContext/,
      ],
    ];
    for (const [make, type, message] of bad) expect(make).to.throw(type, message);
    expect(() => requireAuth({ auth: undefined, authError: undefined })).to.throw(GraphQLTokenError, 'no bearer token');
    expect(new TokenMissingError('x')).to.not.be.an.instanceOf(GraphQLTokenError);
  });
});
