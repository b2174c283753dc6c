import type { IKernelRunShortcut } from 'gpu.js';
import { type Backend, type KernelSpec, kernelClassOf } from './backend.js';
import { openWebGl2 } from './device-plan-webgl2.js';
import { openWebGpu } from './device-plan-webgpu.js';

/*
 * A forward pass that stays on the GPU (webgpu, webgl2): a fixed sequence of kernels, each compiled
 * with gpu.js's `pipeline: true`, so its result stays on the device (a WebGPU buffer, a WebGL
 * texture) and the next kernel binds it as its argument without a readback. Weights and constant
 * tables are uploaded once into device arrays of their own; only the images are written per call,
 * and only the output the caller asks for is read back (one read).
 *
 * Our kernels index every argument as one flat array (`X[i]`), the way a Float32Array argument
 * reads, while a pipeline result carries the producing kernel's output dims and its values per
 * cell (Array(4) returns). Each device's memory (device-plan-webgpu.ts, device-plan-webgl2.ts)
 * binds a result through a view over the same storage that reads it as that flat array; where a
 * device cannot (a WebGL texture of two values per cell), a small unpack step copies the result
 * into a flat one on the device. The views are made at the first call; later calls write into the
 * same buffers or textures (a kernel keeps its output while the size holds), so the views stay
 * valid and nothing is allocated per call.
 *
 * The ViT runs kernels of one spec several times in one pass (the blocks, the residual adds), and
 * a result must live until its last reader has run: on webgpu every step has a kernel of its own
 * (its own output buffer); on webgl2, where every kernel compiles a shader program of its own (on
 * a software GPU, seconds each), the steps of one spec share one kernel and each keeps a copy of
 * its output in a texture of its own (a copy on the device, not a read).
 */

/** A flat array of floats on the device: a plan's input, a constant, or a step's result. */
export interface DeviceArray {
  readonly length: number;
}

/** A device's arrays as a DevicePlan keeps them: buffers on webgpu, textures on webgl2. The arrays are the device's own objects, bound as kernel arguments. */
export interface DeviceMemory {
  /** The kernel a step of `spec` runs, compiled with `pipeline: true` (at its first call). */
  kernel(spec: KernelSpec): IKernelRunShortcut;
  /** An array holding `values`, uploaded now. */
  upload(values: Float32Array): object;
  /** Overwrites an array made by upload() with as many values. */
  write(array: object, values: Float32Array): void;
  /**
   * Runs a step's kernel over its arguments; returns what the next steps bind: `view` where the
   * step ran before (its result lies in the same storage), else a view of the result, read as a
   * flat array of `length` values (`components` per cell).
   */
  run(kernel: IKernelRunShortcut, args: readonly object[], view: object | null, length: number, components: number): Promise<object>;
  /** The step that copies a result of `components` values per cell into a flat array where views cannot read it flat (null: they can). */
  unpack(length: number, components: number): KernelSpec | null;
  /** Reads `length` values of an array back: the one transfer off the device. */
  read(array: object, length: number): Promise<Float32Array>;
  /** Why the device cannot run now (it was lost), or null. */
  lost(): string | null;
  /** Frees the kernels and what upload() and the views made. */
  destroy(): void;
}

interface Slot extends DeviceArray {
  /** What the next kernels bind (set at upload, or at the producing step's first run). */
  view: object | null;
}

interface Step {
  readonly spec: KernelSpec;
  readonly run: IKernelRunShortcut;
  readonly args: readonly Slot[];
  readonly out: Slot;
}

/** What a plan has read back from the device so far (a prediction should read only its logits). */
export interface DeviceReads {
  /** Read-backs (webgpu: one copy into a staging buffer and one map; webgl2: one readPixels). */
  reads: number;
  /** Floats read back. */
  values: number;
}

/** What a model's device pass records its steps into (a DevicePlan; a test may replay the same steps on the host). */
export interface DeviceSteps {
  /** An array written by every run (the images). */
  input(length: number): DeviceArray;
  /** Values uploaded once (weights, index tables, constant tables). */
  constant(values: Float32Array): DeviceArray;
  /** A kernel step over earlier arrays. */
  kernel(spec: KernelSpec, args: readonly DeviceArray[]): DeviceArray;
}

/** The modes a DevicePlan runs on. */
const DEVICE_MODES: ReadonlySet<Backend['mode']> = new Set(['webgpu', 'webgl2']);

/** Whether a backend can run a DevicePlan (webgpu, webgl2). */
export function runsOnDevice(be: Backend): boolean {
  return DEVICE_MODES.has(be.mode);
}

/** A forward pass on the device: record inputs, constants and kernel steps, then run it as often as needed. */
export class DevicePlan implements DeviceSteps {
  private readonly steps: Step[] = [];
  private readonly inputs: Slot[] = [];
  private built = false;
  /** The run before the next one (see run()). */
  private last: Promise<unknown> = Promise.resolve();
  /** Read-backs so far. */
  readonly reads: DeviceReads = { reads: 0, values: 0 };

  private constructor(
    private readonly be: Backend,
    private readonly memory: DeviceMemory,
  ) {}

  /** A plan on `be`'s device (webgpu or webgl2). */
  static async open(be: Backend): Promise<DevicePlan> {
    if (!runsOnDevice(be)) throw new Error(`DevicePlan: runs on ${[...DEVICE_MODES].join(' or ')}, not ${be.mode}`);
    return new DevicePlan(be, be.mode === 'webgpu' ? await openWebGpu(be) : await openWebGl2(be));
  }

  /** An array written by every run (the images), in the order run() takes them. */
  input(length: number): DeviceArray {
    const slot: Slot = { length, view: this.memory.upload(new Float32Array(length)) };
    this.inputs.push(slot);
    return slot;
  }

  /** Values uploaded now, once (weights, index tables, constant tables). */
  constant(values: Float32Array): DeviceArray {
    const slot: Slot = { length: values.length, view: this.memory.upload(values) };
    return slot;
  }

  /** A kernel step over earlier arrays; its result stays on the device. */
  kernel(spec: KernelSpec, args: readonly DeviceArray[]): DeviceArray {
    if (this.built) throw new Error('DevicePlan: steps are recorded before the first run');
    const components = spec.components ?? 1;
    const length = spec.output.reduce((a, b) => a * b, 1) * components;
    const raw = this.step(spec, args as Slot[], length);
    const unpack = this.memory.unpack(length, components);
    return unpack ? this.step(unpack, [raw], length) : raw;
  }

  private step(spec: KernelSpec, args: readonly Slot[], length: number): Slot {
    const out: Slot = { length, view: null };
    this.steps.push({ spec, run: this.memory.kernel(spec), args, out });
    return out;
  }

  /** Kernel steps recorded (unpack steps included). */
  get size(): number {
    return this.steps.length;
  }

  /**
   * Writes the inputs, runs every step on the device and reads back `output` alone. Runs queue
   * behind each other: they share the input and step arrays, so overlapping runs would overwrite
   * each other's activations.
   */
  run(inputs: readonly Float32Array[], output: DeviceArray): Promise<Float32Array> {
    const result = this.last.then(() => this.runNow(inputs, output));
    this.last = result.catch(() => undefined);
    return result;
  }

  private async runNow(inputs: readonly Float32Array[], output: DeviceArray): Promise<Float32Array> {
    if (inputs.length !== this.inputs.length) throw new Error(`DevicePlan: ${this.inputs.length} inputs, got ${inputs.length}`);
    const lost = this.memory.lost();
    if (lost) throw new Error(`DevicePlan: ${lost}`);
    this.inputs.forEach((slot, i) => {
      if (inputs[i].length !== slot.length) throw new Error(`DevicePlan: input ${i} holds ${slot.length} values, got ${inputs[i].length}`);
      this.memory.write(slot.view!, inputs[i]);
    });
    for (const s of this.steps) {
      const first = !s.out.view;
      s.out.view = await this.memory.run(s.run, s.args.map((a) => a.view!), s.out.view, s.out.length, s.spec.components ?? 1);
      if (first) this.be.executed.add(kernelClassOf(s.run));
    }
    this.built = true;
    const view = (output as Slot).view;
    if (!view) throw new Error('DevicePlan: the output is not an array of this plan');
    const values = await this.memory.read(view, output.length);
    this.reads.reads++;
    this.reads.values += values.length;
    return values;
  }

  /** Frees the kernels and the device arrays. */
  destroy(): void {
    this.memory.destroy();
    this.steps.length = 0;
  }
}

/** spec compiled (at its first call) to return its result on the device. */
export function pipelineKernel(be: Backend, spec: KernelSpec): IKernelRunShortcut {
  const run = be.createKernel(spec, false);
  (run as unknown as { setPipeline(on: boolean): void }).setPipeline(true);
  return run;
}

/** What a gather step computes per output value (see gatherSpec). */
export interface Gather {
  /** Output values, laid out as `rows` rows of `width` (the bias is indexed by column). */
  readonly width: number;
  readonly rows: number;
  /** Source values per output, combined in order: their indices are I[i·taps .. i·taps + taps). */
  readonly taps: number;
  /** How the taps combine: summed (a gemm's reduction chunks) or their maximum (max-pooling). */
  readonly reduce: 'sum' | 'max';
  /** Adds Bs[column] after the taps. */
  readonly bias?: boolean;
  /** max(·, 0) after the bias. */
  readonly relu?: boolean;
  /** Adds X[i] last, X laid out as the output (a residual connection). */
  readonly residual?: boolean;
}

/**
 * The device's stand-in for a plan's host pass: out[i] = combine of R[I[i·taps + t]] over the
 * taps (+ Bs[column]) (ReLU) (+ X[i]). The index table I, uploaded once, says where each value
 * lies in a kernel's raw output (a gemm's tiles, a convolution's cells, attention's token rows),
 * so one kernel unpacks any layout into plain rows, summing chunks or pooling on the way. The
 * sums round in the order the op-by-op path's do: taps first to last, then the bias, then the
 * residual. Arguments: R, I, then Bs and X where used.
 */
export function gatherSpec(g: Gather): KernelSpec {
  const { width, rows, taps } = g;
  const i = `(this.thread.y * ${width} + this.thread.x)`;
  // each tap's index is read into a variable of its own before R is read at it: gpu.js's GL
  // translation moves a texture read nested in an index into a variable named by its place in the
  // statement, so two statements of `R[I[..]]` declare the same name and the shader fails to compile
  const at = (t: number): string => `const j${t} = I[${i} * ${taps} + ${t}];`;
  const lines = [at(0), 'let v = R[j0];'];
  for (let t = 1; t < taps; t++) lines.push(at(t), g.reduce === 'sum' ? `v = v + R[j${t}];` : `v = Math.max(v, R[j${t}]);`);
  if (g.bias) lines.push('v = v + Bs[this.thread.x];');
  if (g.relu) lines.push('v = Math.max(v, 0.0);');
  const params = ['R', 'I', ...(g.bias ? ['Bs'] : []), ...(g.residual ? ['X'] : [])];
  const result = g.residual ? `X[${i}] + v` : 'v';
  return { name: 'device_gather', source: `function(${params.join(', ')}) {\n  ${lines.join('\n  ')}\n  return ${result};\n}`, output: [width, rows] };
}
