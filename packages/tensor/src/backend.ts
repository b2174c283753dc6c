import gpujs from 'gpu.js';
import type { IKernelRunShortcut } from 'gpu.js';

const { GPU } = gpujs;

/** The gpu.js modes a Backend can wrap. `async` is webasm with its worker-pool threads in Node. */
export type Mode = 'cpu' | 'webasm' | 'async' | 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu';
export const MODES: readonly Mode[] = ['cpu', 'webasm', 'async', 'headlessgl', 'webgl2', 'webgl', 'webgpu'];

/** What a kernel needs to be compiled: its JS source (shape constants inlined) and output grid. */
export interface KernelSpec {
  /** Short op name, for errors and benchmarks. */
  readonly name: string;
  /** A `function(...) { ... }` source string; every size is a literal, so one source = one shape. */
  readonly source: string;
  /** gpu.js output dims [x, y?, z?]. */
  readonly output: readonly number[];
  /** Values returned per thread: 1 (Number) or 2/4/8 (Array(n); 8 only on webasm, async and cpu, patches/gpu.js@2.24.1.patch), stored interleaved. */
  readonly components?: 1 | 2 | 4 | 8;
}

interface CachedKernel {
  readonly run: IKernelRunShortcut;
  readonly spec: KernelSpec;
  /** Each argument's length, -1 for a number: a kernel serves only the sizes it was compiled for. */
  readonly argSizes: readonly number[];
  readonly cells: number;
  readonly components: number;
  checked: boolean;
  /** The backend's call count at its last call: the least recently used kernel is evicted first. */
  lastUse: number;
  /** Freed to keep the cache within its bound: lookups skip it. */
  evicted?: boolean;
  /** async only: its trial calls on the threads, then where it runs. */
  placement?: Placement;
}

/** Where an async kernel runs: on the worker threads, or on the calling thread. */
export type Where = 'threads' | 'caller';

/** An async kernel's trial calls on the threads, then its decided place. */
interface Placement {
  readonly threads: number[];
  where?: Where;
  /** Its first call in the decided place has run: the other module and the compiler state are freed. */
  settled?: boolean;
}

/** Timed calls on the threads before an async kernel's placement is decided. */
export const PLACEMENT_TRIALS = 2;

/** Calls of an async kernel, its first (compiling) one included, after which it runs where it stays: benchmarks warm up this far. */
export const PLACED_AFTER_CALLS = PLACEMENT_TRIALS + 2;

/**
 * The default shortest call (its fastest trial, on the threads) that keeps a kernel on the
 * threads: below it, waking a worker costs about what a second core saves.
 */
export const THREADS_MIN_MS = 0.25;

/** Where an async kernel goes after its trials on the threads. */
export function placeByTrials(threadsMs: readonly number[], minMs = THREADS_MIN_MS): Where {
  return Math.min(...threadsMs) >= minMs ? 'threads' : 'caller';
}

/** specFor's memo: one trie per build function, keyed by the arguments' primitive leaves in order. */
interface SpecNode {
  spec?: KernelSpec;
  readonly next: Map<unknown, SpecNode>;
}

const specs = new WeakMap<object, SpecNode>();

/**
 * build(...args), built once per distinct arguments, and the same object after: the backend finds
 * its compiled kernel by that identity. A big kernel's source is a long string (an unrolled
 * convolution's runs to hundreds of KB), so it is built once per shape, never per call. The memo
 * walks the arguments' numbers, booleans and property names (objects and arrays of them) through
 * nested Maps: a lookup builds no string.
 */
export function specFor<A extends unknown[]>(build: (...args: A) => KernelSpec, ...args: A): KernelSpec {
  let node = specs.get(build);
  if (!node) specs.set(build, (node = { next: new Map() }));
  node = descend(node, args);
  return (node.spec ??= build(...args));
}

/** The trie node below `node` for value's leaves; arrays and objects also key their length and property names, so differently shaped arguments never meet. */
function descend(node: SpecNode, value: unknown): SpecNode {
  const step = (key: unknown): void => {
    let child = node.next.get(key);
    if (!child) node.next.set(key, (child = { next: new Map() }));
    node = child;
  };
  if (Array.isArray(value)) {
    step(value.length);
    for (const v of value) node = descend(node, v);
  } else if (typeof value === 'object' && value !== null) {
    for (const k in value) {
      step(k);
      node = descend(node, (value as Record<string, unknown>)[k]);
    }
    step(undefined);
  } else {
    step(value);
  }
  return node;
}

/** Options for a Backend. */
export interface BackendOptions {
  /** Worker threads for `async` (webasm) kernels; defaults to the machine's cores. */
  readonly poolSize?: number;
  /** async: a kernel whose trial calls on the threads all took less moves to the calling thread. Default THREADS_MIN_MS. */
  readonly threadsMinMs?: number;
  /** Most compiled kernels held; past it the least recently used is freed. Default MAX_KERNELS. */
  readonly maxKernels?: number;
  /**
   * webasm/async: compile `s += a * b` in vector code as one fused multiply-add (relaxed SIMD's
   * f32x4.relaxed_madd). Default: where the runtime fuses it (FUSED_MULTIPLY_ADD), unless the
   * environment sets DIGITLAB_FMA=0. Asking for it where the runtime cannot is an error.
   */
  readonly fusedMultiplyAdd?: boolean;
}

/**
 * A module whose one function returns lane 0 of f32x4.relaxed_madd(a, b, c) for a = b = 1 + 2^-12,
 * c = -(1 + 2^-11): a·b = 1 + 2^-11 + 2^-24 rounds to 1 + 2^-11 on its own, so an unfused
 * multiply and add give 0 and a fused one 2^-24.
 */
function relaxedMaddProbe(): Uint8Array<ArrayBuffer> {
  const f32 = (v: number): number[] => [...new Uint8Array(Float32Array.of(v).buffer)];
  const splat = (v: number): number[] => [0x43, ...f32(v), 0xfd, 0x13];
  const a = 1 + 2 ** -12;
  const body = [0x00, ...splat(a), ...splat(a), ...splat(-(1 + 2 ** -11)), 0xfd, 0x85, 0x02, 0xfd, 0x1f, 0x00, 0x0b];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7d], // type: () -> f32
    ...[0x03, 0x02, 0x01, 0x00], // one function of that type
    ...[0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00], // exported as "f"
    ...[0x0a, body.length + 2, 0x01, body.length, ...body],
  ]);
}

/** Whether this runtime validates relaxed SIMD and fuses f32x4.relaxed_madd (Node 24 does; Node 20 only behind a flag). */
function probeFusedMultiplyAdd(): boolean {
  try {
    const bytes = relaxedMaddProbe();
    if (typeof WebAssembly === 'undefined' || !WebAssembly.validate(bytes)) return false;
    const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f as () => number;
    return f() === 2 ** -24;
  } catch {
    return false;
  }
}

/** Whether kernels here may use fused multiply-adds: the runtime validates relaxed SIMD and its relaxed_madd is fused. */
export const FUSED_MULTIPLY_ADD: boolean = probeFusedMultiplyAdd();

/** The environment's DIGITLAB_FMA=0 turns the default off (the op tests run both ways). */
function fmaDefault(): boolean {
  const env = typeof process === 'undefined' ? undefined : process.env?.DIGITLAB_FMA;
  return FUSED_MULTIPLY_ADD && env !== '0';
}

/** The default bound of a Backend's kernel cache: both shipped models' kernels at every batch bucket fit with room to spare. */
export const MAX_KERNELS = 1024;

/**
 * One gpu.js GPU instance in one mode, with a bounded cache of compiled kernels found by the spec
 * object and the argument sizes. Every op goes through run(), which returns a fresh flat Float32Array.
 */
export class Backend {
  readonly mode: Mode;
  private readonly gpu: InstanceType<typeof GPU>;
  /** Compiled kernels by spec identity: the lookup on every call, which never reads the source. */
  private readonly bySpec = new WeakMap<KernelSpec, CachedKernel[]>();
  /**
   * The same kernels by source, consulted only when a spec object is new: a spec built afresh with
   * a source seen before (ops built outside specFor, tests) shares the compiled kernel.
   */
  private readonly bySource = new Map<string, CachedKernel[]>();
  private readonly kernels = new Set<CachedKernel>();
  private readonly maxKernels: number;
  private readonly poolSize: number | undefined;
  private readonly threadsMinMs: number;
  /** webasm/async kernels compile `s += a * b` as a fused multiply-add. */
  readonly fusedMultiplyAdd: boolean;
  /**
   * The one worker pool every threaded kernel runs on (patches/gpu.js@2.24.1.patch). gpu.js gives
   * each kernel a pool of its own: two workers per kernel, each woken from a step's idle, where one
   * pool keeps the same two busy.
   */
  private readonly sharedPool: { pool?: { destroy(): void } } = {};
  /** Kernel-call counter, for benchmarks and the tape tests. */
  calls = 0;
  /** Counts calls for the cache's least-recently-used order (calls is the benchmarks' to reset). */
  private tick = 0;
  /** Kernels compiled so far (evicted ones included): a warmed-up workload leaves it unchanged. */
  compiled = 0;
  /** Per-kernel call counts and milliseconds, when profiling is switched on (benchmarks). */
  profile: Map<string, { calls: number; ms: number }> | null = null;
  /** gpu.js kernel classes that have executed (one entry unless gpu.js fell back somewhere). */
  readonly executed = new Set<string>();

  constructor(mode: Mode, options: BackendOptions = {}) {
    this.mode = mode;
    this.poolSize = options.poolSize;
    this.threadsMinMs = options.threadsMinMs ?? THREADS_MIN_MS;
    this.maxKernels = options.maxKernels ?? MAX_KERNELS;
    if (!(this.maxKernels >= 1)) throw new RangeError(`Backend: maxKernels must be at least 1, got ${options.maxKernels}`);
    if (options.fusedMultiplyAdd && !FUSED_MULTIPLY_ADD) throw new Error('Backend: fusedMultiplyAdd needs a runtime that validates relaxed SIMD and fuses f32x4.relaxed_madd (Node 24; Node 20 with --experimental-wasm-relaxed-simd); this one does not');
    this.fusedMultiplyAdd = (mode === 'webasm' || mode === 'async') && (options.fusedMultiplyAdd ?? fmaDefault());
    // gpu.js's own mode 'async' takes the first backend that works (headlessgl before webasm where
    // gl is built and a display exists); ours is webasm with asyncMode set on every kernel
    this.gpu = new GPU({ mode: mode === 'async' ? 'webasm' : mode });
  }

  /** Runs a kernel (compiling it on first use) and returns its output flattened row-major. */
  async run(spec: KernelSpec, args: readonly (Float32Array | number)[]): Promise<Float32Array> {
    const kernel = this.kernelFor(spec, args);
    this.calls++;
    kernel.lastUse = ++this.tick;

    // gpu.js types its results loosely; the shape is known from spec, checked in flattenOutput
    const trial = kernel.checked && this.placeTrial(kernel);
    const t0 = this.profile || trial ? performance.now() : 0;
    const raw: unknown = await (kernel.run as unknown as (...a: unknown[]) => unknown)(...args);
    if (trial) kernel.placement!.threads.push(performance.now() - t0);
    else if (kernel.placement?.where && !kernel.placement.settled) this.settle(kernel);
    if (this.profile) {
      const p = this.profile.get(spec.name) ?? { calls: 0, ms: 0 };
      p.calls++;
      p.ms += performance.now() - t0;
      this.profile.set(spec.name, p);
    }
    if (!kernel.checked) {
      kernel.checked = true;
      this.executed.add(this.executedBy(spec, args));
      // async keeps it until the kernel is placed: the calling thread's module is built from it
      if (this.mode === 'webasm') dropCompilerState(kernel.run);
    }
    const flat = flattenOutput(raw, kernel.cells * kernel.components);
    // the cpu backend may hand back a buffer it reuses; saved activations must survive the next call
    return this.mode === 'cpu' ? flat.slice() : flat;
  }

  /**
   * async: a kernel of 4096+ cells can run threaded, its chunks claimed by the calling thread
   * and the pool's parked workers (the patch's callerThread). A call then costs no message round
   * trip, only a worker's wake-up, but a kernel of a few microseconds gains nothing from it. So
   * each kernel's first PLACEMENT_TRIALS calls after compiling run on the threads, timed, and it
   * stays there only if they took threadsMinMs or more; otherwise it moves to the calling thread,
   * with a module of its own over plain memory. Either way a kernel computes the same cells
   * with the same code: results are bit-identical. Returns whether this call is a trial.
   */
  private placeTrial(kernel: CachedKernel): boolean {
    if (this.mode !== 'async') return false;
    if (!kernel.placement) {
      kernel.placement = { threads: [] };
      // under 4096 cells gpu.js never threads a kernel: nothing to try
      if (!threadable(kernel.run)) this.place(kernel, 'caller');
    }
    const p = kernel.placement;
    if (p.where) return false;
    if (p.threads.length < PLACEMENT_TRIALS) return true;
    this.place(kernel, placeByTrials(p.threads, this.threadsMinMs));
    return false;
  }

  private place(kernel: CachedKernel, where: Where): void {
    kernel.placement!.where = where;
    setThreaded(kernel.run, where === 'threads');
  }

  /** After the first call in its place (which built the calling thread's module, if it moved there). */
  private settle(kernel: CachedKernel): void {
    kernel.placement!.settled = true;
    if (kernel.placement!.where === 'caller') releaseShared(kernel.run);
    dropCompilerState(kernel.run);
  }

  /** How many async kernels were placed on each side (undecided ones are not counted). */
  placements(): Record<Where, number> {
    const n: Record<Where, number> = { threads: 0, caller: 0 };
    for (const k of this.kernels.values()) if (k.placement?.where) n[k.placement.where]++;
    return n;
  }

  /** The compiled kernel for spec and these argument sizes (built and cached on first call). */
  kernelFor(spec: KernelSpec, args: readonly (Float32Array | number)[]): CachedKernel {
    let own = this.bySpec.get(spec);
    if (own) {
      for (const k of own) if (!k.evicted && fits(k, args)) return k;
      own = own.filter((k) => !k.evicted);
    }
    // a new spec object (or new sizes): a kernel compiled from an equal spec serves it too
    const k = this.bySource.get(spec.source)?.find((e) => sameSpec(e.spec, spec) && fits(e, args)) ?? this.compile(spec, args);
    this.bySpec.set(spec, own ? [...own, k] : [k]);
    return k;
  }

  private compile(spec: KernelSpec, args: readonly (Float32Array | number)[]): CachedKernel {
    const components = spec.components ?? 1;
    const run = this.createKernel(spec, this.mode === 'async');
    const argSizes = args.map((a) => (typeof a === 'number' ? -1 : a.length));
    const k: CachedKernel = { run, spec, argSizes, cells: spec.output.reduce((a, b) => a * b, 1), components, checked: false, lastUse: this.tick };
    this.compiled++;
    if (this.kernels.size >= this.maxKernels) this.evictLeastRecent();
    this.kernels.add(k);
    const same = this.bySource.get(spec.source);
    if (same) same.push(k);
    else this.bySource.set(spec.source, [k]);
    return k;
  }

  /**
   * A gpu.js kernel for spec, compiled at its first call; `threaded` lets async send it to the
   * workers. Kernels made here for someone else (an inference plan) are theirs to destroy.
   */
  createKernel(spec: KernelSpec, threaded: boolean): IKernelRunShortcut {
    const components = spec.components ?? 1;
    const gl = this.mode === 'webgl2' || this.mode === 'webgl' || this.mode === 'headlessgl';
    const compiled = gl ? glTiledSpec({ ...spec, source: glSafeSource(spec.source) }) : spec;
    const run = this.gpu.createKernel(compiled.source, {
      output: [...compiled.output],
      returnType: components === 1 ? 'Number' : `Array(${components})`,
      tactic: 'precision',
      precision: 'single',
      ...(threaded ? { asyncMode: true, poolSize: this.poolSize, sharedPool: this.sharedPool, callerThread: true } : {}),
      // sizes are literals in the source; this is only a guard for any loop bound we missed
      loopMaxIterations: 1 << 24,
      ...(this.fusedMultiplyAdd ? { fusedMultiplyAdd: true } : {}),
    } as Record<string, unknown>) as IKernelRunShortcut;
    if (this.mode === 'webasm' || this.mode === 'async' || this.mode === 'webgpu') keepFlat(run);
    return run;
  }

  /** Frees the kernel called longest ago (a scan, only when a compile finds the cache full). */
  private evictLeastRecent(): void {
    let oldest: CachedKernel | undefined;
    for (const k of this.kernels) if (!oldest || k.lastUse < oldest.lastUse) oldest = k;
    if (!oldest) return;
    this.kernels.delete(oldest);
    const same = this.bySource.get(oldest.spec.source)!.filter((k) => k !== oldest);
    if (same.length) this.bySource.set(oldest.spec.source, same);
    else this.bySource.delete(oldest.spec.source);
    // other spec objects that found it through its source drop it at their next lookup
    oldest.evicted = true;
    (oldest.run as unknown as { destroy(): void }).destroy();
  }
  /** The gpu.js kernel class that actually executed spec, e.g. "WebAssemblyKernel" (detects silent fallback). */
  executedBy(spec: KernelSpec, args: readonly (Float32Array | number)[]): string {
    return kernelClassOf(this.kernelFor(spec, args).run);
  }

  /** Number of compiled kernels held. */
  get cachedKernels(): number {
    return this.kernels.size;
  }

  /** Frees every kernel and the GPU instance (worker threads included). */
  destroy(): void {
    this.kernels.clear();
    this.bySource.clear();
    (this.gpu as unknown as { destroy(): void }).destroy();
    this.sharedPool.pool?.destroy();
  }
}

/**
 * Most rows a GL kernel's 2-D output may have as it stands: gpu.js lays a 2-D output [w, h] out as
 * a w × h texture, and a GPU's texture limit can be as low as 4096 (8192 on SwiftShader).
 */
export const GL_MAX_ROWS = 4096;

/**
 * A GL kernel whose 2-D output has more rows than GL_MAX_ROWS (softmax over [8704, 17]) computed
 * as a 1-D output of the same cells, row-major, which gpu.js lays out as a near-square texture:
 * each thread finds its row and column from its index. The values and their order are unchanged.
 */
export function glTiledSpec(spec: KernelSpec): KernelSpec {
  const [w, h] = spec.output;
  if (spec.output.length !== 2 || h <= GL_MAX_ROWS || /this\.thread\.z/.test(spec.source)) return spec;
  const open = spec.source.indexOf('{') + 1;
  const body = spec.source.slice(open).replace(/this\.thread\.x/g, 'glCol').replace(/this\.thread\.y/g, 'glRow');
  const index = `\n  const glIndex = this.thread.x;\n  const glRow = Math.floor(glIndex / ${w});\n  const glCol = glIndex - glRow * ${w};`;
  return { ...spec, source: spec.source.slice(0, open) + index + body, output: [w * h] };
}

/**
 * The source as gpu.js's GLSL translation accepts it. gpu.js casts a Math function's integer
 * variables to float but passes an integer literal through, so `Math.min(o + 1, 63)` becomes
 * GLSL's `min(float, int)`, which has no overload and fails to compile. Every whole-number
 * literal argument of Math.min and Math.max is written as a float expression of the same
 * value, which gpu.js types as a float; the other modes compile the source as written.
 */
export function glSafeSource(source: string): string {
  let out = '';
  let at = 0;
  const call = /Math\.(min|max)\(/g;
  for (let m = call.exec(source); m !== null; m = call.exec(source)) {
    const open = m.index + m[0].length;
    // the arguments, split at the commas of this call's own depth
    const args: string[] = [];
    let depth = 0;
    let start = open;
    let end = open;
    for (; end < source.length; end++) {
      const ch = source[end];
      if (ch === '(' || ch === '[') depth++;
      else if (ch === ')' || ch === ']') {
        if (depth === 0) break;
        depth--;
      } else if (ch === ',' && depth === 0) {
        args.push(source.slice(start, end));
        start = end + 1;
      }
    }
    args.push(source.slice(start, end));
    const literal = (arg: string): string => {
      const t = arg.trim();
      return /^-?\d+$/.test(t) ? arg.replace(t, `(${Number(t) + 0.5} - 0.5)`) : arg;
    };
    // calls nested in the arguments are rewritten with them; the scan goes on after this call
    out += source.slice(at, open) + args.map((arg) => literal(glSafeSource(arg))).join(',');
    at = end;
    call.lastIndex = end;
  }
  return out + source.slice(at);
}

/** Whether a kernel compiled for these argument sizes (no allocation: this runs on every call). */
function fits(k: CachedKernel, args: readonly (Float32Array | number)[]): boolean {
  const sizes = k.argSizes;
  if (sizes.length !== args.length) return false;
  for (let i = 0; i < sizes.length; i++) {
    const a = args[i];
    if (sizes[i] !== (typeof a === 'number' ? -1 : a.length)) return false;
  }
  return true;
}

/** Two specs that compile to the same kernel (the source is compared by the caller's map). */
function sameSpec(a: KernelSpec, b: KernelSpec): boolean {
  return (a.components ?? 1) === (b.components ?? 1) && a.output.length === b.output.length && a.output.every((d, i) => d === b.output[i]);
}

/**
 * webasm "erects" its flat result into nested arrays: for an Array(4) return that is one
 * subarray object per output cell (~600k per conv layer call), which cost more than the
 * convolution itself. Our ops want the flat row-major array anyway, so we skip the erecting.
 * The hook is the backend's own `_shapeOutput(data, output, components)` (gpu.js 2.24.1), which
 * webgpu has too: there `data` is a fresh, tightly packed copy of the output buffer, row-major
 * with `components` values per cell, so it is the flat array as it stands. (The GL backends
 * shape through other paths, from padded RGBA textures: they stay erected and flattenOutput
 * walks them.) flattenOutput still validates the length, and the op tests and the browser
 * benchmark's validation catch any change of layout.
 */
function keepFlat(run: IKernelRunShortcut): void {
  const inner = (run as unknown as { kernel?: Record<string, unknown> }).kernel;
  if (inner && typeof inner._shapeOutput === 'function') inner._shapeOutput = (data: Float32Array) => data;
}

/**
 * After its first call a webasm kernel runs from its compiled module; the parsed source that
 * built it (`functionBuilder`: acorn's tree and gpu.js's function nodes) stays referenced and is
 * ~15 MB of JS heap for an unrolled 576-tap convolution. A training step's ~20 kernels kept
 * ~160 MB alive, which every major GC (several a step, triggered by the step's ~300 MB of typed
 * arrays) had to mark. gpu.js rebuilds from it only for a new argument-size signature, which a
 * cached kernel never sees (the cache key holds the argument sizes).
 */
export function dropCompilerState(run: IKernelRunShortcut): void {
  const inner = (run as unknown as { kernel?: Record<string, unknown> }).kernel;
  if (inner && 'functionBuilder' in inner) inner.functionBuilder = null;
}

/** gpu.js's webasm kernel object behind a run shortcut. */
function webasmKernel(run: IKernelRunShortcut): { asyncMode: boolean; _threadable(): boolean } {
  return (run as unknown as { kernel: { asyncMode: boolean; _threadable(): boolean } }).kernel;
}

/** Whether gpu.js would send this kernel to its workers at all (4096+ cells, threads available). */
function threadable(run: IKernelRunShortcut): boolean {
  return webasmKernel(run)._threadable();
}

/** Frees a kernel's shared-memory modules (and the workers' instances of them) once it stays on the calling thread. */
function releaseShared(run: IKernelRunShortcut): void {
  const inner = (run as unknown as { kernel: { _moduleCache: Map<string, { shared: boolean }>; _releaseEntry(e: unknown): void } }).kernel;
  for (const [key, entry] of inner._moduleCache) {
    if (!entry.shared) continue;
    inner._releaseEntry(entry);
    inner._moduleCache.delete(key);
  }
}

/**
 * Sends a kernel's next calls to the workers, or keeps them on the calling thread. gpu.js keys
 * its compiled modules by sharedness: each side compiles once (and releaseShared frees the
 * workers' side of a kernel that stays on the calling thread).
 */
function setThreaded(run: IKernelRunShortcut, on: boolean): void {
  webasmKernel(run).asyncMode = on;
}

/** The kernel class each mode must run on; anything else means gpu.js fell back. */
export const EXPECTED_KERNEL: Record<Mode, string> = {
  cpu: 'CPUKernel',
  webasm: 'WebAssemblyKernel',
  async: 'WebAssemblyKernel',
  headlessgl: 'HeadlessGLKernel',
  webgl2: 'WebGL2Kernel',
  webgl: 'WebGLKernel',
  webgpu: 'WebGPUKernel',
};

/**
 * gpu.js returns nested arrays (rows of Float32Array, or cells of Float32Array(n) for
 * Array(n) returns). Flatten into one row-major array, zero-copy when the leaves are views
 * of one contiguous buffer (webasm).
 */
export function flattenOutput(raw: unknown, total: number): Float32Array {
  if (raw instanceof Float32Array) {
    if (raw.length !== total) throw new Error(`kernel returned ${raw.length} values, expected ${total}`);
    return raw;
  }
  const first = firstLeaf(raw);
  // a page without cross-origin isolation has no SharedArrayBuffer global at all
  const shared = typeof SharedArrayBuffer !== 'undefined' && first?.buffer instanceof SharedArrayBuffer;
  if (first && first.byteOffset === 0 && first.buffer.byteLength === total * 4 && !shared) {
    return new Float32Array(first.buffer, 0, total);
  }
  const out = new Float32Array(total);
  let pos = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Float32Array || (Array.isArray(v) && typeof v[0] === 'number')) {
      const leaf = v as ArrayLike<number>;
      for (let i = 0; i < leaf.length; i++) out[pos++] = leaf[i];
      return;
    }
    for (const c of v as unknown[]) walk(c);
  };
  walk(raw);
  if (pos !== total) throw new Error(`kernel returned ${pos} values, expected ${total}`);
  return out;
}

function firstLeaf(v: unknown): Float32Array | null {
  let cur = v;
  while (Array.isArray(cur)) cur = cur[0];
  return cur instanceof Float32Array ? cur : null;
}

/**
 * Why a mode failed, in one line, in the words of the headlessgl list in bench/README.md: GLSL
 * that the shader compiler rejects (the first error only: a shader repeats it line after line),
 * an output over the texture size limit, a fallback to another backend, a wrong answer. The op
 * tests (testing/check-op.ts) fail all the same; the benchmark (bench/src/suite.ts) puts it in its
 * failure rows.
 */
export function failureReason(message: string): string {
  if (/Error compiling (fragment|vertex) shader|Error linking program/.test(message)) {
    const first = /ERROR: \d+:\d+: (.*)/.exec(message)?.[1]?.trim() ?? message.split('\n')[0];
    return `compile error (gpu.js's GLSL): ${first}`;
  }
  if (/larger than supported size/.test(message)) return `texture size limit: ${message.split('\n')[0]}`;
  if (/ran as .*, expected|fell back/.test(message)) return `fallback: ${message}`;
  if (/differs from the (float64 )?reference|no gradient reached/.test(message)) return `wrong answer: ${message}`;
  return `error: ${message.split('\n')[0]}`;
}

/** The gpu.js kernel class behind a compiled kernel, with the reason when it fell back to another (what Backend.executed records). */
export function kernelClassOf(run: IKernelRunShortcut): string {
  const inner = (run as unknown as { kernel?: { constructor: { name: string }; fallbackReason?: string } }).kernel;
  if (!inner) return 'unknown';
  return inner.fallbackReason ? `${inner.constructor.name} (fallback: ${inner.fallbackReason})` : inner.constructor.name;
}
