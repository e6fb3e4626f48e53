/** Small statistics over measured samples. */

/** The value at quantile `q` (0 to 1) of `values`, by nearest rank; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** The median; for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Latency summary in milliseconds. */
export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

export function latencyOf(samples: readonly number[]): Latency {
  const max = samples.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), max: samples.length ? max : Number.NaN };
}

/** `1234.5` -> `"1,235"`; for tables. */
export function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
}

/** Fixed decimals, `n/a` for NaN. */
export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}
