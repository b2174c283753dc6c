/**
 * Timing through benchmark.js: a (possibly async) function becomes a deferred benchmark, and the
 * result keeps benchmark.js's own figures (ops/s, relative margin of error at 95%) beside the
 * median and quartiles of its samples (each sample is the mean time of one cycle of calls).
 */
import Benchmark from 'benchmark';

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

/**
 * Times fn: once by hand, and if that call took less than slowCallMs, with benchmark.js.
 * The caller has already made the calls that compile or warm up.
 */
export async function measureOrOnce(name: string, fn: () => unknown, opts: MeasureOptions, slowCallMs: number): Promise<Timing> {
  const ms = await timeOnce(fn);
  return ms > slowCallMs ? singleCall(ms) : measure(name, fn, opts);
}

/** Quantile of sorted values, linear between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Times fn with benchmark.js. The caller warms fn up first (compilation is not timed). A throw
 * inside fn rejects the returned promise.
 */
export function measure(name: string, fn: () => unknown, opts: MeasureOptions): Promise<Timing> {
  return new Promise((resolve, reject) => {
    let failure: unknown = null;
    const bench = new Benchmark(name, {
      defer: true,
      minSamples: opts.minSamples,
      maxTime: opts.maxTime,
      minTime: opts.minTime,
      // no setup/teardown: benchmark.js then calls fn itself instead of inlining its source
      fn(deferred: Benchmark.Deferred) {
        Promise.resolve()
          .then(fn)
          .then(
            () => deferred.resolve(),
            (e: unknown) => {
              failure ??= e;
              bench.abort();
              reject(e);
            },
          );
      },
      onComplete() {
        if (failure !== null) return;
        if (bench.error) {
          reject(bench.error);
          return;
        }
        // stats.sample holds seconds per call, one entry per cycle (benchmark.js types it any[])
        const sample = (bench.stats.sample as number[]).map((s) => s * 1000).sort((a, b) => a - b);
        resolve({
          hz: bench.hz,
          rme: bench.stats.rme,
          sampled: true,
          medianMs: quantile(sample, 0.5),
          q1Ms: quantile(sample, 0.25),
          q3Ms: quantile(sample, 0.75),
          minMs: sample[0],
          maxMs: sample[sample.length - 1],
          samples: sample.length,
          calls: Math.round(sample.length * (bench.count || 1)),
        });
      },
    });
    bench.run({ async: true });
  });
}
