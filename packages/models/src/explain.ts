import { type Backend, Tensor, backward, noGrad } from '@digitlab/tensor';
import type { VitConfig } from './config.js';
import type { Model } from './model.js';

// This module runs in browsers too (a page's worker explains locally): it imports the engine and
// types only, so the image size is spelled here rather than taken from mnist.ts, which reads files.
/** Side of the images explained (MNIST's 28). */
const SIDE = 28;
const PIXELS = SIDE * SIDE;

/** What a ViT's class token attends to in one image, per layer, averaged over heads. */
export interface AttentionMaps {
  /** Patches per side (28 / patch). */
  readonly grid: number;
  /** Pixels per patch side. */
  readonly patch: number;
  /** [layer] → grid² weights, patch tokens in row-major order; with `self` they sum to 1. */
  readonly layers: readonly Float32Array[];
  /** [layer] → weight of the class token on itself. */
  readonly self: readonly number[];
}

/**
 * Runs the ViT on `count` images (count × 784) and returns, per image, the class token's
 * attention to each patch in every layer (row 0 of probs [B, heads, T, T], mean over heads).
 */
export async function classTokenAttention(be: Backend, model: Model, images: Float32Array, count: number): Promise<AttentionMaps[]> {
  if (model.config.kind !== 'vit') throw new Error('classTokenAttention: the model is not a ViT');
  const { patch, heads, layers } = model.config as VitConfig;
  const grid = SIDE / patch;
  const T = grid * grid + 1;
  const out = Array.from({ length: count }, () => ({ grid, patch, layers: [] as Float32Array[], self: [] as number[] }));
  await noGrad(() =>
    model.forward(be, new Tensor([count, 1, SIDE, SIDE], images.slice(0, count * PIXELS)), {
      training: false,
      // probs: [B, heads, T, T]; token 0 is the class token
      onAttention: (layer, probs) => {
        for (let b = 0; b < count; b++) {
          const map = new Float32Array(T - 1);
          let self = 0;
          for (let h = 0; h < heads; h++) {
            const row = ((b * heads + h) * T + 0) * T;
            self += probs[row] / heads;
            for (let j = 1; j < T; j++) map[j - 1] += probs[row + j] / heads;
          }
          out[b].layers[layer] = map;
          out[b].self[layer] = self;
        }
      },
    }),
  );
  for (const o of out) if (o.layers.length !== layers) throw new Error(`classTokenAttention: got ${o.layers.length} attention layers, the config has ${layers}`);
  return out;
}

/**
 * Saliency of `count` images (count × 784): |∂ logit of the predicted class / ∂ pixel|, by one
 * backward pass of our engine seeded with 1 at each row's winning logit. The weights' gradients
 * are not needed, so they are switched off for the pass (and restored).
 */
export async function inputSaliency(be: Backend, model: Model, images: Float32Array, count: number): Promise<Float32Array[]> {
  const params = [...model.params.values()];
  const before = params.map((p) => p.requiresGrad);
  for (const p of params) p.requiresGrad = false;
  try {
    const x = new Tensor([count, 1, SIDE, SIDE], images.slice(0, count * PIXELS), true);
    const logits = await model.forward(be, x, { training: false });
    const classes = logits.shape[1];
    const seed = new Float32Array(logits.size);
    for (let b = 0; b < count; b++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (logits.data[b * classes + c] > logits.data[b * classes + best]) best = c;
      seed[b * classes + best] = 1;
    }
    await backward(logits, seed);
    if (!x.grad) throw new Error('inputSaliency: the backward pass left no gradient on the input');
    const grad = x.grad;
    return Array.from({ length: count }, (_, b) => Float32Array.from(grad.subarray(b * PIXELS, (b + 1) * PIXELS), Math.abs));
  } finally {
    params.forEach((p, i) => (p.requiresGrad = before[i]));
  }
}

/** Scales a map to [0, 1] by its q-quantile (values above clip to 1), so one hot pixel does not wash out the rest. */
export function normalizeMap(map: Float32Array, q = 0.99): Float32Array {
  const sorted = Float32Array.from(map).sort();
  const top = sorted[Math.min(sorted.length - 1, Math.floor(q * (sorted.length - 1)))] || sorted[sorted.length - 1] || 1;
  return Float32Array.from(map, (v) => Math.min(1, v / top));
}

/** A grid² patch map upsampled to 28×28 (each patch a patch×patch block), scaled so its largest patch is 1. */
export function patchMapToPixels(map: Float32Array, grid: number, patch: number): Float32Array {
  let top = 0;
  for (const v of map) top = Math.max(top, v);
  const out = new Float32Array(PIXELS);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) out[y * SIDE + x] = top > 0 ? map[Math.floor(y / patch) * grid + Math.floor(x / patch)] / top : 0;
  return out;
}

/** What a model's map shows: the CNN's input saliency, or the ViT's class-token attention. */
export type ExplanationKind = 'saliency' | 'attention';

/** One model's explanation of one image. */
export interface Explanation {
  readonly kind: ExplanationKind;
  /** 784 weights in [0, 1], row-major 28×28 like the pixels: how much each pixel mattered to the answer. */
  readonly map: Float32Array;
}

/** The kind of map a model explains itself with: saliency for a CNN, attention for a ViT. */
export function explanationKind(model: Model): ExplanationKind {
  return model.config.kind === 'vit' ? 'attention' : 'saliency';
}

/**
 * One 28×28 map per image (count × 784 values in [0, 1]) saying why the model answered as it did:
 * for a CNN, |∂ winning logit / ∂ pixel| scaled by its 99th percentile; for a ViT, the class
 * token's attention to each patch in the last layer (the one the classifier head reads), mean
 * over heads, scaled so the strongest patch is 1. Images go through one at a time: the pass then
 * compiles its kernels once, for any number of images.
 */
export async function explainImages(be: Backend, model: Model, images: Float32Array, count: number): Promise<Explanation[]> {
  if (images.length < count * PIXELS) throw new RangeError(`explainImages: ${count} images need ${count * PIXELS} values, got ${images.length}`);
  const kind = explanationKind(model);
  const out: Explanation[] = [];
  for (let i = 0; i < count; i++) {
    const image = images.subarray(i * PIXELS, (i + 1) * PIXELS);
    if (kind === 'attention') {
      const [maps] = await classTokenAttention(be, model, image, 1);
      out.push({ kind, map: patchMapToPixels(maps.layers[maps.layers.length - 1], maps.grid, maps.patch) });
    } else {
      const [saliency] = await inputSaliency(be, model, image, 1);
      out.push({ kind, map: normalizeMap(saliency) });
    }
  }
  return out;
}
