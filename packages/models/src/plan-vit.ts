import { type Backend, type PlanKernel, PlanKernels, ROWS, EXP_TABLE, attentionDims, attentionOutputSpec, attentionProbsSpec, attentionScoresSpec, attentionStatsSpec, denseEpilogue, gemmChunks, gemmSpec, layerNormRows, specFor, unpackTokenRows, type Activation, type PlanOptions, type Tensor } from '@digitlab/tensor';
import type { VitConfig } from './config.js';
import type { Model } from './model.js';
import { type InferencePlan, checkImages, param, rows4 } from './plan.js';

/** A dense layer of the plan: its gemm (weight resident) and what the pass after it still adds. */
interface Dense {
  readonly k: PlanKernel;
  readonly N: number;
  readonly parts: number;
  /** The bias, where the kernel does not add it itself. */
  readonly bias?: Tensor;
  /** The activation the pass applies ('none' where the kernel applied it). */
  readonly activation: Activation;
}

/** Images per group the ViT's larger kernels are compiled for: its token rows (4 · 17) fill the gemm's row blocks exactly. */
const GROUP = 4;

/**
 * The ViT's plan. Kernels: the patch embedding, per block the query, key and value projections,
 * attention's four (scores, row statistics, probabilities, output), the output projection, fc1
 * (GELU inside) and fc2, and the head; every gemm adds its bias itself. Host passes: patches,
 * class token and positions; layer norms written straight into the next projection's input; the
 * residual adds.
 * The kernels are compiled twice, for a group of GROUP images and for one image (latency, and the
 * rest of a batch); the blocks' layers of one shape share a compiled module, each instance
 * holding its own layer's weights.
 */
export function vitPlan(model: Model, config: VitConfig, be: Backend, options: PlanOptions = {}): InferencePlan {
  const ks = new PlanKernels(be, options);
  const groups = [GROUP, 1].map((g) => vitGroup(model, config, ks, g));
  const split = (count: number): [number, number] => [Math.floor(count / GROUP), count % GROUP];
  return {
    ks,
    kernels: ks.size,
    compileMs: () => ks.compileMs(),
    callsFor: (count) => {
      const [full, rest] = split(count);
      return (full + rest) * (2 + config.layers * 10);
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
function vitGroup(model: Model, config: VitConfig, ks: PlanKernels, B: number): (images: Float32Array, first: number, logits: Float32Array) => void {
  const { patch, dim: D, heads, headDim, layers, mlp } = config;
  const G = 28 / patch;
  const NP = G * G;
  const P = patch * patch;
  const T = NP + 1;
  const A = heads * headDim;
  const R = B * T;
  // a reduction in one chunk (every layer of the shipped ViT) takes bias and GELU inside the gemm kernel
  const dense = (name: string, rows: number, K: number, N: number, activation: 'none' | 'gelu' = 'none'): Dense => {
    const M = rows4(rows);
    const shape = { batch: 1, M, N, K, a: [M * K, K, 1], b: [0, N, 1] } as const;
    const parts = gemmChunks(K).chunks;
    const bias = param(model, `${name}.bias`);
    if (parts > 1) {
      const k = ks.kernel(specFor(gemmSpec, shape, 'none'), [M * K, K * N]);
      ks.resident(k, 1, param(model, `${name}.weight`));
      return { k, N, parts, bias, activation };
    }
    const fused = activation === 'gelu' ? 'bias-gelu' : 'bias';
    const k = ks.kernel(specFor(gemmSpec, shape, fused), fused === 'bias-gelu' ? [M * K, K * N, N, EXP_TABLE] : [M * K, K * N, N]);
    ks.resident(k, 1, param(model, `${name}.weight`));
    ks.resident(k, 2, bias);
    return { k, N, parts, activation: 'none' };
  };
  const epilogue = (l: Dense, rows: number, dst: Float32Array, residual?: Float32Array): void => {
    ks.run(l.k);
    denseEpilogue({ raw: l.k.output, M: rows, N: l.N, parts: l.parts, blocks: rows4(rows) / ROWS, bias: l.bias?.data, activation: l.activation, residual, dst });
  };
  const d = attentionDims(B, T, A, heads);
  const embed = dense('embed', B * NP, P, D);
  const blocks = Array.from({ length: layers }, (_, i) => {
    const at = (n: string) => param(model, `block${i}.${n}`);
    const scores = ks.kernel(specFor(attentionScoresSpec, d), [R * A, R * A]);
    const stats = ks.kernel(specFor(attentionStatsSpec, d), [scores.output.length, EXP_TABLE]);
    const probs = ks.kernel(specFor(attentionProbsSpec, d), [scores.output.length, stats.output.length, EXP_TABLE]);
    const output = ks.kernel(specFor(attentionOutputSpec, d), [probs.output.length, R * A]);
    return {
      ln1: { g: at('ln1.gain'), b: at('ln1.bias') },
      q: dense(`block${i}.attn.query`, R, D, A),
      k: dense(`block${i}.attn.key`, R, D, A),
      v: dense(`block${i}.attn.value`, R, D, A),
      scores,
      stats,
      probs,
      output,
      o: dense(`block${i}.attn.out`, R, A, D),
      ln2: { g: at('ln2.gain'), b: at('ln2.bias') },
      fc1: dense(`block${i}.mlp.fc1`, R, D, mlp, 'gelu'),
      fc2: dense(`block${i}.mlp.fc2`, R, mlp, D),
    };
  });
  const head = dense('head', B, D, 10);
  const cls = param(model, 'cls_token');
  const pos = param(model, 'pos_embed');
  const norm = { g: param(model, 'norm.gain'), b: param(model, 'norm.bias') };
  const emb = new Float32Array(B * NP * D);
  const x = new Float32Array(R * D);

  return (images, first, logits) => {
      // patches [B·NP, P]: patch n = py·G + px, pixel e = ky·patch + kx
      const pa = embed.k.args[0];
      for (let b = 0; b < B; b++)
        for (let py = 0; py < G; py++)
          for (let px = 0; px < G; px++) {
            const row = (b * NP + py * G + px) * P;
            for (let ky = 0; ky < patch; ky++) {
              const src = (first + b) * 784 + (py * patch + ky) * 28 + px * patch;
              for (let kx = 0; kx < patch; kx++) pa[row + ky * patch + kx] = images[src + kx];
            }
          }
      epilogue(embed, B * NP, emb);
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
        const h = blk.q.k.args[0];
        layerNormRows(x, R, D, blk.ln1.g.data, blk.ln1.b.data, h);
        blk.k.k.args[0].set(h);
        blk.v.k.args[0].set(h);
        epilogue(blk.q, R, blk.scores.args[0]);
        epilogue(blk.k, R, blk.scores.args[1]);
        epilogue(blk.v, R, blk.output.args[1]);
        ks.run(blk.scores);
        blk.stats.args[0].set(blk.scores.output);
        ks.run(blk.stats);
        blk.probs.args[0].set(blk.scores.output);
        blk.probs.args[1].set(blk.stats.output);
        ks.run(blk.probs);
        blk.output.args[0].set(blk.probs.output);
        ks.run(blk.output);
        unpackTokenRows(blk.output.output, d, blk.o.k.args[0]);
        epilogue(blk.o, R, x, x);
        layerNormRows(x, R, D, blk.ln2.g.data, blk.ln2.b.data, blk.fc1.k.args[0]);
        epilogue(blk.fc1, R, blk.fc2.k.args[0]);
        epilogue(blk.fc2, R, x, x);
      }
      // the head reads only the class token: normalise those rows alone
      layerNormRows(x, B, D, norm.g.data, norm.b.data, head.k.args[0], 1e-5, T * D);
      epilogue(head, B, logits.subarray(first * 10, (first + B) * 10));
  };
}
