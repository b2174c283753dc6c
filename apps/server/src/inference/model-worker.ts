// The HTTP thread's handle on one model's worker thread: start it, send it batches, stop it.
import { setTimeout as delay } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { PIXELS } from '@digitlab/digit-csv';
import { WORKER_BOOT, WeightsError, type ModelCard, type ModelName } from '@digitlab/models';
import type { FromWorker, WorkerSetup } from './messages.js';
import type { RunnerResult } from './runner.js';

const ENTRY = new URL('./worker.ts', import.meta.url).href;
/** Longest close() waits for the thread to stop. */
const TERMINATE_TIMEOUT_MS = 10_000;

/** A model running in its own thread; predict() resolves with count x 10 probabilities. */
export class ModelWorker {
  private readonly pending = new Map<number, { resolve(value: RunnerResult): void; reject(error: Error): void }>();
  private nextId = 0;
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly name: ModelName,
    readonly card: ModelCard,
    /** Milliseconds reading, checking and building the model took. */
    readonly loadMs: number,
    /** Milliseconds compiling every batch bucket took. */
    readonly warmMs: number,
  ) {
    worker.on('message', (message: FromWorker) => {
      if (message.type !== 'result' && message.type !== 'predict-error') return;
      const job = this.pending.get(message.id);
      if (job === undefined) return;
      this.pending.delete(message.id);
      if (message.type === 'result') job.resolve({ probabilities: message.probabilities, ms: message.ms, compiled: message.compiled, ...(message.explained ? { explained: message.explained } : {}) });
      else job.reject(new Error(`the ${name} failed to predict: ${message.message}`));
    });
    const failAll = (error: Error): void => {
      this.exited = true;
      for (const job of this.pending.values()) job.reject(error);
      this.pending.clear();
    };
    worker.on('error', (error) => failAll(new Error(`the ${name} worker failed: ${error.message}`)));
    worker.on('exit', (code) => failAll(new Error(`the ${name} worker exited (code ${code})`)));
  }

  /**
   * Starts a worker and resolves once its model is loaded and warm; rejects with WeightsError on bad
   * weights. `signal` aborts the start: the thread is stopped and the promise rejects.
   */
  static start(setup: Omit<WorkerSetup, 'entry'>, signal?: AbortSignal): Promise<ModelWorker> {
    if (signal?.aborted === true) return Promise.reject(new Error(`the ${setup.name} worker was stopped before it started`));
    const worker = new Worker(WORKER_BOOT, { workerData: { ...setup, entry: ENTRY } satisfies WorkerSetup, name: `model-${setup.name}` });
    return new Promise((resolve, reject) => {
      const onExit = (code: number): void => reject(new Error(`the ${setup.name} worker exited (code ${code}) before its model loaded`));
      const onError = (error: Error): void => reject(new Error(`the ${setup.name} worker failed to start: ${error.message}`));
      const onAbort = (): void => {
        // a stopped start is bounded like a close: the process need not wait for the thread
        worker.unref();
        void worker.terminate();
        reject(new Error(`the ${setup.name} worker was stopped before it started`));
      };
      worker.once('exit', onExit);
      worker.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      worker.once('message', (message: FromWorker) => {
        worker.off('exit', onExit);
        worker.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (message.type === 'ready') {
          resolve(new ModelWorker(worker, setup.name, message.card, message.loadMs, message.warmMs));
        } else {
          void worker.terminate();
          const text = message.type === 'failed' ? message.message : `unexpected first message ${message.type}`;
          reject(message.type === 'failed' && message.errorName === 'WeightsError' ? new WeightsError(text) : new Error(text));
        }
      });
    });
  }

  /** Classifies count images in the worker (and explains them with `explain`); the images' buffer is copied, the caller keeps it. */
  predict(images: Float32Array, count: number, explain = false): Promise<RunnerResult> {
    if (this.exited) return Promise.reject(new Error(`the ${this.name} worker is not running`));
    const id = this.nextId++;
    const copy = images.slice(0, count * PIXELS);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'predict', id, images: copy, count, ...(explain ? { explain } : {}) }, [copy.buffer]);
    });
  }

  /** Stops the thread (pending predictions reject). */
  async close(): Promise<void> {
    this.exited = true;
    // terminate() waits for the thread (and the engine's pool threads under it) to stop; a close is
    // bounded, the thread is stopped either way and the process may exit without waiting for it
    this.worker.unref();
    await Promise.race([this.worker.terminate(), delay(TERMINATE_TIMEOUT_MS, undefined, { ref: false })]);
  }
}
