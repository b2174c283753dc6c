import { existsSync, mkdirSync, readFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { Adam, Backend, type Mode, Rng } from '@digitlab/tensor';
import { buildModel } from './build.js';
import { type Preset, augmentOf, learningRate } from './config.js';
import { evaluateModel } from './evaluate.js';
import { loadMnist, splitValidation } from './mnist.js';
import type { Model } from './model.js';
import { decodeSafetensors, encodeSafetensors, type NamedTensor, writeFileAtomic } from './safetensors.js';
import { type StepContext, trainStep } from './train-step.js';

/** One line of the run's log.jsonl, written at the end of every epoch. */
export interface EpochLog {
  readonly epoch: number;
  readonly lr: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly valLoss: number;
  readonly valAccuracy: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
  readonly best: boolean;
}

/** Live numbers for a progress bar. */
export interface Progress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly imagesPerSecond: number;
}

/** Options of a training run. */
export interface TrainOptions {
  readonly preset: Preset;
  /** Folder for checkpoint.safetensors, best.safetensors, best.json and log.jsonl. */
  readonly runDir: string;
  readonly backend: Mode;
  readonly poolSize?: number;
  /** Stop (after checkpointing) once this many seconds have passed; the run resumes later. */
  readonly timeLimitSeconds?: number;
  /** Mid-epoch checkpoint interval, so a kill loses minutes, not an epoch. */
  readonly checkpointSeconds?: number;
  /** Stop after this many optimizer steps in total (tests). */
  readonly maxSteps?: number;
  /** Use only the first n training images (tests). */
  readonly limitTrain?: number;
  readonly onProgress?: (p: Progress) => void;
  readonly onEpoch?: (e: EpochLog) => void;
  readonly log?: (line: string) => void;
}

/** What train() returns. */
export interface TrainResult {
  readonly model: Model;
  readonly finished: boolean;
  readonly epoch: number;
  readonly step: number;
  readonly history: EpochLog[];
  readonly bestValAccuracy: number;
  readonly losses: number[];
}

interface RunState {
  epoch: number;
  stepInEpoch: number;
  totalSteps: number;
  rng: number[];
  bestValAccuracy: number;
  bestEpoch: number;
  seconds: number;
  history: EpochLog[];
  epochLossSum: number;
  epochCorrect: number;
  epochSeen: number;
  optimizerStep: number;
  backend: string;
}

const CHECKPOINT = 'checkpoint.safetensors';

/** Parameters as safetensors entries. */
export function paramsToTensors(model: Model): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  for (const [name, t] of model.params) out[name] = { shape: [...t.shape], data: t.data };
  return out;
}

/** Loads parameters by name, checking every shape. */
export function loadParams(model: Model, tensors: Record<string, NamedTensor>, prefix = ''): void {
  for (const [name, t] of model.params) {
    const src = tensors[prefix + name];
    if (!src) throw new Error(`weights have no tensor "${prefix + name}"`);
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`tensor "${name}": weights have shape [${src.shape}], the model needs [${t.shape}]`);
    t.data.set(src.data);
  }
}

/**
 * Trains a model from a preset with AdamW, a validation split, the best-validation checkpoint
 * kept, and resumable checkpoints written atomically (a kill loses at most checkpointSeconds).
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { preset, runDir } = opts;
  const t = preset.train;
  const log = opts.log ?? (() => {});
  mkdirSync(runDir, { recursive: true });
  const model = buildModel(preset.model, t.seed);
  const params = [...model.params.values()];
  const opt = new Adam(params, { lr: t.lr, weightDecay: t.weightDecay, noDecay: model.noDecay });
  const rng = new Rng(t.seed + 1);
  const full = loadMnist('train');
  const { train: trainSet, validation } = splitValidation(full, t.validation, t.seed);
  const trainCount = Math.min(trainSet.count, opts.limitTrain ?? Infinity);
  const stepsPerEpoch = Math.floor(trainCount / t.batchSize);
  if (stepsPerEpoch < 1) throw new Error(`batch size ${t.batchSize} is larger than the ${trainCount} training images`);
  let perm = Int32Array.from({ length: trainCount }, (_, i) => i);
  const state: RunState = {
    epoch: 0, stepInEpoch: 0, totalSteps: 0, rng: rng.state(), bestValAccuracy: -1, bestEpoch: 0, seconds: 0,
    history: [], epochLossSum: 0, epochCorrect: 0, epochSeen: 0, optimizerStep: 0, backend: opts.backend,
  };

  const ckptPath = join(runDir, CHECKPOINT);
  if (existsSync(ckptPath)) {
    const ck = decodeSafetensors(readFileSync(ckptPath));
    const saved = JSON.parse(ck.metadata.state ?? '{}') as RunState;
    const saved0 = JSON.parse(ck.metadata.config) as Preset;
    // the planned length may change on resume (the schedule is re-planned); nothing else may
    if (JSON.stringify({ ...saved0, train: { ...saved0.train, epochs: 0 } }) !== JSON.stringify({ ...preset, train: { ...preset.train, epochs: 0 } })) {
      throw new Error(`${ckptPath} was written for another config; use a new run folder or delete it`);
    }
    if (saved0.train.epochs !== t.epochs) log(`re-planned from ${saved0.train.epochs} to ${t.epochs} epochs: the learning-rate schedule follows the new plan from here`);
    loadParams(model, ck.tensors, 'param/');
    const m = params.map((_, i) => ck.tensors[`adam.m/${i}`].data);
    const v = params.map((_, i) => ck.tensors[`adam.v/${i}`].data);
    opt.loadState({ step: saved.optimizerStep, slots: [m, v] });
    perm = Int32Array.from(ck.tensors.perm.data);
    Object.assign(state, saved);
    rng.setState(saved.rng);
    log(`resumed ${ckptPath}: epoch ${state.epoch + 1}, step ${state.stepInEpoch}/${stepsPerEpoch}`);
  }

  const save = (): void => {
    state.rng = rng.state();
    state.optimizerStep = opt.state().step;
    const tensors: Record<string, NamedTensor> = {};
    for (const [name, p] of model.params) tensors[`param/${name}`] = { shape: [...p.shape], data: p.data };
    const os = opt.state();
    params.forEach((p, i) => {
      tensors[`adam.m/${i}`] = { shape: [...p.shape], data: os.slots[0][i] };
      tensors[`adam.v/${i}`] = { shape: [...p.shape], data: os.slots[1][i] };
    });
    tensors.perm = { shape: [perm.length], data: Float32Array.from(perm) };
    writeFileAtomic(ckptPath, encodeSafetensors(tensors, { config: JSON.stringify(preset), state: JSON.stringify(state) }));
  };

  const be = new Backend(opts.backend, { poolSize: opts.poolSize });
  const started = performance.now();
  const secondsSoFar = state.seconds;
  let lastSave = performance.now();
  const augment = augmentOf(t);
  const batch = new Float32Array(t.batchSize * 784);
  const labels = new Uint8Array(t.batchSize);
  const losses: number[] = [];
  const step: StepContext = { be, model, opt, train: t, augment, rng, batch, labels };
  let stopped = false;
  try {
    while (state.epoch < t.epochs && !stopped) {
      if (state.stepInEpoch === 0) {
        rng.shuffle(perm);
        state.epochLossSum = 0;
        state.epochCorrect = 0;
        state.epochSeen = 0;
      }
      const epochStart = performance.now();
      const stepAtStart = state.stepInEpoch;
      while (state.stepInEpoch < stepsPerEpoch) {
        const idx = perm.subarray(state.stepInEpoch * t.batchSize, (state.stepInEpoch + 1) * t.batchSize);
        const { loss: lv, correct } = await trainStep(step, trainSet, idx, learningRate(t, state.epoch + state.stepInEpoch / stepsPerEpoch), `at epoch ${state.epoch + 1} step ${state.stepInEpoch}`);
        losses.push(lv);
        state.epochLossSum += lv * t.batchSize;
        state.epochCorrect += correct;
        state.epochSeen += t.batchSize;
        state.stepInEpoch++;
        state.totalSteps++;
        const elapsed = (performance.now() - epochStart) / 1000;
        opts.onProgress?.({
          epoch: state.epoch + 1, epochs: t.epochs, step: state.stepInEpoch, steps: stepsPerEpoch,
          loss: state.epochLossSum / state.epochSeen, accuracy: state.epochCorrect / state.epochSeen,
          imagesPerSecond: ((state.stepInEpoch - stepAtStart) * t.batchSize) / Math.max(elapsed, 1e-9),
        });
        const total = secondsSoFar + (performance.now() - started) / 1000;
        state.seconds = total;
        if (opts.maxSteps !== undefined && state.totalSteps >= opts.maxSteps) {
          stopped = true;
          break;
        }
        if (opts.timeLimitSeconds !== undefined && (performance.now() - started) / 1000 >= opts.timeLimitSeconds) {
          stopped = true;
          break;
        }
        if ((performance.now() - lastSave) / 1000 >= (opts.checkpointSeconds ?? 120)) {
          save();
          lastSave = performance.now();
        }
      }
      if (state.stepInEpoch < stepsPerEpoch) break;
      // end of epoch: validate, keep the best, log
      const val = await evaluateModel(be, model, validation);
      const best = val.accuracy > state.bestValAccuracy;
      const seconds = (performance.now() - epochStart) / 1000;
      const entry: EpochLog = {
        epoch: state.epoch + 1, lr: opt.lr, trainLoss: state.epochLossSum / state.epochSeen, trainAccuracy: state.epochCorrect / state.epochSeen,
        valLoss: val.loss, valAccuracy: val.accuracy, seconds, imagesPerSecond: ((stepsPerEpoch - stepAtStart) * t.batchSize) / seconds, best,
      };
      if (best) {
        state.bestValAccuracy = val.accuracy;
        state.bestEpoch = state.epoch + 1;
        writeFileAtomic(join(runDir, 'best.safetensors'), encodeSafetensors(paramsToTensors(model), { config: JSON.stringify(preset.model), epoch: String(state.epoch + 1) }));
        writeFileAtomic(join(runDir, 'best.json'), new TextEncoder().encode(JSON.stringify({ epoch: state.epoch + 1, validation: { accuracy: val.accuracy, loss: val.loss, count: val.count } }, null, 2)));
      }
      state.history.push(entry);
      appendFileSync(join(runDir, 'log.jsonl'), `${JSON.stringify(entry)}\n`);
      opts.onEpoch?.(entry);
      state.epoch++;
      state.stepInEpoch = 0;
      save();
      lastSave = performance.now();
    }
    if (stopped) save();
  } finally {
    be.destroy();
  }
  return { model, finished: state.epoch >= t.epochs, epoch: state.epoch, step: state.stepInEpoch, history: state.history, bestValAccuracy: state.bestValAccuracy, losses };
}
