import { type IKernelRunShortcut, WebAssemblyKernel } from 'gpu.js';
import { type Backend, type KernelSpec, dropCompilerState, flattenOutput, kernelClassOf } from './backend.js';
import type { Tensor } from './tensor.js';

/*
 * The pieces of an inference plan: a fixed sequence of kernels for one model and one batch size,
 * compiled once, with the weights written into each kernel's memory once.
 *
 * On the WebAssembly modes a plan drives gpu.js's compiled module itself. A kernel's arguments and
 * output are regions of its wasm memory (gpu.js lays them out per argument-size signature and
 * never moves them), so a plan writes its inputs straight into those regions, runs the module's
 * `run_simd` over the cells and reads the output where the kernel left it. gpu.js's own call does
 * more on every call: argument checks, a size-signature string, a copy of every argument (the
 * weights too), a copy of the output. Here the weights are copied in once and only the
 * activations move, once per step, from one kernel's output region into the next one's input
 * region: as they are where the next kernel reads its input in the previous one's tiles (a dense
 * layer after a dense layer or attention), else through a host pass that also applies the
 * step's elementwise work (residual, pooling, normalisation, a bias the kernel did not add).
 *
 * Plan kernels run on the calling thread (a plan is for serving: many small calls, where a worker
 * round trip costs more than it saves) and belong to the plan, outside the backend's cache.
 * On the other modes a plan runs the same kernels through gpu.js's ordinary call, with arrays of
 * its own: slower, but the same arithmetic, which is what the tests compare.
 */

/** What a WebAssembly kernel exposes once compiled (gpu.js 2.24.1, src/backend/web-assembly/kernel.js). */
interface WasmEntry {
  readonly layout: { readonly arrays: Record<string, { readonly offset: number; readonly flatLength: number }>; readonly outputOffset: number };
  readonly cells: number;
  readonly sizeX: number;
  readonly f32: Float32Array;
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly mathImports: readonly string[];
  readonly run: (start: number, end: number, seed: number) => void;
  readonly runSimd: ((start: number, end: number, seed: number) => void) | null;
}

interface WasmKernel {
  readonly constructor: { readonly name: string; dispatchSpans(run: WasmEntry['run'], runSimd: WasmEntry['runSimd'], cells: number, sizeX: number, seed: number): string };
  readonly argumentNames: readonly string[];
  readonly _active: WasmEntry | null;
  readonly fallbackReason?: string;
  readonly usesRandom?: boolean;
}

/** gpu.js's WebAssemblyKernel.dispatchSpans: runs a module's cells, the SIMD entry over whole quads of each row. */
type Dispatch = WasmKernel['constructor']['dispatchSpans'];
const dispatchSpans: Dispatch = (WebAssemblyKernel as unknown as WasmKernel['constructor']).dispatchSpans;

/** Options of a plan's kernels. */
export interface PlanOptions {
  /**
   * WebAssembly modes: the kernels of one spec run one module over one memory, each copying its
   * arguments in when it runs (its resident weights only when another kernel ran there since),
   * where by default each holds an instance over a memory of its own. A page gets about a hundred
   * wasm memories in all (each reserves its own guard region of address space), fewer than the
   * ViT's layers take one each.
   */
  readonly shareMemory?: boolean;
  /**
   * WebAssembly modes: modules another plan of the same model, mode and settings compiled
   * (PlanKernels.exportModules, posted to this thread), instantiated where this plan would
   * compile the same kernel again: a plan on a worker thread then compiles nothing.
   */
  readonly modules?: readonly CompiledModule[];
}

/**
 * A kernel's compiled WebAssembly module and the layout gpu.js gave its memory, as a plan on
 * another thread instantiates it: plain data and a WebAssembly.Module, which postMessage and
 * workerData carry (structured clone).
 */
export interface CompiledModule {
  /** Which kernel it is (moduleKey): its spec's source, output and argument lengths. */
  readonly key: string;
  readonly module: WebAssembly.Module;
  readonly layout: WasmEntry['layout'];
  readonly cells: number;
  readonly sizeX: number;
  readonly mathImports: readonly string[];
  /** The memory's size in 64 KiB pages when the module was compiled. */
  readonly pages: number;
  readonly argumentNames: readonly string[];
}

/** The key of a compiled module: one spec (its source fixes every size) for arguments of these lengths. */
function moduleKey(spec: KernelSpec, lengths: readonly number[]): string {
  return `${spec.name}|${spec.output.join('x')}|${spec.components ?? 1}|${lengths.join(',')}|${spec.source}`;
}

/** One module's memory as the kernels of its spec share it (PlanOptions.shareMemory). */
interface SharedMemory {
  readonly views: { readonly args: Float32Array[]; readonly output: Float32Array };
  /** The kernel whose arguments the memory holds now. */
  last: PlanKernel | null;
}

/** One kernel of a plan. Write its inputs into `args`, call run(), read `output`. */
export class PlanKernel {
  /** shareMemory: the memory it runs in, and which of its arguments are resident (copied in only when stale). */
  private shared: { readonly memory: SharedMemory; readonly resident: Set<number>; stale: boolean } | null = null;

  private constructor(
    readonly spec: KernelSpec,
    /** The gpu.js kernel, for the kernel that compiled it (null for another instance of its module). */
    private readonly kernel: IKernelRunShortcut | null,
    private readonly cpu: boolean,
    /** The arguments as the kernel reads them (wasm memory on the WebAssembly modes). */
    readonly args: Float32Array[],
    /** The kernel's result, flat, in the layout its spec returns (see the op that defines it); valid until its next run. */
    public output: Float32Array,
    private readonly direct: WasmEntry | null,
    /** Milliseconds its compile (first call) took; 0 for another instance of a compiled module. */
    readonly compileMs: number,
    /** Its module's argument names, in gpu.js's layout (null where it does not run its module directly). */
    private readonly argumentNames: readonly string[] | null = null,
  ) {}

  /** Compiles run (gpu.js, not called yet) with these initial arguments, which the plan then owns. */
  static compile(spec: KernelSpec, run: IKernelRunShortcut, cpu: boolean, args: Float32Array[]): PlanKernel {
    const total = outputLength(spec);
    const t0 = performance.now();
    // the first call compiles (and on webasm lays out the memory the next calls reuse)
    const first = flattenOutput((run as unknown as (...a: unknown[]) => unknown)(...args), total);
    const compileMs = performance.now() - t0;
    const inner = (run as unknown as { kernel?: WasmKernel }).kernel;
    const entry = inner?.constructor.name === 'WebAssemblyKernel' && !inner.usesRandom ? inner._active : null;
    if (!inner || !entry) return new PlanKernel(spec, run, cpu, args, cpu ? first.slice() : first, null, compileMs);
    dropCompilerState(run);
    const views = regions(entry, inner.argumentNames, total);
    views.args.forEach((v, i) => v.set(args[i]));
    return new PlanKernel(spec, run, cpu, views.args, views.output, entry, compileMs, inner.argumentNames);
  }

  /**
   * Another instance of k's compiled module over a memory of its own, so that each layer keeps its
   * own weights resident while layers of one shape compile once. Null where k does not run its
   * module directly (the other modes): compile another kernel there.
   */
  static instance(k: PlanKernel, args: Float32Array[]): PlanKernel | null {
    const e = k.direct;
    if (!e || !k.argumentNames) return null;
    return PlanKernel.instantiate(k.spec, e, e.memory.buffer.byteLength / 65536, k.argumentNames, args);
  }

  /** An instance of a module compiled on another thread (CompiledModule), with these arguments copied in. */
  static fromModule(spec: KernelSpec, m: CompiledModule, args: Float32Array[]): PlanKernel {
    return PlanKernel.instantiate(spec, { ...m, run: () => undefined, runSimd: null }, m.pages, m.argumentNames, args);
  }

  /** A new instance of e's module over a memory of its own of `pages` pages, laid out as e's. */
  private static instantiate(spec: KernelSpec, e: Omit<WasmEntry, 'f32' | 'memory'>, pages: number, argumentNames: readonly string[], args: Float32Array[]): PlanKernel {
    const memory = new WebAssembly.Memory({ initial: pages, maximum: Math.max(pages, 4096) });
    const env: WebAssembly.ModuleImports = { memory };
    for (const name of e.mathImports) env[`math_${name}`] = (Math as unknown as Record<string, WebAssembly.ImportValue>)[name];
    const instance = new WebAssembly.Instance(e.module, { env });
    const exports = instance.exports as unknown as { run: WasmEntry['run']; run_simd?: WasmEntry['run'] };
    const entry: WasmEntry = { ...e, memory, f32: new Float32Array(memory.buffer), run: exports.run, runSimd: exports.run_simd ?? null };
    const views = regions(entry, argumentNames, outputLength(spec));
    views.args.forEach((v, i) => v.set(args[i]));
    return new PlanKernel(spec, null, false, views.args, views.output, entry, 0, argumentNames);
  }

  /** Its compiled module as another thread's plan instantiates it (null where it does not run its module directly). */
  exported(): CompiledModule | null {
    const e = this.direct;
    if (!e || !this.argumentNames) return null;
    const { module, layout, cells, sizeX, mathImports } = e;
    return { key: moduleKey(this.spec, this.argumentNames.map((name) => layout.arrays[name].flatLength)), module, layout, cells, sizeX, mathImports, pages: e.memory.buffer.byteLength / 65536, argumentNames: this.argumentNames };
  }

  /** The gpu.js kernel class that ran it (a fallback shows here, as in Backend.executed). */
  get executedBy(): string {
    return this.kernel ? kernelClassOf(this.kernel) : 'WebAssemblyKernel';
  }

  /**
   * Another kernel of k's spec with host arrays of its own as `args` and `output`, running in
   * `memory`; with null, in k's own memory, as k's first user (it takes over k's gpu.js kernel, so
   * k is not to be run or destroyed after). Null where k does not run its module directly.
   */
  static sharing(k: PlanKernel, args: Float32Array[], memory: SharedMemory | null): PlanKernel | null {
    if (!k.direct) return null;
    const first = memory === null;
    const m = memory ?? { views: { args: k.args, output: k.output }, last: null };
    const own = new PlanKernel(k.spec, first ? k.kernel : null, false, args, new Float32Array(k.output.length), k.direct, first ? k.compileMs : 0, k.argumentNames);
    own.shared = { memory: m, resident: new Set(), stale: true };
    return own;
  }

  /** The memory it shares with the other kernels of its spec (shareMemory), or null. */
  get sharedMemory(): SharedMemory | null {
    return this.shared?.memory ?? null;
  }

  /** Argument `index` holds a parameter: a shared kernel copies it in only when stale. */
  markResident(index: number): void {
    if (!this.shared) return;
    this.shared.resident.add(index);
    this.shared.stale = true;
  }

  /** Runs the kernel over its current arguments. */
  run(): void {
    const s = this.shared;
    if (s) {
      const m = s.memory;
      const fresh = s.stale || m.last !== this;
      this.args.forEach((a, i) => {
        if (fresh || !s.resident.has(i)) m.views.args[i].set(a);
      });
      m.last = this;
      s.stale = false;
      dispatchSpans(this.direct!.run, this.direct!.runSimd, this.direct!.cells, this.direct!.sizeX, 0);
      this.output.set(m.views.output);
      return;
    }
    const e = this.direct;
    if (e) {
      dispatchSpans(e.run, e.runSimd, e.cells, e.sizeX, 0);
      return;
    }
    const raw = (this.kernel as unknown as (...a: unknown[]) => unknown)(...this.args);
    const flat = flattenOutput(raw, this.output.length);
    // the cpu backend may reuse its result buffer
    this.output = this.cpu ? flat.slice() : flat;
  }

  /** Frees the compiled kernel and its memory. */
  destroy(): void {
    (this.kernel as unknown as { destroy(): void } | null)?.destroy();
  }
}

/** Values a spec's kernel returns. */
function outputLength(spec: KernelSpec): number {
  return spec.output.reduce((a, b) => a * b, 1) * (spec.components ?? 1);
}

/** Views of a module's argument and output regions in its memory (gpu.js's layout for this size signature). */
function regions(e: WasmEntry, names: readonly string[], total: number): { args: Float32Array[]; output: Float32Array } {
  const args = names.map((name) => {
    const r = e.layout.arrays[name];
    return e.f32.subarray(r.offset / 4, r.offset / 4 + r.flatLength);
  });
  const base = e.layout.outputOffset / 4;
  return { args, output: e.f32.subarray(base, base + total) };
}

/**
 * Parameters written into a kernel's argument once, side by side along their last axis (one
 * parameter: as it is), and again only when one of their versions moves.
 */
interface Resident {
  readonly into: Float32Array;
  readonly tensors: readonly Tensor[];
  readonly versions: number[];
  readonly kernel: PlanKernel;
  readonly index: number;
}

/** Writes tensors into `into` joined along their last axis: row r is each tensor's row r in turn. */
export function concatLast(tensors: readonly Tensor[], into: Float32Array): void {
  if (tensors.length === 1) {
    into.set(tensors[0].data);
    return;
  }
  const width = tensors.reduce((s, t) => s + t.shape[t.shape.length - 1], 0);
  let at = 0;
  for (const t of tensors) {
    const w = t.shape[t.shape.length - 1];
    for (let r = 0; r < t.size / w; r++) into.set(t.data.subarray(r * w, (r + 1) * w), r * width + at);
    at += w;
  }
}

/**
 * The kernels of one plan and the weights they keep resident. A model's plan builds its kernels
 * here, runs them in order, and does the host passes between them.
 */
export class PlanKernels {
  private readonly kernels: PlanKernel[] = [];
  /** The first kernel of each spec: later ones of the same spec are instances of its module. */
  private readonly bySpec = new Map<KernelSpec, PlanKernel>();
  private readonly residents: Resident[] = [];
  private byKey: Map<string, CompiledModule> | null = null;
  /** Kernel calls made so far (counted as they run). */
  calls = 0;
  /** Per-kernel calls and milliseconds, when switched on (benchmarks: kernels against host passes). */
  profile: Map<string, { calls: number; ms: number }> | null = null;

  constructor(
    private readonly be: Backend,
    private readonly options: PlanOptions = {},
  ) {}

  /**
   * Compiles spec for arguments of these lengths (or these arrays, copied in: constant tables),
   * on the calling thread, and records the class it ran on in the backend's `executed`.
   */
  kernel(spec: KernelSpec, args: readonly (number | Float32Array)[]): PlanKernel {
    const arrays = args.map((a) => (typeof a === 'number' ? new Float32Array(a) : Float32Array.from(a)));
    const first = this.bySpec.get(spec);
    const share = this.options.shareMemory === true;
    let k = first && (share ? PlanKernel.sharing(first, arrays, first.sharedMemory) : PlanKernel.instance(first, arrays));
    // A key holds the whole source, so it is only built when there are modules to match it against.
    const handed = !k && !first && this.options.modules?.length ? this.handed().get(moduleKey(spec, arrays.map((a) => a.length))) : undefined;
    if (handed) {
      k = PlanKernel.fromModule(spec, handed, arrays);
      this.be.executed.add(k.executedBy);
      if (share) k = PlanKernel.sharing(k, arrays, null) ?? k;
      this.bySpec.set(spec, k);
    }
    if (!k) {
      k = PlanKernel.compile(spec, this.be.createKernel(spec, false), this.be.mode === 'cpu', arrays);
      this.be.compiled++;
      this.be.executed.add(k.executedBy);
      if (share) k = PlanKernel.sharing(k, arrays, null) ?? k;
      if (!first) this.bySpec.set(spec, k);
    }
    this.kernels.push(k);
    return k;
  }

  /** The modules handed to this plan (PlanOptions.modules), by key. */
  private handed(): ReadonlyMap<string, CompiledModule> {
    return (this.byKey ??= new Map((this.options.modules ?? []).map((m) => [m.key, m])));
  }

  /** The modules this plan compiled, as a plan of the same model on another thread instantiates them (PlanOptions.modules). */
  exportModules(): CompiledModule[] {
    return [...this.bySpec.values()].flatMap((k) => k.exported() ?? []);
  }

  /**
   * Keeps argument `index` of k equal to the parameter t, or to parameters joined along their
   * last axis (query, key and value weights as one [K, 3A] matrix): copied now, and again by
   * refresh() after one of them changes.
   */
  resident(k: PlanKernel, index: number, t: Tensor | readonly Tensor[]): void {
    const tensors = Array.isArray(t) ? t : [t as Tensor];
    const into = k.args[index];
    const size = tensors.reduce((s, x) => s + x.size, 0);
    const rows = new Set(tensors.map((x) => x.size / x.shape[x.shape.length - 1]));
    if (into.length !== size || rows.size !== 1) throw new Error(`plan ${k.spec.name}: argument ${index} holds ${into.length} values, parameters [${tensors.map((x) => x.shape.join('x')).join(', ')}] do not fill it row for row`);
    concatLast(tensors, into);
    k.markResident(index);
    this.residents.push({ into, tensors, versions: tensors.map((x) => x.version), kernel: k, index });
  }

  /** Copies in every resident parameter whose version moved since it was copied (training updated it). */
  refresh(): void {
    for (const r of this.residents) {
      if (r.tensors.every((t, i) => t.version === r.versions[i])) continue;
      concatLast(r.tensors, r.into);
      r.kernel.markResident(r.index);
      r.tensors.forEach((t, i) => (r.versions[i] = t.version));
    }
  }

  /** Runs k and counts the call. */
  run(k: PlanKernel): void {
    this.calls++;
    if (!this.profile) {
      k.run();
      return;
    }
    const t0 = performance.now();
    k.run();
    const p = this.profile.get(k.spec.name) ?? { calls: 0, ms: 0 };
    p.calls++;
    p.ms += performance.now() - t0;
    this.profile.set(k.spec.name, p);
  }

  /** How many kernels the plan holds (instances of one compiled module counted each). */
  get size(): number {
    return this.kernels.length;
  }

  /** Milliseconds spent compiling, by kernel name. */
  compileMs(): Map<string, number> {
    const by = new Map<string, number>();
    for (const k of this.kernels) by.set(k.spec.name, (by.get(k.spec.name) ?? 0) + k.compileMs);
    return by;
  }

  /** Frees every kernel of the plan. */
  destroy(): void {
    for (const k of this.kernels) k.destroy();
    this.kernels.length = 0;
    this.bySpec.clear();
  }
}
