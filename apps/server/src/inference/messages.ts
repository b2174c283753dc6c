// The messages between the HTTP thread and a model's worker thread: one definition for both sides.
import type { ExplanationKind, Mode, ModelCard, ModelName } from '@digitlab/models';

/** What a worker is started with (its workerData). */
export interface WorkerSetup {
  /** URL of worker.ts, which WORKER_BOOT (@digitlab/models) imports. */
  readonly entry: string;
  readonly name: ModelName;
  readonly weightsDir: string;
  readonly backend: Mode;
  /** Threads of the async backend's pool inside this worker (undefined: the engine's default). */
  readonly poolSize?: number;
  /** Compile every batch bucket at load (and the explanation pass, in a worker that `explains`). */
  readonly warm: boolean;
  /** The worker serves explained requests (the server's explanation queue): with `warm`, its explanation pass compiles at load too. */
  readonly explains: boolean;
  /** How much lower than the HTTP thread's the worker's CPU priority is (nice steps, 0-19). */
  readonly nice: number;
}

/** HTTP thread -> worker: classify `count` images (count x 784 values in [0, 1]). */
export interface PredictMessage {
  readonly type: 'predict';
  readonly id: number;
  readonly images: Float32Array;
  readonly count: number;
  /** Also send each image's explanation map (see Explained). */
  readonly explain?: boolean;
}

/** The model's explanation of a run of images: what its maps show, and count x 784 weights in [0, 1]. */
export interface Explained {
  readonly kind: ExplanationKind;
  readonly maps: Float32Array;
}

/** Worker -> HTTP thread, once: the model is loaded and every batch bucket compiled. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly card: ModelCard;
  readonly loadMs: number;
  readonly warmMs: number;
}

/** Worker -> HTTP thread, once: the model could not be loaded. */
export interface FailedMessage {
  readonly type: 'failed';
  /** The error class name, so WeightsError stays a WeightsError on the other side. */
  readonly errorName: string;
  readonly message: string;
}

/** Worker -> HTTP thread: the answer to one PredictMessage. */
export interface ResultMessage {
  readonly type: 'result';
  readonly id: number;
  /** count x 10 probabilities. */
  readonly probabilities: Float32Array;
  /** The images' maps, when the message asked to explain them. */
  readonly explained?: Explained;
  /** Milliseconds the model computed (without the wait in the worker's own queue). */
  readonly ms: number;
  /** Whether kernels compiled during it (a first use without warm-up): then ms measures the compile, not the model. */
  readonly compiled: boolean;
}

/** Worker -> HTTP thread: one PredictMessage failed. */
export interface PredictErrorMessage {
  readonly type: 'predict-error';
  readonly id: number;
  readonly message: string;
}

export type FromWorker = ReadyMessage | FailedMessage | ResultMessage | PredictErrorMessage;
