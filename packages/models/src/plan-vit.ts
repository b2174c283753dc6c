import { PIXELS, SIDE } from '@digitlab/digit-csv';
import { type Backend, PlanKernels, EXP_TABLE, attentionDims, attentionOutputSpec, attentionProbsSpec, attentionScoresSpec, attentionStatsSpec, layerNormRows, specFor, transposeKeys, type PlanOptions } from '@digitlab/tensor';
import type { VitConfig } from './config.js';
import type { Model } from './model.js';
import { type InferencePlan, checkImages, param, planDense, rows4, runDense } from './plan.js';

/** Images per group the ViT's larger kernels are compiled for: its token rows (4 · 17) fill the gemm's row blocks exactly. */
const GROUP = 4;

/** Kernel calls per image group: the patch embedding, the head, and per block the QKV projection, attention's four, the output projection, fc1, fc2. */
const callsPerGroup = (layers: number): number => 2 + layers * 8;

/**
 * The ViT's plan. Kernels: the patch embedding, per block one projection for query, key and
 * value (their weights joined into one [D, 3A] matrix), attention's four (scores, row
 * statistics, probabilities, output), the output projection, fc1 (GELU inside) and fc2, and the
 * head; every gemm adds its bias itself. The output projection reads attention's output, and
 * fc2 reads fc1's, in the tiles the kernel before wrote them (copied as they are). Host passes:
 * patches, class token and positions; Q, K (transposed) and V out of their projection; the residual adds,
 * each followed by the layer norm written straight into the next projection's input.
 * The kernels are compiled twice, for a group of GROUP images and for one image (latency, and the
 * rest of a batch); the blocks' layers of one shape share a compiled module, each instance
 * holding its own layer's weights.
 */
export function vitPlan(model: Model, config: VitConfig, be: Backend, options: PlanOptions = {}): InferencePlan {
  const ks = new PlanKernels(be, options);
  const groups = [GROUP, 1].map((g) => vitGroup(model, config, ks, be, g));
  const split = (count: number): [number, number] => [Math.floor(count / GROUP), count % GROUP];
  return {
    ks,
    kernels: ks.size,
    compileMs: () => ks.compileMs(),
    callsFor: (count) => {
      const [full, rest] = split(count);
      return (full + rest) * callsPerGroup(config.layers);
    },
    run(images: Float32Array, count: number): Float32Array {
      checkImages(images, count);
      ks.refresh();
      const logits = new Float32Array(count * 10);
      const [full, rest] = split(count);
      for (let i = 0; i < full; i++) groups[0](images, i * GROUP, logits);
      for (let i = full * GROUP; i < count; i++) groups[1](images, i, logits);
      return logits;
    },
    destroy: () => ks.destroy(),
  };
}

/** The ViT's kernels for B images at a time: runs images [first, first + B) into logits. */
function vitGroup(model: Model, config: VitConfig, ks: PlanKernels, be: Backend, B: number): (images: Float32Array, first: number, logits: Float32Array) => void {
  const { patch, dim: D, heads, headDim, layers, mlp } = config;
  const G = SIDE / patch;
  const NP = G * G;
  const P = patch * patch;
  const T = NP + 1;
  const A = heads * headDim;
  const R = B * T;
  const M = rows4(R);
  const d = attentionDims(B, T, A, heads);
  // attention's output rows: each image's tokens padded to TP
  const tokens = { rows: T, pitch: d.TP };
  const embed = planDense(model, ks, be, ['embed'], { M: rows4(B * NP), K: P, N: D, activation: 'none' });
  const blocks = Array.from({ length: layers }, (_, i) => {
    const at = (n: string) => param(model, `block${i}.${n}`);
    const scores = ks.kernel(specFor(attentionScoresSpec, d), [R * A, B * A * d.TP]);
    const stats = ks.kernel(specFor(attentionStatsSpec, d), [scores.output.length, EXP_TABLE]);
    const probs = ks.kernel(specFor(attentionProbsSpec, d), [scores.output.length, stats.output.length, EXP_TABLE]);
    const output = ks.kernel(specFor(attentionOutputSpec, d), [probs.output.length, R * A]);
    const fc1 = planDense(model, ks, be, [`block${i}.mlp.fc1`], { M, K: D, N: mlp, activation: 'gelu' });
    // fc2 reads fc1's raw output, so GELU must have happened inside fc1's kernel
    if (fc1.parts !== 1) throw new Error(`plan: a ViT of dim ${D} takes fc1's reduction in ${fc1.parts} chunks; the plan fuses fc1 and fc2 for dims up to 128`);
    return {
      ln1: { g: at('ln1.gain'), b: at('ln1.bias') },
      qkv: planDense(model, ks, be, ['query', 'key', 'value'].map((n) => `block${i}.attn.${n}`), { M, K: D, N: 3 * A, activation: 'none' }),
      scores,
      stats,
      probs,
      output,
      o: planDense(model, ks, be, [`block${i}.attn.out`], { M: B * d.TP, K: A, N: D, activation: 'none', aTiles: '4x1' }),
      ln2: { g: at('ln2.gain'), b: at('ln2.bias') },
      fc1,
      fc2: planDense(model, ks, be, [`block${i}.mlp.fc2`], { M, K: mlp, N: D, activation: 'none', aTiles: fc1.variant }),
    };
  });
  const head = planDense(model, ks, be, ['head'], { M: rows4(B), K: D, N: 10, activation: 'none' });
  const cls = param(model, 'cls_token');
  const pos = param(model, 'pos_embed');
  const norm = { g: param(model, 'norm.gain'), b: param(model, 'norm.bias') };
  const emb = new Float32Array(B * NP * D);
  const x = new Float32Array(R * D);
  const keys = new Float32Array(R * A);

  return (images, first, logits) => {
    // patches [B·NP, P]: patch n = py·G + px, pixel e = ky·patch + kx
    const pa = embed.k.args[0];
    for (let b = 0; b < B; b++)
      for (let py = 0; py < G; py++)
        for (let px = 0; px < G; px++) {
          const row = (b * NP + py * G + px) * P;
          for (let ky = 0; ky < patch; ky++) {
            const src = (first + b) * PIXELS + (py * patch + ky) * SIDE + px * patch;
            for (let kx = 0; kx < patch; kx++) pa[row + ky * patch + kx] = images[src + kx];
          }
        }
    runDense(ks, embed, { rows: B * NP, dst: emb });
    // [class token; patches] + positions
    const f = Math.fround;
    const pe = pos.data;
    for (let b = 0; b < B; b++) {
      const t0 = b * T * D;
      for (let i = 0; i < D; i++) x[t0 + i] = f(cls.data[i] + pe[i]);
      for (let n = 0; n < NP; n++) {
        const dst = t0 + (n + 1) * D;
        const src = (b * NP + n) * D;
        for (let i = 0; i < D; i++) x[dst + i] = f(emb[src + i] + pe[(n + 1) * D + i]);
      }
    }
    for (const blk of blocks) {
      layerNormRows(x, R, D, blk.ln1.g.data, blk.ln1.b.data, blk.qkv.k.args[0]);
      runDense(ks, blk.qkv, { rows: R, dst: blk.scores.args[0], columns: [0, A] }, { rows: R, dst: keys, columns: [A, A] }, { rows: R, dst: blk.output.args[1], columns: [2 * A, A] });
      transposeKeys(keys, d, blk.scores.args[1]);
      ks.run(blk.scores);
      blk.stats.args[0].set(blk.scores.output);
      ks.run(blk.stats);
      blk.probs.args[0].set(blk.scores.output);
      blk.probs.args[1].set(blk.stats.output);
      ks.run(blk.probs);
      blk.output.args[0].set(blk.probs.output);
      ks.run(blk.output);
      blk.o.k.args[0].set(blk.output.output);
      runDense(ks, blk.o, { rows: R, dst: x, groups: tokens, residual: x });
      layerNormRows(x, R, D, blk.ln2.g.data, blk.ln2.b.data, blk.fc1.k.args[0]);
      ks.run(blk.fc1.k);
      blk.fc2.k.args[0].set(blk.fc1.k.output);
      runDense(ks, blk.fc2, { rows: R, dst: x, residual: x });
    }
    // the head reads only the class token: normalise those rows alone
    layerNormRows(x, B, D, norm.g.data, norm.b.data, head.k.args[0], 1e-5, T * D);
    runDense(ks, head, { rows: B, dst: logits.subarray(first * 10, (first + B) * 10) });
  };
}
