// The shapes of models and training runs, checked and turned into a schedule, without Node's fs (presets.ts reads the files).
import { SIDE } from '@digitlab/digit-csv';
import type { AugmentConfig } from './augment.js';

/** One convolution block: conv (+ReLU), then optional k×k max-pool. */
export interface ConvLayerConfig {
  readonly filters: number;
  readonly kernel: number;
  readonly padding?: number;
  readonly stride?: number;
  /** Max-pool window (and stride) after the ReLU; 0 or absent for none. */
  readonly pool?: number;
}

/** A CNN: conv blocks, flatten, dense (+ReLU) layers, dropout before the classifier. */
export interface CnnConfig {
  readonly kind: 'cnn';
  readonly conv: readonly ConvLayerConfig[];
  readonly dense: readonly number[];
  readonly dropout: number;
}

/**
 * A ViT: non-overlapping patches, linear patch embedding, a class token, learned positions,
 * pre-LayerNorm blocks (multi-head attention + GELU MLP), LayerNorm, linear head on the class token.
 * Queries, keys and values share one width per head (`headDim`), as in the original ViT.
 */
export interface VitConfig {
  readonly kind: 'vit';
  readonly patch: number;
  readonly dim: number;
  readonly heads: number;
  /** Width of each head's query/key/value (attention width = heads × headDim). */
  readonly headDim: number;
  readonly layers: number;
  readonly mlp: number;
  readonly dropout: number;
}

export type ModelConfig = CnnConfig | VitConfig;

/** How a model is trained. */
export interface TrainConfig {
  readonly epochs: number;
  readonly batchSize: number;
  /** Peak learning rate (after warm-up). */
  readonly lr: number;
  /** Decoupled (AdamW) weight decay; biases, norms and embeddings are not decayed. */
  readonly weightDecay: number;
  /** Linear warm-up length in epochs, then cosine decay to 0 at the last planned epoch. */
  readonly warmupEpochs: number;
  readonly schedule: 'cosine' | 'constant';
  /** Random whole-pixel shift of every training image by up to this many pixels (0 = none); the same as `augment: { rotate: 0, scale: 0, shift }`. */
  readonly augmentShift?: number;
  /** Random affine augmentation of every training image; replaces augmentShift. */
  readonly augment?: AugmentConfig;
  /** Label smoothing ε of the training loss (targets 1 − ε + ε/10 and ε/10); 0 or absent for none. */
  readonly labelSmoothing?: number;
  /** Training images held out for validation (seeded split). */
  readonly validation: number;
  readonly seed: number;
}

/** A preset file in configs/: a model and how to train it. */
export interface Preset {
  readonly model: ModelConfig;
  readonly train: TrainConfig;
}

function num(o: Record<string, unknown>, key: string, where: string, min = 0, integer = false): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new Error(`${where}: "${key}" must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Checks a parsed preset; errors name the file and the field. */
export function validatePreset(raw: unknown, where: string): Preset {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: expected an object with "model" and "train"`);
  const { model, train } = raw as { model?: Record<string, unknown>; train?: Record<string, unknown> };
  if (!model || !train) throw new Error(`${where}: expected an object with "model" and "train"`);
  if (model.kind === 'cnn') {
    if (!Array.isArray(model.conv) || !Array.isArray(model.dense)) throw new Error(`${where}: a cnn needs "conv" and "dense" arrays`);
    (model.conv as Record<string, unknown>[]).forEach((c, i) => {
      num(c, 'filters', `${where} conv[${i}]`, 1, true);
      num(c, 'kernel', `${where} conv[${i}]`, 1, true);
    });
    (model.dense as unknown[]).forEach((d, i) => {
      if (!Number.isInteger(d) || (d as number) < 1) throw new Error(`${where}: dense[${i}] must be a positive integer`);
    });
    num(model, 'dropout', where);
  } else if (model.kind === 'vit') {
    for (const k of ['patch', 'dim', 'heads', 'headDim', 'layers', 'mlp']) num(model, k, where, 1, true);
    num(model, 'dropout', where);
    if (SIDE % (model.patch as number) !== 0) throw new Error(`${where}: patch ${model.patch} must divide ${SIDE}`);
  } else {
    throw new Error(`${where}: model.kind must be "cnn" or "vit", got ${JSON.stringify(model.kind)}`);
  }
  for (const k of ['epochs', 'batchSize', 'validation']) num(train, k, where, 1, true);
  for (const k of ['lr', 'weightDecay', 'warmupEpochs', 'seed']) num(train, k, where);
  if (train.augmentShift !== undefined) num(train, 'augmentShift', where, 0, true);
  if (train.augment !== undefined) {
    if (typeof train.augment !== 'object' || train.augment === null) throw new Error(`${where}: train.augment must be an object { rotate, scale, shift }`);
    const a = train.augment as Record<string, unknown>;
    num(a, 'rotate', `${where} train.augment`);
    num(a, 'shift', `${where} train.augment`);
    num(a, 'scale', `${where} train.augment`);
    if ((a.scale as number) >= 1) throw new Error(`${where} train.augment: "scale" must be below 1 (a fraction of the size), got ${a.scale}`);
    if (train.augmentShift) throw new Error(`${where}: give either train.augmentShift or train.augment, not both`);
  }
  if (train.labelSmoothing !== undefined) {
    num(train, 'labelSmoothing', where);
    if ((train.labelSmoothing as number) >= 1) throw new Error(`${where}: "labelSmoothing" must be in [0, 1), got ${train.labelSmoothing}`);
  }
  if (train.schedule !== 'cosine' && train.schedule !== 'constant') throw new Error(`${where}: train.schedule must be "cosine" or "constant"`);
  return raw as Preset;
}

/** The augmentation a training config asks for (augmentShift is the shift-only case). */
export function augmentOf(t: TrainConfig): AugmentConfig {
  return t.augment ?? { rotate: 0, scale: 0, shift: t.augmentShift ?? 0 };
}

/** Learning rate at a (fractional) epoch: linear warm-up, then cosine to 0 or constant. */
export function learningRate(t: TrainConfig, epoch: number): number {
  if (t.warmupEpochs > 0 && epoch < t.warmupEpochs) return (t.lr * (epoch + 1e-3)) / t.warmupEpochs;
  if (t.schedule === 'constant') return t.lr;
  const span = Math.max(1e-9, t.epochs - t.warmupEpochs);
  const p = Math.min(1, (epoch - t.warmupEpochs) / span);
  return 0.5 * t.lr * (1 + Math.cos(Math.PI * p));
}
