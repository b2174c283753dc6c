import { PIXELS } from '@digitlab/digit-csv';
import type { Backend, PlanKernels, PlanOptions } from '@digitlab/tensor';
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
