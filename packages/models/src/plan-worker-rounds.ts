import { PIXELS } from '@digitlab/digit-csv';
import type { CompiledModule, Mode } from '@digitlab/tensor';
import { MNIST_CLASSES } from './mnist.js';
import type { Model } from './model.js';
import type { InferencePlan } from './plan.js';
import type { NamedTensor } from './safetensors.js';
import type { WorkerBootData } from './worker-boot.js';

/*
 * The shared memory a group of plan threads runs a batch through, and the steps of a round that
 * both sides take (plan-threads.ts on the calling thread, plan-worker.ts on each worker). The
 * calling thread copies up to ROUND images in, bumps GEN and wakes the workers; every thread
 * claims groups of CHUNK images from NEXT until none are left and writes their logits; each
 * worker then adds one to LEFT. The round is over once LEFT counts every worker.
 */

/** Images a thread claims at once: a multiple of the plans' image groups (4), so a thread runs the kernels a single plan runs. */
export const CHUNK = 16;
/** Batches of fewer images run on the calling thread alone: waking a thread costs more than its share saves. */
export const MIN_THREADED = 2 * CHUNK;
/** Images one round of shared memory holds; a larger batch runs in rounds. */
export const ROUND = 1024;

/** Slots of the shared control array. */
export const GEN = 0;
export const COUNT = 1;
export const NEXT = 2;
export const LEFT = 3;
export const STOP = 4;
/** 0, or 1 + the index of a worker whose plan threw in this round. */
export const FAILED = 5;
/** From here, one slot per worker: the kernels its backend has compiled. */
const COMPILED = 8;

/** A group's shared memory: the control slots, ROUND images in, their logits out. */
export interface PlanBuffers {
  readonly control: SharedArrayBuffer;
  readonly images: SharedArrayBuffer;
  readonly logits: SharedArrayBuffer;
}

/** The shared buffers of `workers` plan threads. */
export function sharedBuffers(workers: number): PlanBuffers {
  return {
    control: new SharedArrayBuffer((COMPILED + workers) * Int32Array.BYTES_PER_ELEMENT),
    images: new SharedArrayBuffer(ROUND * PIXELS * Float32Array.BYTES_PER_ELEMENT),
    logits: new SharedArrayBuffer(ROUND * MNIST_CLASSES * Float32Array.BYTES_PER_ELEMENT),
  };
}

/** What a plan worker is started with (plan-worker.ts reads it). */
export interface PlanWorkerSetup extends WorkerBootData, PlanBuffers {
  readonly config: Model['config'];
  /** The weights the worker's plan holds, copied in once when it starts. */
  readonly params: Record<string, NamedTensor>;
  readonly mode: Mode;
  /** The calling thread's backend's choice, so that every thread compiles the same kernels. */
  readonly fusedMultiplyAdd: boolean;
  readonly index: number;
}

/** What the calling thread posts to a plan worker once its own plan is built: the modules the worker instantiates instead of compiling them again. */
export interface PlanWorkerModules {
  readonly type: 'modules';
  readonly modules: readonly CompiledModule[];
}

/** What a plan worker posts: once ready (its plan compiled), why it could not start, or why its plan threw in a round. */
export type PlanWorkerMessage = { readonly type: 'ready' } | { readonly type: 'failed'; readonly message: string } | { readonly type: 'round-failed'; readonly message: string };

/** Typed views of a group's shared buffers. */
export interface PlanShared {
  readonly control: Int32Array;
  readonly images: Float32Array;
  readonly logits: Float32Array;
}

/** Views of the buffers sharedBuffers made. */
export function sharedViews(buffers: PlanBuffers): PlanShared {
  return { control: new Int32Array(buffers.control), images: new Float32Array(buffers.images), logits: new Float32Array(buffers.logits) };
}

/**
 * Claims groups of images from the round in `shared` and runs them on plan, logits into the
 * shared logits, until the round has none left (returns false) or `limit` images have run
 * (returns true: there may be more).
 */
export function claimGroups(plan: InferencePlan, shared: PlanShared, limit = Infinity): boolean {
  const { control, images, logits } = shared;
  const count = Atomics.load(control, COUNT);
  for (let done = 0; done < limit; ) {
    const s = Atomics.add(control, NEXT, CHUNK);
    if (s >= count) return false;
    const m = Math.min(CHUNK, count - s);
    logits.set(plan.run(images.subarray(s * PIXELS, (s + m) * PIXELS), m), s * MNIST_CLASSES);
    done += m;
  }
  return true;
}

/**
 * The worker side of one round: run its groups, then leave the round (also when its plan threw:
 * FAILED names it, and `failed` hears why).
 */
export function workerRound(plan: InferencePlan, shared: PlanShared, index: number, compiled: () => number, failed: (e: unknown) => void): void {
  const { control } = shared;
  try {
    claimGroups(plan, shared);
  } catch (e) {
    failed(e);
    Atomics.store(control, FAILED, index + 1);
  }
  reportCompiled(control, index, compiled());
  Atomics.add(control, LEFT, 1);
  Atomics.notify(control, LEFT);
}

/** Records the kernels a worker's backend has compiled, where compiledKernels() reads them. */
export function reportCompiled(control: Int32Array, index: number, kernels: number): void {
  Atomics.store(control, COMPILED + index, kernels);
}

/** The kernels `workers` workers have reported. */
export function compiledKernels(control: Int32Array, workers: number): number {
  let n = 0;
  for (let i = 0; i < workers; i++) n += Atomics.load(control, COMPILED + i);
  return n;
}

/** Blocks a worker until the round after `seen` (returns false when the threads are stopping). */
export function awaitRound(control: Int32Array, seen: number): boolean {
  Atomics.wait(control, GEN, seen);
  return Atomics.load(control, STOP) === 0;
}

/** The round number now. */
export function roundOf(control: Int32Array): number {
  return Atomics.load(control, GEN);
}
