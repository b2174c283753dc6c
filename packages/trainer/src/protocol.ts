/**
 * The messages between <digit-trainer> and its training worker. One definition of each, so the
 * element and the worker cannot drift apart.
 */
import type { EpochLog, EvaluationSummary, ModelCard, Preset } from '@digitlab/models';
import type { BackendTrial, BackendPreference, BrowserMode } from './modes.ts';

/** What the element asks the worker to train. */
export interface RunRequest {
  /** The preset as edited on the form (validated by the worker). */
  readonly preset: Preset;
  readonly backend: BackendPreference;
  /** Base URL of the MNIST IDX files (the server's /data/mnist/). */
  readonly dataUrl: string;
  /** Train on only the first n training images of the split (short runs); absent: all of them. */
  readonly trainImages?: number;
  /** Continue the run kept in IndexedDB under the same key, if there is one. */
  readonly resume: boolean;
}

/** Element → worker. */
export type ToWorker =
  | { readonly type: 'start'; readonly run: RunRequest }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'stop' }
  | { readonly type: 'predict'; readonly id: number; readonly image: Float32Array };

/** One point of the per-batch curves: x in epochs (fractional). */
export interface CurvePoint {
  readonly x: number;
  readonly loss: number;
  readonly accuracy: number;
}

/** Live numbers after every optimizer step. */
export interface BatchProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly point: CurvePoint;
  /** Images per second of this epoch so far, paused time excluded. */
  readonly imagesPerSecond: number;
  /** Seconds left for the remaining steps at that rate (validation passes not included). */
  readonly etaSeconds: number;
}

/** A misclassified test digit, for the gallery. */
export interface Misclassified {
  readonly index: number;
  readonly label: number;
  readonly predicted: number;
  /** Its 784 pixels in [0, 1]. */
  readonly image: Float32Array;
}

/** What a finished run hands back. */
export interface RunResult {
  readonly test: EvaluationSummary;
  readonly card: ModelCard;
  /** The safetensors file the card describes. */
  readonly weights: Uint8Array;
  /** The first misclassified test digits (at most MISCLASSIFIED_SHOWN). */
  readonly misclassified: readonly Misclassified[];
  readonly seconds: number;
  /** True when stop ended training before the planned epochs. */
  readonly stoppedEarly: boolean;
}

/** Worker → element. */
export type FromWorker =
  | { readonly type: 'backend'; readonly mode: BrowserMode; readonly trials: readonly BackendTrial[] }
  | { readonly type: 'status'; readonly text: string }
  | { readonly type: 'resumed'; readonly epoch: number; readonly step: number; readonly history: readonly EpochLog[]; readonly curve: readonly CurvePoint[] }
  | { readonly type: 'batch'; readonly progress: BatchProgress }
  | { readonly type: 'epoch'; readonly log: EpochLog }
  | { readonly type: 'paused' }
  | { readonly type: 'running' }
  | { readonly type: 'done'; readonly result: RunResult }
  | { readonly type: 'prediction'; readonly id: number; readonly probabilities: Float32Array }
  | { readonly type: 'error'; readonly message: string };

/** Misclassified test digits a result carries for the gallery. */
export const MISCLASSIFIED_SHOWN = 48;
