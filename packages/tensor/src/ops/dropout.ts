import { type Backend, type KernelSpec, specFor } from '../backend.js';
import type { Rng } from '../random.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/* dropout_apply: y = x · mask, mask[i] ∈ {0, 1/(1−p)}; the backward is the same kernel on dy. */
function applySpec(n: number): KernelSpec {
  return { name: 'dropout_apply', source: `function(X, M) { return X[this.thread.x] * M[this.thread.x]; }`, output: [n] };
}

/**
 * Inverted dropout: in training each value is zeroed with probability p and the survivors
 * scaled by 1/(1−p); identity otherwise. The mask comes from our seeded Rng (not the kernel's
 * Math.random) so a seed reproduces a run on every backend.
 */
export async function dropout(be: Backend, x: Tensor, p: number, rng: Rng, training: boolean): Promise<Tensor> {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const scale = 1 / (1 - p);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() < p ? 0 : scale;
  const y = new Tensor(x.shape, await be.run(specFor(applySpec, x.size), [x.data, mask]));
  return record(y, 'dropout', [x], async (dy) => x.accumulateGrad(await be.run(specFor(applySpec, x.size), [dy, mask])));
}

/** Reference forward for a given mask (float64). */
export function dropoutRef(x: ArrayLike<number>, mask: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v * mask[i]);
}
