#!/usr/bin/env node
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { Backend, type Mode, type ModeChoice, chooseMode, describeChoice } from '@digitlab/tensor';
import type { ModelCard, ModelName } from './card.js';
import { type ModelCalibration, calibrateModel } from './calibrate-model.js';
import { cardDifferences } from './card-check.js';
import { floatOption, intOption, modeChoiceOption, modelNameOption } from './cli-options.js';
import type { Preset, TrainConfig } from './config.js';
import { summarize } from './evaluate.js';
import { type Classifier, loadClassifier } from './classifier.js';
import { writeFileAtomic } from './files.js';
import { type MnistData, loadMnist } from './mnist.js';
import { loadPreset } from './presets.js';
import { sliceImages } from './split.js';
import { ship } from './ship.js';
import { train } from './train.js';

const REPO = resolve(import.meta.dirname, '..', '..', '..');

/** The concrete mode for a --backend value; `auto` times the modes on a training-sized probe and says what it chose. */
async function concrete(m: ModeChoice, threads?: number): Promise<Mode> {
  if (m !== 'auto') return m;
  const choice = await chooseMode({ workload: 'training', poolSize: threads });
  console.error(`--backend auto chose ${choice.mode}: ${describeChoice(choice)}`);
  return choice.mode;
}
const BACKEND_HELP = 'gpu.js mode: async (webasm + threads), webasm, cpu, headlessgl where built, or auto (time them, keep the fastest)';

/** A shipped model (sha256-checked) and its calibration measured afresh on its validation images and `test`. */
async function measureShipped(name: ModelName, weightsDir: string, backend: Mode, test: MnistData): Promise<{ clf: Classifier; measured: ModelCalibration }> {
  const clf = await loadClassifier(name, { weightsDir, backend });
  clf.close();
  const be = new Backend(backend);
  try {
    return { clf, measured: await calibrateModel(be, clf.model, clf.card.training.recipe as unknown as TrainConfig, test) };
  } finally {
    be.destroy();
  }
}

const program = new Command('digitlab').description('train, evaluate and ship the digitlab MNIST models');
const WEIGHTS = join(REPO, 'weights');

/** A command on one model (`<model>`), with the --backend option every command takes. */
function modelCommand(command: string, description: string): Command {
  return program.command(command).description(description).argument('<model>', 'cnn or vit', modelNameOption).option('-b, --backend <mode>', BACKEND_HELP, modeChoiceOption, 'async' as ModeChoice);
}

modelCommand('train', 'train a model from a preset; resumes from <run-dir>/checkpoint.safetensors if present')
  .option('-c, --config <preset>', 'preset name in packages/models/configs or a JSON path (default: the model name)')
  .option('--epochs <n>', 'override the preset epochs', intOption)
  .option('--seed <n>', 'override the preset seed', intOption)
  .option('--lr <x>', 'override the peak learning rate', floatOption)
  .option('--batch-size <n>', 'override the batch size', intOption)
  .option('--threads <n>', 'worker threads for async (default: all cores)', intOption)
  .option('--run-dir <dir>', 'where checkpoints and logs go (default: .runs/<model>)')
  .option('--time-limit <seconds>', 'checkpoint and stop after this long (resume later)', floatOption)
  .option('--checkpoint-every <seconds>', 'mid-epoch checkpoint interval', floatOption, 120)
  .option('--ship', 'when training finishes, evaluate on the test set and write weights/<model>.*')
  .action(async (name: ModelName, o: { config?: string; epochs?: number; seed?: number; lr?: number; batchSize?: number; backend: ModeChoice; threads?: number; runDir?: string; timeLimit?: number; checkpointEvery: number; ship?: boolean }) => {
    const backend = await concrete(o.backend, o.threads);
    const base = loadPreset(o.config ?? name);
    const preset: Preset = {
      model: base.model,
      train: { ...base.train, ...(o.epochs !== undefined && { epochs: o.epochs }), ...(o.seed !== undefined && { seed: o.seed }), ...(o.lr !== undefined && { lr: o.lr }), ...(o.batchSize !== undefined && { batchSize: o.batchSize }) },
    };
    const runDir = resolve(o.runDir ?? join(REPO, '.runs', name));
    const tty = process.stderr.isTTY;
    const bar = new cliProgress.SingleBar(
      { format: 'epoch {epoch}/{epochs} |{bar}| {value}/{total} loss {loss} acc {acc} {ips} img/s eta {eta_formatted}', hideCursor: true, noTTYOutput: !tty, notTTYSchedule: 30000 },
      cliProgress.Presets.shades_classic,
    );
    let barEpoch = -1;
    const res = await train({
      preset,
      runDir,
      backend,
      poolSize: o.threads,
      timeLimitSeconds: o.timeLimit,
      checkpointSeconds: o.checkpointEvery,
      log: (l) => console.error(l),
      onProgress: (p) => {
        const payload = { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4), acc: p.accuracy.toFixed(4), ips: p.imagesPerSecond.toFixed(0) };
        if (barEpoch !== p.epoch) {
          if (barEpoch >= 0) bar.stop();
          bar.start(p.steps, p.step, payload);
          barEpoch = p.epoch;
        } else bar.update(p.step, payload);
      },
      onEpoch: (e) => {
        bar.stop();
        barEpoch = -1;
        console.log(JSON.stringify(e));
      },
    });
    bar.stop();
    console.error(res.finished ? `finished ${res.epoch} epochs, best validation accuracy ${res.bestValAccuracy}` : `stopped at epoch ${res.epoch + 1} step ${res.step}; run the same command to resume`);
    if (res.finished && o.ship) {
      const card = await ship(name, runDir, WEIGHTS, backend);
      console.log(JSON.stringify({ shipped: name, test: { accuracy: card.metrics.test.accuracy, loss: card.metrics.test.loss } }));
    }
  });

modelCommand('ship', "evaluate a run's best checkpoint on the test set and write weights/<model>.safetensors + its model card")
  .option('--run-dir <dir>', 'the run to ship (default: .runs/<model>)')
  .action(async (name: ModelName, o: { runDir?: string; backend: ModeChoice }) => {
    const card = await ship(name, resolve(o.runDir ?? join(REPO, '.runs', name)), WEIGHTS, await concrete(o.backend));
    console.log(JSON.stringify({ shipped: name, sha256: card.weights.sha256, test: { accuracy: card.metrics.test.accuracy, loss: card.metrics.test.loss } }, null, 2));
  });

modelCommand('evaluate', 'evaluate shipped weights on the 10,000 test images and compare with the model card')
  .option('--weights <dir>', 'weights folder', WEIGHTS)
  .option('--limit <n>', 'only the first n test images', intOption)
  .action(async (name: ModelName, o: { weights: string; backend: ModeChoice; limit?: number }) => {
    const full = loadMnist('test');
    const data = sliceImages(full, 0, o.limit);
    const n = data.count;
    const t0 = performance.now();
    const { clf, measured } = await measureShipped(name, o.weights, await concrete(o.backend), data);
    const s = summarize(measured.test, data.labels);
    const card = clf.card.metrics.test;
    console.log(`${name} on ${n} test images: accuracy ${(s.accuracy * 100).toFixed(2)}%  loss ${s.loss.toFixed(4)}  (${((performance.now() - t0) / 1000).toFixed(1)} s, validation images included)`);
    console.log('confusion (rows: true digit, columns: predicted):');
    console.log(`     ${[...Array(10).keys()].map((d) => String(d).padStart(5)).join('')}`);
    s.confusion.forEach((row, t) => console.log(`  ${t}  ${row.map((v) => String(v).padStart(5)).join('')}`));
    console.log(`most confused: ${s.mostConfused.slice(0, 6).map((p) => `${p.true}→${p.predicted} (${p.count})`).join(', ')}`);
    console.log(`misclassified: ${s.misclassified.length} images${s.misclassified.length ? `, first: ${s.misclassified.slice(0, 20).join(' ')}` : ''}`);
    const c = measured.calibration;
    const u = measured.uncertainty;
    console.log(`calibration: temperature ${c.temperature.toFixed(4)}, fitted on ${c.fittedOn}; test ECE (${c.bins} bins) ${(c.ece.before * 100).toFixed(2)}% raw -> ${(c.ece.after * 100).toFixed(2)}% scaled; test loss ${c.loss.before.toFixed(4)} -> ${c.loss.after.toFixed(4)}`);
    console.log(`uncertain below a calibrated confidence of ${u.threshold.toFixed(4)}: flags ${(u.validationFlagged * 100).toFixed(2)}% of the validation images and ${(u.validationErrorsFlagged * 100).toFixed(1)}% of their errors`);
    if (n === full.count) {
      const problems = cardDifferences(clf.card, s, measured);
      console.log(problems.length === 0 ? `matches the model card (${(card.accuracy * 100).toFixed(2)}%, calibration and threshold included)` : `DIFFERS from the model card: ${problems.join('; ')}`);
      if (problems.length) process.exitCode = 1;
    }
  });

modelCommand('calibrate', "fit a shipped model's temperature on its validation images and write the calibration and uncertainty threshold into its card (weights unchanged)")
  .option('--weights <dir>', 'weights folder', WEIGHTS)
  .action(async (name: ModelName, o: { weights: string; backend: ModeChoice }) => {
    const test = loadMnist('test');
    const { clf, measured } = await measureShipped(name, o.weights, await concrete(o.backend), test);
    const s = summarize(measured.test, test.labels);
    if (Math.abs(s.accuracy - clf.card.metrics.test.accuracy) > 1e-9) throw new Error(`${name}: test accuracy ${s.accuracy} differs from the card's ${clf.card.metrics.test.accuracy}; not writing the card`);
    const card: ModelCard = { ...clf.card, calibration: measured.calibration, uncertainty: measured.uncertainty };
    writeFileAtomic(join(o.weights, `${name}.json`), new TextEncoder().encode(`${JSON.stringify(card, null, 2)}\n`));
    console.log(JSON.stringify({ calibrated: name, calibration: measured.calibration, uncertainty: measured.uncertainty }, null, 2));
  });

await program.parseAsync();
