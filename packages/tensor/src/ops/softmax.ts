import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { EXP_TABLE, expCode, repeat } from './kernel-math.js';

/*
 * Softmax over the last dimension, R rows of N:
 *   y[r][j] = e^(x[r][j] - max_r) / Σ_j' e^(x[r][j'] - max_r)
 *   dx[r][j] = y[r][j] · (dy[r][j] - Σ_j' y[r][j'] · dy[r][j'])
 * Row reductions run one thread per row in their own kernel; the elementwise kernels then read
 * the row's values once per SIMD quad (thread.y = row, uniform across lanes).
 */

/** X [R, N] -> MS [R, 2] = (max, 1/Σ e^(x - max)), one thread per row */
export function softmaxStatsSpec(R: number, N: number): KernelSpec {
  const row = `this.thread.x * ${N}`;
  const source = `function(X, ET) {
  let m = X[${row}];
  ${repeat(N, (j) => `m = Math.max(m, X[${row} + ${j}]);`)}
  let s = 0;
  ${repeat(N, (j) => `${expCode(`e${j}`, `X[${row} + ${j}] - m`)}
    s += e${j};`)}
  return [m, 1.0 / s];
}`;
  return { name: 'softmax_stats', source, output: [R], components: 2 };
}

/** X [R, N], MS [R, 2] -> Y [R, N] */
export function softmaxForwardSpec(R: number, N: number): KernelSpec {
  const source = `function(X, MS, ET) {
  ${expCode('e', `X[this.thread.y * ${N} + this.thread.x] - MS[this.thread.y * 2]`)}
  return e * MS[this.thread.y * 2 + 1];
}`;
  return { name: 'softmax_forward', source, output: [N, R] };
}

/** Y [R, N], DY [R, N] -> S [R] = Σ_j y·dy, one thread per row */
export function softmaxBackwardRowsSpec(R: number, N: number): KernelSpec {
  const row = `this.thread.x * ${N}`;
  const source = `function(Y, DY) {
  let s = 0;
  ${repeat(N, (j) => `s += Y[${row} + ${j}] * DY[${row} + ${j}];`)}
  return s;
}`;
  return { name: 'softmax_backward_rows', source, output: [R] };
}

/** Y, DY, S -> DX [R, N] = y · (dy - s) */
export function softmaxBackwardInputSpec(R: number, N: number): KernelSpec {
  const i = `this.thread.y * ${N} + this.thread.x`;
  const source = `function(Y, DY, S) {
  return Y[${i}] * (DY[${i}] - S[this.thread.y]);
}`;
  return { name: 'softmax_backward_input', source, output: [N, R] };
}

/** Softmax over the last dimension of x [..., N]. */
export async function softmax(be: Backend, x: Tensor): Promise<Tensor> {
  const N = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || N === 0) throw new Error(`softmax: x needs a non-empty last dimension, got [${x.shape.join(',')}]`);
  const R = x.size / N;
  const ms = await be.run(specFor(softmaxStatsSpec, R, N), [x.data, EXP_TABLE]);
  // backward needs only y, which the tape keeps anyway as this op's output
  const out = new Tensor(x.shape, await be.run(specFor(softmaxForwardSpec, R, N), [x.data, ms, EXP_TABLE]));
  return record(out, 'softmax', [x], async (dy) => {
    const s = await be.run(specFor(softmaxBackwardRowsSpec, R, N), [out.data, dy]);
    x.accumulateGrad(await be.run(specFor(softmaxBackwardInputSpec, R, N), [out.data, dy, s]));
  });
}
