// One model's queue: requests wait here (bounded, with a deadline), are gathered into batches of up
// to maxBatch images (waiting at most maxWaitMs for company), run one batch at a time on the
// model's runner, and get their own rows of the answer back.
import { PIXELS } from '@digitlab/digit-csv';
import { ClientGoneError, OverloadError, RETRY_AFTER_S } from '../errors.js';
import type { Explained } from './messages.js';
import type { Runner } from './runner.js';

export interface BatcherOptions {
  /** Most images in one batch (requests larger than this run as a batch of their own). */
  readonly maxBatch: number;
  /** Longest a request waits for others to join its batch. */
  readonly maxWaitMs: number;
  /** Most images waiting; a request that would go over gets 503 QUEUE_FULL (an empty queue takes any request). */
  readonly maxQueue: number;
}

/** What the batcher reports as it works (the metrics). */
export interface BatcherObserver {
  batch(model: string, images: number, inferenceMs: number): void;
  waited(model: string, waitMs: number): void;
}

export interface SubmitOptions {
  /** performance.now() time after which the request is answered 503 DEADLINE_EXCEEDED instead. */
  readonly deadline: number;
  /** Aborted when the client went away: the request leaves the queue and its work is not done. */
  readonly signal?: AbortSignal;
  /** Skip the queue bound (the later parts of a file already admitted). */
  readonly admitted?: boolean;
  /** Also compute each image's explanation map. */
  readonly explain?: boolean;
}

/** One request's answer: its rows of probabilities and how it was served. */
export interface BatchAnswer {
  readonly probabilities: Float32Array;
  /** Compute time of the batch it ran in. */
  readonly inferenceMs: number;
  /** Time it waited in the queue before its batch started. */
  readonly waitMs: number;
  /** Images in the batch it ran in. */
  readonly batchImages: number;
  /** Its images' maps, when it asked to explain them (and the runner can). */
  readonly explained?: Explained;
}

interface Job {
  readonly images: Float32Array;
  readonly count: number;
  readonly explain: boolean;
  readonly enqueuedAt: number;
  settled: boolean;
  resolve(answer: BatchAnswer): void;
  reject(error: Error): void;
  cleanup(): void;
}

export class Batcher {
  private readonly queue: Job[] = [];
  private queuedImages = 0;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly runner: Runner,
    private readonly options: BatcherOptions,
    private readonly observer?: BatcherObserver,
  ) {}

  /** Images waiting (not yet in a running batch). */
  get depth(): number {
    return this.queuedImages;
  }

  /** Queues count images; resolves with their probabilities, rejects with OverloadError or ClientGoneError. */
  submit(images: Float32Array, count: number, options: SubmitOptions): Promise<BatchAnswer> {
    const name = this.runner.name;
    if (options.signal?.aborted === true) return Promise.reject(new ClientGoneError('the client went away'));
    if (options.admitted !== true && this.queuedImages > 0 && this.queuedImages + count > this.options.maxQueue) {
      return Promise.reject(
        new OverloadError(
          'QUEUE_FULL',
          `The ${name} queue is full (${this.queuedImages} images waiting, at most ${this.options.maxQueue}: QUEUE_LIMIT); retry after ${RETRY_AFTER_S} s.`,
        ),
      );
    }
    return new Promise<BatchAnswer>((resolve, reject) => {
      const remaining = options.deadline - performance.now();
      const job: Job = {
        images,
        count,
        explain: options.explain === true,
        enqueuedAt: performance.now(),
        settled: false,
        resolve: (answer) => {
          if (job.settled) return;
          job.settled = true;
          job.cleanup();
          resolve(answer);
        },
        reject: (error) => {
          if (job.settled) return;
          job.settled = true;
          job.cleanup();
          reject(error);
        },
        cleanup: () => {
          clearTimeout(deadlineTimer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      };
      const drop = (error: Error): void => {
        const at = this.queue.indexOf(job);
        if (at >= 0) {
          this.queue.splice(at, 1);
          this.queuedImages -= job.count;
        }
        job.reject(error);
        this.notifyIdle();
      };
      const onAbort = (): void => drop(new ClientGoneError('the client went away'));
      const deadlineTimer = setTimeout(
        () =>
          drop(
            new OverloadError(
              'DEADLINE_EXCEEDED',
              `The ${name} could not answer within the request deadline (REQUEST_TIMEOUT_MS); the server is busy, retry after ${RETRY_AFTER_S} s.`,
            ),
          ),
        Math.max(0, remaining),
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.queuedImages += count;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (graceful shutdown). */
  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.running || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].enqueuedAt;
    if (this.queuedImages >= this.options.maxBatch || waited >= this.options.maxWaitMs) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBatch();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.options.maxWaitMs - waited);
    }
  }

  private async runBatch(): Promise<void> {
    const jobs: Job[] = [];
    let images = 0;
    // An explained request runs as a batch of its own: its maps are computed one image at a time
    // (the backward pass's kernels compile once, for batch 1), so company would gain nothing and
    // only wait for them.
    while (this.queue.length > 0 && (jobs.length === 0 || (!jobs[0].explain && !this.queue[0].explain && images + this.queue[0].count <= this.options.maxBatch))) {
      const job = this.queue.shift()!;
      this.queuedImages -= job.count;
      jobs.push(job);
      images += job.count;
    }
    this.running = true;
    const started = performance.now();
    for (const job of jobs) this.observer?.waited(this.runner.name, started - job.enqueuedAt);
    try {
      const input = jobs.length === 1 ? jobs[0].images : concat(jobs, images);
      const { probabilities, ms, explained } = await this.runner.predict(input, images, jobs[0].explain);
      this.observer?.batch(this.runner.name, images, ms);
      let row = 0;
      for (const job of jobs) {
        job.resolve({
          probabilities: probabilities.slice(row * 10, (row + job.count) * 10),
          inferenceMs: ms,
          waitMs: started - job.enqueuedAt,
          batchImages: images,
          ...(explained ? { explained } : {}),
        });
        row += job.count;
      }
    } catch (error) {
      for (const job of jobs) job.reject(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.running = false;
      this.schedule();
      this.notifyIdle();
    }
  }
}

function concat(jobs: readonly Job[], images: number): Float32Array {
  const out = new Float32Array(images * PIXELS);
  let at = 0;
  for (const job of jobs) {
    out.set(job.images.subarray(0, job.count * PIXELS), at);
    at += job.count * PIXELS;
  }
  return out;
}
