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

/** Rectified linear unit, any shape. */
export async function relu(be: Backend, x: Tensor): Promise<Tensor> {
  const y = new Tensor(x.shape, await be.run(specFor(forwardSpec, x.size), [x.data]));
  return record(y, 'relu', [x], async (dy) => x.accumulateGrad(await be.run(specFor(reluBackwardSpec, x.size), [dy, x.data])));
}

/** Reference forward (float64). */
export function reluRef(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v) => Math.max(v, 0));
}

/** Reference backward (float64). */
export function reluBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => (v > 0 ? dy[i] : 0));
}
