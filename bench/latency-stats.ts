// Summaries of bench:server's latency samples. An overload phase records hundreds of thousands of
// samples, more than a spread call's arguments may hold, so nothing here spreads an array.

/** The p-th percentile (nearest rank) of values; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** The largest of values, however many; -Infinity for none (as Math.max()). */
export function maxOf(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}
