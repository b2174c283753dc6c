import type { Calibration, UncertaintyRule } from './calibration.js';

/** The model card shipped beside each weights file as weights/<name>.json. */
export interface ModelCard {
  /** "cnn" or "vit" */
  readonly name: ModelName;
  /** Semver-ish version of the weights, bumped per training run shipped. */
  readonly version: string;
  /** The exact model config the weights belong to (CnnConfig or VitConfig). */
  readonly config: Record<string, unknown>;
  readonly params: number;
  /** Multiply-adds ×2 of one forward pass on one 28x28 image. */
  readonly flopsPerImage: number;
  readonly training: {
    readonly seed: number;
    readonly epochs: number;
    /** Epoch (1-based) whose checkpoint was kept: best validation accuracy. */
    readonly bestEpoch: number;
    readonly seconds: number;
    readonly backend: string;
    readonly machine: string;
    readonly recipe: Record<string, unknown>;
    readonly data: string;
  };
  readonly weights: { readonly file: string; readonly sha256: string; readonly bytes: number };
  readonly metrics: {
    readonly validation: { readonly accuracy: number; readonly loss: number; readonly count: number };
    readonly test: EvaluationSummary;
  };
  /** Temperature scaling fitted on the validation images, applied by predict(); absent: raw softmax. */
  readonly calibration?: Calibration;
  /** When isUncertain() flags this model's answer. */
  readonly uncertainty?: UncertaintyRule;
  readonly createdAt: string;
}

export type ModelName = 'cnn' | 'vit';

/** Test-set metrics as printed by `pnpm evaluate`. */
export interface EvaluationSummary {
  readonly count: number;
  readonly accuracy: number;
  readonly loss: number;
  /** confusion[true][predicted] */
  readonly confusion: number[][];
  readonly mostConfused: Array<{ readonly true: number; readonly predicted: number; readonly count: number }>;
  /** Test-set indices of misclassified images. */
  readonly misclassified: number[];
}
