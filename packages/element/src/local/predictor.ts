/**
 * Chooses where each request runs, by the element's `mode`: `server` posts to `/predict`;
 * `local` runs both models in this browser (local-client.ts); `auto` runs locally once the engine
 * has loaded and checked its models, and asks the server instead while the engine cannot (it
 * failed to load, or every backend that passed its probe failed since).
 */
import { PredictError, type PredictResponse } from '../predict-client.ts';
import type { BrowserMode } from './modes.ts';
import { LOCAL_BUNDLE, LocalEngine, LocalUnavailableError, modelUrls, type LocatedResponse } from './local-client.ts';

/** Where the element computes its answers. */
export type PredictMode = 'server' | 'local' | 'auto';
export const PREDICT_MODES: readonly PredictMode[] = ['server', 'local', 'auto'];

/** What the predictor needs of the element. */
export interface PredictorHost {
  readonly endpoint: string;
  readonly predictMode: PredictMode;
  /** A backend to force in local mode, or null to choose by probe. */
  readonly forcedBackend: BrowserMode | null;
}

/** Images a local run answers between two progress reports. */
const LOCAL_STEP = 256;

/** The error code of a local failure: the element words it as one. */
export const LOCAL_FAILED = 'LOCAL_UNAVAILABLE';

/** One element's engine (started on first use) and its choice of where to run. */
export class Predictor {
  private engine: LocalEngine | null = null;
  private engineKey = '';
  /** Why the engine cannot answer (auto then asks the server), for the engine of engineKey. */
  private localError: Error | null = null;

  constructor(private readonly host: PredictorHost) {}

  /** Whether a local-mode answer now waits for the models to load into this browser. */
  get loadingLocally(): boolean {
    return this.host.predictMode === 'local' && this.engine !== null && !this.engine.isReady && this.localError === null;
  }

  /** Starts loading the engine ahead of the first request (local and auto modes). */
  prepare(): void {
    if (this.host.predictMode !== 'server') this.engineFor();
  }

  /** Answers `count` images where the mode says; `server` sends them to `/predict`. With `explain`, a local answer carries each image's maps as the server's `?explain=1` does. */
  async predict(
    images: Float32Array,
    count: number,
    labels: readonly (number | null)[],
    server: () => Promise<PredictResponse>,
    onProgress?: (answered: LocatedResponse['predictions'], total: number) => void,
    explain = false,
  ): Promise<LocatedResponse> {
    const mode = this.host.predictMode;
    if (mode === 'server') return fromServer(await server());
    const engine = this.engineFor();
    // auto does not wait for the engine: the server answers until the models are loaded and checked here
    if (mode === 'auto' && (!engine || this.localError || !engine.isReady)) return fromServer(await server());
    try {
      if (!engine) throw this.localError!;
      return await runLocally(engine, images, count, labels, onProgress, explain);
    } catch (error) {
      if (!(error instanceof LocalUnavailableError)) throw error;
      this.localError = error;
      if (mode === 'auto') return fromServer(await server());
      throw new PredictError(error.message, 0, LOCAL_FAILED);
    }
  }

  /** Stops the engine worker. */
  close(): void {
    this.engine?.close();
    this.engine = null;
    this.engineKey = '';
  }

  /** The engine for the current endpoint and backend (started now if need be); null where none can run. */
  private engineFor(): LocalEngine | null {
    const urls = modelUrls(this.host.endpoint, document.baseURI);
    const key = `${urls.cnn.card} ${this.host.forcedBackend ?? ''}`;
    if (key === this.engineKey) return this.engine;
    this.close();
    this.engineKey = key;
    this.localError = null;
    if (!globalThis.isSecureContext || typeof Worker === 'undefined') {
      // SubtleCrypto (the weights' check) and WebGPU exist only on https:// and localhost pages
      this.localError = new LocalUnavailableError('this page is not a secure context (https:// or localhost), where the weights can be checked', 'INSECURE');
      return null;
    }
    const engine = new LocalEngine(new URL(LOCAL_BUNDLE, import.meta.url), urls, this.host.forcedBackend ?? undefined);
    engine.ready.catch((error: Error) => {
      if (this.engine === engine) this.localError = error;
    });
    this.engine = engine;
    return engine;
  }
}

function fromServer(response: PredictResponse): LocatedResponse {
  return { ...response, where: 'server', backend: null, kernelClass: null, checked: true };
}

/** The images in steps of LOCAL_STEP, answers reported as they come, as one response. */
async function runLocally(
  engine: LocalEngine,
  images: Float32Array,
  count: number,
  labels: readonly (number | null)[],
  onProgress?: (answered: LocatedResponse['predictions'], total: number) => void,
  explain = false,
): Promise<LocatedResponse> {
  if (count <= LOCAL_STEP) return engine.predict(images, count, labels, explain);
  let last: LocatedResponse | null = null;
  const predictions: LocatedResponse['predictions'] = [];
  let totalMs = 0;
  for (let start = 0; start < count; start += LOCAL_STEP) {
    const n = Math.min(LOCAL_STEP, count - start);
    last = await engine.predict(images.subarray(start * 784, (start + n) * 784), n, labels.slice(start, start + n));
    last.predictions.forEach((p, i) => predictions.push({ ...p, index: start + i }));
    totalMs += last.timings?.totalMs ?? 0;
    onProgress?.(predictions, count);
  }
  return { ...last!, predictions, count, timings: { totalMs: Math.round(totalMs * 10) / 10 } };
}
