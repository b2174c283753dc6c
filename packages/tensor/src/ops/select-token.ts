import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/*
 * One token out of every sample (the class token for the classifier head):
 *   out[b] = x[b][index]      dx[b][t] = t == index ? dOut[b] : 0
 */

/** X [B, T, D] -> [B, D]; thread (x = d, y = b) */
export function selectTokenForwardSpec(B: number, T: number, D: number, index: number): KernelSpec {
  const source = `function(X) {
  return X[(this.thread.y * ${T} + ${index}) * ${D} + this.thread.x];
}`;
  return { name: 'select_token_forward', source, output: [D, B] };
}

/** dOut [B, D] -> dX [B, T, D]; thread (x = d, y = t, z = b): the branch is on y, uniform per quad */
export function selectTokenBackwardSpec(B: number, T: number, D: number, index: number): KernelSpec {
  const source = `function(G) {
  if (this.thread.y === ${index}) {
    return G[this.thread.z * ${D} + this.thread.x];
  }
  return 0.0;
}`;
  return { name: 'select_token_backward', source, output: [D, T, B] };
}

/** Takes token `index` of every sample: x [B, T, D] -> [B, D]. */
export async function selectToken(be: Backend, x: Tensor, index: number): Promise<Tensor> {
  if (x.shape.length !== 3) throw new Error(`selectToken: x must be [B, T, D], got [${x.shape.join(',')}]`);
  const [B, T, D] = x.shape;
  if (!Number.isInteger(index) || index < 0 || index >= T) throw new Error(`selectToken: index ${index} is outside 0..${T - 1}`);
  const out = new Tensor([B, D], await be.run(specFor(selectTokenForwardSpec, B, T, D, index), [x.data]));
  return record(out, 'selectToken', [x], async (dout) => {
    x.accumulateGrad(await be.run(specFor(selectTokenBackwardSpec, B, T, D, index), [dout]));
  });
}
