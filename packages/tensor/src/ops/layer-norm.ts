import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor, assertShape } from '../tensor.js';
import { chunkFor, deinterleave, lit, repeat, sumBlocks } from './kernel-math.js';

/*
 * LayerNorm over the last dimension, R rows of D:
 *   y[r][d] = (x[r][d] - mean[r]) · rstd[r] · gamma[d] + beta[d],   rstd = 1/sqrt(var + eps)
 *
 * Row statistics come from their own kernel (one thread per row) rather than being recomputed
 * by every thread of the row: recomputing costs D times the reads, and on webasm (no GPU
 * parallelism to hide it) that is paid in full.
 */

/** X [R, D] -> MS [R, 2] = (mean, rstd), one thread per row; two passes for an accurate variance */
export function layerNormStatsSpec(R: number, D: number, eps: number): KernelSpec {
  const row = `this.thread.x * ${D}`;
  const source = `function(X) {
  let s = 0;
  ${repeat(D, (i) => `s += X[${row} + ${i}];`)}
  const mean = s * ${lit(1 / D)};
  let v = 0;
  ${repeat(D, (i) => `v += (X[${row} + ${i}] - mean) * (X[${row} + ${i}] - mean);`)}
  return [mean, 1.0 / Math.sqrt(v * ${lit(1 / D)} + ${lit(eps)})];
}`;
  return { name: 'layernorm_stats', source, output: [R], components: 2 };
}

/** X [R, D], MS [R, 2], G [D], B [D] -> Y [R, D]; thread.y = row, so the row's stats load once per SIMD quad */
export function layerNormForwardSpec(R: number, D: number): KernelSpec {
  const source = `function(X, MS, G, B) {
  return (X[this.thread.y * ${D} + this.thread.x] - MS[this.thread.y * 2]) * MS[this.thread.y * 2 + 1] * G[this.thread.x] + B[this.thread.x];
}`;
  return { name: 'layernorm_forward', source, output: [D, R] };
}

/** X [R, D], MS [R, 2], G [D], DY [R, D] -> AB [R, 2] = (Σ_d g·dy, Σ_d g·dy·xhat), one thread per row */
export function layerNormBackwardRowsSpec(R: number, D: number): KernelSpec {
  const row = `this.thread.x * ${D}`;
  const source = `function(X, MS, G, DY) {
  const mean = MS[this.thread.x * 2];
  const rstd = MS[this.thread.x * 2 + 1];
  let a = 0;
  let b = 0;
  ${repeat(D, (i) => `a += G[${i}] * DY[${row} + ${i}];
    b += G[${i}] * DY[${row} + ${i}] * (X[${row} + ${i}] - mean) * rstd;`)}
  return [a, b];
}`;
  return { name: 'layernorm_backward_rows', source, output: [R], components: 2 };
}

/** X, MS, G, DY, AB -> DX [R, D] = rstd · (g·dy - mean_d(g·dy) - xhat · mean_d(g·dy·xhat)) */
export function layerNormBackwardInputSpec(R: number, D: number): KernelSpec {
  const i = `this.thread.y * ${D} + this.thread.x`;
  const r2 = 'this.thread.y * 2';
  const source = `function(X, MS, G, DY, AB) {
  const rstd = MS[${r2} + 1];
  const xhat = (X[${i}] - MS[${r2}]) * rstd;
  return rstd * (G[this.thread.x] * DY[${i}] - AB[${r2}] * ${lit(1 / D)} - xhat * AB[${r2} + 1] * ${lit(1 / D)});
}`;
  return { name: 'layernorm_backward_input', source, output: [D, R] };
}

/**
 * X, MS, DY -> [RC, D, 2] partial (dgamma, dbeta) = (Σ dy·xhat, Σ dy) over chunk y of C rows.
 * Chunks give the reduction short unrolled bodies and enough cells to thread; JS adds the RC partials.
 */
export function layerNormBackwardParamsSpec(R: number, D: number): KernelSpec {
  const C = chunkFor(R);
  const r = (i: string) => `(this.thread.y * ${C} + ${i})`;
  const source = `function(X, MS, DY) {
  let sg = 0;
  let sb = 0;
  ${repeat(C, (i) => `sg += DY[${r(i)} * ${D} + this.thread.x] * (X[${r(i)} * ${D} + this.thread.x] - MS[${r(i)} * 2]) * MS[${r(i)} * 2 + 1];
    sb += DY[${r(i)} * ${D} + this.thread.x];`)}
  return [sg, sb];
}`;
  return { name: 'layernorm_backward_params', source, output: [D, R / C], components: 2 };
}

/** Layer normalization over the last dimension of x [..., D], scaled by gamma [D] and shifted by beta [D]. */
export async function layerNorm(be: Backend, x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Promise<Tensor> {
  const D = x.shape[x.shape.length - 1];
  if (x.shape.length < 1 || D === 0) throw new Error(`layerNorm: x needs a non-empty last dimension, got [${x.shape.join(',')}]`);
  assertShape(gamma, [D], 'layerNorm gamma');
  assertShape(beta, [D], 'layerNorm beta');
  const R = x.size / D;
  // saved for backward: recomputing them would cost another pass over x
  const ms = await be.run(specFor(layerNormStatsSpec, R, D, eps), [x.data]);
  const y = await be.run(specFor(layerNormForwardSpec, R, D), [x.data, ms, gamma.data, beta.data]);
  const out = new Tensor(x.shape, y);
  return record(out, 'layerNorm', [x, gamma, beta], async (dy) => {
    if (x.requiresGrad) {
      const ab = await be.run(specFor(layerNormBackwardRowsSpec, R, D), [x.data, ms, gamma.data, dy]);
      x.accumulateGrad(await be.run(specFor(layerNormBackwardInputSpec, R, D), [x.data, ms, gamma.data, dy, ab]));
    }
    if (gamma.requiresGrad || beta.requiresGrad) {
      const parts = R / chunkFor(R);
      const [dg, db] = deinterleave(await be.run(specFor(layerNormBackwardParamsSpec, R, D), [x.data, ms, dy]), 2).map((p) => sumBlocks(p, parts, D));
      if (gamma.requiresGrad) gamma.accumulateGrad(dg);
      if (beta.requiresGrad) beta.accumulateGrad(db);
    }
  });
}
