/**
 * Email and password: checking what clients send, hashing with bcrypt, and
 * comparing in a way that does not reveal which emails have accounts.
 */
import { randomBytes } from 'node:crypto';
import { domainToASCII, domainToUnicode } from 'node:url';
import { BcryptPool } from './bcrypt-pool.js';
import { AppError } from './errors.js';

export const PASSWORD_MIN_CHARACTERS = 8;
/** bcrypt ignores every byte after the 72nd, so a longer password would be silently cut. */
export const PASSWORD_MAX_BYTES = 72;
const EMAIL_MAX = 254;
/** Deliberately loose: something@label.label, no empty label. The real check is a confirmation email. */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
/**
 * Control characters (Cc: NUL, CR, LF, tab, C1...), format characters (Cf:
 * zero-width spaces and joiners, BOM, bidi overrides, soft hyphen) and the
 * other invisible ones (Hangul fillers, variation selectors), and lone
 * surrogates (Cs: not Unicode text; Redis stores them as U+FFFD, so
 * `bob\ud800@` and `bob\udfff@` would be one account there and two in
 * memory). Refused rather than stripped: an address that needs them is an
 * attack or a paste error, and stripping would hide which.
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;

export interface Credentials {
  /** Normalized (see `normalizeEmail`), so `Ann@X.com` and `ann@x.com` are one account. */
  email: string;
  password: string;
}

function invalid(message: string): AppError {
  return new AppError(400, 'invalid_request', message);
}

/**
 * One spelling per mailbox, so look-alike spellings cannot open a second
 * account: trimmed, NFKC (full-width `ａｎｎ` is `ann`), lower case, and the
 * domain mapped as browsers map host names (IDNA: `。` separates labels,
 * `xn--` and Unicode forms are one domain) without its trailing root dot.
 * Throws a 400 for invisible characters or a malformed address.
 */
export function normalizeEmail(raw: string): string {
  if (INVISIBLE.test(raw)) throw invalid('email must not contain control or invisible characters');
  const folded = raw.trim().normalize('NFKC').toLowerCase().normalize('NFKC');
  const at = folded.lastIndexOf('@');
  let domain = at > 0 ? domainToASCII(folded.slice(at + 1)) : '';
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  const email = `${folded.slice(0, at)}@${domainToUnicode(domain)}`;
  if (INVISIBLE.test(email)) throw invalid('email must not contain control or invisible characters');
  if (domain === '' || email.length > EMAIL_MAX || !EMAIL_SHAPE.test(email))
    throw invalid('email is not a valid address');
  return email;
}

/**
 * Reads `{ email, password }` from a parsed JSON body; throws a 400
 * `invalid_request` naming the problem. `register` also enforces the
 * minimum length (a login only needs to fit bcrypt: a policy change must not
 * lock out existing accounts).
 */
export function parseCredentials(body: unknown, purpose: 'register' | 'login'): Credentials {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body must be a JSON object with email and password');
  }
  const { email, password } = body as Record<string, unknown>;
  if (typeof email !== 'string') throw invalid('email must be a string');
  if (typeof password !== 'string') throw invalid('password must be a string');
  const normalized = normalizeEmail(email);
  checkPassword(password, 'password', purpose === 'register');
  return { email: normalized, password };
}

/**
 * A new password (`policy`) needs 8 characters; any password must fit
 * bcrypt's 72 bytes. Throws a 400 naming `field`.
 */
function checkPassword(password: string, field: string, policy: boolean): void {
  const minimum = policy ? PASSWORD_MIN_CHARACTERS : 1;
  if (Array.from(password).length < minimum) {
    throw invalid(policy ? `${field} must be at least ${minimum} characters` : `${field} is required`);
  }
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw invalid(`${field} must be at most ${PASSWORD_MAX_BYTES} bytes`);
  }
}

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/**
 * Reads `{ currentPassword, newPassword }`; the new one follows the rules of
 * register, the current one those of login. Throws a 400 `invalid_request`.
 */
export function parsePasswordChange(body: unknown): PasswordChange {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body must be a JSON object with currentPassword and newPassword');
  }
  const { currentPassword, newPassword } = body as Record<string, unknown>;
  if (typeof currentPassword !== 'string') throw invalid('currentPassword must be a string');
  if (typeof newPassword !== 'string') throw invalid('newPassword must be a string');
  checkPassword(currentPassword, 'currentPassword', false);
  checkPassword(newPassword, 'newPassword', true);
  return { currentPassword, newPassword };
}

/**
 * bcrypt hashing with a fixed cost. The cost is the point of bcrypt: each
 * guess takes an attacker as long as it takes us (~50-100 ms at 10).
 */
export class Passwords {
  readonly #cost: number;
  readonly #pool = new BcryptPool();
  /** A hash of a random password nobody knows, at the same cost as real ones. */
  readonly #dummy: Promise<string>;

  constructor(cost: number) {
    this.#cost = cost;
    this.#dummy = this.#pool.hash(randomBytes(16).toString('hex'), cost);
  }

  /** Resolves once the dummy hash is ready (so the first login is not slower). */
  async ready(): Promise<void> {
    await this.#dummy;
  }

  /** Hashes on a worker thread (see bcrypt-pool.ts), so logins never stall other requests. */
  hash(password: string): Promise<string> {
    return this.#pool.hash(password, this.#cost);
  }

  /** Stops the worker threads. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * True if `password` matches `hash`. With no hash (unknown email) it still
   * runs one bcrypt comparison, against the dummy, and answers false: an
   * unknown email then takes as long as a wrong password, so response times
   * do not tell an attacker which emails have accounts.
   */
  async verify(password: string, hash: string | undefined): Promise<boolean> {
    if (hash === undefined) {
      await this.#pool.compare(password, await this.#dummy);
      return false;
    }
    return this.#pool.compare(password, hash);
  }
}
