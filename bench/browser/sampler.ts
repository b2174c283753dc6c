/**
 * The page's timer: a small median sampler in benchmark.js's manner (cycles of calls lasting at
 * least minTime, at least minSamples of them, sampling stops after maxTime), with the same options
 * as the Node run (timing.ts). Written out rather than bundling benchmark.js (and lodash with it)
 * into the page: forty lines whose every rule is visible here, each call awaited (webgpu reads
 * back asynchronously).
 */
import { quantile, singleCall, timeOnce, type MeasureOptions, type Timing } from '../src/timing.js';

/** Two-sided 95% Student t critical values by degrees of freedom (1..30); 1.96 beyond. */
const T95 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** Relative margin of error of the mean at 95%, in percent (what benchmark.js reports as rme). */
export function relativeMarginOfError(samples: readonly number[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mean = samples.reduce((a, b) => a + b, 0) / n;
  const variance = samples.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  const sem = Math.sqrt(variance / n);
  const t = T95[n - 2] ?? 1.96;
  return mean > 0 ? ((sem * t) / mean) * 100 : 0;
}

/**
 * Times fn after one warm-up call (the caller's first call compiled it; neither is timed). A call
 * slower than slowCallMs is timed once; otherwise each sample is the mean per call over a cycle.
 */
export async function sample(fn: () => Promise<unknown>, opts: MeasureOptions, slowCallMs: number): Promise<Timing> {
  await fn();
  const first = await timeOnce(fn);
  if (first > slowCallMs) return singleCall(first);
  // enough calls per cycle that one cycle lasts minTime: fast kernels are otherwise below the timer's resolution
  const perCycle = Math.max(1, Math.ceil((opts.minTime * 1000) / Math.max(first, 0.005)));
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < opts.minSamples || performance.now() - start < opts.maxTime * 1000) {
    const t0 = performance.now();
    for (let i = 0; i < perCycle; i++) await fn();
    samples.push((performance.now() - t0) / perCycle);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return {
    hz: 1000 / mean,
    rme: relativeMarginOfError(samples),
    sampled: true,
    medianMs: quantile(sorted, 0.5),
    q1Ms: quantile(sorted, 0.25),
    q3Ms: quantile(sorted, 0.75),
    minMs: sorted[0],
    maxMs: sorted[sorted.length - 1],
    samples: samples.length,
    calls: samples.length * perCycle,
  };
}
