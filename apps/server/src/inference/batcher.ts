// One model's queue: requests wait here (bounded, with a deadline), are gathered into batches of up
// to maxBatch images (waiting at most maxWaitMs for company), run on the model's runner, and get
// their own rows of the answer back. Admission is by expected wait: the backlog (images queued or
// running) times the measured time per image; a request that would wait longer than maxQueueWaitMs,
// or past its deadline, is answered 503 at once with a Retry-After that covers the backlog.
import { PIXELS } from '@digitlab/digit-csv';
import { ClientGoneError, OverloadError, retryAfterFor, type Refusal } from '../errors.js';
import type { Explained } from './messages.js';
import type { Runner } from './runner.js';
import { ServiceTime } from './service-time.js';

/**
 * Batches sent to the runner before the first comes back: the next batch waits in the worker while
 * the current one computes, so the model never idles while the HTTP thread is busy answering.
 */
const MAX_IN_FLIGHT = 2;

export interface BatcherOptions {
  /** Most images in one batch (requests larger than this run as a batch of their own). */
  readonly maxBatch: number;
  /** Longest a request waits for others to join its batch. */
  readonly maxWaitMs: number;
  /** Most images waiting; a request that would go over gets 503 QUEUE_FULL (an empty queue takes any request). */
  readonly maxQueue: number;
  /** Longest expected wait (ms) a request is admitted to; beyond it, 503 QUEUE_FULL at once (an idle model takes any request). */
  readonly maxQueueWaitMs: number;
  /** What the queue serves (default predict): its refusals name that task's queue and settings. */
  readonly task?: QueueTask;
}

/** How each task's queue and its two limits are named in a refusal (the settings' environment variables). */
const NAMING: Record<QueueTask, { queue: string; limit: string; wait: string }> = {
  predict: { queue: 'queue', limit: 'QUEUE_LIMIT', wait: 'MAX_QUEUE_WAIT_MS' },
  explain: { queue: 'explanation queue', limit: 'EXPLAIN_QUEUE_LIMIT', wait: 'EXPLAIN_MAX_QUEUE_WAIT_MS' },
};

/** What a queue serves: predictions, or explained predictions (a queue and worker of their own, so maps never hold up answers). */
export type QueueTask = 'predict' | 'explain';

/** Why a request was refused at the door. */
export type ShedReason = 'queue_limit' | 'queue_wait' | 'deadline';

/** What the batcher reports as it works (the metrics). */
export interface BatcherObserver {
  batch(model: string, images: number, inferenceMs: number): void;
  waited(model: string, waitMs: number): void;
  /** A request refused with 503 before it was queued. */
  shed(model: string, reason: ShedReason): void;
}

/** One request's answer: its rows of probabilities and how it was served. */
export interface BatchAnswer {
  readonly probabilities: Float32Array;
  /** Compute time of the batch it ran in. */
  readonly inferenceMs: number;
  /** Time it waited in the queue before its batch was sent to the model. */
  readonly waitMs: number;
  /** Images in the batch it ran in. */
  readonly batchImages: number;
  /** Its images' maps, when it asked to explain them (and the runner can). */
  readonly explained?: Explained;
}

export interface SubmitOptions {
  /** performance.now() time after which the request is answered 503 DEADLINE_EXCEEDED instead. */
  readonly deadline: number;
  /** Aborted when the client went away: the request leaves the queue and its work is not done. */
  readonly signal?: AbortSignal;
  /** Skip admission (already admitted: the later parts of a file, or every model checked first). */
  readonly admitted?: boolean;
  /** Also compute each image's explanation map. */
  readonly explain?: boolean;
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

/** A batch sent to the runner and not yet answered. */
interface Flight {
  readonly images: number;
  readonly sentAt: number;
}

export class Batcher {
  private readonly queue: Job[] = [];
  private queuedImages = 0;
  private readonly flights: Flight[] = [];
  /** When the runner last finished a batch: the next one's service time starts then or at its sending, whichever is later. */
  private lastDoneAt = 0;
  private readonly service = new ServiceTime();
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    readonly runner: Runner,
    private readonly options: BatcherOptions,
    private readonly observer?: BatcherObserver,
  ) {}

  /** Images waiting (not yet sent to the model). */
  get depth(): number {
    return this.queuedImages;
  }

  /** Images sent to the model and not yet answered. */
  get inFlight(): number {
    let images = 0;
    for (const flight of this.flights) images += flight.images;
    return images;
  }

  /** Measured milliseconds per image (undefined before the first batch finished). */
  get perImageMs(): number | undefined {
    return this.service.perImageMs;
  }

  /** Milliseconds a request arriving now is expected to wait before its batch starts: the backlog, queued and running, at the measured time per image. */
  expectedWaitMs(now = performance.now()): number {
    const perImage = this.service.perImageMs;
    if (perImage === undefined) return 0;
    const images = this.queuedImages + this.inFlight;
    const headStarted = this.flights.length === 0 ? now : Math.max(this.flights[0].sentAt, this.lastDoneAt);
    return Math.max(0, images * perImage - (now - headStarted));
  }

  /** Throws OverloadError (503 with a Retry-After covering the backlog) unless count images may join the queue now. */
  admit(count: number, deadline: number): void {
    const refused = this.refusal(count, deadline);
    if (refused !== undefined) throw OverloadError.of(refused);
  }

  /**
   * Why count images may not join the queue now (a 503 with a Retry-After covering the backlog), or
   * undefined when they may. Builds no Error: a server shedding load answers many of these.
   */
  refusal(count: number, deadline: number): Refusal | undefined {
    if (this.queuedImages === 0 && this.flights.length === 0) return undefined;
    const name = this.runner.name;
    const naming = NAMING[this.options.task ?? 'predict'];
    const now = performance.now();
    const waitMs = this.expectedWaitMs(now);
    const retryAfterS = retryAfterFor(waitMs + count * (this.service.perImageMs ?? 0));
    if (this.queuedImages > 0 && this.queuedImages + count > this.options.maxQueue) {
      this.observer?.shed(name, 'queue_limit');
      return {
        code: 'QUEUE_FULL',
        message: `The ${name} ${naming.queue} is full (${this.queuedImages} images waiting, at most ${this.options.maxQueue}: ${naming.limit}); retry after ${retryAfterS} s.`,
        retryAfterS,
      };
    }
    if (waitMs > this.options.maxQueueWaitMs) {
      this.observer?.shed(name, 'queue_wait');
      return {
        code: 'QUEUE_FULL',
        message: `The ${name} ${naming.queue} is busy: a request would wait about ${Math.round(waitMs)} ms, more than the ${this.options.maxQueueWaitMs} ms allowed (${naming.wait}); retry after ${retryAfterS} s.`,
        retryAfterS,
      };
    }
    const doneBy = now + waitMs + count * (this.service.perImageMs ?? 0);
    if (doneBy > deadline) {
      this.observer?.shed(name, 'deadline');
      return {
        code: 'DEADLINE_EXCEEDED',
        message: `The ${name} cannot answer within the request deadline (about ${Math.round(doneBy - now)} ms needed, ${Math.max(0, Math.round(deadline - now))} ms left: REQUEST_TIMEOUT_MS or the request-timeout-ms header); retry after ${retryAfterS} s.`,
        retryAfterS,
      };
    }
    return undefined;
  }

  /** Queues count images; resolves with their probabilities, rejects with OverloadError or ClientGoneError. */
  submit(images: Float32Array, count: number, options: SubmitOptions): Promise<BatchAnswer> {
    const name = this.runner.name;
    if (options.signal?.aborted === true) return Promise.reject(new ClientGoneError('the client went away'));
    if (options.admitted !== true) {
      try {
        this.admit(count, options.deadline);
      } catch (error) {
        return Promise.reject(error as Error);
      }
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
      const deadlineTimer = setTimeout(() => {
        const retryAfter = retryAfterFor(this.expectedWaitMs());
        drop(
          new OverloadError(
            'DEADLINE_EXCEEDED',
            `The ${name} could not answer within the request deadline (REQUEST_TIMEOUT_MS or the request-timeout-ms header); the server is busy, retry after ${retryAfter} s.`,
            retryAfter,
          ),
        );
      }, Math.max(0, remaining));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.queuedImages += count;
      this.schedule();
    });
  }

  /** Resolves once nothing is queued or running (graceful shutdown). */
  idle(): Promise<void> {
    if (this.flights.length === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private notifyIdle(): void {
    if (this.flights.length > 0 || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private schedule(): void {
    if (this.flights.length >= MAX_IN_FLIGHT || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].enqueuedAt;
    if (this.queuedImages >= this.options.maxBatch || waited >= this.options.maxWaitMs) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.runBatch();
      this.schedule();
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
    const flight: Flight = { images, sentAt: performance.now() };
    this.flights.push(flight);
    for (const job of jobs) this.observer?.waited(this.runner.name, flight.sentAt - job.enqueuedAt);
    try {
      const input = jobs.length === 1 ? jobs[0].images : concat(jobs, images);
      const { probabilities, ms, compiled, explained } = await this.runner.predict(input, images, jobs[0].explain);
      const doneAt = performance.now();
      // a queue serves one task (explained requests have a queue of their own), so every batch's time measures it
      if (compiled !== true) this.service.record(images, doneAt - Math.max(flight.sentAt, this.lastDoneAt));
      this.lastDoneAt = doneAt;
      this.observer?.batch(this.runner.name, images, ms);
      let row = 0;
      for (const job of jobs) {
        job.resolve({
          probabilities: probabilities.subarray(row * 10, (row + job.count) * 10),
          inferenceMs: ms,
          waitMs: flight.sentAt - job.enqueuedAt,
          batchImages: images,
          ...(explained ? { explained } : {}),
        });
        row += job.count;
      }
    } catch (error) {
      this.lastDoneAt = performance.now();
      for (const job of jobs) job.reject(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.flights.splice(this.flights.indexOf(flight), 1);
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
