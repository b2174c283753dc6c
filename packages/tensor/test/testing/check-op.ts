import { Backend, EXPECTED_KERNEL, failureReason, type Mode } from '../../src/backend.js';
import { Rng } from '../../src/random.js';
import { backward } from '../../src/tape.js';
import { Tensor } from '../../src/tensor.js';

/** One input of an op under test. */
export interface InputSpec {
  readonly shape: readonly number[];
  /** Differentiable (checked against finite differences). Default true. */
  readonly grad?: boolean;
  /** Fixed values (labels, masks); random uniform(-1, 1) otherwise. */
  readonly values?: ArrayLike<number>;
}

/** An op and its float64 reference, checked by checkOp. */
export interface OpCase {
  readonly name: string;
  readonly inputs: Readonly<Record<string, InputSpec>>;
  /** The op on the engine. */
  readonly forward: (be: Backend, x: Record<string, Tensor>) => Promise<Tensor>;
  /** The plain-loop reference forward (float64). */
  readonly reference: (x: Record<string, Float64Array>) => Float64Array;
  /** The plain-loop reference backward: d(loss)/d(input) for each differentiable input. */
  readonly referenceBackward: (dout: Float64Array, x: Record<string, Float64Array>) => Record<string, Float64Array>;
  /** Max abs error, relative to max(1, |reference|∞), allowed between a backend and the reference. */
  readonly tolerance?: number;
  /** Relative error allowed between the reference gradient and finite differences. */
  readonly fdTolerance?: number;
  /** Coordinates per input probed by finite differences. */
  readonly fdSamples?: number;
  readonly seed?: number;
}

/** The engine modes that run on this machine (headlessgl only where gl is built and a display exists). */
export function availableModes(): Mode[] {
  const modes: Mode[] = ['cpu', 'webasm', 'async'];
  if (process.env.DIGITLAB_HEADLESSGL === '1') modes.push('headlessgl');
  return modes;
}

function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return e / scale;
}

/**
 * Checks an op three ways: the reference gradient against central finite differences
 * (float64), then on every mode the engine's forward and every gradient against the
 * reference, and that the kernels ran on the backend asked for (no silent fallback).
 * Throws with a message naming what disagreed and by how much.
 */
export async function checkOp(c: OpCase, modes: readonly Mode[] = availableModes()): Promise<Record<string, number>> {
  const rng = new Rng(c.seed ?? 1234);
  const x64: Record<string, Float64Array> = {};
  for (const [name, spec] of Object.entries(c.inputs)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    // round through float32 so the engine and the reference see identical inputs
    x64[name] = spec.values ? Float64Array.from(spec.values) : Float64Array.from(Float32Array.from({ length: size }, () => rng.uniform() * 2 - 1));
  }
  const out64 = c.reference(x64);
  const w = Float64Array.from(Float32Array.from({ length: out64.length }, () => rng.uniform() * 2 - 1));
  const refGrads = c.referenceBackward(w, x64);
  const report: Record<string, number> = {};

  // 1. reference backward vs central differences of L = Σ w·f(x)
  const h = 1e-6;
  const loss = (x: Record<string, Float64Array>): number => {
    const o = c.reference(x);
    let s = 0;
    for (let i = 0; i < o.length; i++) s += o[i] * w[i];
    return s;
  };
  for (const [name, spec] of Object.entries(c.inputs)) {
    if (spec.grad === false) continue;
    const g = refGrads[name];
    if (!g) throw new Error(`${c.name}: referenceBackward gave no gradient for ${name}`);
    const n = x64[name].length;
    const samples = Math.min(n, c.fdSamples ?? 24);
    let worst = 0;
    for (let s = 0; s < samples; s++) {
      const i = samples === n ? s : rng.int(n);
      const xp = { ...x64, [name]: Float64Array.from(x64[name]) };
      xp[name][i] += h;
      const lp = loss(xp);
      xp[name][i] -= 2 * h;
      const lm = loss(xp);
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - g[i]) / Math.max(1, Math.abs(fd));
      worst = Math.max(worst, err);
      if (err > (c.fdTolerance ?? 1e-5)) {
        throw new Error(`${c.name}: reference d/d${name}[${i}] = ${g[i]} but finite differences give ${fd}`);
      }
    }
    report[`fd:${name}`] = worst;
  }

  // 2. every mode against the reference. Every mode is checked even after one fails, and the
  // test fails with all of their messages: a mode that only some machines have (headlessgl) then
  // shows what it does beside the others instead of hiding behind the first failure.
  const tol = c.tolerance ?? 1e-4;
  const failures: string[] = [];
  for (const mode of modes) {
    try {
      await checkMode(c, mode, x64, out64, w, refGrads, tol, report);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      failures.push(mode === 'headlessgl' ? `${c.name} fails on headlessgl: ${failureReason(message)}` : message);
    }
  }
  if (failures.length) throw new Error(failures.join('\n'));
  return report;
}

/** One mode against the reference: forward, every gradient, and the kernel class that ran. */
async function checkMode(
  c: OpCase,
  mode: Mode,
  x64: Record<string, Float64Array>,
  out64: Float64Array,
  w: Float64Array,
  refGrads: Record<string, Float64Array>,
  tol: number,
  report: Record<string, number>,
): Promise<void> {
  const be = new Backend(mode, { poolSize: 2 });
  try {
    const xs: Record<string, Tensor> = {};
    for (const [name, spec] of Object.entries(c.inputs)) {
      xs[name] = new Tensor(spec.shape, Float32Array.from(x64[name]), spec.grad !== false);
    }
    const out = await c.forward(be, xs);
    const fe = maxErr(out.data, out64);
    report[`${mode}:forward`] = fe;
    if (!(fe <= tol)) throw new Error(`${c.name} on ${mode}: forward differs from the reference by ${fe} (tolerance ${tol})`);
    await backward(out, Float32Array.from(w));
    for (const [name, spec] of Object.entries(c.inputs)) {
      if (spec.grad === false) continue;
      const got = xs[name].grad;
      if (!got) throw new Error(`${c.name} on ${mode}: no gradient reached ${name}`);
      const ge = maxErr(got, refGrads[name]);
      report[`${mode}:d${name}`] = ge;
      if (!(ge <= tol)) throw new Error(`${c.name} on ${mode}: d/d${name} differs from the reference by ${ge} (tolerance ${tol})`);
    }
    const expected = EXPECTED_KERNEL[mode];
    for (const ran of be.executed) {
      if (ran !== expected) throw new Error(`${c.name} on ${mode}: a kernel ran as ${ran}, expected ${expected}`);
    }
  } finally {
    be.destroy();
  }
}
