/**
 * lib/http/ without any framework: the bearer parser, the authenticator that
 * requireAccessToken and graphqlContext share, and the one error -> answer
 * mapping (status, body, Cache-Control, WWW-Authenticate, Retry-After).
 * Plain strings and objects in, plain decisions out.
 */
import { expect } from 'chai';
import { bearerAuthenticator, parseBearer } from '../lib/http/bearer.js';
import { errorAnswer, RETRY_AFTER } from '../lib/http/error-answer.js';
import {
  CookieAmbiguousError,
  createTokenAuth,
  CredentialsChangedError,
  CsrfRejectedError,
  graphqlExtensions,
  GraphQLTokenError,
  InputError,
  InvalidRequestError,
  MemorySessionStore,
  OptionError,
  RefreshReusedError,
  StoreUnavailableError,
  TokenExpiredError,
  TokenInvalidError,
  TokenMissingError,
  TokenRevokedError,
  type TokenAuth,
  type TokenPairError,
} from '../lib/index.js';

const T0 = Date.UTC(2030, 0, 1);

function newAuth(store: MemorySessionStore, now: { ms: number }): TokenAuth {
  return createTokenAuth({
    accessToken: { secret: 'access-secret-for-tests-0123456789', ttl: 900 },
    refreshToken: { secret: 'refresh-secret-for-tests-0123456789', ttl: 86_400 },
    store,
    clock: () => now.ms,
  });
}

describe('lib/http: bearer and error answers, no framework', function () {
  describe('parseBearer', function () {
    const missing: Array<[string, string | null | undefined]> = [
      ['no header', undefined],
      ['null', null],
      ['an empty header', ''],
      ['the Basic scheme', 'Basic dXNlcjpwYXNz'],
      ['a bare token, no scheme', 'abc.def.ghi'],
      ['"Bearer" glued to the token', 'Bearerabc'],
    ];
    for (const [name, header] of missing) {
      it(`${name}: TokenMissingError (401 token_missing)`, function () {
        expect(() => parseBearer(header)).to.throw(TokenMissingError, 'no bearer token');
      });
    }
    const malformed: Array<[string, string]> = [
      ['"Bearer" and no token', 'Bearer'],
      ['"Bearer" and only spaces', 'Bearer    '],
      ['two words after "Bearer"', 'Bearer abc def'],
    ];
    for (const [name, header] of malformed) {
      it(`${name}: InvalidRequestError (400 invalid_request)`, function () {
        expect(() => parseBearer(header)).to.throw(InvalidRequestError, 'malformed Authorization header');
      });
    }
    it('takes the scheme in any case, and spaces around and before the token', function () {
      for (const header of ['Bearer t.o.k', 'bearer t.o.k', 'BEARER t.o.k', 'Bearer    t.o.k', '  Bearer t.o.k  ']) {
        expect(parseBearer(header), JSON.stringify(header)).to.equal('t.o.k');
      }
    });
  });

  describe('bearerAuthenticator', function () {
    const now = { ms: T0 };
    let store: MemorySessionStore;
    let auth: TokenAuth;

    before(function () {
      store = new MemorySessionStore();
      auth = newAuth(store, now);
    });

    after(function () {
      store.close();
    });

    it('maps an Authorization value to the verified caller, and throws the refusal otherwise', async function () {
      const pair = await auth.issue({ userId: 'alice', claims: { role: 'admin' } });
      const authenticate = bearerAuthenticator(auth, {}, 'test');
      const context = authenticate(`Bearer ${pair.accessToken}`);
      expect(context).to.include({ userId: 'alice' });
      expect(context.claims).to.deep.equal({ role: 'admin' });
      expect(() => authenticate(undefined)).to.throw(TokenMissingError);
      expect(() => authenticate('Bearer')).to.throw(InvalidRequestError);
      expect(() => authenticate(`Bearer ${pair.refreshToken}`)).to.throw(TokenInvalidError);
    });

    it('checks its options once, naming the owner', function () {
      expect(() => bearerAuthenticator(auth, { checkrevocation: true } as never, 'owner')).to.throw(
        OptionError,
        'express-token-pair: owner: unknown option checkrevocation (known: checkRevocation)',
      );
      expect(() => bearerAuthenticator(auth, { checkRevocation: 'yes' } as never, 'owner')).to.throw(
        OptionError,
        'express-token-pair: owner option checkRevocation must be a boolean',
      );
      expect(() => bearerAuthenticator(auth, null as never, 'owner')).to.throw(
        OptionError,
        'express-token-pair: owner options must be an object',
      );
    });
  });

  describe('errorAnswer', function () {
    const rows: Array<[TokenPairError, number, Record<string, string>]> = [
      [new TokenMissingError('no bearer token'), 401, { 'WWW-Authenticate': 'Bearer' }],
      [new TokenMissingError('no refresh token cookie'), 401, { 'WWW-Authenticate': 'Bearer' }],
      [
        new TokenInvalidError('token is invalid'),
        401,
        { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="token is invalid"' },
      ],
      [
        new TokenExpiredError('token has expired'),
        401,
        { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="token has expired"' },
      ],
      [
        new TokenRevokedError('session has ended'),
        401,
        { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="session has ended"' },
      ],
      [
        new RefreshReusedError('refresh token was already used'),
        401,
        { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="refresh token was already used"' },
      ],
      [
        new CredentialsChangedError('credentials changed'),
        401,
        { 'WWW-Authenticate': 'Bearer error="invalid_token", error_description="credentials changed"' },
      ],
      [
        new InvalidRequestError('malformed Authorization header'),
        400,
        { 'WWW-Authenticate': 'Bearer error="invalid_request", error_description="malformed Authorization header"' },
      ],
      [
        new CookieAmbiguousError('the refresh cookie appears more than once; none was used'),
        400,
        {
          'WWW-Authenticate':
            'Bearer error="invalid_request", error_description="the refresh cookie appears more than once; none was used"',
        },
      ],
      [new CsrfRejectedError("the request's Origin is not allowed"), 403, {}],
      [new StoreUnavailableError('session store unavailable'), 503, { 'Retry-After': String(RETRY_AFTER) }],
    ];
    for (const [error, status, headers] of rows) {
      it(`${error.code} (${error.message}): ${status}, no-store, ${Object.keys(headers).join(', ') || 'no other header'}`, function () {
        expect(errorAnswer(error)).to.deep.equal({
          status,
          headers: { 'Cache-Control': 'no-store', ...headers },
          cookies: [],
          body: { error: error.code, message: error.message },
        });
      });
    }

    it('Retry-After is 1 second: a retried refresh must land inside the reuse grace window', function () {
      expect(RETRY_AFTER).to.equal(1);
    });

    it('keeps quotes and backslashes out of the challenge, not out of the body', function () {
      const answer = errorAnswer(new TokenInvalidError('a "quoted" \\ message'));
      expect(answer.headers['WWW-Authenticate']).to.equal(
        'Bearer error="invalid_token", error_description="a quoted  message"',
      );
      expect(answer.body).to.deep.equal({ error: 'token_invalid', message: 'a "quoted" \\ message' });
    });

    it('has no answer for anything that is not a TokenPairError (the framework handles it)', function () {
      for (const error of [
        new Error('boom'),
        new TypeError('bug'),
        new OptionError('x'),
        new InputError('y'),
        'a string',
        undefined,
      ]) {
        expect(errorAnswer(error), String(error)).to.equal(undefined);
      }
    });

    it('gives GraphQL the same status as the HTTP answer', function () {
      for (const [error, status] of rows) {
        expect(new GraphQLTokenError(error).extensions, error.code).to.deep.equal(
          graphqlExtensions(error.code, status),
        );
      }
    });
  });
});
