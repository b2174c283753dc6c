/**
 * A Tensor is a shape and a flat row-major Float32Array. Data lives on the host: on the
 * backends that run in Node (cpu, webasm) gpu.js returns a fresh host array per call anyway.
 * Only an inference plan keeps copies (its resident weights), refreshed by `version`.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Accumulated gradient, same length as data; set by backward(). Read it, do not write into it. */
  grad: Float32Array | null = null;
  /** .grad is still the array the first accumulation passed in (no copy): the next one copies before adding. */
  private gradBorrowed = false;
  requiresGrad: boolean;
  /**
   * Bumped by markUpdated() whenever data changes in place (the optimizers do it each step), so
   * that a copy held elsewhere (an inference plan's resident weights) knows to refresh.
   */
  version = 0;
  /** The node that produced this tensor on the tape (null for leaves). */
  node: TapeNode | null = null;

  constructor(shape: readonly number[], data?: Float32Array, requiresGrad = false) {
    const size = shapeSize(shape);
    if (data && data.length !== size) {
      throw new Error(`Tensor data has ${data.length} values but shape [${shape.join(',')}] needs ${size}`);
    }
    this.shape = Object.freeze([...shape]);
    this.data = data ?? new Float32Array(size);
    this.requiresGrad = requiresGrad;
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** A zero-filled tensor. */
  static zeros(shape: readonly number[], requiresGrad = false): Tensor {
    return new Tensor(shape, undefined, requiresGrad);
  }

  /** A tensor that owns a copy of the values. */
  static from(shape: readonly number[], values: ArrayLike<number>, requiresGrad = false): Tensor {
    return new Tensor(shape, Float32Array.from(values), requiresGrad);
  }

  /** Adds g into this tensor's gradient buffer. */
  accumulateGrad(g: Float32Array): void {
    if (g.length !== this.data.length) {
      throw new Error(`gradient has ${g.length} values, tensor [${this.shape.join(',')}] has ${this.data.length}`);
    }
    if (!this.grad) {
      // the common case, one consumer: keep the caller's array. Backward kernels return fresh
      // arrays, but an op may hand one gradient to several inputs (a residual add), so it is
      // copied before anything is added into it. Copying every first gradient would copy
      // every gradient of a step once more.
      this.grad = g;
      this.gradBorrowed = true;
      return;
    }
    if (this.gradBorrowed) {
      this.grad = this.grad.slice();
      this.gradBorrowed = false;
    }
    const acc = this.grad;
    for (let i = 0; i < acc.length; i++) acc[i] += g[i];
  }

  /** Records that data was changed in place: copies of it (resident weights) are stale. */
  markUpdated(): void {
    this.version++;
  }

  /** Drops the gradient buffer (before the next step). */
  zeroGrad(): void {
    this.grad = null;
  }
}

/** One recorded op: its inputs and the closure that turns the output's gradient into theirs. */
export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Receives d(loss)/d(output) and accumulates into the inputs that require grad. */
  readonly backward: (gradOut: Float32Array) => Promise<void>;
}

/** Product of the dimensions. */
export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`bad dimension ${d} in shape [${shape.join(',')}]`);
    n *= d;
  }
  return n;
}

/** Throws unless the shapes are equal; `what` names the argument in the message. */
export function assertShape(t: Tensor, expected: readonly number[], what: string): void {
  if (t.shape.length !== expected.length || t.shape.some((d, i) => expected[i] >= 0 && d !== expected[i])) {
    throw new Error(`${what}: expected shape [${expected.map((d) => (d < 0 ? '?' : d)).join(',')}], got [${t.shape.join(',')}]`);
  }
}
