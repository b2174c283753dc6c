/**
 * The element's side of local mode: starts the engine worker (dist/element-local.js, fetched only
 * now, so an element in server mode never loads the engine), hands it images and shapes its
 * answers as the server's `/predict` answers are shaped, with where and on what they ran.
 */
import type { ImagePrediction, ModelAnswer, PredictResponse } from '../predict-client.ts';
import type { BrowserMode } from './modes.ts';
import type { EngineInfo, FromWorker, ModelUrls, ToWorker } from './protocol.ts';

/** The engine worker's file, beside the element's own bundle. */
export const LOCAL_BUNDLE = 'element-local.js';

/** Where an answer was computed and whether what computed it was checked. */
export interface Provenance {
  /** `local`: in this browser; `server`: by the server at `endpoint`. */
  where: 'local' | 'server';
  /** The gpu.js backend that ran (`webgpu`, `webgl2`, `webasm`), or null for the server (its `/health` says). */
  backend: BrowserMode | null;
  /** The gpu.js kernel class that ran, e.g. `WebGPUKernel` (null for the server). */
  kernelClass: string | null;
  /**
   * Local: the weights matched their card's sha256 and the backend computed its probe right on the
   * kernel class it promises. Server: it checks its weights' sha256 at start and refuses to start
   * otherwise.
   */
  checked: boolean;
}

/** A `/predict`-shaped answer with its provenance: the `prediction` event's detail. */
export type LocatedResponse = PredictResponse & Provenance;

/** The engine could not start here (no backend passed, the weights did not match, the server did not hand them over). */
export class LocalUnavailableError extends Error {
  override readonly name = 'LocalUnavailableError';
  constructor(
    message: string,
    /** INTEGRITY, NO_BACKEND, LOAD_FAILED or NO_WORKER. */
    readonly code: string,
  ) {
    super(message);
  }
}

/** The cards' and weights' URLs for a server whose `/predict` is `endpoint`. */
export function modelUrls(endpoint: string, baseUri: string): ModelUrls {
  const predict = new URL(endpoint, baseUri);
  const at = (path: string): string => new URL(path, predict).href;
  return {
    cnn: { card: at('models/cnn'), weights: at('models/cnn/weights') },
    vit: { card: at('models/vit'), weights: at('models/vit/weights') },
  };
}

/** One engine worker with both models loaded on one backend. */
export class LocalEngine {
  /** Resolves once the models are loaded and checked; rejects with LocalUnavailableError. */
  readonly ready: Promise<EngineInfo>;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Extract<FromWorker, { type: 'answer' }>) => void; reject: (e: Error) => void }>();
  private info: EngineInfo | null = null;

  /** Starts the worker from `workerUrl` and loads the models of the server at `endpoint`, on `force` or the backend the probes choose. */
  constructor(workerUrl: string | URL, urls: ModelUrls, force?: BrowserMode) {
    let settle!: { resolve: (i: EngineInfo) => void; reject: (e: Error) => void };
    this.ready = new Promise<EngineInfo>((resolve, reject) => (settle = { resolve, reject }));
    // a failed load is the caller's to handle when it asks; never an unhandled rejection
    this.ready.catch(() => undefined);
    this.worker = new Worker(workerUrl, { type: 'module', name: 'digit-classifier engine' });
    this.worker.onerror = (event) => {
      event.preventDefault();
      const error = new LocalUnavailableError(`the engine worker did not start (${event.message || 'its script could not be loaded'})`, 'NO_WORKER');
      settle.reject(error);
      this.failAll(error);
    };
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const m = event.data;
      if (m.type === 'ready') {
        this.info = m;
        settle.resolve(m);
      } else if (m.type === 'load-failed') {
        settle.reject(new LocalUnavailableError(m.message, m.code));
      } else {
        const waiting = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.type === 'answer') waiting?.resolve(m);
        else waiting?.reject(new LocalUnavailableError(m.message, 'FAILED'));
      }
    };
    this.post({ type: 'load', urls, ...(force ? { force } : {}) });
  }

  /** True once the models are loaded and checked. */
  get isReady(): boolean {
    return this.info !== null;
  }

  /** What the models run on (null until ready). */
  get engine(): EngineInfo | null {
    return this.info;
  }

  /** Both models' answers for `count` images, shaped as `/predict`'s (with `explain`, each image's maps too), with where and on what they ran. */
  async predict(images: Float32Array, count: number, labels: readonly (number | null)[], explain = false): Promise<LocatedResponse> {
    const info = await this.ready;
    const id = this.nextId++;
    const answer = await new Promise<Extract<FromWorker, { type: 'answer' }>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // a copy: the caller keeps showing its images
      this.post({ type: 'predict', id, images: images.slice(0, count * 784), count, ...(explain ? { explain } : {}) });
    });
    const predictions: ImagePrediction[] = [];
    for (let i = 0; i < count; i++) {
      const cnn = answerOf(answer.cnn, i);
      const vit = answerOf(answer.vit, i);
      predictions.push({
        index: i,
        cnn,
        vit,
        agree: cnn && vit ? cnn.digit === vit.digit : null,
        uncertain: answer.uncertain[i] ?? false,
        lowConfidence: answer.lowConfidence[i] ?? [],
        label: labels[i] ?? null,
        ...(answer.explanations?.[i] ? { explanation: answer.explanations[i] } : {}),
      } as ImagePrediction);
    }
    return {
      predictions,
      count,
      timings: { totalMs: Math.round(answer.ms * 10) / 10 },
      models: { cnn: info.versions.cnn ?? null, vit: info.versions.vit ?? null },
      where: 'local',
      backend: answer.backend,
      kernelClass: answer.kernelClass,
      checked: true,
    };
  }

  /** Stops the worker; requests in flight fail. */
  close(): void {
    this.worker.terminate();
    this.failAll(new LocalUnavailableError('the engine was stopped', 'STOPPED'));
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }
}

function answerOf(probabilities: Float32Array | null, index: number): ModelAnswer | null {
  if (!probabilities) return null;
  const row = Array.from(probabilities.subarray(index * 10, index * 10 + 10));
  let digit = 0;
  for (let d = 1; d < 10; d++) if (row[d] > row[digit]) digit = d;
  return { digit, probabilities: row };
}

/** How an answer's provenance reads in the element: "ran in this browser on WebGPU, checked". */
export function describeProvenance(p: Provenance): string {
  if (p.where === 'server') return 'answered by the server';
  const name = p.backend === 'webgpu' ? 'WebGPU' : p.backend === 'webgl2' ? 'WebGL2' : 'WebAssembly';
  return `ran in this browser on ${name}${p.checked ? ', checked' : ''}`;
}
