/**
 * What a timing is (median, quartiles, spread per call) and the sampling presets, without
 * benchmark.js: measure.ts times with benchmark.js in Node, bench/browser/sampler.ts with its own
 * loop in the page, and both produce this Timing.
 */

/** How long and how often to sample. */
export interface MeasureOptions {
  /** Fewest samples (cycles) benchmark.js takes. */
  readonly minSamples: number;
  /** Seconds of sampling after which benchmark.js stops (once it has minSamples). */
  readonly maxTime: number;
  /** Seconds one cycle must last; fast calls are repeated within a cycle until it does. */
  readonly minTime: number;
}

/** Quick: a few samples per measurement. Full: benchmark.js's defaults, or close. */
export const QUICK: MeasureOptions = { minSamples: 3, maxTime: 0.3, minTime: 0.025 };
export const FULL: MeasureOptions = { minSamples: 8, maxTime: 3, minTime: 0.1 };
/** For tests: one or two samples. */
export const TINY: MeasureOptions = { minSamples: 1, maxTime: 0.001, minTime: 0.001 };

/** What one measurement yields; times in milliseconds per call. */
export interface Timing {
  /** benchmark.js's operations per second (mean). */
  readonly hz: number;
  /** benchmark.js's relative margin of error, percent (95% confidence); null for a single call. */
  readonly rme: number | null;
  /** false: one call timed alone (too slow to sample), no spread. */
  readonly sampled: boolean;
  readonly medianMs: number;
  readonly q1Ms: number;
  readonly q3Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
  /** Samples (cycles) taken. */
  readonly samples: number;
  /** Calls of the function while sampling (calibration cycles excluded). */
  readonly calls: number;
}

/** A timing from one call, for calls too slow to sample. */
export function singleCall(ms: number): Timing {
  return { hz: 1000 / ms, rme: null, sampled: false, medianMs: ms, q1Ms: ms, q3Ms: ms, minMs: ms, maxMs: ms, samples: 1, calls: 1 };
}

/** Milliseconds of one call of fn (awaited). */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** Quantile of sorted values, linear between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}
