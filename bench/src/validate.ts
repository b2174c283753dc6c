/**
 * The checks every benchmarked output goes through before it is timed: its largest deviation from
 * the float64 reference, and the gpu.js kernel class that really ran. Shared by the Node suite
 * (suite.ts, e2e.ts) and the browser leg (bench/browser), so both hold kernels to the same rule.
 */
import { EXPECTED_KERNEL, type Mode } from '@digitlab/tensor';
import type { KernelCase, Outputs, RefOutputs } from './cases.js';

/** An implementation disagreed with the reference, or gpu.js ran a kernel on another backend. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

/** Largest |got − expected| relative to max(1, |expected|∞); Infinity on a length mismatch or NaN. */
export function relativeError(got: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (got.length !== expected.length) return Infinity;
  let err = 0;
  let scale = 1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - expected[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : d;
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return err / scale;
}

/** Checks every output of a case against the reference; returns the largest error or throws. */
export function validate(c: KernelCase, impl: string, got: Outputs, expected: RefOutputs): number {
  let worst = 0;
  for (const name of c.outputs) {
    const g = got[name];
    const e = expected[name];
    if (!e) throw new Error(`${c.id}: the reference gave no output "${name}"`);
    if (!g) throw new ValidationError(`${c.id} on ${impl}: no output "${name}"`);
    if (g.length !== e.length) throw new ValidationError(`${c.id} on ${impl}: output "${name}" has ${g.length} values, the reference ${e.length}`);
    const err = relativeError(g, e);
    if (!(err <= c.tolerance)) {
      throw new ValidationError(`${c.id} on ${impl}: output "${name}" differs from the float64 reference by ${err.toExponential(3)} (tolerance ${c.tolerance})`);
    }
    worst = Math.max(worst, err);
  }
  return worst;
}

/** Throws unless every kernel class that ran is the one the mode promises (gpu.js falls back silently). */
export function checkExecuted(id: string, mode: Mode, executed: ReadonlySet<string>): string {
  if (executed.size === 0) throw new ValidationError(`${id} on ${mode}: no gpu.js kernel ran`);
  const expected = EXPECTED_KERNEL[mode];
  for (const ran of executed) {
    if (ran !== expected) throw new ValidationError(`${id} on ${mode}: a kernel ran as ${ran}, expected ${expected} (gpu.js fell back)`);
  }
  return [...executed].join(', ');
}
