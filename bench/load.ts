/**
 * Load generation: autocannon in this process against a server in another,
 * and rounds that alternate between contenders (A B C A B C ...) so that the
 * drift of a shared machine falls on all of them alike.
 */
import autocannon from 'autocannon';
import { fixed, latencyOf, median, type Latency } from './stats.js';

export interface LoadOptions {
  /** Full URL, e.g. `http://127.0.0.1:40123/me`. */
  url: string;
  connections: number;
  /** Seconds. */
  duration: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Per-request setup (dynamic bodies); overrides method/body. */
  requests?: autocannon.Request[];
}

export interface LoadResult {
  /** Mean of autocannon's per-second samples. */
  rps: number;
  /** Milliseconds, from every response's own time (autocannon's histogram is whole ms). */
  latency: Latency;
  /** Responses of any status. */
  completed: number;
  ok: number;
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  seconds: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const times: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.duration,
        method: options.method ?? 'GET',
        ...(options.headers ? { headers: options.headers } : {}),
        ...(options.body === undefined ? {} : { body: options.body }),
        ...(options.requests ? { requests: options.requests } : {}),
      },
      (error: unknown, done: autocannon.Result) => {
        if (error) reject(error instanceof Error ? error : new Error(String(error)));
        else resolve(done);
      },
    );
    // The typings give this event three arguments; autocannon 9 emits (client, status, bytes, ms).
    const events: NodeJS.EventEmitter = instance;
    events.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      times.push(ms);
    });
  });
  return {
    rps: result.requests.average,
    latency: latencyOf(times),
    completed: times.length,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    seconds: result.duration,
  };
}

export interface Contender {
  name: string;
  /** One measured (or warm-up) run of `duration` seconds. */
  run(duration: number): Promise<LoadResult>;
}

export interface RoundsOptions {
  rounds: number;
  duration: number;
  /** Seconds per contender before round 1; 0 for none. */
  warmup: number;
  /** Prefix of the progress lines (stderr). */
  label: string;
}

/** Every contender's results, one per round, in round order. */
export type RoundResults = Map<string, LoadResult[]>;

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Warms each contender up, then runs `rounds` rounds of A B C ... */
export async function alternate(contenders: readonly Contender[], options: RoundsOptions): Promise<RoundResults> {
  if (options.warmup > 0) {
    for (const contender of contenders) {
      await contender.run(options.warmup);
      progress(`${options.label}: warmed up ${contender.name}`);
    }
  }
  const results: RoundResults = new Map(contenders.map((c) => [c.name, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const contender of contenders) {
      const result = await contender.run(options.duration);
      results.get(contender.name)!.push(result);
      const trouble = result.non2xx + result.errors > 0 ? ` (${result.non2xx} non-2xx, ${result.errors} errors)` : '';
      progress(
        `${options.label} round ${round}/${options.rounds}: ${contender.name} ${Math.round(result.rps)} req/s${trouble}`,
      );
    }
  }
  return results;
}

/** Summary of one contender over its rounds. */
export interface RoundsSummary {
  /** Median of the rounds' req/s. */
  rps: number;
  rounds: number[];
  /** Medians over rounds, ms. */
  p50: number;
  p99: number;
  /** Summed over rounds. */
  non2xx: number;
  errors: number;
}

export function summarize(results: readonly LoadResult[]): RoundsSummary {
  return {
    rps: median(results.map((r) => r.rps)),
    rounds: results.map((r) => r.rps),
    p50: median(results.map((r) => r.latency.p50)),
    p99: median(results.map((r) => r.latency.p99)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** A contender's req/s over the baseline's, round by round: each pair ran seconds apart, so drift cancels. */
export interface PairedRatio {
  median: number;
  min: number;
  max: number;
}

export function pairedRatio(contender: RoundsSummary, baseline: RoundsSummary): PairedRatio {
  const ratios = contender.rounds.map((rps, i) => rps / baseline.rounds[i]!);
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

/** `0.93 [0.63-1.04]`: median of the per-round ratios and their range. */
export function pairedText(r: PairedRatio): string {
  return `${fixed(r.median, 2)} [${fixed(r.min, 2)}-${fixed(r.max, 2)}]`;
}
