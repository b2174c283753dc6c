import { argmaxRow } from './data.js';
import type { ModelCard } from './card.js';

/** Threshold for a model whose card has no uncertainty rule (a raw softmax under 90% is a weak answer). */
export const DEFAULT_UNCERTAINTY_THRESHOLD = 0.9;

/** One model's calibrated answers for a batch. */
export interface ModelAnswers {
  readonly name: string;
  /** count × 10 calibrated probabilities, as predict() returns them. */
  readonly probabilities: Float32Array;
  /** A top probability under this is uncertain; see uncertaintyThreshold. */
  readonly threshold: number;
}

/** Whether to distrust the answer for one image, and why. */
export interface Doubt {
  readonly uncertain: boolean;
  /** Models whose top probability is under their threshold. */
  readonly lowConfidence: readonly string[];
  /** The models' top digits differ. */
  readonly disagree: boolean;
}

/** The threshold to use for a model: an explicit override, else its card's (chosen on the validation set), else the default. */
export function uncertaintyThreshold(card: Pick<ModelCard, 'uncertainty'>, override?: number): number {
  if (override !== undefined) {
    if (!(override >= 0 && override <= 1)) throw new RangeError(`uncertainty threshold must be in [0, 1], got ${override}`);
    return override;
  }
  return card.uncertainty?.threshold ?? DEFAULT_UNCERTAINTY_THRESHOLD;
}

/**
 * Per image: uncertain when any model's calibrated top probability is under its threshold, or
 * the models' top digits differ.
 */
export function judgeAnswers(answers: readonly ModelAnswers[], count: number): Doubt[] {
  for (const a of answers) {
    if (a.probabilities.length < count * 10) throw new RangeError(`judgeAnswers: ${a.name} has ${a.probabilities.length} probabilities, ${count} images need ${count * 10}`);
  }
  const out: Doubt[] = [];
  for (let i = 0; i < count; i++) {
    const lowConfidence: string[] = [];
    const digits = new Set<number>();
    for (const a of answers) {
      const d = argmaxRow(a.probabilities, i);
      digits.add(d);
      if (a.probabilities[i * 10 + d] < a.threshold) lowConfidence.push(a.name);
    }
    const disagree = digits.size > 1;
    out.push({ uncertain: disagree || lowConfidence.length > 0, lowConfidence, disagree });
  }
  return out;
}
