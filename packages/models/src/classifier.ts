import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PIXELS } from '@digitlab/digit-csv';
import { type ModeChoice, createBackend } from '@digitlab/tensor';
import { buildModel } from './build.js';
import type { ModelCard, ModelName } from './card.js';
import type { ModelConfig } from './config.js';
import { softmaxRows } from './data.js';
import type { Model } from './model.js';
import { sha256 } from './files.js';
import { ThreadedPlan, checkThreads } from './plan-threads.js';
import { decodeSafetensors } from './safetensors.js';
import { loadParams } from './state.js';

/**
 * A trained model ready to predict: what the server, the report and the benchmarks use.
 */
export interface Classifier {
  readonly name: ModelName;
  readonly card: ModelCard;
  readonly model: Model;
  /**
   * Class probabilities for `count` images packed in `images` (count × 784 values in [0, 1],
   * row-major 28×28, MNIST orientation). Returns count × 10 probabilities.
   */
  predict(images: Float32Array, count: number): Promise<Float32Array>;
  /** Milliseconds the load's warm-up took (the inference plan's every kernel compiled), 0 without `warm`. */
  readonly warmMs: number;
  /** Kernels compiled so far on this classifier's backend and its plan threads: after a `warm` load, predictions leave it unchanged. */
  kernelsCompiled(): number;
  /** Frees the backend's kernels and threads, once the predictions already asked for have finished; resolves when every thread has stopped. */
  close(): Promise<void>;
}

/** A weights file or card that is missing, corrupt, or does not match its card. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
}

/** Options of loadClassifier. */
export interface LoadOptions {
  readonly weightsDir: string;
  /** gpu.js mode, or 'auto' (timed on an inference-sized probe). Default 'async'. */
  readonly backend?: ModeChoice;
  readonly poolSize?: number;
  /** Compile every kernel of the inference plan before returning, so no prediction, of any size, waits for a compile. */
  readonly warm?: boolean;
  /**
   * Threads a large batch runs on, the calling thread included (webasm and async; the other modes
   * run on the calling thread): each holds its own copy of the plan and of the weights, taken when
   * its thread starts (after a parameter of `model` is marked updated, the next large batch starts
   * new threads from the new weights). Batches of fewer than MIN_THREADED images always run on the
   * calling thread. Default: one per core, for a caller that runs one model; a process serving
   * several models at once gives each its share of the cores.
   */
  readonly threads?: number;
}

/** Reads weights/<name>.json. */
export function readCard(weightsDir: string, name: ModelName): ModelCard {
  const path = join(weightsDir, `${name}.json`);
  if (!existsSync(path)) throw new WeightsError(`model card ${path} is missing: train and ship the ${name} first (see README)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ModelCard;
  } catch (e) {
    throw new WeightsError(`model card ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Loads a shipped model, verifying the weights' sha256 against its card. */
export async function loadClassifier(name: ModelName, options: LoadOptions): Promise<Classifier> {
  if (options.threads !== undefined) checkThreads(options.threads);
  const card = readCard(options.weightsDir, name);
  const path = join(options.weightsDir, card.weights?.file ?? `${name}.safetensors`);
  if (!existsSync(path)) throw new WeightsError(`weights file ${path} is missing`);
  const bytes = readFileSync(path);
  const digest = sha256(bytes);
  if (digest !== card.weights.sha256) {
    throw new WeightsError(`weights file ${path} has sha256 ${digest}, but its card says ${card.weights.sha256}: the file is corrupt or not the one the card describes`);
  }
  const model = buildModel(card.config as unknown as ModelConfig, card.training.seed);
  try {
    loadParams(model, decodeSafetensors(bytes).tensors);
  } catch (e) {
    throw new WeightsError(`weights file ${path} does not fit the card's config: ${(e as Error).message}`);
  }
  const { backend: be } = await createBackend(options.backend ?? 'async', { poolSize: options.poolSize, workload: 'inference' });
  // the plans compile every kernel they will ever run, for any batch: at load with `warm`, else at the first prediction that needs them
  const runner = new ThreadedPlan(model, be, options.threads);
  let warmMs = 0;
  if (options.warm) {
    const t0 = performance.now();
    try {
      await runner.warm();
    } catch (e) {
      await runner.close();
      be.destroy();
      throw e;
    }
    warmMs = performance.now() - t0;
  }
  // one request at a time per model: a plan's kernels keep their arguments in their own memory
  let queue: Promise<unknown> = Promise.resolve();
  let closing: Promise<void> | null = null;
  return {
    name,
    card,
    model,
    warmMs,
    predict(images: Float32Array, count: number): Promise<Float32Array> {
      if (images.length < count * PIXELS) throw new RangeError(`predict: ${count} images need ${count * PIXELS} values, got ${images.length}`);
      // predictions asked for before close() still run; none after it
      if (closing !== null) return Promise.reject(new Error(`the ${name} classifier is closed`));
      const job = queue.then(async () => {
        const logits = await runner.run(images, count);
        // the card's temperature (fitted on the validation images) makes the probabilities calibrated
        return softmaxRows(logits, count, 10, card.calibration?.temperature ?? 1);
      });
      queue = job.catch(() => undefined);
      return job;
    },
    kernelsCompiled: () => be.compiled + runner.workerKernels(),
    close(): Promise<void> {
      closing ??= (async () => {
        await queue;
        await runner.close();
        be.destroy();
      })();
      return closing;
    },
  };
}
