import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor, assertShape } from '../tensor.js';
import { repeat } from './kernel-math.js';

/*
 * Class token: x [B, T, D], token [D] -> [B, T+1, D] with the token first in every sample.
 *   dx[b][t] = dOut[b][t+1]      dtoken = Σ_b dOut[b][0]
 */

/** X [B, T, D], TOK [D] -> [B, T+1, D]; thread (x = d, y = t, z = b): the branch is on y, uniform per quad */
export function prependTokenForwardSpec(B: number, T: number, D: number): KernelSpec {
  const source = `function(X, TOK) {
  if (this.thread.y === 0) {
    return TOK[this.thread.x];
  }
  return X[(this.thread.z * ${T} + this.thread.y - 1) * ${D} + this.thread.x];
}`;
  return { name: 'prepend_token_forward', source, output: [D, T + 1, B] };
}

/** dOut [B, T+1, D] -> dX [B, T, D] */
export function prependTokenBackwardInputSpec(B: number, T: number, D: number): KernelSpec {
  const source = `function(G) {
  return G[(this.thread.z * ${T + 1} + this.thread.y + 1) * ${D} + this.thread.x];
}`;
  return { name: 'prepend_token_backward_input', source, output: [D, T, B] };
}

/** dOut [B, T+1, D] -> dToken [D] = Σ_b dOut[b][0] */
export function prependTokenBackwardTokenSpec(B: number, T: number, D: number): KernelSpec {
  const source = `function(G) {
  let s = 0;
  ${repeat(B, (b) => `s += G[${b} * ${(T + 1) * D} + this.thread.x];`)}
  return s;
}`;
  return { name: 'prepend_token_backward_token', source, output: [D] };
}

/** Prepends a (learned) token [D] to every sample of x [B, T, D], giving [B, T+1, D]. */
export async function prependToken(be: Backend, x: Tensor, token: Tensor): Promise<Tensor> {
  if (x.shape.length !== 3) throw new Error(`prependToken: x must be [B, T, D], got [${x.shape.join(',')}]`);
  const [B, T, D] = x.shape;
  assertShape(token, [D], 'prependToken token');
  const out = new Tensor([B, T + 1, D], await be.run(specFor(prependTokenForwardSpec, B, T, D), [x.data, token.data]));
  return record(out, 'prependToken', [x, token], async (dout) => {
    if (x.requiresGrad) x.accumulateGrad(await be.run(specFor(prependTokenBackwardInputSpec, B, T, D), [dout]));
    if (token.requiresGrad) token.accumulateGrad(await be.run(specFor(prependTokenBackwardTokenSpec, B, T, D), [dout]));
  });
}
