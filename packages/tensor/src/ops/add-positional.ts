import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor, assertShape } from '../tensor.js';
import { repeat } from './kernel-math.js';

/*
 * Learned position embeddings: x [B, T, D] + pos [T, D], broadcast over the batch.
 *   dx = dOut (passed on as is: a copy kernel would only add a pass)      dpos = Σ_b dOut[b]
 */

/** X [B, T·D], P [T·D] -> [B, T·D]; thread (x = t·D + d, y = b) */
export function addPositionalForwardSpec(B: number, TD: number): KernelSpec {
  const source = `function(X, P) {
  return X[this.thread.y * ${TD} + this.thread.x] + P[this.thread.x];
}`;
  return { name: 'add_positional_forward', source, output: [TD, B] };
}

/** dOut [B, T·D] -> dPos [T·D] = Σ_b dOut[b] */
export function addPositionalBackwardPosSpec(B: number, TD: number): KernelSpec {
  const source = `function(G) {
  let s = 0;
  ${repeat(B, (b) => `s += G[${b} * ${TD} + this.thread.x];`)}
  return s;
}`;
  return { name: 'add_positional_backward_pos', source, output: [TD] };
}

/** x [B, T, D] + pos [T, D] (the same position embedding added to every sample). */
export async function addPositional(be: Backend, x: Tensor, pos: Tensor): Promise<Tensor> {
  if (x.shape.length !== 3) throw new Error(`addPositional: x must be [B, T, D], got [${x.shape.join(',')}]`);
  const [B, T, D] = x.shape;
  assertShape(pos, [T, D], 'addPositional pos');
  const out = new Tensor(x.shape, await be.run(specFor(addPositionalForwardSpec, B, T * D), [x.data, pos.data]));
  return record(out, 'addPositional', [x, pos], async (dout) => {
    if (x.requiresGrad) x.accumulateGrad(dout);
    if (pos.requiresGrad) pos.accumulateGrad(await be.run(specFor(addPositionalBackwardPosSpec, B, T * D), [dout]));
  });
}
