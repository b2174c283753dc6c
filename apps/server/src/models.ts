// Loads the shipped models once at start, each in its own worker thread, and puts a batching queue
// in front of each, and a second queue for explained requests whose worker starts at load on a warm
// server, else at the first of them. A model whose card is absent is "not shipped" and reported as unavailable; a model whose
// card exists must load, or the server refuses to start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WeightsError, type Mode, type ModelName } from '@digitlab/models';
import { MODEL_NAMES, type ResolvedConfig } from './config.js';
import { Batcher, type BatcherObserver, type QueueTask } from './inference/batcher.js';
import { lazyRunner, type LazyRunner } from './inference/lazy-runner.js';
import { ModelWorker } from './inference/model-worker.js';
import type { WorkerSetup } from './inference/messages.js';
import { inProcessRunner, type Runner } from './inference/runner.js';

export interface ModelSet {
  /** Each available model's queue (its runner holds the name and card). */
  readonly queues: Partial<Record<ModelName, Batcher>>;
  /**
   * The queues of explained requests, for the models that run in a worker: their own worker, started
   * at the first explained request, so maps never hold up plain predictions. A model given in
   * ServerConfig.classifiers has none (it cannot explain: its queue answers without maps).
   */
  readonly explainQueues: Partial<Record<ModelName, Batcher>>;
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

/** The queue a request of that task goes to for that model, or undefined when the model is unavailable. */
export function queueOf(models: ModelSet, name: ModelName, task: QueueTask): Batcher | undefined {
  return (task === 'explain' ? models.explainQueues[name] : undefined) ?? models.queues[name];
}

/** Every queue with its task (the metrics and the drain). */
export function allQueues(models: ModelSet): Array<{ task: QueueTask; queue: Batcher }> {
  return [
    ...Object.values(models.queues).map((queue) => ({ task: 'predict' as const, queue })),
    ...Object.values(models.explainQueues).map((queue) => ({ task: 'explain' as const, queue })),
  ];
}

/** Starts a worker for every model not given in config.classifiers (in parallel); throws WeightsError when none is available or one is corrupt. */
export async function loadModels(config: ResolvedConfig & { backend: Mode }, observer?: (task: QueueTask) => BatcherObserver): Promise<ModelSet> {
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
    starting.push(ModelWorker.start(workerSetup(config, name, false)));
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
    queues[runner.name] = new Batcher(runner, { maxBatch: config.maxBatch, maxWaitMs: config.maxBatchWaitMs, maxQueue: config.queueLimit, maxQueueWaitMs: config.maxQueueWaitMs }, observer?.('predict'));
  }
  const explainQueues: Partial<Record<ModelName, Batcher>> = {};
  const explainRunners: LazyRunner[] = [];
  for (const worker of workers) {
    const runner = lazyRunner(worker.name, worker.card, (signal) => ModelWorker.start(workerSetup(config, worker.name, true), signal));
    explainRunners.push(runner);
    // an explained request runs alone (its maps are computed one image at a time): no wait for company
    explainQueues[worker.name] = new Batcher(runner, { maxBatch: 1, maxWaitMs: 0, maxQueue: config.explainQueueLimit, maxQueueWaitMs: config.explainMaxQueueWaitMs, task: 'explain' }, observer?.('explain'));
  }
  // A warm server starts its explanation workers before it is ready (a worker that fails to start
  // is tried again at the first explained request), so no explained request waits for a model load
  // and a compile in the middle of traffic; a server that is not warm starts each at its first one.
  if (config.warm) await Promise.all(explainRunners.map((runner) => runner.prestart()));
  const allRunners = [...Object.values(runners), ...explainRunners];
  return {
    queues,
    explainQueues,
    unavailable,
    loadMs,
    warmupMs,
    close: async () => {
      await Promise.all(allRunners.map((runner) => runner.close()));
    },
  };
}

function workerSetup(config: ResolvedConfig & { backend: Mode }, name: ModelName, explains: boolean): Omit<WorkerSetup, 'entry'> {
  return { name, weightsDir: config.weightsDir, backend: config.backend, warm: config.warm, explains, nice: config.workerNice, ...(config.poolSize === undefined ? {} : { poolSize: config.poolSize }) };
}
