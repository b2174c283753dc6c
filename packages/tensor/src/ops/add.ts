import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/*
 * Residual add of two same-shaped tensors: out = a + b. Backward hands dOut to both inputs
 * unchanged; a kernel there would only copy it.
 */

/** A [n], B [n] -> [n] */
export function addForwardSpec(n: number): KernelSpec {
  const source = `function(A, B) {
  return A[this.thread.x] + B[this.thread.x];
}`;
  return { name: 'add_forward', source, output: [n] };
}

/** Elementwise a + b of same-shaped tensors (residual connections). */
export async function add(be: Backend, a: Tensor, b: Tensor): Promise<Tensor> {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`add: shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] differ`);
  }
  const out = new Tensor(a.shape, await be.run(specFor(addForwardSpec, a.size), [a.data, b.data]));
  return record(out, 'add', [a, b], async (dout) => {
    if (a.requiresGrad) a.accumulateGrad(dout);
    if (b.requiresGrad) b.accumulateGrad(dout);
  });
}
