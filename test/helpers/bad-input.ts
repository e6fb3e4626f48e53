/**
 * The bad-input tables of the adapter suites: bad `Authorization` headers for
 * every route that reads the access token, bad `{ refreshToken }` bodies for
 * refresh and logout, each with the status, code and message it must get.
 */
import { ACCESS_TYP, REFRESH_TYP } from '../../lib/index.js';
import {
  ACCESS_SECRET,
  ACCESS_TTL,
  OTHER_SECRET,
  REFRESH_SECRET,
  REFRESH_TTL,
  type Kit,
  type Test,
} from './express-app.js';
import { flipLastChar, rsaKey, sign, signByHand, signRaw, tamper, unsigned, without } from './forged-tokens.js';

type Send = (req: Test, kit: Kit) => Test;

export interface BadInput {
  name: string;
  send: Send;
  status: number;
  code: string;
  message: string;
  /** Seconds to move the clock before sending. */
  advance?: number;
}

const header =
  (value: string): Send =>
  (req) =>
    req.set('Authorization', value);
const bearer =
  (token: (kit: Kit) => string): Send =>
  (req, kit) =>
    req.set('Authorization', `Bearer ${token(kit)}`);
const body =
  (value: (kit: Kit) => unknown): Send =>
  (req, kit) =>
    req.send(value(kit) as object);
const refreshToken = (token: (kit: Kit) => unknown): Send => body((kit) => ({ refreshToken: token(kit) }));

const GARBAGE = ['garbage', 'a.b.c', '...', 'eyJhbGciOiJIUzI1NiJ9.e30.', 'eyJ%00.eyJ.x', '\u00e9t\u00e9'];
const INVALID = { status: 401, code: 'token_invalid', message: 'token is invalid' } as const;
const WRONG_TYPE = { status: 401, code: 'token_invalid', message: 'token is of the wrong type' } as const;
const MISSING_CLAIMS = { status: 401, code: 'token_invalid', message: 'token is missing required claims' } as const;
const TOO_LONG = { status: 401, code: 'token_invalid', message: 'token is too long' } as const;
export const NOT_A_STRING = {
  status: 400,
  code: 'invalid_request',
  message: 'refreshToken must be a non-empty string',
} as const;
const PADDING = 'x'.repeat(100 * 1024);

/** Bad `Authorization` headers, for every route that reads the access token. */
const badAccess: BadInput[] = [
  {
    name: 'no Authorization header',
    send: (req) => req,
    status: 401,
    code: 'token_missing',
    message: 'no bearer token',
  },
  {
    name: 'a Basic Authorization header',
    send: header('Basic dXNlcjpwYXNz'),
    status: 401,
    code: 'token_missing',
    message: 'no bearer token',
  },
  {
    name: '"Bearer" and no token',
    send: header('Bearer'),
    status: 400,
    code: 'invalid_request',
    message: 'malformed Authorization header',
  },
  {
    name: 'two words after "Bearer"',
    send: header('Bearer abc def'),
    status: 400,
    code: 'invalid_request',
    message: 'malformed Authorization header',
  },
  {
    name: '"Bearer" and only spaces',
    send: header('Bearer    '),
    status: 400,
    code: 'invalid_request',
    message: 'malformed Authorization header',
  },
  {
    name: 'a token signed with another secret',
    send: bearer((k) => sign(k.access, OTHER_SECRET, ACCESS_TYP)),
    ...INVALID,
  },
  {
    name: 'a token whose payload was changed after signing',
    send: bearer((k) => tamper(k.pair.accessToken, { sub: 'mallory' })),
    ...INVALID,
  },
  {
    name: 'an expired token',
    advance: ACCESS_TTL + 1,
    send: bearer((k) => k.pair.accessToken),
    status: 401,
    code: 'token_expired',
    message: 'token has expired',
  },
  {
    name: 'an expired token signed with another secret',
    advance: ACCESS_TTL + 1,
    send: bearer((k) => sign(k.access, OTHER_SECRET, ACCESS_TYP)),
    ...INVALID,
  },
  {
    name: 'a token not valid before an hour from now',
    send: bearer((k) => sign({ ...k.access, nbf: (k.access.iat as number) + 3600 }, ACCESS_SECRET, ACCESS_TYP)),
    status: 401,
    code: 'token_invalid',
    message: 'token is not valid yet',
  },
  {
    name: 'a token with the last character of its signature changed',
    send: bearer((k) => flipLastChar(k.pair.accessToken)),
    ...INVALID,
  },
  { name: 'a token with a fourth segment', send: bearer((k) => `${k.pair.accessToken}.AAAA`), ...INVALID },
  {
    name: 'a token whose header lists typ first and payload was changed',
    send: bearer((k) =>
      tamper(signRaw({ typ: ACCESS_TYP, alg: 'HS256' }, JSON.stringify(k.access), ACCESS_SECRET), { sub: 'mallory' }),
    ),
    ...INVALID,
  },
  {
    name: 'a validly signed token whose payload is not JSON',
    send: bearer(() => signRaw({ alg: 'HS256', typ: ACCESS_TYP }, 'not json', ACCESS_SECRET)),
    ...INVALID,
  },
  {
    name: 'a validly signed token whose payload is an array',
    send: bearer(() => signRaw({ alg: 'HS256', typ: ACCESS_TYP }, '["alice"]', ACCESS_SECRET)),
    status: 401,
    code: 'token_invalid',
    message: 'token payload is not an object',
  },
  { name: 'an alg "none" token', send: bearer((k) => unsigned(k.access, ACCESS_TYP)), ...INVALID },
  { name: 'a refresh token', send: bearer((k) => k.pair.refreshToken), ...INVALID },
  {
    name: 'a refresh-typ token signed with the access secret',
    send: bearer((k) => sign(k.access, ACCESS_SECRET, REFRESH_TYP)),
    ...WRONG_TYPE,
  },
  {
    name: 'a typ "JWT" token signed with the access secret',
    send: bearer((k) => sign(k.access, ACCESS_SECRET, 'JWT')),
    ...WRONG_TYPE,
  },
  {
    name: 'an HS512 token (HS256 is pinned)',
    send: bearer((k) => sign(k.access, ACCESS_SECRET, ACCESS_TYP, 'HS512')),
    ...INVALID,
  },
  {
    name: 'an RS256 token (HS256 is pinned)',
    send: bearer((k) => sign(k.access, rsaKey, ACCESS_TYP, 'RS256')),
    ...INVALID,
  },
  ...GARBAGE.map((text): BadInput => ({
    name: `the garbage ${JSON.stringify(text)}`,
    send: bearer(() => text),
    ...INVALID,
  })),
  {
    name: 'a 100 KB token, validly signed',
    send: bearer((k) => sign({ ...k.access, pad: PADDING }, ACCESS_SECRET, ACCESS_TYP)),
    ...TOO_LONG,
  },
  {
    name: 'a token without sid',
    send: bearer((k) => sign(without(k.access, 'sid'), ACCESS_SECRET, ACCESS_TYP)),
    ...MISSING_CLAIMS,
  },
  {
    name: 'a token without exp',
    send: bearer((k) => sign(without(k.access, 'exp'), ACCESS_SECRET, ACCESS_TYP)),
    ...MISSING_CLAIMS,
  },
  {
    name: 'a token whose sub is a number',
    send: bearer((k) => sign({ ...k.access, sub: 42 }, ACCESS_SECRET, ACCESS_TYP)),
    ...MISSING_CLAIMS,
  },
];

/** Bad `{ refreshToken }` bodies, for refresh and logout. */
const badRefresh: BadInput[] = [
  {
    name: 'a token signed with another secret',
    send: refreshToken((k) => sign(k.refresh, OTHER_SECRET, REFRESH_TYP)),
    ...INVALID,
  },
  {
    name: 'a token whose payload was changed after signing',
    send: refreshToken((k) => tamper(k.pair.refreshToken, { sid: 'someone-else' })),
    ...INVALID,
  },
  { name: 'an alg "none" token', send: refreshToken((k) => unsigned(k.refresh, REFRESH_TYP)), ...INVALID },
  { name: 'an access token', send: refreshToken((k) => k.pair.accessToken), ...INVALID },
  {
    name: 'a token with the last character of its signature changed',
    send: refreshToken((k) => flipLastChar(k.pair.refreshToken)),
    ...INVALID,
  },
  {
    name: 'an access-typ token signed with the refresh secret',
    send: refreshToken((k) => sign(k.refresh, REFRESH_SECRET, ACCESS_TYP)),
    ...WRONG_TYPE,
  },
  {
    name: 'an HS512 token (HS256 is pinned)',
    send: refreshToken((k) => sign(k.refresh, REFRESH_SECRET, REFRESH_TYP, 'HS512')),
    ...INVALID,
  },
  {
    name: 'an RS256 token (HS256 is pinned)',
    send: refreshToken((k) => sign(k.refresh, rsaKey, REFRESH_TYP, 'RS256')),
    ...INVALID,
  },
  ...GARBAGE.map((text): BadInput => ({
    name: `the garbage ${JSON.stringify(text)}`,
    send: refreshToken(() => text),
    ...INVALID,
  })),
  {
    name: 'a 100 KB token, validly signed',
    send: refreshToken((k) => sign({ ...k.refresh, pad: PADDING }, REFRESH_SECRET, REFRESH_TYP)),
    ...TOO_LONG,
  },
  {
    name: 'a token without jti',
    send: refreshToken((k) => sign(without(k.refresh, 'jti'), REFRESH_SECRET, REFRESH_TYP)),
    ...MISSING_CLAIMS,
  },
  {
    name: 'a token whose iat is a string',
    send: refreshToken((k) => signByHand({ ...k.refresh, iat: 'yesterday' }, REFRESH_SECRET, REFRESH_TYP)),
    ...MISSING_CLAIMS,
  },
  { name: 'refreshToken: a number', send: refreshToken(() => 12345), ...NOT_A_STRING },
  { name: 'refreshToken: an object', send: refreshToken((k) => ({ token: k.pair.refreshToken })), ...NOT_A_STRING },
  { name: 'refreshToken: an array', send: refreshToken((k) => [k.pair.refreshToken]), ...NOT_A_STRING },
  { name: 'refreshToken: null', send: refreshToken(() => null), ...NOT_A_STRING },
  { name: 'refreshToken: true', send: refreshToken(() => true), ...NOT_A_STRING },
  { name: 'refreshToken: an empty string', send: refreshToken(() => ''), ...NOT_A_STRING },
  { name: 'a JSON body without refreshToken', send: body(() => ({ token: 'x' })), ...NOT_A_STRING },
  { name: 'a JSON array body', send: body((k) => [k.pair.refreshToken]), ...NOT_A_STRING },
  { name: 'no body at all', send: (req) => req, ...NOT_A_STRING },
  {
    name: 'a text/plain body',
    send: (req, k) => req.set('Content-Type', 'text/plain').send(k.pair.refreshToken),
    ...NOT_A_STRING,
  },
  {
    name: 'a form-encoded body',
    send: (req, k) => req.type('form').send(`refreshToken=${k.pair.refreshToken}`),
    ...NOT_A_STRING,
  },
];

/** An expired refresh token is refused by refresh, but logout accepts it (tested apart). */
const expiredRefresh: BadInput = {
  name: 'an expired token',
  advance: REFRESH_TTL + 1,
  send: refreshToken((k) => k.pair.refreshToken),
  status: 401,
  code: 'token_expired',
  message: 'token has expired',
};

/** Every route that reads a token, with the bad inputs it must refuse. */
export const routes: Array<{ method: 'get' | 'post'; path: string; rows: BadInput[] }> = [
  { method: 'get', path: '/me', rows: badAccess },
  { method: 'post', path: '/logout-all-standalone', rows: badAccess },
  { method: 'post', path: '/refresh', rows: [...badRefresh, expiredRefresh] },
  { method: 'post', path: '/logout', rows: badRefresh },
];
