/**
 * Email and password: checking what clients send, hashing with bcrypt, and
 * comparing in a way that does not reveal which emails have accounts.
 */
import { randomBytes } from 'node:crypto';
import { BcryptPool } from './bcrypt-pool.js';
import { AppError } from './errors.js';

export const PASSWORD_MIN_CHARACTERS = 8;
/** bcrypt ignores every byte after the 72nd, so a longer password would be silently cut. */
export const PASSWORD_MAX_BYTES = 72;
const EMAIL_MAX = 254;
/** Deliberately loose: something@something.tld. The real check is a confirmation email. */
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export interface Credentials {
  /** Trimmed and lower-cased, so `Ann@X.com` and `ann@x.com` are one account. */
  email: string;
  password: string;
}

function invalid(message: string): AppError {
  return new AppError(400, 'invalid_request', message);
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
  const normalized = email.trim().toLowerCase();
  if (normalized.length > EMAIL_MAX || !EMAIL_SHAPE.test(normalized)) throw invalid('email is not a valid address');
  const minimum = purpose === 'register' ? PASSWORD_MIN_CHARACTERS : 1;
  if (Array.from(password).length < minimum) {
    throw invalid(purpose === 'register' ? `password must be at least ${minimum} characters` : 'password is required');
  }
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw invalid(`password must be at most ${PASSWORD_MAX_BYTES} bytes`);
  }
  return { email: normalized, password };
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
