import { PIXELS } from '@digitlab/digit-csv';
import { type Backend, crossEntropyPerExample, noGrad } from '@digitlab/tensor';
import { asImageBatch } from './cnn.js';
import { rowNll } from './calibration.js';
import type { EvaluationSummary } from './card.js';
import { argmaxRow, softmaxRows } from './data.js';
import type { MnistData } from './mnist.js';
import type { ForwardContext, Model } from './model.js';

/** Everything one pass over a data set yields. */
export interface Evaluation {
  readonly count: number;
  readonly accuracy: number;
  readonly loss: number;
  readonly predictions: Uint8Array;
  /** count × 10 class probabilities. */
  readonly probabilities: Float32Array;
  /** count × 10 logits the probabilities come from. */
  readonly logits: Float32Array;
  readonly losses: Float32Array;
}

/** Runs the model over the data in fixed-size batches (the last one zero-padded, so kernels compile once). */
export async function evaluateModel(be: Backend, model: Model, data: MnistData, batchSize = 500, ctx: Partial<ForwardContext> = {}): Promise<Evaluation> {
  const n = data.count;
  const predictions = new Uint8Array(n);
  const probabilities = new Float32Array(n * 10);
  const allLogits = new Float32Array(n * 10);
  const losses = new Float32Array(n);
  let correct = 0;
  let total = 0;
  const buf = new Float32Array(batchSize * PIXELS);
  const labels = new Float32Array(batchSize);
  await noGrad(async () => {
    for (let start = 0; start < n; start += batchSize) {
      const m = Math.min(batchSize, n - start);
      buf.fill(0);
      labels.fill(0);
      buf.set(data.images.subarray(start * PIXELS, (start + m) * PIXELS));
      for (let i = 0; i < m; i++) labels[i] = data.labels[start + i];
      const logits = await model.forward(be, asImageBatch(buf, batchSize), { training: false, ...ctx });
      const per = await crossEntropyPerExample(be, logits, labels);
      const probs = softmaxRows(logits.data, m);
      for (let i = 0; i < m; i++) {
        const p = argmaxRow(probs, i);
        predictions[start + i] = p;
        if (p === data.labels[start + i]) correct++;
        losses[start + i] = per[i];
        total += per[i];
      }
      probabilities.set(probs, start * 10);
      allLogits.set(logits.data.subarray(0, m * 10), start * 10);
    }
  });
  return { count: n, accuracy: correct / n, loss: total / n, predictions, probabilities, logits: allLogits, losses };
}

/** The same evaluation with its logits divided by a temperature: calibrated probabilities and losses, the same predictions. */
export function withTemperature(ev: Evaluation, labels: ArrayLike<number>, temperature: number): Evaluation {
  if (temperature === 1) return ev;
  const probabilities = softmaxRows(ev.logits, ev.count, 10, temperature);
  const losses = new Float32Array(ev.count);
  let total = 0;
  for (let i = 0; i < ev.count; i++) {
    const l = rowNll(ev.logits, i, labels[i], temperature);
    losses[i] = l;
    total += l;
  }
  return { ...ev, loss: total / ev.count, probabilities, losses };
}

/** Accuracy, loss, confusion matrix, most-confused pairs and misclassified indices. */
export function summarize(ev: Evaluation, labels: Uint8Array): EvaluationSummary {
  const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
  const misclassified: number[] = [];
  for (let i = 0; i < ev.count; i++) {
    confusion[labels[i]][ev.predictions[i]]++;
    if (labels[i] !== ev.predictions[i]) misclassified.push(i);
  }
  const pairs: Array<{ true: number; predicted: number; count: number }> = [];
  for (let t = 0; t < 10; t++) for (let p = 0; p < 10; p++) if (t !== p && confusion[t][p] > 0) pairs.push({ true: t, predicted: p, count: confusion[t][p] });
  pairs.sort((a, b) => b.count - a.count || a.true - b.true || a.predicted - b.predicted);
  return { count: ev.count, accuracy: ev.accuracy, loss: ev.loss, confusion, mostConfused: pairs.slice(0, 10), misclassified };
}
