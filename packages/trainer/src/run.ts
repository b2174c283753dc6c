/**
 * A training run as the browser trainer runs it, with no file system: the data comes in as
 * arrays, checkpoints go to a CheckpointStore (IndexedDB in a browser), progress to callbacks.
 * The loop is @digitlab/models' runLoop, the CLI's own: the same seeded model, split, shuffles,
 * steps, validation and best-keeping; this adds pause, stop-and-keep and the per-batch curve.
 */
import { type Backend, noGrad, Tensor } from '@digitlab/tensor';
import {
  type EpochLog, type MnistData, type Model, type ModelCard, type Preset, type RunStore, MNIST_PIXELS, MNIST_SIDE, calibrateModel, decodeCheckpoint, decodeSafetensors,
  loadParams, modelCard, resumeRun, runLoop, shippedWeights, softmaxRows, splitTraining, startRun, summarize, validatePreset,
} from '@digitlab/models';
import type { BatchProgress, CurvePoint, Misclassified, RunResult } from './protocol.ts';
import { MISCLASSIFIED_SHOWN } from './protocol.ts';

/** What a run keeps at the end of an epoch to continue after a reload. */
export interface Checkpoint {
  readonly key: string;
  readonly preset: Preset;
  readonly trainImages: number | null;
  /** Epochs done. */
  readonly epoch: number;
  readonly history: EpochLog[];
  /** The run as @digitlab/models checkpoints it (encodeCheckpoint): weights, moments, image order, counters. */
  readonly run: Uint8Array;
  /** The best epoch's weights (safetensors), or null before the first epoch ends. */
  readonly best: Uint8Array | null;
  readonly curve: CurvePoint[];
}

/** Where checkpoints live between page loads. */
export interface CheckpointStore {
  load(key: string): Promise<Checkpoint | null>;
  save(checkpoint: Checkpoint): Promise<void>;
  remove(key: string): Promise<void>;
}

/** What a run reports while it goes. */
export interface RunEvents {
  onStatus?(text: string): void;
  onResumed?(c: Checkpoint): void;
  onBatch?(p: BatchProgress): void;
  onEpoch?(log: EpochLog): void;
}

/** The inputs of a run. */
export interface RunOptions {
  readonly preset: Preset;
  /** The 60,000 official training images (the validation split is taken from them, seeded). */
  readonly train: MnistData;
  /** The 10,000 test images, only for the final evaluation. */
  readonly test: MnistData;
  readonly backend: Backend;
  /** The backend's name for the card. */
  readonly backendName: string;
  /** The machine for the card, e.g. "2 cores, Chromium 156". */
  readonly machine: string;
  readonly trainImages?: number;
  readonly store: CheckpointStore;
  readonly resume: boolean;
  /** Lets queued messages (pause, stop) in between steps. */
  readonly yieldToEvents?: () => Promise<void>;
}

/** Per-batch curve points kept (older ones thinned), so long runs stay cheap to draw and to store. */
export const CURVE_POINTS = 1200;

/** The IndexedDB key of a run: its preset and data, so a changed form starts afresh. */
export function runKey(preset: Preset, trainImages?: number): string {
  return JSON.stringify({ preset, trainImages: trainImages ?? null });
}

/** Resolves on the next turn of the event loop (a MessageChannel round trip: no timer clamping). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(0);
  });
}

/** A training run that can be paused, resumed and stopped between steps. */
export class TrainingRun {
  private paused = false;
  private readonly stopping = new AbortController();
  private wake: (() => void) | null = null;
  private readonly yieldToEvents: () => Promise<void>;

  constructor(
    private readonly o: RunOptions,
    private readonly events: RunEvents = {},
  ) {
    this.yieldToEvents = o.yieldToEvents ?? nextTurn;
  }

  /** Holds the run after the current step. */
  pause(): void {
    this.paused = true;
  }

  /** Continues a paused run. */
  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  /** Ends training after the current step; the run then evaluates what it has. */
  stop(): void {
    this.stopping.abort();
    this.resume();
  }

  /** Trains, evaluates the kept epoch on the test set and returns its weights and model card. */
  async run(): Promise<RunResult> {
    const { preset, backend: be } = this.o;
    validatePreset(preset, 'the trainer form');
    const t = preset.train;
    const key = runKey(preset, this.o.trainImages);
    const data = splitTraining(this.o.train, t, this.o.trainImages);
    const run = startRun(preset, data, this.o.backendName);
    let best: Uint8Array | null = null;
    let curve: CurvePoint[] = [];

    const saved = this.o.resume ? await this.o.store.load(key) : null;
    // a record of another shape (an older page) is not resumed
    if (saved && saved.run instanceof Uint8Array) {
      resumeRun(run, decodeCheckpoint(saved.run), 'the run kept in this browser');
      best = saved.best;
      curve = [...saved.curve];
      this.events.onResumed?.(saved);
    } else {
      await this.o.store.remove(key);
    }

    const store: RunStore = {
      where: 'IndexedDB',
      readCheckpoint: () => undefined,
      writeCheckpoint: (bytes) =>
        this.o.store.save({ key, preset, trainImages: this.o.trainImages ?? null, epoch: run.state.epoch, history: [...run.state.history], run: bytes, best, curve: [...curve] }),
      writeBest: (weights) => void (best = weights),
      appendEpoch: () => {},
    };
    const loop = await runLoop(run, be, store, {
      checkpointSeconds: Infinity, // an epoch's end: the page resumes from whole epochs
      signal: this.stopping.signal,
      endWithPartialEpoch: true,
      beforeStep: async () => {
        await this.yieldToEvents();
        while (this.paused && !this.stopping.signal.aborted) await new Promise<void>((resolve) => (this.wake = resolve));
      },
      onProgress: (p) => {
        const point = { x: p.epoch - 1 + p.step / p.steps, loss: p.stepLoss, accuracy: p.stepAccuracy };
        curve.push(point);
        if (curve.length > CURVE_POINTS) curve = curve.filter((_, i) => i % 2 === 0 || i === curve.length - 1);
        const left = (p.epochs - p.epoch + 1) * p.steps - p.step;
        this.events.onBatch?.({ epoch: p.epoch, epochs: p.epochs, step: p.step, steps: p.steps, point, imagesPerSecond: p.imagesPerSecond, etaSeconds: left * (t.batchSize / p.imagesPerSecond) });
        if (p.step === p.steps) this.events.onStatus?.(`validating on ${data.validation.count} images`);
      },
      onEpoch: (log) => this.events.onEpoch?.(log),
    });
    if (!best) throw new Error('stopped before the first step: nothing to evaluate');
    const model = run.model;
    loadParams(model, decodeSafetensors(best).tensors);
    this.events.onStatus?.(`testing on ${this.o.test.count} images`);
    const measured = await calibrateModel(be, model, t, this.o.test, data.validation);
    const test = summarize(measured.test, this.o.test.labels);
    const name = preset.model.kind;
    const weights = shippedWeights(name, preset, model);
    const { epoch, bestEpoch, seconds, history } = run.state;
    let card: ModelCard = modelCard({
      name, preset, model, epochs: epoch, bestEpoch, seconds, backend: this.o.backendName, machine: this.o.machine, history,
      weights: { sha256: await sha256Hex(weights), bytes: weights.length }, test, calibration: measured.calibration, uncertainty: measured.uncertainty,
    });
    if (data.count < data.train.count) {
      card = { ...card, training: { ...card.training, data: `${card.training.data}; only the first ${data.count} of the ${data.train.count} training images were used` } };
    }
    const misclassified: Misclassified[] = test.misclassified.slice(0, MISCLASSIFIED_SHOWN).map((i) => ({
      index: i, label: this.o.test.labels[i], predicted: measured.test.predictions[i], image: this.o.test.images.slice(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS),
    }));
    await this.o.store.remove(key);
    this.predictor = { model, temperature: measured.calibration.temperature };
    return { test, card, weights, misclassified, seconds, stoppedEarly: !loop.finished };
  }

  private predictor: { model: Model; temperature: number } | null = null;

  /** Calibrated class probabilities of one 28×28 image from the trained model (after run()). */
  async predict(image: Float32Array): Promise<Float32Array> {
    const p = this.predictor;
    if (!p) throw new Error('no trained model yet');
    const logits = await noGrad(() => p.model.forward(this.o.backend, new Tensor([1, 1, MNIST_SIDE, MNIST_SIDE], image.slice(0, MNIST_PIXELS)), { training: false }));
    return softmaxRows(logits.data, 1, 10, p.temperature);
  }
}

/** Hex SHA-256 of bytes through Web Crypto (browsers and Node alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
