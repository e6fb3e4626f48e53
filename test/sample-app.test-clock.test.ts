/**
 * The sample-app tests' clock (helpers/sample-app.ts) starts when a test
 * first reads it, not when its file loads (issue 18, "flaky tests that
 * depend on when they run"): `appFactory` runs in `describe` bodies, at load.
 */
import { expect } from 'chai';
import { appFactory, TestClock } from './helpers/sample-app.js';

const HOUR = 3_600_000;

/** Runs `body` with `Date.now` an hour ahead: as if the suite reached this test an hour after loading it. */
function anHourLater<T>(body: () => T): T {
  const realNow = Date.now;
  Date.now = () => realNow() + HOUR;
  try {
    return body();
  } finally {
    Date.now = realNow;
  }
}

describe('sample app test clock', () => {
  it('starts at the real now when first read, not when it was made', () => {
    const clock = new TestClock();
    const factory = appFactory(() => ({}));
    const before = Date.now();
    const [read, fromFactory] = anHourLater(() => [clock.read(), factory.clock.read()]);
    expect(read).to.be.at.least(before + HOUR);
    expect(fromFactory).to.be.at.least(before + HOUR);
  });

  it('moves only when advanced or set', () => {
    const clock = new TestClock();
    clock.advance(10);
    const start = clock.now;
    expect(anHourLater(() => clock.read())).to.equal(start);
    clock.advance(5);
    expect(clock.read()).to.equal(start + 5000);
    clock.now = 1234;
    expect(clock.read()).to.equal(1234);
  });
});
