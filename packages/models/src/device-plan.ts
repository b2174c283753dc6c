import { PIXELS } from '@digitlab/digit-csv';
import { type Backend, type DeviceArray, type DeviceReads, type DeviceSteps, DevicePlan, EXP_TABLE, type GemmEpilogue, type GemmShape, ROWS, gatherSpec, gemmChunks, gemmSpec, specFor, tileOffset, concatLast, type Tensor } from '@digitlab/tensor';
import { deviceCnn } from './device-plan-cnn.js';
import { deviceVit } from './device-plan-vit.js';
import type { Model } from './model.js';
import { param } from './plan.js';

/**
 * A model's forward pass kept on the GPU (webgpu, webgl2): the op-by-op pass's kernels (convolutions,
 * gemms, layer norms, attention) for one batch size, each step's result bound by the next step
 * on the device, the weights uploaded once, and only the logits read back. Where the op-by-op
 * pass unpacks a kernel's raw layout on the host (a gemm's tiles, a convolution's cells), a
 * gather step does it on the device (DevicePlan's gatherSpec).
 */
export interface DeviceModelPlan {
  /** Logits [batch, 10] of exactly `batch` images (batch × 784 values). */
  run(images: Float32Array): Promise<Float32Array>;
  readonly batch: number;
  /** Kernel steps per run. */
  readonly steps: number;
  /** What runs so far have read back from the device. */
  readonly reads: DeviceReads;
  destroy(): void;
}

/** What a model's device pass records: its steps into `plan`, from the images to the logits. */
export type DeviceForward = (plan: DeviceSteps, images: DeviceArray) => DeviceArray;

/** The device pass of `model` on `be` (webgpu or webgl2) for `batch` images per run. */
export async function buildDevicePlan(model: Model, be: Backend, batch: number): Promise<DeviceModelPlan> {
  const plan = await DevicePlan.open(be);
  try {
    const images = plan.input(batch * PIXELS);
    const logits = deviceForward(model, be, batch)(plan, images);
    return {
      batch,
      steps: plan.size,
      reads: plan.reads,
      run: (x) => plan.run([x], logits),
      destroy: () => plan.destroy(),
    };
  } catch (e) {
    plan.destroy();
    throw e;
  }
}

/** The steps of `model`'s pass for `batch` images on `be` (its kernel variants are `be`'s), from the images to the logits. */
export function deviceForward(model: Model, be: Backend, batch: number): DeviceForward {
  return model.config.kind === 'cnn' ? deviceCnn(model, model.config, be, batch) : deviceVit(model, model.config, batch);
}

/** Where a '4x1' gemm's raw output holds C[m][n] of reduction chunk p (M rows, N columns). */
export function tileIndex(M: number, N: number, p: number, m: number, n: number): number {
  return (p * (M / ROWS) + (m >> 2)) * ROWS * N + tileOffset('4x1', N, m & 3, n);
}

/** An index table of `count` entries (a gather step's I), filled by at(i). */
export function indexTable(count: number, at: (i: number) => number): Float32Array {
  const table = Float32Array.from({ length: count }, (_, i) => at(i));
  // the kernels read indices as floats: exact only below 2^24
  if (table.reduce((a, b) => Math.max(a, b), 0) >= 1 << 24) throw new RangeError('device plan: an index table points past 2^24 values, beyond what a float index reaches exactly');
  return table;
}

/** A dense layer on the device: its gemm's raw output (tiles) and whether the kernel added the bias (and activation). */
export interface DeviceDense {
  readonly raw: DeviceArray;
  readonly parts: number;
  readonly fused: boolean;
}

/** Options of deviceDense: the gemm's rows and reduction, its input's layout, the activation a one-chunk kernel applies. */
export interface DeviceDenseShape {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly activation?: 'none' | 'gelu';
  /** The input is another gemm's raw output in '4x1' tiles (see GemmShape.aTiles). */
  readonly aTiles?: boolean;
}

/**
 * The gemm of a dense layer over input x: weight [K, N] (and bias [N]) of the parameters `names`,
 * joined along their outputs. A reduction in one chunk adds the bias (and GELU) in the kernel, as
 * the op-by-op pass's separate kernels would round it; a longer one leaves both to the gather.
 */
export function deviceDense(plan: DeviceSteps, model: Model, x: DeviceArray, names: readonly string[], s: DeviceDenseShape): DeviceDense {
  const { M, K, N } = s;
  const shape: GemmShape = { batch: 1, M, N, K, a: [M * K, K, 1], b: [0, N, 1], ...(s.aTiles ? { aTiles: '4x1' as const } : {}) };
  const parts = gemmChunks(K).chunks;
  const weight = plan.constant(joined(names.map((n) => param(model, `${n}.weight`))));
  if (parts > 1) {
    if (s.activation === 'gelu') throw new Error(`device plan: GELU after a reduction of ${K} in ${parts} chunks is not supported`);
    return { raw: plan.kernel(specFor(gemmSpec, shape, 'none'), [x, weight]), parts, fused: false };
  }
  const epilogue: GemmEpilogue = s.activation === 'gelu' ? 'bias-gelu' : 'bias';
  const bias = plan.constant(joined(names.map((n) => param(model, `${n}.bias`))));
  const args = [x, weight, bias, ...(epilogue === 'bias-gelu' ? [plan.constant(EXP_TABLE)] : [])];
  return { raw: plan.kernel(specFor(gemmSpec, shape, epilogue), args), parts, fused: true };
}

/**
 * Dense rows [M, N] out of l's raw tiles: chunks summed, the bias and ReLU added where the kernel
 * did not, row m read from raw row rowOf(m), and a residual X added last.
 */
export function denseRows(plan: DeviceSteps, model: Model, l: DeviceDense, d: { readonly M: number; readonly rawM: number; readonly N: number; readonly bias?: string; readonly relu?: boolean; readonly rowOf?: (m: number) => number; readonly residual?: DeviceArray }): DeviceArray {
  const { M, rawM, N } = d;
  const rowOf = d.rowOf ?? ((m: number) => m);
  const taps = l.parts;
  const index = plan.constant(indexTable(M * N * taps, (i) => tileIndex(rawM, N, i % taps, rowOf(Math.floor(i / taps / N)), Math.floor(i / taps) % N)));
  const bias = !l.fused && d.bias ? plan.constant(param(model, `${d.bias}.bias`).data) : null;
  const spec = specFor(gatherSpec, { width: N, rows: M, taps, reduce: 'sum' as const, bias: bias !== null, relu: d.relu ?? false, residual: d.residual !== undefined });
  return plan.kernel(spec, [l.raw, index, ...(bias ? [bias] : []), ...(d.residual ? [d.residual] : [])]);
}

/** Parameters side by side along their last axis, as one array (one parameter: its own values). */
function joined(ts: readonly Tensor[]): Float32Array {
  if (ts.length === 1) return ts[0].data;
  const out = new Float32Array(ts.reduce((n, t) => n + t.size, 0));
  concatLast(ts, out);
  return out;
}
