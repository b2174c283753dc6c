import { readFileSync, existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Backend, type Mode } from '@digitlab/tensor';
import { buildModel } from './build.js';
import type { ModelCard, ModelName } from './card.js';
import { modelCard, shippedWeights } from './model-card.js';
import type { Preset } from './config.js';
import { calibrateModel } from './calibrate-model.js';
import { summarize } from './evaluate.js';
import { loadMnist } from './mnist.js';
import { decodeSafetensors, sha256, writeFileAtomic } from './safetensors.js';
import { type EpochLog, loadParams } from './train.js';

/**
 * Ships a run's best checkpoint: evaluates it on the 10,000 test images, writes
 * weights/<name>.safetensors and the model card weights/<name>.json (config, recipe, seed,
 * epochs, time, backend, sha256 and the test metrics of exactly those bytes), and the
 * training log weights/<name>.log.jsonl for the report's learning curves. The card carries the
 * temperature fitted on the validation images and the uncertainty threshold chosen there.
 */
export async function ship(name: ModelName, runDir: string, weightsDir: string, backend: Mode): Promise<ModelCard> {
  const ck = decodeSafetensors(readFileSync(join(runDir, 'checkpoint.safetensors')));
  const preset = JSON.parse(ck.metadata.config) as Preset;
  const state = JSON.parse(ck.metadata.state) as { bestEpoch: number; seconds: number; history: EpochLog[]; backend: string; epoch: number };
  const best = decodeSafetensors(readFileSync(join(runDir, 'best.safetensors')));
  const model = buildModel(preset.model, preset.train.seed);
  loadParams(model, best.tensors);
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
  const logPath = join(runDir, 'log.jsonl');
  if (existsSync(logPath)) writeFileAtomic(join(weightsDir, `${name}.log.jsonl`), readFileSync(logPath));
  return card;
}
