import gpujs from 'gpu.js';
import { Backend, EXPECTED_KERNEL, MODES, type Mode } from './backend.js';
import { gemm } from './ops/gemm.js';
import { matmulRef } from './ops/matmul.ref.js';
import { Rng } from './random.js';

const { GPU } = gpujs;

/** A mode, or `auto`: try the modes this machine offers and keep the fastest correct one. */
export type ModeChoice = Mode | 'auto';

/** True for `auto` and every gpu.js mode name (for parsing flags and environment variables). */
export function isModeChoice(value: string): value is ModeChoice {
  return value === 'auto' || (MODES as readonly string[]).includes(value);
}

/** How one candidate mode did on the probe. */
export interface ModeTrial {
  readonly mode: Mode;
  /** Median milliseconds of the probe gemm after warm-up; absent when the mode failed. */
  readonly ms?: number;
  readonly gflops?: number;
  /** The gpu.js kernel class that ran (a fallback shows up here). */
  readonly kernel?: string;
  /** Why the mode was not usable: unsupported here, compile error, wrong result, fallback. */
  readonly error?: string;
}

/** The outcome of `auto`: the chosen mode and every trial, for logs and /health. */
export interface AutoChoice {
  readonly mode: Mode;
  readonly trials: readonly ModeTrial[];
}

/** Options of chooseMode. */
export interface ChooseOptions {
  /** Modes to try; defaults to candidateModes(). */
  readonly candidates?: readonly Mode[];
  /** Worker threads for `async`. */
  readonly poolSize?: number;
  /**
   * What the backend will run, which sets the probe: `training` times a ViT MLP gemm over a
   * batch of 128 images ([2176, 64]·[64, 128]), `inference` the same layer over 4 images, where
   * thread start-up can cost more than it saves. Default `training`.
   */
  readonly workload?: 'training' | 'inference';
  /** An explicit probe size [M, K, N] instead of the workload's. */
  readonly probe?: readonly [number, number, number];
  /** Timed calls after the warm-up. */
  readonly repeats?: number;
}

/**
 * The modes worth trying in this environment, GPU-backed first. gpu.js's `cpu` mode is not
 * among them: it ran the probe ~400× slower than webasm here, so it is only the last resort
 * when nothing else works.
 */
export function candidateModes(): Mode[] {
  const out: Mode[] = [];
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  if (inBrowser) {
    if (GPU.isWebGPUSupported) out.push('webgpu');
    if (GPU.isWebGL2Supported) out.push('webgl2');
    else if (GPU.isWebGLSupported) out.push('webgl');
  } else if (GPU.isHeadlessGLSupported) {
    out.push('headlessgl');
  }
  out.push('async', 'webasm');
  return out;
}

/**
 * Tries each candidate mode on one gemm, checks its output against the float64 reference and
 * that the expected gpu.js kernel class ran, times the correct ones (median after a warm-up)
 * and returns the fastest; `cpu` when no candidate works.
 */
export async function chooseMode(options: ChooseOptions = {}): Promise<AutoChoice> {
  const [M, K, N] = options.probe ?? (options.workload === 'inference' ? [68, 64, 128] : [2176, 64, 128]);
  const rng = new Rng(7);
  const a = Float32Array.from({ length: M * K }, () => rng.normal());
  const b = Float32Array.from({ length: K * N }, () => rng.normal());
  const want = matmulRef(a, b, 1, M, K, N);
  const flop = 2 * M * K * N;
  const trials: ModeTrial[] = [];
  for (const mode of options.candidates ?? candidateModes()) {
    trials.push(await trial(mode, a, b, want, [M, K, N], flop, options));
  }
  let ok = trials.filter((t) => t.ms !== undefined).sort((x, y) => x.ms! - y.ms!);
  if (ok.length === 0 && !trials.some((t) => t.mode === 'cpu')) {
    trials.push(await trial('cpu', a, b, want, [M, K, N], flop, { ...options, repeats: 1 }));
    ok = trials.filter((t) => t.ms !== undefined);
  }
  if (ok.length === 0) throw new Error(`no gpu.js mode worked here: ${trials.map((t) => `${t.mode}: ${t.error}`).join('; ')}`);
  return { mode: ok[0].mode, trials };
}

async function trial(mode: Mode, a: Float32Array, b: Float32Array, want: Float64Array, [M, K, N]: readonly number[], flop: number, options: ChooseOptions): Promise<ModeTrial> {
  let be: Backend | null = null;
  try {
    be = new Backend(mode, { poolSize: options.poolSize });
    const shape = { batch: 1, M, N, K, a: [0, K, 1] as const, b: [0, N, 1] as const };
    const got = await gemm(be, a, b, shape);
    const ran = [...be.executed];
    if (ran.length !== 1 || ran[0] !== EXPECTED_KERNEL[mode]) return { mode, kernel: ran.join(', '), error: `ran on ${ran.join(', ')}, not ${EXPECTED_KERNEL[mode]}` };
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    if (!(worst <= 1e-4 * want.reduce((m, v) => Math.max(m, Math.abs(v)), 1))) return { mode, kernel: ran[0], error: `wrong result (largest error ${worst})` };
    const times: number[] = [];
    await gemm(be, a, b, shape);
    for (let r = 0; r < (options.repeats ?? 7); r++) {
      const s = performance.now();
      await gemm(be, a, b, shape);
      times.push(performance.now() - s);
    }
    times.sort((x, y) => x - y);
    const ms = times[times.length >> 1];
    return { mode, ms, gflops: flop / (ms * 1e6), kernel: ran[0] };
  } catch (e) {
    return { mode, error: (e as Error).message.split('\n')[0] };
  } finally {
    be?.destroy();
  }
}

/** A Backend in the given mode, or, for `auto`, in the mode chooseMode() picks (returned with its trials). */
export async function createBackend(mode: ModeChoice, options: ChooseOptions = {}): Promise<{ backend: Backend; choice?: AutoChoice }> {
  if (mode !== 'auto') return { backend: new Backend(mode, { poolSize: options.poolSize }) };
  const choice = await chooseMode(options);
  return { backend: new Backend(choice.mode, { poolSize: options.poolSize }), choice };
}

/** One line per trial, e.g. "async 2.1 GFLOP/s ✓ (chosen)", for logs. */
export function describeChoice(c: AutoChoice): string {
  return c.trials
    .map((t) => `${t.mode}: ${t.ms !== undefined ? `${t.ms.toFixed(2)} ms, ${t.gflops!.toFixed(2)} GFLOP/s` : t.error}${t.mode === c.mode ? ' (chosen)' : ''}`)
    .join('; ');
}
