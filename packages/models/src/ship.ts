import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Backend, type Mode } from '@digitlab/tensor';
import { buildModel } from './build.js';
import type { ModelCard, ModelName } from './card.js';
import { modelCard, shippedWeights } from './model-card.js';
import { calibrateModel } from './calibrate-model.js';
import { summarize } from './evaluate.js';
import { sha256, writeFileAtomic } from './files.js';
import { loadMnist } from './mnist.js';
import { decodeSafetensors } from './safetensors.js';
import { decodeCheckpoint, loadParams } from './state.js';
import { RUN_FILES } from './run-folder.js';

/**
 * Ships a run's best checkpoint: evaluates it on the 10,000 test images, writes
 * weights/<name>.safetensors and the model card weights/<name>.json (config, recipe, seed,
 * epochs, time, backend, sha256 and the test metrics of exactly those bytes), and the
 * training log weights/<name>.log.jsonl for the report's learning curves. The card carries the
 * temperature fitted on the validation images and the uncertainty threshold chosen there.
 */
export async function ship(name: ModelName, runDir: string, weightsDir: string, backend: Mode): Promise<ModelCard> {
  const { preset, state } = decodeCheckpoint(readFileSync(join(runDir, RUN_FILES.checkpoint)));
  const model = buildModel(preset.model, preset.train.seed);
  loadParams(model, decodeSafetensors(readFileSync(join(runDir, RUN_FILES.best))).tensors);
  const bytes = shippedWeights(name, preset, model);
  const be = new Backend(backend);
  const testData = loadMnist('test');
  let measured;
  try {
    measured = await calibrateModel(be, model, preset.train, testData);
  } finally {
    be.destroy();
  }
  const test = summarize(measured.test, testData.labels);
  const card = modelCard({
    name, preset, model, epochs: state.epoch, bestEpoch: state.bestEpoch, seconds: state.seconds, backend: state.backend,
    machine: process.env.DIGITLAB_MACHINE ?? `${cpus().length} cores`, history: state.history,
    weights: { sha256: sha256(bytes), bytes: bytes.length }, test, calibration: measured.calibration, uncertainty: measured.uncertainty,
  });
  writeFileAtomic(join(weightsDir, `${name}.safetensors`), bytes);
  writeFileAtomic(join(weightsDir, `${name}.json`), new TextEncoder().encode(`${JSON.stringify(card, null, 2)}\n`));
  const logPath = join(runDir, RUN_FILES.log);
  if (existsSync(logPath)) writeFileAtomic(join(weightsDir, `${name}.log.jsonl`), readFileSync(logPath));
  return card;
}
