/**
 * What every part of the exported store contract shares: the test
 * functions it declares itself with, the fresh store of the running test and
 * its time, ids, and the few assertions node:assert lacks.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import type { NewSession, RotateInput, RotateResult, SessionStore } from '../store-types.js';

/**
 * The test functions the suite declares itself with: mocha's or jest's
 * globals, or those of `node:test` or `vitest`, passed in.
 */
export interface TestFunctions {
  describe: (name: string, body: () => void) => unknown;
  it: (name: string, body: () => Promise<void>) => unknown;
  beforeEach: (body: () => Promise<void>) => unknown;
  afterEach: (body: () => Promise<void>) => unknown;
}

/** A store for one test, and how to dispose of it (delete its keys, close its client). */
export interface StoreFixture {
  store: SessionStore;
  close(): Promise<void> | void;
}

/** Seconds a revocation is remembered in the suite's calls. */
export const REVOCATION_TTL = 900;
/** Seconds a credential cut-off is kept in the suite's calls (the core passes 301). */
export const CREDENTIAL_TTL = 301;
/** Seconds a refresh token lives in the suite's sessions. */
export const TTL = 600;

/** The running test's store and time; one per suite, filled before each test. */
export class Contract {
  readonly t: TestFunctions;
  /** Unix seconds when the test began: the `now` the calls pass (the store must decide by it). */
  now = 0;
  #fixture: StoreFixture | undefined;
  #closing: Promise<void> | undefined;
  readonly #run = randomBytes(4).toString('hex');
  #count = 0;

  constructor(t: TestFunctions) {
    this.t = t;
  }

  get store(): SessionStore {
    if (this.#fixture === undefined) throw new Error('store contract: no store (makeStore has not resolved)');
    return this.#fixture.store;
  }

  async open(make: () => StoreFixture | Promise<StoreFixture>): Promise<void> {
    this.#closing = undefined;
    this.#fixture = await make();
    this.now = Math.floor(Date.now() / 1000);
  }

  /** Closes the test's store, once however often it is called. */
  close(): Promise<void> {
    const fixture = this.#fixture;
    this.#closing ??= (async () => {
      await fixture?.close();
    })();
    return this.#closing;
  }

  /**
   * Rotates `jti` of session `s` at the test's time to a fresh successor, with
   * the suite's defaults (a 5 s grace, a 900 s refresh-counting window);
   * `over` replaces any field.
   */
  rotate(s: NewSession, jti: string, over: Partial<RotateInput> = {}): Promise<RotateResult> {
    return this.store.rotate({
      userId: s.userId,
      sessionId: s.sessionId,
      jti,
      nextJti: this.id('jti'),
      now: this.now,
      ttl: TTL,
      grace: 5,
      meta: {},
      window: 900,
      revocationTtl: REVOCATION_TTL,
      ...over,
    });
  }

  /** A fresh id, unique across runs and processes: `kind-<run>-<n>`. */
  id(kind: string): string {
    this.#count += 1;
    return `${kind}-${this.#run}-${this.#count}`;
  }
}

/** `actual` has every property of `expected`, deeply equal. */
export function includes(actual: unknown, expected: Record<string, unknown>, message: string): void {
  assert.equal(typeof actual, 'object', message);
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual((actual as Record<string, unknown>)[key], value, `${message}: ${key}`);
  }
}

/** `value` is one of `allowed`. */
export function oneOf(value: unknown, allowed: readonly unknown[], message: string): void {
  assert.ok(allowed.includes(value), `${message}: ${String(value)} is not one of ${allowed.join(', ')}`);
}
