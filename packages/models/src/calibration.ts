import { argmaxRow, softmaxRows } from './data.js';

const CLASSES = 10;

/** Bins of the reliability diagram and of the expected calibration error. */
export const CALIBRATION_BINS = 15;

/** Trusted answers must be right this often on the validation set; the uncertainty threshold follows from it. */
export const TRUSTED_ACCURACY = 0.999;

/** One confidence bin: images whose top probability lies in [lower, upper) (the last bin includes 1). */
export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean top probability of the bin's images (0 when empty). */
  readonly confidence: number;
  /** Fraction of the bin's images predicted right (0 when empty). */
  readonly accuracy: number;
}

/** Temperature scaling of a model, as stored in its card. */
export interface Calibration {
  /** Logits are divided by this before the softmax; fitted on the validation images by minimising the NLL. */
  readonly temperature: number;
  /** Expected calibration error on the test set (a fraction, CALIBRATION_BINS equal-width bins), raw and scaled. */
  readonly ece: { readonly before: number; readonly after: number };
  /** Mean test cross-entropy, raw and scaled (accuracy does not change). */
  readonly loss: { readonly before: number; readonly after: number };
  readonly bins: number;
  /** Images the temperature was fitted on. */
  readonly fittedOn: string;
}

/** When an answer is flagged uncertain, as stored in its card. */
export interface UncertaintyRule {
  /** A calibrated top probability under this is uncertain. */
  readonly threshold: number;
  /** How the threshold was chosen: answers at or above it were right this often on the validation set. */
  readonly validationAccuracyAbove: number;
  /** Fraction of the validation images the threshold flags, and fraction of the validation errors among them. */
  readonly validationFlagged: number;
  readonly validationErrorsFlagged: number;
}

/** Logits and labels of one data set. */
export interface LabelledLogits {
  /** count × 10 */
  readonly logits: Float32Array;
  readonly labels: ArrayLike<number>;
  readonly count: number;
}

/** Cross-entropy of softmax(row / temperature) against the label, in float64 (a float32 probability of a confident answer rounds to 1). */
export function rowNll(logits: ArrayLike<number>, row: number, label: number, temperature: number): number {
  let m = -Infinity;
  for (let c = 0; c < CLASSES; c++) m = Math.max(m, logits[row * CLASSES + c] / temperature);
  let s = 0;
  for (let c = 0; c < CLASSES; c++) s += Math.exp(logits[row * CLASSES + c] / temperature - m);
  return m + Math.log(s) - logits[row * CLASSES + label] / temperature;
}

/** Mean cross-entropy of softmax(logits / temperature) against the labels, in float64. */
export function temperatureNll(d: LabelledLogits, temperature: number): number {
  let total = 0;
  for (let b = 0; b < d.count; b++) total += rowNll(d.logits, b, d.labels[b], temperature);
  return total / d.count;
}

/**
 * The temperature minimising the NLL on the data: golden-section search on log T over
 * [1/20, 20] (the NLL is unimodal in T), to a relative precision far below float32's.
 */
export function fitTemperature(d: LabelledLogits): number {
  const phi = (Math.sqrt(5) - 1) / 2;
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  let a = hi - phi * (hi - lo);
  let b = lo + phi * (hi - lo);
  let fa = temperatureNll(d, Math.exp(a));
  let fb = temperatureNll(d, Math.exp(b));
  for (let i = 0; i < 90 && hi - lo > 1e-12; i++) {
    if (fa < fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - phi * (hi - lo);
      fa = temperatureNll(d, Math.exp(a));
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + phi * (hi - lo);
      fb = temperatureNll(d, Math.exp(b));
    }
  }
  return Math.exp((lo + hi) / 2);
}

/** Reliability bins of the top probability of each row of probs (count × 10). */
export function reliabilityBins(probs: Float32Array, labels: ArrayLike<number>, count: number, bins = CALIBRATION_BINS): ReliabilityBin[] {
  const n = new Array<number>(bins).fill(0);
  const conf = new Array<number>(bins).fill(0);
  const right = new Array<number>(bins).fill(0);
  for (let i = 0; i < count; i++) {
    const p = argmaxRow(probs, i);
    const c = probs[i * CLASSES + p];
    const k = Math.min(bins - 1, Math.floor(c * bins));
    n[k]++;
    conf[k] += c;
    if (p === labels[i]) right[k]++;
  }
  return n.map((m, k) => ({ lower: k / bins, upper: (k + 1) / bins, count: m, confidence: m ? conf[k] / m : 0, accuracy: m ? right[k] / m : 0 }));
}

/** Expected calibration error: Σ over bins of (share of images) × |accuracy − confidence|, a fraction. */
export function expectedCalibrationError(bins: readonly ReliabilityBin[]): number {
  const total = bins.reduce((s, b) => s + b.count, 0);
  return bins.reduce((s, b) => s + (b.count / Math.max(1, total)) * Math.abs(b.accuracy - b.confidence), 0);
}

/** ECE of softmax(logits / temperature). */
export function eceAt(d: LabelledLogits, temperature: number, bins = CALIBRATION_BINS): number {
  return expectedCalibrationError(reliabilityBins(softmaxRows(d.logits, d.count, CLASSES, temperature), d.labels, d.count, bins));
}

/** Fits the temperature on `validation` and measures ECE and loss on `test` before and after. */
export function calibrate(validation: LabelledLogits, test: LabelledLogits, fittedOn: string): Calibration {
  const temperature = fitTemperature(validation);
  return {
    temperature,
    ece: { before: eceAt(test, 1), after: eceAt(test, temperature) },
    loss: { before: temperatureNll(test, 1), after: temperatureNll(test, temperature) },
    bins: CALIBRATION_BINS,
    fittedOn,
  };
}

/**
 * The uncertainty threshold from calibrated validation probabilities: the lowest top probability
 * such that the answers at or above it are right at least `target` of the time (everything
 * under it is flagged).
 */
export function chooseThreshold(probs: Float32Array, labels: ArrayLike<number>, count: number, target = TRUSTED_ACCURACY): UncertaintyRule {
  const rows = Array.from({ length: count }, (_, i) => {
    const p = argmaxRow(probs, i);
    return { conf: probs[i * CLASSES + p], right: p === labels[i] };
  }).sort((a, b) => b.conf - a.conf);
  let correct = 0;
  let keep = 0;
  for (let k = 0; k < rows.length; k++) {
    if (rows[k].right) correct++;
    // cut only between distinct confidences, so the rule "under the threshold" is exact
    const boundary = k + 1 === rows.length || rows[k + 1].conf < rows[k].conf;
    if (boundary && correct / (k + 1) >= target) keep = k + 1;
  }
  const threshold = keep === 0 ? 1 : rows[keep - 1].conf;
  const errors = rows.filter((r) => !r.right).length;
  const flaggedErrors = rows.slice(keep).filter((r) => !r.right).length;
  return {
    threshold,
    validationAccuracyAbove: target,
    validationFlagged: (count - keep) / count,
    validationErrorsFlagged: errors ? flaggedErrors / errors : 0,
  };
}
