/**
 * Timing through benchmark.js: a (possibly async) function becomes a deferred benchmark, and the
 * result keeps benchmark.js's own figures (ops/s, relative margin of error at 95%) beside the
 * median and quartiles of its samples (each sample is the mean time of one cycle of calls).
 */
import Benchmark from 'benchmark';
import { quantile, singleCall, timeOnce, type MeasureOptions, type Timing } from './timing.js';

// the types and helpers without benchmark.js live in timing.ts (the browser bundle uses them)
export { FULL, QUICK, TINY, quantile, singleCall, timeOnce, type MeasureOptions, type Timing } from './timing.js';

/**
 * Times fn: once by hand, and if that call took less than slowCallMs, with benchmark.js.
 * The caller has already made the calls that compile or warm up.
 */
export async function measureOrOnce(name: string, fn: () => unknown, opts: MeasureOptions, slowCallMs: number): Promise<Timing> {
  const ms = await timeOnce(fn);
  return ms > slowCallMs ? singleCall(ms) : measure(name, fn, opts);
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
