import { PIXELS } from '@digitlab/digit-csv';
import { type Activation, type Backend, type CellGrid, type GemmShape, type GemmVariant, type PlanKernel, type PlanKernels, type PlanOptions, type Tensor, EXP_TABLE, ROWS, chooseGemmKernel, denseEpilogue, gemmFits, gemmChunks, gemmSpec, gemmSpec4x2, specFor } from '@digitlab/tensor';
import type { Model } from './model.js';
import { cnnPlan } from './plan-cnn.js';
import { vitPlan } from './plan-vit.js';

/**
 * A model's forward pass compiled once for every batch size: the few kernels that do the
 * arithmetic (convolutions, dense layers, attention), with the weights resident in their memory,
 * and host passes between them that do the elementwise work. Its kernels are sized for one image
 * or a small group of images and run as often as a batch needs, so a plan compiles the same
 * kernels whatever the batch. The op-by-op forward pass (model.forward) stays the reference it
 * is tested against.
 */
export interface InferencePlan {
  /** Logits [count, 10] for `count` images packed in `images` (count × 784 values); the array is the caller's. */
  run(images: Float32Array, count: number): Float32Array;
  /** Kernels the plan compiled. */
  readonly kernels: number;
  /** Milliseconds spent compiling, by kernel name. */
  compileMs(): ReadonlyMap<string, number>;
  /** Kernel calls a run over `count` images makes. */
  callsFor(count: number): number;
  /** The plan's kernels: call counts, and a per-kernel profile when switched on. */
  readonly ks: PlanKernels;
  /** Frees the plan's kernels. */
  destroy(): void;
}

/** The inference plan of `model` on `be` (compiles every kernel it will run). */
export function buildPlan(model: Model, be: Backend, options: PlanOptions = {}): InferencePlan {
  return model.config.kind === 'cnn' ? cnnPlan(model, model.config, be, options) : vitPlan(model, model.config, be, options);
}

/** Throws unless images hold count images. */
export function checkImages(images: Float32Array, count: number): void {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`plan: count must be a non-negative integer, got ${count}`);
  if (images.length < count * PIXELS) throw new RangeError(`plan: ${count} images need ${count * PIXELS} values, got ${images.length}`);
}

/** A named parameter of the model (the plans read the safetensors names). */
export function param(model: Model, name: string) {
  const t = model.params.get(name);
  if (!t) throw new Error(`plan: the model has no parameter ${name}`);
  return t;
}

/** n rounded up to a multiple of 4 (the gemm kernel's rows per thread). */
export function rows4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** A dense layer of a plan: its gemm (weight resident, and the bias where the kernel adds it) and what the pass after it still does. */
export interface PlanDense {
  readonly k: PlanKernel;
  /** The gemm variant: its output lies in this variant's tiles. */
  readonly variant: GemmVariant;
  readonly N: number;
  readonly parts: number;
  /** The bias, where the kernel does not add it itself. */
  readonly bias?: Tensor;
  /** The activation the pass applies ('none' where the kernel applied it). */
  readonly activation: Activation;
}

/** What a plan's dense layer computes: M rows (a multiple of 4) of K inputs, N outputs, and where its input comes from. */
export interface PlanDenseShape {
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly activation: 'none' | 'relu' | 'gelu';
  /** Set where the input is another gemm's raw output in these tiles (copied in as it is). */
  readonly aTiles?: GemmVariant;
  /** The gemm variant to run where it fits the mode (gemmFits); otherwise, or unset, the mode's choice (chooseGemmKernel). */
  readonly variant?: GemmVariant;
}

/**
 * A dense layer over the parameters `<name>.weight` [K, n] and `<name>.bias` [n] of each name,
 * joined along their outputs (the query, key and value projections as one gemm). The variant is
 * d.variant where it fits, else the mode's choice for the shape (chooseGemmKernel); a reduction in one chunk adds its bias and
 * activation inside the kernel.
 */
export function planDense(model: Model, ks: PlanKernels, be: Backend, names: readonly string[], d: PlanDenseShape): PlanDense {
  const { M, K, N } = d;
  const shape: GemmShape = { batch: 1, M, N, K, a: [M * K, K, 1], b: [0, N, 1], ...(d.aTiles ? { aTiles: d.aTiles } : {}) };
  const variant = d.variant && gemmFits(d.variant, shape, be.mode) ? d.variant : chooseGemmKernel(be.mode, shape);
  const build = variant === '4x2' ? gemmSpec4x2 : gemmSpec;
  const parts = gemmChunks(K).chunks;
  const weights = names.map((n) => param(model, `${n}.weight`));
  const biases = names.map((n) => param(model, `${n}.bias`));
  if (parts > 1) {
    const k = ks.kernel(specFor(build, shape, 'none'), [M * K, K * N]);
    ks.resident(k, 1, weights);
    // one name: the bias tensor itself; several: joined once (a host pass reads it)
    const bias = biases.length === 1 ? biases[0] : undefined;
    if (!bias) throw new Error(`plan: joined dense layers ${names.join(', ')} need their reduction in one chunk, K=${K} takes ${parts}`);
    return { k, variant, N, parts, bias, activation: d.activation };
  }
  const fused = d.activation === 'gelu' ? 'bias-gelu' : d.activation === 'relu' ? 'bias-relu' : 'bias';
  const k = ks.kernel(specFor(build, shape, fused), fused === 'bias-gelu' ? [M * K, K * N, N, EXP_TABLE] : [M * K, K * N, N]);
  ks.resident(k, 1, weights);
  ks.resident(k, 2, biases);
  return { k, variant, N, parts, activation: 'none' };
}

/** Where a dense layer's pass writes (see DenseEpilogue): the first `rows` rows, optionally some columns, raw rows in groups, a residual. */
export interface DenseTarget {
  readonly rows: number;
  readonly dst: Float32Array;
  readonly columns?: readonly [number, number];
  readonly groups?: CellGrid;
  readonly residual?: Float32Array;
}

/** Runs l's gemm and its pass into each target. */
export function runDense(ks: PlanKernels, l: PlanDense, ...targets: readonly DenseTarget[]): void {
  ks.run(l.k);
  const blocks = l.k.output.length / (l.parts * l.N * ROWS);
  for (const t of targets) denseEpilogue({ raw: l.k.output, tiles: l.variant, M: t.rows, N: l.N, parts: l.parts, blocks, columns: t.columns, groups: t.groups, bias: l.bias?.data, activation: l.activation, residual: t.residual, dst: t.dst });
}
