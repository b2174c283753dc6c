import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PIXELS } from '@digitlab/digit-csv';
import type { Backend, CompiledModule, Mode } from '@digitlab/tensor';
import { MNIST_CLASSES } from './mnist.js';
import type { Model } from './model.js';
import { type InferencePlan, buildPlan } from './plan.js';
import { COUNT, FAILED, GEN, LEFT, MIN_THREADED, NEXT, type PlanBuffers, type PlanShared, type PlanWorkerMessage, type PlanWorkerModules, type PlanWorkerSetup, ROUND, STOP, claimGroups, compiledKernels, sharedBuffers, sharedViews } from './plan-worker-rounds.js';
import { paramsToTensors } from './state.js';
import { WORKER_BOOT } from './worker-boot.js';

/*
 * An inference plan spread over threads: worker threads that each hold a plan of their own (built
 * from a copy of the model's weights, made when they start) and the calling thread with its plan.
 * A batch is copied once into shared memory; every thread claims groups of images from a shared
 * counter until none are left (plan-worker-rounds.ts), so a thread on a busy core takes fewer
 * groups. No message is posted per batch: the calling thread wakes the workers and waits for
 * them through Atomics. A worker that exits or fails ends the batch with an error, never a wait.
 */

/** Images the calling thread runs between two turns of its event loop. */
const YIELD_EVERY = 256;

const ENTRY = new URL('./plan-worker.ts', import.meta.url).href;

/** The threads a single-model caller uses by default: one per core. */
export function defaultThreads(): number {
  return availableParallelism();
}

/** Throws unless threads is a positive integer. */
export function checkThreads(threads: number): void {
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`threads must be a positive integer, got ${threads}`);
}

type WaitAsync = (array: Int32Array, index: number, value: number) => { async: boolean; value: Promise<string> | string };
/** Atomics.waitAsync (Node 16+; typed from ES2024 on). */
const waitAsync = (Atomics as unknown as { waitAsync?: WaitAsync }).waitAsync;

/** Resolves once control[index] is no longer value (or something notifies it), without blocking the event loop. */
async function changed(control: Int32Array, index: number, value: number): Promise<void> {
  if (!waitAsync) return pause();
  const r = waitAsync(control, index, value);
  if (r.async) await r.value;
}

/** Lets the event loop in (health checks, other models) between parts of a long batch. */
function pause(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Worker threads running a model's plan beside the calling thread's. start() resolves once every
 * worker's plan is compiled; run() is one batch at a time (the classifier queues its requests).
 * Once a worker has exited or failed outside a round, `broken` says why and every run throws it.
 */
export class PlanThreads {
  private readonly shared: PlanShared;
  private closed = false;
  /** Why the group can no longer run a batch (a worker exited or threw), null while it can. */
  broken: Error | null = null;
  /** Resolves when broken is set, so that a round waiting for its workers stops waiting. */
  private readonly breaking: Promise<void>;
  private onBreak: () => void = () => undefined;
  /** The latest reason each worker's plan threw in a round. */
  private readonly roundErrors = new Map<number, string>();

  private constructor(
    private readonly workers: readonly Worker[],
    buffers: PlanBuffers,
  ) {
    this.shared = sharedViews(buffers);
    this.breaking = new Promise((resolve) => (this.onBreak = resolve));
    workers.forEach((w, index) => {
      // an 'error' with no listener would throw in the calling thread: every worker has one for life
      w.on('error', (e) => this.break(new Error(`plan worker ${index} failed: ${e.message}`)));
      w.on('exit', (code) => this.break(new Error(`plan worker ${index} exited (code ${code})`)));
      w.on('message', (m: PlanWorkerMessage) => {
        if (m.type === 'round-failed') this.roundErrors.set(index, m.message);
      });
    });
  }

  /**
   * Starts `workers` threads, each building model's plan on a backend like `be` (webasm or async)
   * from the modules `modules()` returns (the calling thread's plan compiles them while the
   * threads load), so that no thread compiles a kernel the calling thread already has.
   */
  static async start(model: Model, be: Backend, workers: number, modules: () => readonly CompiledModule[]): Promise<PlanThreads> {
    checkThreads(workers);
    const buffers = sharedBuffers(workers);
    // each parameter in a buffer of its own: a view would carry its whole buffer across
    const params = Object.fromEntries(Object.entries(paramsToTensors(model)).map(([k, t]) => [k, { shape: t.shape, data: t.data.slice() }]));
    const threads = Array.from({ length: workers }, (_, index) => {
      const setup: PlanWorkerSetup = { entry: ENTRY, config: model.config, params, mode: be.mode, fusedMultiplyAdd: be.fusedMultiplyAdd, index, ...buffers };
      return new Worker(WORKER_BOOT, { workerData: setup, name: `plan-${model.config.kind}-${index}` });
    });
    const pool = new PlanThreads(threads, buffers);
    try {
      const handed: PlanWorkerModules = { type: 'modules', modules: modules() };
      for (const w of threads) w.postMessage(handed);
      await Promise.all(threads.map(ready));
    } catch (e) {
      await pool.close();
      throw e;
    }
    // idle workers never keep the process alive; a round refs them while it runs
    for (const w of threads) w.unref();
    return pool;
  }

  private break(error: Error): void {
    if (this.closed || this.broken !== null) return;
    this.broken = error;
    this.onBreak();
  }

  /** Kernels the workers' backends have compiled (each reports after its plan is built and after every round). */
  compiled(): number {
    return compiledKernels(this.shared.control, this.workers.length);
  }

  /** Logits [count, 10] for count images, the calling thread running `local` on its share. */
  async run(local: InferencePlan, images: Float32Array, count: number): Promise<Float32Array> {
    if (this.closed) throw new Error('PlanThreads: run after close');
    const out = new Float32Array(count * MNIST_CLASSES);
    for (const w of this.workers) w.ref();
    try {
      for (let s = 0; s < count; s += ROUND) {
        if (s > 0) await pause();
        const m = Math.min(ROUND, count - s);
        out.set(await this.round(local, images.subarray(s * PIXELS, (s + m) * PIXELS), m), s * MNIST_CLASSES);
      }
    } finally {
      for (const w of this.workers) w.unref();
    }
    return out;
  }

  private async round(local: InferencePlan, images: Float32Array, count: number): Promise<Float32Array> {
    if (this.broken !== null) throw this.broken;
    const { control } = this.shared;
    this.shared.images.set(images);
    Atomics.store(control, COUNT, count);
    Atomics.store(control, NEXT, 0);
    Atomics.store(control, LEFT, 0);
    Atomics.store(control, FAILED, 0);
    Atomics.add(control, GEN, 1);
    Atomics.notify(control, GEN);
    let failure: unknown = null;
    try {
      while (claimGroups(local, this.shared, YIELD_EVERY)) await pause();
    } catch (e) {
      failure = e;
    }
    // a round ends when every worker has left it (their claimed groups are done), or when one has exited
    for (let left = Atomics.load(control, LEFT); left < this.workers.length && this.broken === null; left = Atomics.load(control, LEFT)) {
      await Promise.race([changed(control, LEFT, left), this.breaking]);
    }
    if (failure !== null) throw failure;
    if (this.broken !== null) throw this.broken;
    const failed = Atomics.load(control, FAILED);
    if (failed !== 0) throw new Error(`plan worker ${failed - 1} failed on this batch: ${this.roundErrors.get(failed - 1) ?? 'its plan threw'}`);
    return this.shared.logits.slice(0, count * MNIST_CLASSES);
  }

  /** Stops the workers and waits until they have exited. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.shared.control, STOP, 1);
    Atomics.add(this.shared.control, GEN, 1);
    Atomics.notify(this.shared.control, GEN);
    // a round still waiting (its caller gave up) wakes and sees the group closed
    Atomics.notify(this.shared.control, LEFT);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Resolves when the worker's plan is compiled, rejects when it could not start. */
function ready(w: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(new Error(`a plan worker failed before its plan was built: ${e.message}`));
    const onExit = (code: number): void => reject(new Error(`a plan worker exited (code ${code}) before its plan was built`));
    w.once('error', onError);
    w.once('exit', onExit);
    w.once('message', (m: PlanWorkerMessage) => {
      w.off('error', onError);
      w.off('exit', onExit);
      if (m.type === 'ready') resolve();
      else reject(new Error(`a plan worker could not build its plan: ${m.message}`));
    });
  });
}

/** Modes whose plans run their kernels' modules directly, so that a plan may run on any thread. */
const THREADED_MODES: readonly Mode[] = ['webasm', 'async'];

/** A number that changes whenever any of the model's parameters is marked updated (Tensor.version only grows). */
function weightsVersion(model: Model): number {
  let v = 0;
  for (const t of model.params.values()) v += t.version;
  return v;
}

/**
 * A model's inference plan on `threads` threads, the calling thread's on `be` among them (other
 * modes than webasm and async run on the calling thread alone). Batches of fewer than
 * MIN_THREADED images run on the calling thread; larger ones on every thread. The plans and the
 * worker threads are built by warm(), or by the first batch that needs them. One batch at a time.
 * The workers' plans hold a copy of the weights made when they started: after a parameter is
 * marked updated (Tensor.markUpdated), the next large batch starts new workers from the new
 * weights. A batch a worker could not finish (it exited or threw) rejects, and the next one
 * starts new workers.
 */
export class ThreadedPlan {
  private own: InferencePlan | null = null;
  private pool: Promise<PlanThreads> | null = null;
  /** weightsVersion when the pool started. */
  private poolWeights = 0;
  private running: PlanThreads | null = null;
  /** Worker threads beside the calling thread. */
  readonly workers: number;

  constructor(
    private readonly model: Model,
    private readonly be: Backend,
    threads: number = defaultThreads(),
  ) {
    checkThreads(threads);
    this.workers = THREADED_MODES.includes(be.mode) ? threads - 1 : 0;
  }

  /** The calling thread's plan (its kernels, calls and profile). */
  get plan(): InferencePlan {
    return (this.own ??= buildPlan(this.model, this.be));
  }

  /** Builds every thread's plan now, the workers' beside the calling thread's. */
  async warm(): Promise<void> {
    // the workers load while this thread builds its plan, then instantiate its modules
    const starting = this.workers > 0 ? this.threads() : null;
    void this.plan;
    this.running = await starting;
  }

  /** The worker threads, started from the model's weights now unless the running ones hold them. */
  private async threads(): Promise<PlanThreads> {
    const weights = weightsVersion(this.model);
    if (this.pool !== null && this.poolWeights !== weights) await this.stopThreads();
    if (this.pool === null) {
      this.poolWeights = weights;
      const starting = PlanThreads.start(this.model, this.be, this.workers, () => this.plan.ks.exportModules());
      this.pool = starting;
      // a group that could not start is not kept: the next batch tries again
      starting.catch(() => {
        if (this.pool === starting) this.pool = null;
      });
    }
    return this.pool;
  }

  private async stopThreads(): Promise<void> {
    const stopping = this.pool;
    this.pool = null;
    this.running = null;
    const threads = await stopping?.catch(() => null);
    await threads?.close();
  }

  /** Logits [count, 10] for count images (count × 784 values). */
  async run(images: Float32Array, count: number): Promise<Float32Array> {
    if (this.workers > 0 && count >= MIN_THREADED) {
      const threads = await this.threads();
      this.running = threads;
      try {
        return await threads.run(this.plan, images, count);
      } catch (e) {
        if (threads.broken !== null) await this.stopThreads();
        throw e;
      }
    }
    const logits = new Float32Array(count * MNIST_CLASSES);
    for (let s = 0; s < count; s += YIELD_EVERY) {
      if (s > 0) await pause();
      const m = Math.min(YIELD_EVERY, count - s);
      logits.set(this.plan.run(images.subarray(s * PIXELS, (s + m) * PIXELS), m), s * MNIST_CLASSES);
    }
    return logits;
  }

  /** Kernels compiled on the worker threads (the calling thread's count on its backend). */
  workerKernels(): number {
    return this.running?.compiled() ?? 0;
  }

  /** Stops the worker threads and frees the calling thread's plan (the backend stays the caller's). */
  async close(): Promise<void> {
    await this.stopThreads();
    this.own?.destroy();
    this.own = null;
  }
}
