// The training loop in named steps: split the data, start or resume a run, train one epoch,
// validate it, keep the best weights, checkpoint. Nothing here touches Node's fs: where checkpoints,
// best weights and the epoch log go is a RunStore (a folder in train.ts, anything in a browser).
import { PIXELS } from '@digitlab/digit-csv';
import { Adam, type Backend, Rng } from '@digitlab/tensor';
import { buildModel } from './build.js';
import { type Preset, type TrainConfig, augmentOf, learningRate } from './config.js';
import { type Evaluation, evaluateModel } from './evaluate.js';
import type { MnistData, MnistSubset } from './mnist.js';
import type { Model } from './model.js';
import { splitValidation } from './split.js';
import { type Checkpoint, type EpochLog, type RunState, encodeCheckpoint, encodeWeights, loadParams } from './state.js';
import { type StepContext, trainStep } from './train-step.js';

/** Live numbers for a progress bar. */
export interface Progress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  /** The epoch's running mean loss and accuracy so far. */
  readonly loss: number;
  readonly accuracy: number;
  /** The step just taken: its batch's loss and accuracy. */
  readonly stepLoss: number;
  readonly stepAccuracy: number;
  readonly imagesPerSecond: number;
}

/** The best epoch's validation figures, stored beside its weights. */
export interface BestSummary {
  readonly epoch: number;
  readonly validation: { readonly accuracy: number; readonly loss: number; readonly count: number };
}

/** Where a run keeps what outlives it; every write may be synchronous or a promise. */
export interface RunStore {
  /** Names the store in messages (a folder's path). */
  readonly where: string;
  /** The last checkpoint written, or undefined for a fresh run. */
  readCheckpoint(): Uint8Array | undefined | Promise<Uint8Array | undefined>;
  /** Replaces the checkpoint, atomically: a kill leaves the old one or the new one. */
  writeCheckpoint(bytes: Uint8Array): void | Promise<void>;
  /** Replaces the best weights (safetensors) and their validation figures. */
  writeBest(weights: Uint8Array, summary: BestSummary): void | Promise<void>;
  /** Appends one epoch's line to the log. */
  appendEpoch(entry: EpochLog): void | Promise<void>;
}

/** When and how a loop stops and reports. */
export interface LoopOptions {
  /** Stop (after checkpointing) once this many seconds have passed; the run resumes later. */
  readonly timeLimitSeconds?: number;
  /** Mid-epoch checkpoint interval (default 120 s), so a kill loses minutes, not an epoch. */
  readonly checkpointSeconds?: number;
  /** Stop after this many optimizer steps in total (tests). */
  readonly maxSteps?: number;
  /** Stop (after checkpointing) at the next step once aborted: a page's stop button. */
  readonly signal?: AbortSignal;
  /**
   * Awaited before each step: a page lets its messages in and holds while paused. The time spent
   * in it counts towards no clock (run seconds, images per second, the time limit).
   */
  readonly beforeStep?: () => Promise<void>;
  /**
   * On a stop mid-epoch, validate and record the steps taken as the run's last epoch instead of
   * checkpointing to resume (a page's "stop early, keep what was learned").
   */
  readonly endWithPartialEpoch?: boolean;
  readonly onProgress?: (p: Progress) => void;
  readonly onEpoch?: (e: EpochLog) => void;
}

/** The training and validation images of a run and the steps an epoch takes. */
export interface TrainingData {
  readonly train: MnistSubset;
  readonly validation: MnistSubset;
  /** Training images used (all of `train`, or the first `limit`). */
  readonly count: number;
  readonly stepsPerEpoch: number;
}

/** A run in memory: model, optimizer, random stream, image order and the counters a checkpoint keeps. */
export interface TrainingRun {
  readonly preset: Preset;
  readonly data: TrainingData;
  readonly model: Model;
  readonly optimizer: Adam;
  readonly rng: Rng;
  perm: Int32Array;
  readonly state: RunState;
  /** Every step's training loss in this process (not kept across a resume). */
  readonly losses: number[];
}

/** How a loop ended. */
export interface LoopResult {
  /** Every planned epoch was trained to its end. */
  readonly finished: boolean;
  readonly epoch: number;
  readonly step: number;
  readonly history: EpochLog[];
  readonly bestValAccuracy: number;
  readonly losses: number[];
}

/** Splits MNIST's training images into the run's seeded training and validation sets, the training set cut to `limit` images. */
export function splitTraining(full: MnistData, t: TrainConfig, limit?: number): TrainingData {
  const { train, validation } = splitValidation(full, t.validation, t.seed);
  const count = Math.min(train.count, limit ?? Infinity);
  const stepsPerEpoch = Math.floor(count / t.batchSize);
  if (stepsPerEpoch < 1) throw new Error(`batch size ${t.batchSize} is larger than the ${count} training images`);
  return { train, validation, count, stepsPerEpoch };
}

/** A fresh run: the preset's model at its seed, AdamW, the images in order, no epoch done. */
export function startRun(preset: Preset, data: TrainingData, backend: string): TrainingRun {
  const t = preset.train;
  const model = buildModel(preset.model, t.seed);
  const optimizer = new Adam([...model.params.values()], { lr: t.lr, weightDecay: t.weightDecay, noDecay: model.noDecay });
  const rng = new Rng(t.seed + 1);
  const state: RunState = {
    epoch: 0, stepInEpoch: 0, totalSteps: 0, rng: rng.state(), bestValAccuracy: -1, bestEpoch: 0, seconds: 0,
    history: [], epochLossSum: 0, epochCorrect: 0, epochSeen: 0, optimizerStep: 0, backend,
  };
  return { preset, data, model, optimizer, rng, perm: Int32Array.from({ length: data.count }, (_, i) => i), state, losses: [] };
}

/** Puts a checkpoint's parameters, moments, image order and counters into a fresh run; only the planned epochs may differ from its preset. */
export function resumeRun(run: TrainingRun, ck: Checkpoint, where: string, log: (line: string) => void = () => {}): void {
  const t = run.preset.train;
  const unplanned = (p: Preset): string => JSON.stringify({ ...p, train: { ...p.train, epochs: 0 } });
  // the schedule is re-planned when the length changes; any other difference is another run
  if (unplanned(ck.preset) !== unplanned(run.preset)) throw new Error(`${where} was written for another config; use a new run folder or delete it`);
  if (ck.preset.train.epochs !== t.epochs) log(`re-planned from ${ck.preset.train.epochs} to ${t.epochs} epochs: the learning-rate schedule follows the new plan from here`);
  loadParams(run.model, ck.params);
  run.optimizer.loadState(ck.optimizer);
  run.perm = ck.perm;
  Object.assign(run.state, ck.state);
  run.rng.setState(ck.state.rng);
  log(`resumed ${where}: epoch ${run.state.epoch + 1}, step ${run.state.stepInEpoch}/${run.data.stepsPerEpoch}`);
}

/** Writes the run's checkpoint, the random stream and optimizer step brought up to date first. */
export async function checkpoint(run: TrainingRun, store: RunStore): Promise<void> {
  run.state.rng = run.rng.state();
  run.state.optimizerStep = run.optimizer.state().step;
  await store.writeCheckpoint(encodeCheckpoint(run.model, run.optimizer.state(), run.perm, run.preset, run.state));
}

/** The clock of one loop: when it started, the seconds the run had taken before it, the last checkpoint. */
export interface LoopClock {
  /** Moves forward by any hold in beforeStep, so that the hold counts as no time. */
  started: number;
  readonly before: number;
  lastSave: number;
}

/**
 * Trains the rest of the current epoch (shuffled at its start), checkpointing on the interval;
 * returns early, with `stopped`, when a stop rule fires.
 */
export async function trainEpoch(run: TrainingRun, step: StepContext, store: RunStore, clock: LoopClock, opts: LoopOptions): Promise<{ stopped: boolean; epochStart: number; stepAtStart: number }> {
  const { preset, data, state } = run;
  const t = preset.train;
  if (state.stepInEpoch === 0) {
    run.rng.shuffle(run.perm);
    state.epochLossSum = 0;
    state.epochCorrect = 0;
    state.epochSeen = 0;
  }
  let epochStart = performance.now();
  const stepAtStart = state.stepInEpoch;
  while (state.stepInEpoch < data.stepsPerEpoch) {
    if (opts.beforeStep) {
      const held = performance.now();
      await opts.beforeStep();
      // the clocks skip the hold, as if it took no time
      const idle = performance.now() - held;
      epochStart += idle;
      clock.started += idle;
      clock.lastSave += idle;
      if (opts.signal?.aborted) return { stopped: true, epochStart, stepAtStart };
    }
    const indices = run.perm.subarray(state.stepInEpoch * t.batchSize, (state.stepInEpoch + 1) * t.batchSize);
    const lr = learningRate(t, state.epoch + state.stepInEpoch / data.stepsPerEpoch);
    const { loss, correct } = await trainStep(step, data.train, indices, lr, `at epoch ${state.epoch + 1} step ${state.stepInEpoch}`);
    run.losses.push(loss);
    state.epochLossSum += loss * t.batchSize;
    state.epochCorrect += correct;
    state.epochSeen += t.batchSize;
    state.stepInEpoch++;
    state.totalSteps++;
    const elapsed = (performance.now() - epochStart) / 1000;
    opts.onProgress?.({
      epoch: state.epoch + 1, epochs: t.epochs, step: state.stepInEpoch, steps: data.stepsPerEpoch,
      loss: state.epochLossSum / state.epochSeen, accuracy: state.epochCorrect / state.epochSeen, stepLoss: loss, stepAccuracy: correct / t.batchSize,
      imagesPerSecond: ((state.stepInEpoch - stepAtStart) * t.batchSize) / Math.max(elapsed, 1e-9),
    });
    state.seconds = clock.before + (performance.now() - clock.started) / 1000;
    if (stopRequested(state, clock, opts)) return { stopped: true, epochStart, stepAtStart };
    if ((performance.now() - clock.lastSave) / 1000 >= (opts.checkpointSeconds ?? 120)) {
      await checkpoint(run, store);
      clock.lastSave = performance.now();
    }
  }
  return { stopped: false, epochStart, stepAtStart };
}

/** Whether a stop rule fires after a step: the step budget, the time limit, or an abort. */
function stopRequested(state: RunState, clock: LoopClock, opts: LoopOptions): boolean {
  if (opts.maxSteps !== undefined && state.totalSteps >= opts.maxSteps) return true;
  if (opts.timeLimitSeconds !== undefined && (performance.now() - clock.started) / 1000 >= opts.timeLimitSeconds) return true;
  return opts.signal?.aborted === true;
}

/** Validates the epoch just trained and returns its log line; `best` when it beats every earlier epoch. */
export async function validateEpoch(run: TrainingRun, be: Backend, epochStart: number, stepAtStart: number): Promise<{ entry: EpochLog; val: Evaluation }> {
  const { data, state, preset } = run;
  const val = await evaluateModel(be, run.model, data.validation);
  const seconds = (performance.now() - epochStart) / 1000;
  const entry: EpochLog = {
    epoch: state.epoch + 1, lr: run.optimizer.lr, trainLoss: state.epochLossSum / state.epochSeen, trainAccuracy: state.epochCorrect / state.epochSeen,
    valLoss: val.loss, valAccuracy: val.accuracy, seconds, imagesPerSecond: ((state.stepInEpoch - stepAtStart) * preset.train.batchSize) / seconds,
    best: val.accuracy > state.bestValAccuracy,
  };
  return { entry, val };
}

/** Keeps the epoch's weights as the run's best when they are, and logs the epoch. */
export async function recordEpoch(run: TrainingRun, store: RunStore, entry: EpochLog, val: Evaluation): Promise<void> {
  const { state } = run;
  if (entry.best) {
    state.bestValAccuracy = val.accuracy;
    state.bestEpoch = entry.epoch;
    const weights = encodeWeights(run.model, { config: JSON.stringify(run.preset.model), epoch: String(entry.epoch) });
    await store.writeBest(weights, { epoch: entry.epoch, validation: { accuracy: val.accuracy, loss: val.loss, count: val.count } });
  }
  state.history.push(entry);
  await store.appendEpoch(entry);
}

/**
 * Trains until the planned epochs are done or a stop rule fires: each epoch trained, validated,
 * recorded and checkpointed; a stopped run checkpoints where it is, to be resumed (or, with
 * endWithPartialEpoch, ends with the steps of its last epoch validated and recorded).
 */
export async function runLoop(run: TrainingRun, be: Backend, store: RunStore, opts: LoopOptions = {}): Promise<LoopResult> {
  const { state } = run;
  const t = run.preset.train;
  const now = performance.now();
  const clock: LoopClock = { started: now, before: state.seconds, lastSave: now };
  const step: StepContext = { be, model: run.model, opt: run.optimizer, train: t, augment: augmentOf(t), rng: run.rng, batch: new Float32Array(t.batchSize * PIXELS), labels: new Uint8Array(t.batchSize) };
  let stopped = false;
  let ended = false; // a partial last epoch recorded: nothing is left to resume
  while (state.epoch < t.epochs && !stopped) {
    const epoch = await trainEpoch(run, step, store, clock, opts);
    stopped = epoch.stopped;
    const partial = state.stepInEpoch < run.data.stepsPerEpoch;
    if (partial && !(opts.endWithPartialEpoch && state.stepInEpoch > epoch.stepAtStart)) break;
    const { entry, val } = await validateEpoch(run, be, epoch.epochStart, epoch.stepAtStart);
    await recordEpoch(run, store, entry, val);
    opts.onEpoch?.(entry);
    state.epoch++;
    state.stepInEpoch = 0;
    ended = partial;
    if (ended) break;
    await checkpoint(run, store);
    clock.lastSave = performance.now();
  }
  if (stopped && !ended) await checkpoint(run, store);
  return { finished: state.epoch >= t.epochs && !ended, epoch: state.epoch, step: state.stepInEpoch, history: state.history, bestValAccuracy: state.bestValAccuracy, losses: run.losses };
}
