import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ModeChoice, PLACED_AFTER_CALLS, Tensor, createBackend, noGrad } from '@digitlab/tensor';
import { buildModel } from './build.js';
import type { ModelCard, ModelName } from './card.js';
import type { ModelConfig } from './config.js';
import { softmaxRows } from './data.js';
import type { Model } from './model.js';
import { decodeSafetensors, sha256 } from './safetensors.js';
import { loadParams } from './train.js';

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
  /** Milliseconds the load's warm-up took (every batch bucket compiled and placed), 0 without `warm`. */
  readonly warmMs: number;
  /** Frees the backend's kernels and threads. */
  close(): void;
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
  /** Compile (and on async place) the kernels of every batch bucket before returning, so no prediction ever waits for a compile. */
  readonly warm?: boolean;
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

/** Largest batch a single kernel call handles; bigger requests are chunked. */
const MAX_BATCH = 256;

/** Every batch size a kernel is compiled for: 1, 2, 4, ..., MAX_BATCH. */
export function batchBuckets(): number[] {
  const sizes: number[] = [];
  for (let b = 1; b <= MAX_BATCH; b *= 2) sizes.push(b);
  return sizes;
}

/** Batch sizes are rounded up to a power of two so only ~9 shapes are ever compiled. */
export function bucket(n: number): number {
  let b = 1;
  while (b < n) b *= 2;
  return Math.min(b, MAX_BATCH);
}

/** Loads a shipped model, verifying the weights' sha256 against its card. */
export async function loadClassifier(name: ModelName, options: LoadOptions): Promise<Classifier> {
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
  // one request at a time per model: webasm kernels share their memory between calls
  let queue: Promise<unknown> = Promise.resolve();
  const runBatch = async (images: Float32Array, count: number): Promise<Float32Array> => {
    const size = bucket(count);
    const buf = new Float32Array(size * 784);
    buf.set(images.subarray(0, count * 784));
    const logits = await noGrad(() => model.forward(be, new Tensor([size, 1, 28, 28], buf), { training: false }));
    return softmaxRows(logits.data, count, 10, card.calibration?.temperature ?? 1);
  };
  let warmMs = 0;
  if (options.warm) {
    const started = performance.now();
    // the first call compiles; on async the next ones place each kernel on the threads or the calling thread
    for (const size of batchBuckets()) {
      for (let call = 0; call < PLACED_AFTER_CALLS; call++) await runBatch(new Float32Array(size * 784), size);
    }
    warmMs = performance.now() - started;
  }
  return {
    name,
    card,
    model,
    warmMs,
    predict(images: Float32Array, count: number): Promise<Float32Array> {
      if (images.length < count * 784) throw new RangeError(`predict: ${count} images need ${count * 784} values, got ${images.length}`);
      const job = queue.then(async () => {
        const out = new Float32Array(count * 10);
        for (let s = 0; s < count; s += MAX_BATCH) {
          const m = Math.min(MAX_BATCH, count - s);
          out.set(await runBatch(images.subarray(s * 784, (s + m) * 784), m), s * 10);
        }
        return out;
      });
      queue = job.catch(() => undefined);
      return job;
    },
    close: () => be.destroy(),
  };
}
