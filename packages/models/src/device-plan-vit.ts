import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { type DeviceArray, type DeviceSteps, EXP_TABLE, attentionDims, attentionOutputSpec, attentionProbsSpec, attentionScoresSpec, attentionStatsSpec, gatherSpec, layerNormForwardSpec, layerNormStatsSpec, specFor, type KernelSpec } from '@digitlab/tensor';
import type { VitConfig } from './config.js';
import { type DeviceForward, denseRows, deviceDense, indexTable, tileIndex } from './device-plan.js';
import type { Model } from './model.js';
import { param } from './plan.js';

/** The layer norms' epsilon (the layerNorm op's default, which the ViT uses). */
const EPS = 1e-5;

/**
 * x = [class token; embedded patches] + positions, thread (t·D + d, b): the class row is
 * cls + pos[0] (CP, one constant row), the others the embedding gemm's tiles (R at I) + pos.
 */
function tokensSpec(B: number, T: number, D: number): KernelSpec {
  const source = `function(R, I, P, CP) {
  return this.thread.x < ${D} ? CP[this.thread.x] : R[I[this.thread.y * ${T * D} + this.thread.x]] + P[this.thread.x];
}`;
  return { name: 'device_tokens', source, output: [T * D, B] };
}

/** A permutation gather: out[i] = R[I[i]], as `rows` rows of `width`. */
function gather(plan: DeviceSteps, raw: DeviceArray, width: number, rows: number, at: (i: number) => number): DeviceArray {
  return plan.kernel(specFor(gatherSpec, { width, rows, taps: 1, reduce: 'sum' as const }), [raw, plan.constant(indexTable(width * rows, at))]);
}

/**
 * The ViT on the device for B images, kernel for kernel as its inference plan runs it (query,
 * key and value as one gemm, the output projection reading attention's output tiles, fc2 reading
 * fc1's), with the plan's host passes as device steps: patches, tokens and positions, Q, Kᵀ and V
 * out of their projection, the residual adds, and the layer norms (the layerNorm op's kernels).
 */
export function deviceVit(model: Model, config: VitConfig, B: number): DeviceForward {
  const { patch, dim: D, heads, headDim, layers, mlp } = config;
  // a G × G grid of patches of P pixels; T tokens (the class token first), R token rows in all
  const [G, P, A] = [SIDE / patch, patch * patch, heads * headDim];
  const NP = G * G;
  const T = NP + 1;
  const R = B * T;
  const d = attentionDims(B, T, A, heads);
  if (R % 4 !== 0 || (B * NP) % 4 !== 0 || B % 4 !== 0) throw new Error(`device plan: the ViT runs a multiple of 4 images at a time, not ${B}`);
  const norm = (plan: DeviceSteps, x: DeviceArray, rows: number, name: string): DeviceArray => {
    const stats = plan.kernel(specFor(layerNormStatsSpec, rows, D, EPS), [x]);
    return plan.kernel(specFor(layerNormForwardSpec, rows, D), [x, stats, plan.constant(param(model, `${name}.gain`).data), plan.constant(param(model, `${name}.bias`).data)]);
  };

  return (plan: DeviceSteps, images: DeviceArray): DeviceArray => {
    // patches [B·NP, P]: patch n = py·G + px, pixel e = ky·patch + kx
    const patches = gather(plan, images, P, B * NP, (i) => {
      const e = i % P;
      const n = Math.floor(i / P) % NP;
      const b = Math.floor(i / P / NP);
      return b * PIXELS + (Math.floor(n / G) * patch + Math.floor(e / patch)) * SIDE + (n % G) * patch + (e % patch);
    });
    const embed = deviceDense(plan, model, patches, ['embed'], { M: B * NP, K: P, N: D });
    const cls = param(model, 'cls_token').data;
    const pos = param(model, 'pos_embed').data;
    const classRow = Float32Array.from({ length: D }, (_, i) => cls[i] + pos[i]);
    const tokenIndex = indexTable(B * T * D, (i) => {
      const t = Math.floor(i / D) % T;
      return t === 0 ? 0 : tileIndex(B * NP, D, 0, Math.floor(i / (T * D)) * NP + t - 1, i % D);
    });
    let x = plan.kernel(tokensSpec(B, T, D), [embed.raw, plan.constant(tokenIndex), plan.constant(pos), plan.constant(classRow)]);
    const ET = plan.constant(EXP_TABLE);
    for (let i = 0; i < layers; i++) {
      const at = (n: string) => `block${i}.${n}`;
      const qkv = deviceDense(plan, model, norm(plan, x, R, at('ln1')), ['query', 'key', 'value'].map((n) => at(`attn.${n}`)), { M: R, K: D, N: 3 * A });
      const q = gather(plan, qkv.raw, A, R, (j) => tileIndex(R, 3 * A, 0, Math.floor(j / A), j % A));
      const v = gather(plan, qkv.raw, A, R, (j) => tileIndex(R, 3 * A, 0, Math.floor(j / A), 2 * A + (j % A)));
      // keys transposed per head, [B·H][dh][TP]; the padding columns read any finite value (never used)
      const kT = gather(plan, qkv.raw, d.TP, B * heads * headDim, (j) => {
        const col = j % d.TP;
        const c = Math.floor(j / d.TP) % headDim;
        const bh = Math.floor(j / d.TP / headDim);
        return col >= T ? 0 : tileIndex(R, 3 * A, 0, Math.floor(bh / heads) * T + col, A + (bh % heads) * headDim + c);
      });
      const scores = plan.kernel(specFor(attentionScoresSpec, d), [q, kT]);
      const stats = plan.kernel(specFor(attentionStatsSpec, d), [scores, ET]);
      const probs = plan.kernel(specFor(attentionProbsSpec, d), [scores, stats, ET]);
      const att = plan.kernel(specFor(attentionOutputSpec, d), [probs, v]);
      // attention's output rows are each image's tokens padded to TP: the output projection's tiles too
      const o = deviceDense(plan, model, att, [at('attn.out')], { M: B * d.TP, K: A, N: D, aTiles: true });
      x = denseRows(plan, model, o, { M: R, rawM: B * d.TP, N: D, rowOf: (m) => Math.floor(m / T) * d.TP + (m % T), residual: x });
      const fc1 = deviceDense(plan, model, norm(plan, x, R, at('ln2')), [at('mlp.fc1')], { M: R, K: D, N: mlp, activation: 'gelu' });
      const fc2 = deviceDense(plan, model, fc1.raw, [at('mlp.fc2')], { M: R, K: mlp, N: D, aTiles: true });
      x = denseRows(plan, model, fc2, { M: R, rawM: R, N: D, residual: x });
    }
    // the head reads only the class token: normalise those rows alone
    const classes = gather(plan, x, D, B, (j) => Math.floor(j / D) * T * D + (j % D));
    const head = deviceDense(plan, model, norm(plan, classes, B, 'norm'), ['head'], { M: B, K: D, N: 10 });
    return denseRows(plan, model, head, { M: B, rawM: B, N: 10 });
  };
}
