import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/* relu_forward: y = max(x, 0), elementwise over n values. */
function forwardSpec(n: number): KernelSpec {
  return { name: 'relu_forward', source: `function(X) { return Math.max(X[this.thread.x], 0); }`, output: [n] };
}

/** relu_backward: dx = dy where x > 0, else 0 (conv2d's fused ReLU masks with it too). */
export function reluBackwardSpec(n: number): KernelSpec {
  return { name: 'relu_backward', source: `function(D, X) { return X[this.thread.x] > 0 ? D[this.thread.x] : 0; }`, output: [n] };
}

/**
 * Gradients that are already zero wherever a ReLU's output is not positive, by that output: a
 * consumer of the output that reads it anyway (max-pooling's backward) masks as it goes, and the
 * ReLU's own backward then has nothing left to do.
 */
const rectified = new WeakMap<Float32Array, Float32Array>();

/** The tape name of a convolution with its ReLU inside (conv2d records it, isRectified reads it). */
export const CONV2D_RELU_OP = 'conv2d_relu';

/** The ops whose output is max(·, 0) and whose backward goes through reluBackward. */
const RECTIFYING_OPS: ReadonlySet<string> = new Set(['relu', CONV2D_RELU_OP]);

/** Whether t is a ReLU's output (relu, or a convolution with its ReLU inside), so a gradient into it may be masked early (markRectified). */
export function isRectified(t: Tensor): boolean {
  return RECTIFYING_OPS.has(t.node?.op ?? '');
}

/** Records that grad is zero wherever the ReLU output y is not positive; returns grad. */
export function markRectified(grad: Float32Array, y: Float32Array): Float32Array {
  rectified.set(grad, y);
  return grad;
}

/**
 * A ReLU's backward: dy where its input x is positive (as its output y is), else 0. A gradient
 * marked for y (markRectified) is that already and is handed on without a kernel.
 */
export async function reluBackward(be: Backend, dy: Float32Array, y: Float32Array, x: Float32Array = y): Promise<Float32Array> {
  if (rectified.get(dy) === y) return dy;
  return be.run(specFor(reluBackwardSpec, x.length), [dy, x]);
}

/** Rectified linear unit, any shape. */
export async function relu(be: Backend, x: Tensor): Promise<Tensor> {
  const y = new Tensor(x.shape, await be.run(specFor(forwardSpec, x.size), [x.data]));
  return record(y, 'relu', [x], async (dy) => x.accumulateGrad(await reluBackward(be, dy, y.data, x.data)));
}

/** Reference forward (float64). */
export function reluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

/** Reference backward (float64). */
export function reluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 ? dy[i] : 0));
}
