// bench:server's latency summaries, on as many samples as a 60 s overload phase records.
import { describe, expect, it } from 'vitest';
import { maxOf, percentile } from '../latency-stats.js';

describe('latency summaries', () => {
  it('take the maximum of a million samples (more than a spread call holds)', () => {
    const samples = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);
    samples[123_456] = 2_000_000;
    expect(maxOf(samples)).toBe(2_000_000);
    expect(maxOf([])).toBe(-Infinity);
  });

  it('give nearest-rank percentiles', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
  });
});
