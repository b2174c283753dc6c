import type { IKernelRunShortcut } from 'gpu.js';
import type { Backend, KernelSpec } from './backend.js';
import { type DeviceMemory, pipelineKernel } from './device-plan.js';

/*
 * A DevicePlan's arrays on webgpu: storage buffers. A pipeline result (a WebGPUBufferResult)
 * carries its kernel's output dims ([N, M/4, chunks], say) and values per cell, and gpu.js's
 * accessor bounds each axis by those dims and refuses Array(n) results as arguments. Its storage,
 * though, is exactly the flat row-major array a host call returns (cells in order, their values
 * interleaved). So a result is bound through a view: a result object over the same buffer whose
 * dims are [length] and whose values per cell are 1.
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

/** The memory of a plan on `be`'s WebGPU device. */
export async function openWebGpu(be: Backend): Promise<DeviceMemory> {
  // a one-cell pipeline kernel: its result gives the device and gpu.js's result class
  const probe = pipelineKernel(be, { name: 'device_probe', source: 'function() { return 0; }', output: [1] });
  const h = (await (probe as unknown as () => Promise<BufferResult>)()) as BufferResult;
  const memory = new WebGpuMemory(be, probe, h.constructor as BufferResultClass, h.context, h.kernel);
  h.delete();
  return memory;
}

class WebGpuMemory implements DeviceMemory {
  private readonly owned: GpuBuffer[] = [];
  private readonly views: BufferResult[] = [];
  private readonly kernels: IKernelRunShortcut[] = [];

  constructor(
    private readonly be: Backend,
    private readonly probe: IKernelRunShortcut,
    private readonly Result: BufferResultClass,
    private readonly context: BufferResult['context'],
    private readonly reader: BufferResult['kernel'],
  ) {}

  kernel(spec: KernelSpec): IKernelRunShortcut {
    // one per step: each step's result keeps its own output buffer
    const run = pipelineKernel(this.be, spec);
    this.kernels.push(run);
    return run;
  }

  upload(values: Float32Array): BufferResult {
    // a storage binding of size 0 is invalid; a 4-byte buffer holds nothing of use
    const buffer = this.context.device.createBuffer({ size: Math.max(4, values.byteLength), usage: STORAGE | COPY_SRC | COPY_DST });
    this.owned.push(buffer);
    if (values.length) this.context.device.queue.writeBuffer(buffer, 0, values);
    return new this.Result({ buffer, output: [values.length], componentCount: 1, context: this.context, kernel: this.reader });
  }

  write(array: object, values: Float32Array): void {
    this.context.device.queue.writeBuffer((array as BufferResult).buffer, 0, values);
  }

  async run(kernel: IKernelRunShortcut, args: readonly object[], view: object | null, length: number): Promise<object> {
    // the kernel returns a new result object over its one output buffer per call; the view stays
    const h = await (kernel as unknown as (...a: unknown[]) => Promise<BufferResult>)(...args);
    let out = view as BufferResult | null;
    if (!out) {
      out = new this.Result({ buffer: h.buffer, output: [length], componentCount: 1, context: h.context, kernel: h.kernel });
      this.views.push(out);
    }
    h.delete();
    return out;
  }

  unpack(): null {
    // a view reads any result flat
    return null;
  }

  async read(array: object): Promise<Float32Array> {
    const view = array as BufferResult;
    return (await view.kernel.readBufferResult(view)) as Float32Array;
  }

  lost(): string | null {
    return this.context.isLost ? 'the WebGPU device was lost' : null;
  }

  destroy(): void {
    for (const v of this.views) v.delete();
    for (const b of this.owned) b.destroy();
    for (const k of [...this.kernels, this.probe]) (k as unknown as { destroy(): void }).destroy();
    this.kernels.length = 0;
    this.views.length = 0;
    this.owned.length = 0;
  }
}
