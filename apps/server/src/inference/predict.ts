// Runs images through every available model's queue at once and shapes the answers: the one place
// a prediction entry is built, so /predict (JSON and NDJSON) and files answer alike.
import { PIXELS } from '@digitlab/digit-csv';
import type { ExplanationMap, ModelAnswer, Prediction } from '@digitlab/digit-csv/contract';
import { judgeAnswers, uncertaintyThreshold, type ModelAnswers, type ModelName } from '@digitlab/models';
import { MODEL_NAMES } from '../config.js';
import { queueOf, type ModelSet } from '../models.js';
import { OverloadError, type Refusal } from '../errors.js';
import type { BatchAnswer, QueueTask, SubmitOptions } from './batcher.js';
import type { Explained } from './messages.js';

/** One model's answer for one image, one model's map of one image, and one image's entry in a /predict answer (the wire contract). */
export type { ModelAnswer as Answer, ExplanationMap, Prediction } from '@digitlab/digit-csv/contract';

/** Both models' probabilities for a run of images, and what serving them cost. */
export interface ModelOutputs {
  readonly count: number;
  readonly probabilities: Partial<Record<ModelName, Float32Array>>;
  /** Compute time of the batches the images ran in, per model. */
  readonly inferenceMs: Record<ModelName, number | null>;
  /** Longest queue wait over the models. */
  readonly waitMs: number;
  /** Each answering model's confidence threshold (from its card, chosen on the validation images). */
  readonly thresholds: Partial<Record<ModelName, number>>;
  /** The models' maps, when the run was explained (`explain` in the options). */
  readonly explained?: Partial<Record<ModelName, Explained>>;
}

/**
 * Sends the images to every available model's queue concurrently (its explanation queue with
 * `explain`); rejects with the first failure (503s included). Every queue admits the request before
 * any queues it, and a failure on one model drops the request from the others, so no model works
 * for an answer that cannot be sent.
 */
export async function runModels(models: ModelSet, images: Float32Array, count: number, options: SubmitOptions): Promise<ModelOutputs> {
  const task = taskOf(options.explain === true);
  const names = MODEL_NAMES.filter((name) => models.queues[name] !== undefined);
  if (options.admitted !== true) admitAll(models, count, options.deadline, task);
  // One controller per run, aborted by the client going away or by a model failing. Not
  // AbortSignal.any: its signals are tied together by weak references and finalization callbacks,
  // which keep every request's signals alive until a full garbage collection, so a busy server's
  // heap grows with every request it admits and its event loop stalls in long full collections.
  const failed = new AbortController();
  const gone = (): void => failed.abort();
  if (options.signal?.aborted === true) failed.abort();
  else options.signal?.addEventListener('abort', gone, { once: true });
  const submitted = names.map((name) => queueOf(models, name, task)!.submit(images, count, { ...options, signal: failed.signal, admitted: true }));
  for (const answer of submitted) answer.catch(gone);
  let answers: BatchAnswer[];
  try {
    answers = await Promise.all(submitted);
  } finally {
    options.signal?.removeEventListener('abort', gone);
  }
  const probabilities: Partial<Record<ModelName, Float32Array>> = {};
  const inferenceMs: Record<ModelName, number | null> = { cnn: null, vit: null };
  const thresholds: Partial<Record<ModelName, number>> = {};
  let waitMs = 0;
  const explained: Partial<Record<ModelName, Explained>> = {};
  names.forEach((name, i) => {
    const maps = answers[i].explained;
    if (maps !== undefined) explained[name] = maps;
    probabilities[name] = answers[i].probabilities;
    thresholds[name] = uncertaintyThreshold(models.queues[name]!.runner.card);
    inferenceMs[name] = answers[i].inferenceMs;
    waitMs = Math.max(waitMs, answers[i].waitMs);
  });
  return { count, probabilities, inferenceMs, waitMs, thresholds, ...(options.explain === true ? { explained } : {}) };
}

/** The queues a request goes to: the explanation queues when it asks for maps. */
export function taskOf(explain: boolean): QueueTask {
  return explain ? 'explain' : 'predict';
}

/** Throws OverloadError (503 + Retry-After) unless every available model's queue of that task admits count images now. */
export function admitAll(models: ModelSet, count: number, deadline: number, task: QueueTask = 'predict'): void {
  const refused = refusalOf(models, count, deadline, task);
  if (refused !== undefined) throw OverloadError.of(refused);
}

/** The first available model's refusal of count images now, or undefined when every queue of that task admits them (see Batcher.refusal). */
export function refusalOf(models: ModelSet, count: number, deadline: number, task: QueueTask = 'predict'): Refusal | undefined {
  for (const name of MODEL_NAMES) {
    const refused = queueOf(models, name, task)?.refusal(count, deadline);
    if (refused !== undefined) return refused;
  }
  return undefined;
}

/** The entries of a run of images; `start` is the index of its first image in the request. */
export function predictionsOf(outputs: ModelOutputs, labels: readonly (number | null)[], start = 0): Prediction[] {
  const predictions: Prediction[] = [];
  const answering: ModelAnswers[] = MODEL_NAMES.flatMap((name) => {
    const probabilities = outputs.probabilities[name];
    return probabilities === undefined ? [] : [{ name, probabilities, threshold: outputs.thresholds[name]! }];
  });
  const doubts = judgeAnswers(answering, outputs.count);
  for (let i = 0; i < outputs.count; i++) {
    const cnn = answerOf(outputs.probabilities.cnn, i);
    const vit = answerOf(outputs.probabilities.vit, i);
    const agree = cnn === null || vit === null ? null : cnn.digit === vit.digit;
    const { uncertain, lowConfidence } = doubts[i];
    const prediction: Prediction = { index: start + i, cnn, vit, agree, uncertain, lowConfidence: MODEL_NAMES.filter((name) => lowConfidence.includes(name)), label: labels[i] ?? null };
    if (outputs.explained !== undefined) prediction.explanation = { cnn: mapOf(outputs.explained.cnn, i), vit: mapOf(outputs.explained.vit, i) };
    predictions.push(prediction);
  }
  return predictions;
}

function answerOf(probabilities: Float32Array | undefined, index: number): ModelAnswer | null {
  if (probabilities === undefined) return null;
  const row = Array.from(probabilities.subarray(index * 10, index * 10 + 10));
  let digit = 0;
  for (let d = 1; d < 10; d++) if (row[d] > row[digit]) digit = d;
  return { digit, probabilities: row };
}

function mapOf(explained: Explained | undefined, index: number): ExplanationMap | null {
  if (explained === undefined) return null;
  const map = Array.from(explained.maps.subarray(index * PIXELS, (index + 1) * PIXELS), (v) => Math.round(v * 1000) / 1000);
  return { kind: explained.kind, map };
}
