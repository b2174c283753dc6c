// What a model queue runs batches on: a model's worker thread, or (for injected test models) the model itself.
import type { ModelCard, ModelName } from '@digitlab/models';
import type { PredictingModel } from '../config.js';
import type { Explained } from './messages.js';

/** A batch's answer: count x 10 probabilities, the compute time, and the maps when asked. */
export interface RunnerResult {
  readonly probabilities: Float32Array;
  readonly ms: number;
  /** Whether kernels compiled during the batch (its time is then no measure of the model's). */
  readonly compiled?: boolean;
  readonly explained?: Explained;
}

/** One model's batch executor: count x 784 in, count x 10 probabilities out, with the compute time (and maps with `explain`). */
export interface Runner {
  readonly name: ModelName;
  readonly card: ModelCard;
  /** A runner that cannot explain (a model given in ServerConfig.classifiers) answers without `explained`. */
  predict(images: Float32Array, count: number, explain?: boolean): Promise<RunnerResult>;
  close(): Promise<void>;
}

/** Runs a PredictingModel on the calling thread (models given in ServerConfig.classifiers; they belong to the caller, so close() leaves them open). */
export function inProcessRunner(model: PredictingModel): Runner {
  return {
    name: model.name,
    card: model.card,
    async predict(images, count) {
      const started = performance.now();
      const probabilities = await model.predict(images, count);
      return { probabilities, ms: performance.now() - started };
    },
    close: async () => undefined,
  };
}
