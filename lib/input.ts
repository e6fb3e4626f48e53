/**
 * Checks what the app hands the core (user ids, claims, session metadata)
 * before anything is signed or stored.
 */
import { InputError } from './errors.js';
import type { Claims, SessionMeta } from './types.js';

const MAX_USER_ID = 256;
const MAX_IP = 64;
const MAX_USER_AGENT = 512;
/** Nesting allowed inside claims; deeper (or cyclic) values are refused. */
const MAX_CLAIM_DEPTH = 16;

/** Claims no caller may set: the package owns them. */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'sub',
  'sid',
  'jti',
  'iat',
  'exp',
  'nbf',
  'iss',
  'aud',
  'typ',
  'cnf',
]);

/**
 * Names of `Object.prototype` members (`constructor`, `toString`,
 * `__proto__`...): jsonwebtoken reads options off the payload object, so
 * such a claim breaks signing, and code reading `claims.toString` would get
 * the claim instead of the method.
 */
export const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

/** Control characters, lone surrogates and line/paragraph separators: never in ids or log fields. */
const UNSAFE_TEXT = /[\p{Cc}\p{Cs}\u2028\u2029]/u;
const UNSAFE_TEXT_ALL = /[\p{Cc}\p{Cs}\u2028\u2029]/gu;

/**
 * The rule for user ids: a string of 1 to 256 characters with no control
 * characters (CR, LF, NUL...), line separators or lone surrogates; or a
 * safe integer, which is the same user as its decimal string (`42`, `42.0`
 * and `'42'` are one user). `-0`, fractions, `NaN`, infinities and integers
 * beyond 2^53 are refused, since their string form would not name one user.
 */
export function parseUserId(userId: unknown): string {
  if (typeof userId === 'number') {
    if (Number.isSafeInteger(userId) && !Object.is(userId, -0)) return String(userId);
    throw new InputError(`userId must be a safe integer or a string (got the number ${String(userId)})`);
  }
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID) {
    throw new InputError(`userId must be a non-empty string of at most ${MAX_USER_ID} characters, or a safe integer`);
  }
  if (UNSAFE_TEXT.test(userId)) {
    throw new InputError(
      'userId must not contain control characters (CR, LF, NUL...), line separators or lone surrogates',
    );
  }
  return userId;
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Throws unless `value` is plain JSON (null, boolean, string, finite number, array, plain object). */
function checkJson(value: unknown, path: string, depth: number): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return;
    throw new InputError(`claims${path} must be a finite number (got ${String(value)})`);
  }
  if (typeof value !== 'object') throw new InputError(`claims${path} is a ${typeof value}: claims must be plain JSON`);
  if (depth >= MAX_CLAIM_DEPTH)
    throw new InputError(`claims${path} is nested more than ${MAX_CLAIM_DEPTH} levels deep (or is cyclic)`);
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => {
      checkJson(item, `${path}[${index}]`, depth + 1);
    });
    return;
  }
  if (!isPlainObject(value))
    throw new InputError(
      `claims${path} must be a plain object, array or primitive (got a ${value.constructor?.name ?? 'non-plain object'})`,
    );
  for (const [name, inner] of Object.entries(value)) {
    if (name === '__proto__') throw new InputError(`claims${path} must not have a "__proto__" key`);
    checkJson(inner, `${path}.${name}`, depth + 1);
  }
}

/**
 * Claims must be a plain object of plain JSON, with no name the package
 * reserves (`sub`, `exp`...) or that `Object.prototype` has (`toString`,
 * `constructor`...). Returns a deep copy, so later changes by the caller do
 * not leak into tokens. Their size is checked where the token is signed.
 */
export function parseClaims(claims: unknown): Claims {
  if (claims === undefined) return {};
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims) || !isPlainObject(claims)) {
    throw new InputError('claims must be a plain object');
  }
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) throw new InputError(`claim "${name}" is reserved`);
    if (PROTOTYPE_NAMES.has(name)) throw new InputError(`claim "${name}" is an Object.prototype name; choose another`);
  }
  checkJson(claims, '', 0);
  return JSON.parse(JSON.stringify(claims)) as Claims;
}

/**
 * Seconds the oldest credential check `issue({ authenticatedAt })` accepts;
 * stores keep a user's credential cut-off a second longer.
 */
export const MAX_AUTHENTICATED_AGE = 300;

/**
 * `issue()`'s `authenticatedAt` (Unix ms, by the core's clock: `auth.now()`)
 * as an age in whole milliseconds at `nowMs` (rounded up: an older check is
 * refused sooner, never later). Refused with an `InputError`: anything but a
 * finite number, a time ahead of the clock, or one more than
 * `MAX_AUTHENTICATED_AGE` seconds ago.
 */
export function authenticatedAge(authenticatedAt: unknown, nowMs: number): number {
  const hint = 'read it with auth.now() when the credential check begins';
  if (typeof authenticatedAt !== 'number' || !Number.isFinite(authenticatedAt)) {
    throw new InputError(`authenticatedAt must be a time in Unix milliseconds (${hint})`);
  }
  const age = Math.ceil(nowMs - authenticatedAt);
  if (age < 0) throw new InputError(`authenticatedAt is ${-age} ms ahead of the core's clock (${hint})`);
  if (age > MAX_AUTHENTICATED_AGE * 1000) {
    throw new InputError(
      `authenticatedAt is ${age} ms ago; a credential check older than ${MAX_AUTHENTICATED_AGE} s is refused`,
    );
  }
  return age;
}

function text(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  return value.slice(0, max).replace(UNSAFE_TEXT_ALL, '\uFFFD');
}

/**
 * Keeps metadata small and of the right type (anything else is dropped), with
 * control characters replaced, since it ends up in logs and events.
 */
export function normalizeMeta(meta: SessionMeta | undefined): SessionMeta {
  const out: SessionMeta = {};
  const ip = text(meta?.ip, MAX_IP);
  const userAgent = text(meta?.userAgent, MAX_USER_AGENT);
  if (ip !== undefined) out.ip = ip;
  if (userAgent !== undefined) out.userAgent = userAgent;
  return out;
}
