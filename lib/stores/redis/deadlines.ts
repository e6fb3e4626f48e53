import { StoreUnavailableError } from '../../errors.js';
import type { SendCommand } from './connection.js';

/** How often Redis's clock is read again, ms. */
const CLOCK_CHECK_INTERVAL = 60_000;

/**
 * Unix milliseconds that never step back: when the process started, plus a
 * monotonic clock. An NTP step of the system clock after the offset was
 * read changes nothing here (with `Date.now()`, every deadline would land in
 * Redis's past, and every script answer `late`, until the next reading).
 */
export const steady = (): number => performance.timeOrigin + performance.now();

/**
 * The deadline each session script carries (`deadline`, ARGV[3], see scripts.ts): the
 * moment, in Unix ms on Redis's clock, after which the script changes
 * nothing. It is now plus the store's timeout, carried over to Redis's
 * clock by the offset between the two clocks: read with `TIME` before the
 * first script (one extra round trip), then again in the background every
 * minute, and at once after a script answered `late`. Both clocks are
 * taken as they run: this process's by `steady()`, immune to a step of the
 * system clock. The offset is off by at most half a round trip, so a script that
 * does change something ran before the store answered 503, and a retry
 * after `Retry-After` lands inside the reuse grace window.
 */
export class Deadlines {
  readonly #send: SendCommand;
  readonly #timeout: number;
  /**
   * Redis's clock minus ours, ms (from the middle of the `TIME` round trip),
   * `low` its lowest possible value (as if Redis read its clock as the reply
   * arrived), and when it was read.
   */
  #offset: { ms: number; low: number; at: number } | undefined;
  #reading: Promise<void> | undefined;

  constructor(send: SendCommand, timeout: number) {
    this.#send = send;
    this.#timeout = timeout;
  }

  /** The deadline for a script sent now, as ARGV. */
  async next(): Promise<string> {
    if (this.#offset === undefined) await this.#read();
    else if (steady() - this.#offset.at > CLOCK_CHECK_INTERVAL) void this.#read().catch(() => {});
    return String(Math.floor(steady() + this.#offset!.ms + this.#timeout));
  }

  /**
   * The earliest Unix ms on Redis's clock that `at`, a `steady()` reading,
   * can have been: never later than the truth, earlier by at most the round
   * trip of the last `TIME` (which the store's timeout bounds). Reads the
   * offset first if none. For the start of a credential check, where a late
   * estimate could let a login that checked an old password through.
   */
  async earliestOnRedisClock(at: number): Promise<number> {
    if (this.#offset === undefined) await this.#read();
    return at + this.#offset!.low;
  }

  /** After a `late` answer: read Redis's clock again before the next script (Redis's may have stepped). */
  stale(): void {
    this.#offset = undefined;
  }

  #read(): Promise<void> {
    this.#reading ??= (async () => {
      try {
        const before = steady();
        const reply = await this.#send(['TIME']);
        const after = steady();
        const [seconds, micros] = Array.isArray(reply) ? reply.map(Number) : [];
        if (!Number.isSafeInteger(seconds) || !Number.isSafeInteger(micros)) {
          throw new StoreUnavailableError('unexpected reply from Redis to TIME');
        }
        const redis = seconds! * 1000 + micros! / 1000;
        this.#offset = { ms: redis - (before + after) / 2, low: redis - after, at: after };
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }
}
