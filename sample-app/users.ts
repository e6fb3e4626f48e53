/**
 * The sample app's user accounts: in memory, or in Redis so that every
 * instance of the app sees the same users. A real app would use its own
 * database here; the token library does not care where users live.
 */
import type { SendCommand } from '../lib/index.js';

/** What the API shows of a user. */
export interface User {
  id: string;
  email: string;
}

export interface StoredUser extends User {
  /** bcrypt hash (it embeds its own salt and cost). Never the password. */
  passwordHash: string;
}

export interface UserStore {
  /**
   * Adds the user unless the email is taken, in one atomic step, so two
   * concurrent sign-ups with one email cannot both succeed. Resolves
   * `false` when the email was taken.
   */
  create(user: StoredUser): Promise<boolean>;
  /** Expects an email already normalized (see `parseCredentials`). */
  findByEmail(email: string): Promise<StoredUser | undefined>;
  /**
   * Replaces the password hash of the account with this email, in one
   * atomic step, only if the account still has this id and still has the
   * hash `expected` (the one the current password was checked against).
   * Resolves `false` otherwise: no such account, or its password changed
   * meanwhile.
   */
  setPasswordHash(user: User, expected: string, passwordHash: string): Promise<boolean>;
}

/** Users in a Map: for development and tests; lost on restart. */
export class MemoryUserStore implements UserStore {
  readonly #byEmail = new Map<string, StoredUser>();

  async create(user: StoredUser): Promise<boolean> {
    if (this.#byEmail.has(user.email)) return false;
    this.#byEmail.set(user.email, { ...user });
    return true;
  }

  async findByEmail(email: string): Promise<StoredUser | undefined> {
    const user = this.#byEmail.get(email);
    return user && { ...user };
  }

  async setPasswordHash(user: User, expected: string, passwordHash: string): Promise<boolean> {
    const stored = this.#byEmail.get(user.email);
    if (stored?.id !== user.id || stored.passwordHash !== expected) return false;
    stored.passwordHash = passwordHash;
    return true;
  }
}

/**
 * KEYS: the user's key. ARGV: id, password hash.
 * Creates the user only if the email has no account yet, in one atomic
 * script: two concurrent sign-ups with one email cannot both succeed.
 */
const CREATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'passwordHash', ARGV[2])
return 1
`;

/**
 * KEYS: the user's key. ARGV: id, expected hash, new hash.
 * Users are keyed by email, so the id is checked inside the script, in the
 * same atomic step as the hash: a password change never lands on another
 * account, nor over a change made meanwhile.
 */
const SET_PASSWORD_HASH = `
local found = redis.call('HMGET', KEYS[1], 'id', 'passwordHash')
if found[1] ~= ARGV[1] or found[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'passwordHash', ARGV[3])
return 1
`;

/**
 * Users in Redis: one hash per account, `<prefix>user:<email>` holding the id
 * and the password hash, so a login reads it in one round trip.
 */
export class RedisUserStore implements UserStore {
  readonly #send: SendCommand;
  readonly #prefix: string;

  constructor(send: SendCommand, prefix: string) {
    this.#send = send;
    this.#prefix = prefix;
  }

  async create(user: StoredUser): Promise<boolean> {
    const reply = await this.#send([
      'EVAL',
      CREATE_USER,
      '1',
      `${this.#prefix}user:${user.email}`,
      user.id,
      user.passwordHash,
    ]);
    return Number(reply) === 1;
  }

  async findByEmail(email: string): Promise<StoredUser | undefined> {
    // HMGET answers an array under both RESP2 and RESP3 (HGETALL does not).
    const reply = await this.#send(['HMGET', `${this.#prefix}user:${email}`, 'id', 'passwordHash']);
    const [id, passwordHash] = Array.isArray(reply) ? (reply as unknown[]) : [];
    if (typeof id !== 'string' || typeof passwordHash !== 'string') return undefined;
    return { id, email, passwordHash };
  }

  async setPasswordHash(user: User, expected: string, passwordHash: string): Promise<boolean> {
    const reply = await this.#send([
      'EVAL',
      SET_PASSWORD_HASH,
      '1',
      `${this.#prefix}user:${user.email}`,
      user.id,
      expected,
      passwordHash,
    ]);
    return Number(reply) === 1;
  }
}
