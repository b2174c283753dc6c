// Loads the shipped models once at start, each in its own worker thread, and puts a batching queue
// in front of each. A model whose card is absent is "not shipped" and reported as unavailable; a
// model whose card exists must load, or the server refuses to start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WeightsError, type Mode, type ModelName } from '@digitlab/models';
import { MODEL_NAMES, type ResolvedConfig } from './config.js';
import { Batcher, type BatcherObserver } from './inference/batcher.js';
import { ModelWorker } from './inference/model-worker.js';
import { inProcessRunner, type Runner } from './inference/runner.js';

export interface ModelSet {
  /** Each available model's queue (its runner holds the name and card). */
  readonly queues: Partial<Record<ModelName, Batcher>>;
  /** Why each missing model is missing, in words. */
  readonly unavailable: Partial<Record<ModelName, string>>;
  /** Milliseconds each loaded-from-disk model took to load (injected models are absent). */
  readonly loadMs: Partial<Record<ModelName, number>>;
  /** Milliseconds compiling each model's batch buckets took at load. */
  readonly warmupMs: Partial<Record<ModelName, number>>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

export { WeightsError };

/** The runner behind a model's queue, or undefined when the model is unavailable. */
export function runnerOf(models: ModelSet, name: ModelName): Runner | undefined {
  return models.queues[name]?.runner;
}

/** Starts a worker for every model not given in config.classifiers (in parallel); throws WeightsError when none is available or one is corrupt. */
export async function loadModels(config: ResolvedConfig & { backend: Mode }, observer?: BatcherObserver): Promise<ModelSet> {
  const runners: Partial<Record<ModelName, Runner>> = {};
  const unavailable: Partial<Record<ModelName, string>> = {};
  const loadMs: Partial<Record<ModelName, number>> = {};
  const warmupMs: Partial<Record<ModelName, number>> = {};
  const starting: Array<Promise<ModelWorker>> = [];
  for (const name of MODEL_NAMES) {
    const given = config.classifiers[name];
    if (given !== undefined) {
      runners[name] = inProcessRunner(given);
      continue;
    }
    const card = join(config.weightsDir, `${name}.json`);
    if (!existsSync(card)) {
      unavailable[name] = `the ${name} is not shipped: ${card} is missing (train and ship it, see the README)`;
      continue;
    }
    starting.push(ModelWorker.start({ name, weightsDir: config.weightsDir, backend: config.backend, warm: config.warm, nice: config.workerNice, ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }) }));
  }
  const started = await Promise.allSettled(starting);
  const workers = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(workers.map((worker) => worker.close()));
    throw failed.reason;
  }
  for (const worker of workers) {
    runners[worker.name] = worker;
    loadMs[worker.name] = worker.loadMs;
    warmupMs[worker.name] = worker.warmMs;
  }
  if (runners.cnn === undefined && runners.vit === undefined) {
    throw new WeightsError(`no model could be loaded from ${config.weightsDir}: ${Object.values(unavailable).join('; ')}`);
  }
  const queues: Partial<Record<ModelName, Batcher>> = {};
  for (const runner of Object.values(runners)) {
    queues[runner.name] = new Batcher(runner, { maxBatch: config.maxBatch, maxWaitMs: config.maxBatchWaitMs, maxQueue: config.queueLimit, maxQueueWaitMs: config.maxQueueWaitMs }, observer);
  }
  return {
    queues,
    unavailable,
    loadMs,
    warmupMs,
    close: async () => {
      await Promise.all(Object.values(runners).map((runner) => runner.close()));
    },
  };
}
