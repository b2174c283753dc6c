import { Backend, type Mode } from '@digitlab/tensor';
import type { Preset } from './config.js';
import { loadMnist } from './mnist.js';
import type { Model } from './model.js';
import { runFolder } from './run-folder.js';
import { decodeCheckpoint } from './state.js';
import { type LoopOptions, type LoopResult, resumeRun, runLoop, splitTraining, startRun } from './train-loop.js';

/** Options of a training run. */
export interface TrainOptions extends LoopOptions {
  readonly preset: Preset;
  /** Folder for the run's files (RUN_FILES), resumed from when it holds a checkpoint. */
  readonly runDir: string;
  readonly backend: Mode;
  readonly poolSize?: number;
  /** Use only the first n training images (tests). */
  readonly limitTrain?: number;
  readonly log?: (line: string) => void;
}

/** What train() returns. */
export interface TrainResult extends LoopResult {
  readonly model: Model;
}

/**
 * Trains a model from a preset with AdamW, a validation split, the best-validation weights
 * kept, and resumable checkpoints written atomically (a kill loses at most checkpointSeconds):
 * a run folder that holds a checkpoint is resumed from it.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const store = runFolder(opts.runDir);
  const run = startRun(opts.preset, splitTraining(loadMnist('train'), opts.preset.train, opts.limitTrain), opts.backend);
  const saved = await store.readCheckpoint();
  if (saved) resumeRun(run, decodeCheckpoint(saved), store.where, opts.log);
  const be = new Backend(opts.backend, { poolSize: opts.poolSize });
  try {
    return { model: run.model, ...(await runLoop(run, be, store, opts)) };
  } finally {
    be.destroy();
  }
}
