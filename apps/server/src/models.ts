// Loads the shipped models once at start. A model whose card is absent is "not shipped" and
// reported as unavailable; a model whose card exists must load, or the server refuses to start.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadClassifier, WeightsError, type ModelName } from '@digitlab/models';
import { PLACED_AFTER_CALLS } from '@digitlab/tensor';
import { MODEL_NAMES, type PredictingModel, type ResolvedConfig } from './config.js';

export interface ModelSet {
  readonly models: Partial<Record<ModelName, PredictingModel>>;
  /** Why each missing model is missing, in words. */
  readonly unavailable: Partial<Record<ModelName, string>>;
  /** Milliseconds each loaded-from-disk model took to load (injected models are absent). */
  readonly loadMs: Partial<Record<ModelName, number>>;
  /** Milliseconds each model's warm-up predictions took (kernel compilation, and on async the placing of its kernels). */
  readonly warmupMs: Partial<Record<ModelName, number>>;
}

export { WeightsError };

/** Loads every model not given in config.classifiers; throws WeightsError when none is available or one is corrupt. */
export async function loadModels(config: ResolvedConfig): Promise<ModelSet> {
  const models: Partial<Record<ModelName, PredictingModel>> = {};
  const unavailable: Partial<Record<ModelName, string>> = {};
  const loadMs: Partial<Record<ModelName, number>> = {};
  for (const name of MODEL_NAMES) {
    const given = config.classifiers[name];
    if (given !== undefined) {
      models[name] = given;
      continue;
    }
    const card = join(config.weightsDir, `${name}.json`);
    if (!existsSync(card)) {
      unavailable[name] = `the ${name} is not shipped: ${card} is missing (train and ship it, see the README)`;
      continue;
    }
    const started = performance.now();
    models[name] = await loadClassifier(name, { weightsDir: config.weightsDir, backend: config.backend });
    loadMs[name] = performance.now() - started;
  }
  if (models.cnn === undefined && models.vit === undefined) {
    throw new WeightsError(`no model could be loaded from ${config.weightsDir}: ${Object.values(unavailable).join('; ')}`);
  }
  const warmupMs: Partial<Record<ModelName, number>> = {};
  if (config.warmup) {
    for (const model of Object.values(models)) {
      if (model === undefined) continue;
      const started = performance.now();
      // the first call compiles; on async the next ones place each kernel on the threads or the calling thread
      for (let call = 0; call < PLACED_AFTER_CALLS; call++) await model.predict(new Float32Array(784), 1);
      warmupMs[model.name] = performance.now() - started;
    }
  }
  return { models, unavailable, loadMs, warmupMs };
}
