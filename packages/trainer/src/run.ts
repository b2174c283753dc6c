/**
 * A training run as the browser trainer runs it, with no file system: the data comes in as
 * arrays, checkpoints go to a CheckpointStore (IndexedDB in a browser), progress to callbacks.
 * It follows the CLI's train() step for step: the same seeded model, split, shuffles and
 * optimizer step (`trainStep` from @digitlab/models), the best-validation epoch kept and shipped.
 */
import { Adam, type Backend, Rng, noGrad, Tensor } from '@digitlab/tensor';
import {
  type EpochLog, type MnistData, type ModelCard, type Preset, augmentOf, buildModel, calibrateModel, evaluateModel, learningRate, modelCard,
  shippedWeights, softmaxRows, splitValidation, summarize, trainStep, validatePreset,
} from '@digitlab/models';
import type { BatchProgress, CurvePoint, Misclassified, RunResult } from './protocol.ts';
import { MISCLASSIFIED_SHOWN } from './protocol.ts';

/** Everything a run keeps at the end of an epoch to continue after a reload. */
export interface Checkpoint {
  readonly key: string;
  readonly preset: Preset;
  readonly trainImages: number | null;
  readonly epoch: number;
  readonly history: EpochLog[];
  readonly bestValAccuracy: number;
  readonly bestEpoch: number;
  readonly seconds: number;
  readonly rng: number[];
  readonly optimizerStep: number;
  readonly params: Float32Array[];
  readonly m: Float32Array[];
  readonly v: Float32Array[];
  readonly best: Float32Array[] | null;
  readonly perm: Int32Array;
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

const copies = (xs: readonly Float32Array[]): Float32Array[] => xs.map((x) => x.slice());

/** A training run that can be paused, resumed and stopped between steps. */
export class TrainingRun {
  private paused = false;
  private stopped = false;
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
    this.stopped = true;
    this.resume();
  }

  /** Trains, evaluates the kept epoch on the test set and returns its weights and model card. */
  async run(): Promise<RunResult> {
    const { preset, backend: be } = this.o;
    validatePreset(preset, 'the trainer form');
    const t = preset.train;
    const key = runKey(preset, this.o.trainImages);
    const model = buildModel(preset.model, t.seed);
    const params = [...model.params.values()];
    const opt = new Adam(params, { lr: t.lr, weightDecay: t.weightDecay, noDecay: model.noDecay });
    const rng = new Rng(t.seed + 1);
    const { train: trainSet, validation } = splitValidation(this.o.train, t.validation, t.seed);
    const trainCount = Math.min(trainSet.count, this.o.trainImages ?? Infinity);
    const steps = Math.floor(trainCount / t.batchSize);
    if (steps < 1) throw new Error(`batch size ${t.batchSize} is larger than the ${trainCount} training images`);
    let perm = Int32Array.from({ length: trainCount }, (_, i) => i);
    let epoch = 0;
    let history: EpochLog[] = [];
    let bestValAccuracy = -1;
    let bestEpoch = 0;
    let best: Float32Array[] | null = null;
    let seconds = 0;
    let curve: CurvePoint[] = [];

    const saved = this.o.resume ? await this.o.store.load(key) : null;
    if (saved) {
      params.forEach((p, i) => p.data.set(saved.params[i]));
      opt.loadState({ step: saved.optimizerStep, slots: [saved.m, saved.v] });
      rng.setState(saved.rng);
      perm = Int32Array.from(saved.perm);
      ({ epoch, bestValAccuracy, bestEpoch, seconds } = saved);
      history = [...saved.history];
      best = saved.best;
      curve = [...saved.curve];
      this.events.onResumed?.(saved);
    } else {
      await this.o.store.remove(key);
    }

    const step = { be, model, opt, train: t, augment: augmentOf(t), rng, batch: new Float32Array(t.batchSize * 784), labels: new Uint8Array(t.batchSize) };
    let stoppedEarly = false;
    while (epoch < t.epochs && !this.stopped) {
      rng.shuffle(perm);
      let lossSum = 0;
      let correct = 0;
      let done = 0;
      let busy = 0; // seconds spent stepping this epoch, pauses excluded
      for (let s = 0; s < steps; s++) {
        await this.yieldToEvents();
        while (this.paused && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
        if (this.stopped) break;
        const t0 = performance.now();
        const r = await trainStep(step, trainSet, perm.subarray(s * t.batchSize, (s + 1) * t.batchSize), learningRate(t, epoch + s / steps), `at epoch ${epoch + 1} step ${s}`);
        busy += (performance.now() - t0) / 1000;
        lossSum += r.loss * t.batchSize;
        correct += r.correct;
        done++;
        const point = { x: epoch + (s + 1) / steps, loss: r.loss, accuracy: r.correct / t.batchSize };
        curve.push(point);
        if (curve.length > CURVE_POINTS) curve = curve.filter((_, i) => i % 2 === 0 || i === curve.length - 1);
        const ips = (done * t.batchSize) / Math.max(busy, 1e-9);
        this.events.onBatch?.({ epoch: epoch + 1, epochs: t.epochs, step: s + 1, steps, point, imagesPerSecond: ips, etaSeconds: ((t.epochs - epoch) * steps - (s + 1)) * (t.batchSize / ips) });
      }
      if (done === 0) break;
      if (done < steps) stoppedEarly = true;
      this.events.onStatus?.(`validating on ${validation.count} images`);
      const t0 = performance.now();
      const val = await evaluateModel(be, model, validation);
      seconds += busy + (performance.now() - t0) / 1000;
      const isBest = val.accuracy > bestValAccuracy;
      const log: EpochLog = {
        epoch: epoch + 1, lr: opt.lr, trainLoss: lossSum / (done * t.batchSize), trainAccuracy: correct / (done * t.batchSize),
        valLoss: val.loss, valAccuracy: val.accuracy, seconds: busy + (performance.now() - t0) / 1000, imagesPerSecond: (done * t.batchSize) / Math.max(busy, 1e-9), best: isBest,
      };
      if (isBest) {
        bestValAccuracy = val.accuracy;
        bestEpoch = epoch + 1;
        best = copies(params.map((p) => p.data));
      }
      history.push(log);
      epoch++;
      this.events.onEpoch?.(log);
      if (!stoppedEarly) {
        const os = opt.state();
        await this.o.store.save({
          key, preset, trainImages: this.o.trainImages ?? null, epoch, history, bestValAccuracy, bestEpoch, seconds, rng: rng.state(), optimizerStep: os.step,
          params: copies(params.map((p) => p.data)), m: copies(os.slots[0]), v: copies(os.slots[1]), best, perm: perm.slice(), curve,
        });
      }
    }
    if (!best) throw new Error('stopped before the first step: nothing to evaluate');
    params.forEach((p, i) => p.data.set(best![i]));
    this.events.onStatus?.(`testing on ${this.o.test.count} images`);
    const measured = await calibrateModel(be, model, t, this.o.test, validation);
    const test = summarize(measured.test, this.o.test.labels);
    const name = preset.model.kind;
    const weights = shippedWeights(name, preset, model);
    let card: ModelCard = modelCard({
      name, preset, model, epochs: epoch, bestEpoch, seconds, backend: this.o.backendName, machine: this.o.machine, history,
      weights: { sha256: await sha256Hex(weights), bytes: weights.length }, test, calibration: measured.calibration, uncertainty: measured.uncertainty,
    });
    if (trainCount < trainSet.count) {
      card = { ...card, training: { ...card.training, data: `${card.training.data}; only the first ${trainCount} of the ${trainSet.count} training images were used` } };
    }
    const misclassified: Misclassified[] = test.misclassified.slice(0, MISCLASSIFIED_SHOWN).map((i) => ({
      index: i, label: this.o.test.labels[i], predicted: measured.test.predictions[i], image: this.o.test.images.slice(i * 784, (i + 1) * 784),
    }));
    await this.o.store.remove(key);
    this.predictor = { model, temperature: measured.calibration.temperature };
    return { test, card, weights, misclassified, seconds, stoppedEarly };
  }

  private predictor: { model: ReturnType<typeof buildModel>; temperature: number } | null = null;

  /** Calibrated class probabilities of one 28×28 image from the trained model (after run()). */
  async predict(image: Float32Array): Promise<Float32Array> {
    const p = this.predictor;
    if (!p) throw new Error('no trained model yet');
    const logits = await noGrad(() => p.model.forward(this.o.backend, new Tensor([1, 1, 28, 28], image.slice(0, 784)), { training: false }));
    return softmaxRows(logits.data, 1, 10, p.temperature);
  }
}

/** Hex SHA-256 of bytes through Web Crypto (browsers and Node alike). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
