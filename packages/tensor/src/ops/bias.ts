import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/*
 * bias_forward: y[r][n] = x[r][n] + b[n] over R rows of N. Thread (n, r): the column comes from
 * the grid rather than from an f32 division per element (copying in and out dominates either way).
 */
function forwardSpec(R: number, N: number): KernelSpec {
  return {
    name: 'bias_forward',
    source: `function(X, Bs) { return X[this.thread.y * ${N} + this.thread.x] + Bs[this.thread.x]; }`,
    output: [N, R],
  };
}

/* bias_backward: db[n] = Σ_r dy[r][n] (dx is dy itself). */
function backwardSpec(R: number, N: number): KernelSpec {
  return {
    name: 'bias_backward',
    source: `function(D) { let s = 0; for (let r = 0; r < ${R}; r++) { s += D[r * ${N} + this.thread.x]; } return s; }`,
    output: [N],
  };
}

/** Adds a bias [N] to every row of x [..., N]. */
export async function addBias(be: Backend, x: Tensor, b: Tensor): Promise<Tensor> {
  const N = x.shape[x.shape.length - 1];
  if (b.size !== N) throw new Error(`addBias: bias has ${b.size} values, input rows have ${N}`);
  const R = x.size / N;
  const y = new Tensor(x.shape, await be.run(specFor(forwardSpec, R, N), [x.data, b.data]));
  return record(y, 'addBias', [x, b], async (dy) => {
    if (x.requiresGrad) x.accumulateGrad(dy);
    if (b.requiresGrad) b.accumulateGrad(await be.run(specFor(backwardSpec, R, N), [dy]));
  });
}

/** Reference forward (float64). */
export function addBiasRef(x: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from(x, (v, i) => v + b[i % b.length]);
}

/** Reference backward (float64). */
export function addBiasBackwardRef(dy: ArrayLike<number>, N: number): { dx: Float64Array; db: Float64Array } {
  const db = new Float64Array(N);
  for (let i = 0; i < dy.length; i++) db[i % N] += dy[i];
  return { dx: Float64Array.from(dy), db };
}
