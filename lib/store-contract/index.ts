/**
 * `express-token-pair/store-contract`: the tests every `SessionStore` must
 * pass, for your own store as for the built-in ones (both run exactly this).
 * Test-runner neutral: it declares itself with the `describe`, `it`,
 * `beforeEach` and `afterEach` you pass (`node:test`'s, `vitest`'s) or the
 * globals (mocha, jest), and asserts with `node:assert`. No Express, no
 * test dependencies.
 *
 *   import { describe, it, beforeEach, afterEach } from 'node:test';
 *   import { describeStoreContract } from 'express-token-pair/store-contract';
 *   describeStoreContract('MyStore', async () => {
 *     const store = new MyStore(...);
 *     return { store, close: () => store.quit() };
 *   }, { test: { describe, it, beforeEach, afterEach } });
 */
import { OptionError } from '../errors.js';
import { credentialsContract } from './credentials.js';
import { dpopContract } from './dpop.js';
import { Contract, type StoreFixture, type TestFunctions } from './harness.js';
import { lostSuccessorContract } from './lost.js';
import { revocationsContract } from './revocations.js';
import { rotationContract } from './rotation.js';
import { sessionsContract } from './sessions.js';

export type { StoreFixture, TestFunctions } from './harness.js';

export interface StoreContractOptions {
  /** The test functions to declare the suite with. Default: the globals `describe`, `it`, `beforeEach`, `afterEach`. */
  test?: TestFunctions | undefined;
  /**
   * Also test the revocation record (`revocations()`, for `checkRevocation`).
   * Default `true`; `false` for a store without one.
   */
  revocations?: boolean | undefined;
  /**
   * Also test DPoP binding and proof replay (`NewSession.jkt`, `proof`).
   * Default `true`; `false` for a store without `features.dpop`.
   */
  dpop?: boolean | undefined;
}

const NAMES = ['describe', 'it', 'beforeEach', 'afterEach'] as const;

function testFunctions(given: TestFunctions | undefined): TestFunctions {
  const source = (given ?? globalThis) as Partial<Record<(typeof NAMES)[number], unknown>>;
  const missing = NAMES.filter((name) => typeof source[name] !== 'function');
  if (missing.length > 0) {
    throw new OptionError(
      `describeStoreContract: ${given ? 'options.test lacks' : 'no global'} ${missing.join(', ')}:` +
        ' pass options.test = { describe, it, beforeEach, afterEach } (from node:test, vitest...)',
    );
  }
  // Bound, so that a runner's own `this` (mocha's context) is kept.
  const [describe, it, beforeEach, afterEach] = NAMES.map((name) =>
    (source[name] as (...args: unknown[]) => unknown).bind(source),
  );
  return { describe: describe!, it: it!, beforeEach: beforeEach!, afterEach: afterEach! };
}

/**
 * Declares the store contract as a suite named `name`. `makeStore` is called
 * before each test for a fresh store (an empty key prefix, a new instance),
 * and its `close()` after it. Every call passes its own `now`, and the tests
 * move it by hand: a store with a clock of its own must follow the caller's
 * here (`RedisSessionStore`'s `clock: 'caller'`). Some tests wait for the
 * revocation feed to deliver (a working feed takes milliseconds; they give
 * up after 15 s, so that a busy machine is slow, not red): a test timeout of
 * 20 s shows that message rather than the runner's.
 */
export function describeStoreContract(
  name: string,
  makeStore: () => StoreFixture | Promise<StoreFixture>,
  options: StoreContractOptions = {},
): void {
  if (typeof makeStore !== 'function')
    throw new OptionError('describeStoreContract: makeStore must be a function returning { store, close }');
  const t = testFunctions(options.test);
  const contract = new Contract(t);
  t.describe(name, () => {
    t.beforeEach(() => contract.open(makeStore));
    t.afterEach(() => contract.close());
    t.describe('tokens, rotation and revocation', () => {
      rotationContract(contract);
    });
    t.describe('sessions', () => {
      sessionsContract(contract);
    });
    t.describe('a successor the store lost', () => {
      lostSuccessorContract(contract);
    });
    t.describe('credential cut-offs', () => {
      credentialsContract(contract);
    });
    if (options.revocations !== false)
      t.describe('the revocation record', () => {
        revocationsContract(contract);
      });
    if (options.dpop !== false)
      t.describe('DPoP binding and proof replay', () => {
        dpopContract(contract);
      });
  });
}
