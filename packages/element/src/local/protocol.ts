/** The messages between the element (local-client.ts) and its engine worker (worker.ts). */
import type { ModeTrial } from '@digitlab/tensor';
import type { Explanations } from '../explanation-overlay.ts';
import type { BrowserMode } from './modes.ts';

/** Where each model's card and weights are (absolute URLs). */
export interface ModelUrls {
  readonly cnn: { readonly card: string; readonly weights: string };
  readonly vit: { readonly card: string; readonly weights: string };
}

export type ToWorker =
  | { readonly type: 'load'; readonly urls: ModelUrls; readonly force?: BrowserMode }
  | {
      readonly type: 'predict';
      readonly id: number;
      readonly images: Float32Array;
      readonly count: number;
      /** One model only (benchmarks); both by default. */
      readonly only?: 'cnn' | 'vit';
      /** Also each model's map of each image (the Why view). */
      readonly explain?: boolean;
    };

/** What ran: the backend, the gpu.js kernel class, and how the choice went. */
export interface EngineInfo {
  readonly backend: BrowserMode;
  readonly kernelClass: string;
  readonly trials: readonly ModeTrial[];
  readonly versions: Partial<Record<'cnn' | 'vit', string>>;
  /** Milliseconds from the load message to ready: fetching, checking, probing, compiling. */
  readonly loadMs: number;
}

export type FromWorker =
  | ({ readonly type: 'ready' } & EngineInfo)
  | { readonly type: 'load-failed'; readonly message: string; readonly code: string }
  | {
      readonly type: 'answer';
      readonly id: number;
      readonly cnn: Float32Array | null;
      readonly vit: Float32Array | null;
      readonly uncertain: boolean[];
      readonly lowConfidence: string[][];
      readonly ms: number;
      /** The backend that computed this answer (another than at load when the first one failed since). */
      readonly backend: BrowserMode;
      readonly kernelClass: string;
      /** With `explain`: per image, each model's map, as the server's `?explain=1` gives them. */
      readonly explanations?: Explanations[];
    }
  | { readonly type: 'failed'; readonly id: number; readonly message: string };
