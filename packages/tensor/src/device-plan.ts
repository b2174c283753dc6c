import type { IKernelRunShortcut } from 'gpu.js';
import { type Backend, type KernelSpec, kernelClassOf } from './backend.js';

/*
 * A forward pass that stays on the GPU (webgpu): a fixed sequence of kernels, each compiled with
 * gpu.js's `pipeline: true`, so its result is a buffer on the device (a WebGPUBufferResult) that
 * the next kernel binds as its argument without a readback. Weights and constant tables are
 * uploaded once into device buffers of their own; only the images are written per call, and
 * only the output the caller asks for is read back (one copy and one map).
 *
 * Our kernels index every argument as one flat array (`X[i]`), the way a Float32Array argument
 * reads. A pipeline result carries the producing kernel's output dims ([N, M/4, chunks], say) and
 * its values per cell (Array(4) returns), and gpu.js's webgpu accessor bounds each axis by those
 * dims and refuses Array(n) results as arguments. Its storage, though, is exactly the flat
 * row-major array a host call returns (cells in order, their values interleaved). So every
 * result is bound through a view: a result object over the same buffer whose dims are
 * [length] and whose values per cell are 1. The views are made at the first call; later calls
 * write into the same buffers (a kernel keeps its output buffer while the size holds), so the
 * views stay valid and nothing is allocated per call.
 *
 * Every step has a kernel instance of its own (its own output buffer): the ViT runs kernels of
 * one spec several times in one pass (the blocks, the residual adds), and a result must live
 * until its last reader has run.
 */

/** What gpu.js's WebGPUBufferResult holds (gpu.js 2.24.1, src/backend/web-gpu/buffer-result.js). */
interface BufferResult {
  readonly buffer: GpuBuffer;
  readonly output: readonly number[];
  readonly componentCount: number;
  readonly context: { readonly device: GpuDevice; readonly isLost?: boolean };
  readonly kernel: { readBufferResult(h: BufferResult): Promise<unknown> };
  delete(): void;
}

type BufferResultClass = new (settings: { buffer: GpuBuffer; output: number[]; componentCount: number; context: BufferResult['context']; kernel: BufferResult['kernel'] }) => BufferResult;

/** The few WebGPU calls made here (typed locally: the DOM's WebGPU types are not in this package's lib). */
interface GpuBuffer {
  destroy(): void;
}
interface GpuDevice {
  createBuffer(d: { size: number; usage: number }): GpuBuffer;
  readonly queue: { writeBuffer(b: GpuBuffer, offset: number, data: Float32Array): void };
}

// GPUBufferUsage: fixed by the WebGPU spec (globals only where WebGPU exists)
const STORAGE = 0x0080;
const COPY_SRC = 0x0004;
const COPY_DST = 0x0008;

/** A flat array of floats on the device: a plan's input, a constant, or a step's result. */
export interface DeviceArray {
  readonly length: number;
}

interface Slot extends DeviceArray {
  /** The view the next kernels bind (set at upload, or at the producing step's first run). */
  view: BufferResult | null;
}

interface Step {
  readonly spec: KernelSpec;
  readonly run: IKernelRunShortcut;
  readonly args: readonly Slot[];
  readonly out: Slot;
}

/** What a plan has read back from the device so far (a prediction should read only its logits). */
export interface DeviceReads {
  /** Read-backs (each one copy into a staging buffer and one map). */
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

/** Whether a backend can run a DevicePlan. */
export function runsOnDevice(be: Backend): boolean {
  return be.mode === 'webgpu';
}

/** A forward pass on the device: record inputs, constants and kernel steps, then run it as often as needed. */
export class DevicePlan implements DeviceSteps {
  private readonly steps: Step[] = [];
  private readonly inputs: Slot[] = [];
  private readonly owned: GpuBuffer[] = [];
  private built = false;
  /** The run before the next one (see run()). */
  private last: Promise<unknown> = Promise.resolve();
  /** Read-backs so far. */
  readonly reads: DeviceReads = { reads: 0, values: 0 };

  private constructor(
    private readonly be: Backend,
    /** A one-cell pipeline kernel: its result gives the device and gpu.js's result class. */
    private readonly probe: IKernelRunShortcut,
    private readonly Result: BufferResultClass,
    private readonly context: BufferResult['context'],
    private readonly reader: BufferResult['kernel'],
  ) {}

  /** A plan on `be`'s device (webgpu only). */
  static async open(be: Backend): Promise<DevicePlan> {
    if (!runsOnDevice(be)) throw new Error(`DevicePlan: runs on webgpu, not ${be.mode}`);
    const probe = pipelineKernel(be, { name: 'device_probe', source: 'function() { return 0; }', output: [1] });
    const h = (await (probe as unknown as () => Promise<BufferResult>)()) as BufferResult;
    const plan = new DevicePlan(be, probe, h.constructor as BufferResultClass, h.context, h.kernel);
    h.delete();
    return plan;
  }

  /** An array written by every run (the images), in the order run() takes them. */
  input(length: number): DeviceArray {
    const slot: Slot = { length, view: this.upload(new Float32Array(length)) };
    this.inputs.push(slot);
    return slot;
  }

  /** Values uploaded now, once (weights, index tables, constant tables). */
  constant(values: Float32Array): DeviceArray {
    const slot: Slot = { length: values.length, view: this.upload(values) };
    return slot;
  }

  /** A kernel step over earlier arrays; its result stays on the device. */
  kernel(spec: KernelSpec, args: readonly DeviceArray[]): DeviceArray {
    if (this.built) throw new Error('DevicePlan: steps are recorded before the first run');
    const length = spec.output.reduce((a, b) => a * b, 1) * (spec.components ?? 1);
    const out: Slot = { length, view: null };
    this.steps.push({ spec, run: pipelineKernel(this.be, spec), args: args as Slot[], out });
    return out;
  }

  /** Kernel steps recorded. */
  get size(): number {
    return this.steps.length;
  }

  /**
   * Writes the inputs, runs every step on the device and reads back `output` alone. Runs queue
   * behind each other: they share the input and step buffers, so overlapping runs would overwrite
   * each other's activations.
   */
  run(inputs: readonly Float32Array[], output: DeviceArray): Promise<Float32Array> {
    const result = this.last.then(() => this.runNow(inputs, output));
    this.last = result.catch(() => undefined);
    return result;
  }

  private async runNow(inputs: readonly Float32Array[], output: DeviceArray): Promise<Float32Array> {
    if (inputs.length !== this.inputs.length) throw new Error(`DevicePlan: ${this.inputs.length} inputs, got ${inputs.length}`);
    if (this.context.isLost) throw new Error('DevicePlan: the WebGPU device was lost');
    this.inputs.forEach((slot, i) => {
      if (inputs[i].length !== slot.length) throw new Error(`DevicePlan: input ${i} holds ${slot.length} values, got ${inputs[i].length}`);
      this.context.device.queue.writeBuffer(slot.view!.buffer, 0, inputs[i]);
    });
    for (const s of this.steps) {
      // the kernel returns a new result object over its one output buffer per call; the view stays
      const h = await (s.run as unknown as (...a: unknown[]) => Promise<BufferResult>)(...s.args.map((a) => a.view));
      if (!s.out.view) {
        s.out.view = new this.Result({ buffer: h.buffer, output: [s.out.length], componentCount: 1, context: h.context, kernel: h.kernel });
        this.be.executed.add(kernelClassOf(s.run));
      }
      h.delete();
    }
    this.built = true;
    const view = (output as Slot).view;
    if (!view) throw new Error('DevicePlan: the output is not an array of this plan');
    const values = (await view.kernel.readBufferResult(view)) as Float32Array;
    this.reads.reads++;
    this.reads.values += values.length;
    return values;
  }

  /** Frees the kernels and the device buffers. */
  destroy(): void {
    for (const s of this.steps) {
      s.out.view?.delete();
      (s.run as unknown as { destroy(): void }).destroy();
    }
    for (const b of this.owned) b.destroy();
    (this.probe as unknown as { destroy(): void }).destroy();
    this.steps.length = 0;
  }

  private upload(values: Float32Array): BufferResult {
    // a storage binding of size 0 is invalid; a 4-byte buffer holds nothing of use
    const buffer = this.context.device.createBuffer({ size: Math.max(4, values.byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
    this.owned.push(buffer);
    if (values.length) this.context.device.queue.writeBuffer(buffer, 0, values);
    return new this.Result({ buffer, output: [values.length], componentCount: 1, context: this.context, kernel: this.reader });
  }
}

/** spec compiled (at its first call) to return its result on the device. */
function pipelineKernel(be: Backend, spec: KernelSpec): IKernelRunShortcut {
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
  const at = (t: number): string => `R[I[${i} * ${taps} + ${t}]]`;
  const lines = [`let v = ${at(0)};`];
  for (let t = 1; t < taps; t++) lines.push(g.reduce === 'sum' ? `v = v + ${at(t)};` : `v = Math.max(v, ${at(t)});`);
  if (g.bias) lines.push('v = v + Bs[this.thread.x];');
  if (g.relu) lines.push('v = Math.max(v, 0.0);');
  const params = ['R', 'I', ...(g.bias ? ['Bs'] : []), ...(g.residual ? ['X'] : [])];
  const result = g.residual ? `X[${i}] + v` : 'v';
  return { name: 'device_gather', source: `function(${params.join(', ')}) {\n  ${lines.join('\n  ')}\n  return ${result};\n}`, output: [width, rows] };
}
