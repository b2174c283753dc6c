import type { IKernelRunShortcut } from 'gpu.js';
import { type Backend, type KernelSpec, specFor } from './backend.js';
import { type DeviceMemory, pipelineKernel } from './device-plan.js';

/*
 * A DevicePlan's arrays on webgl2: float textures. A pipeline result is its kernel's output
 * texture, one texel per output cell in cell order (row-major over the kernel's output dims, and
 * the same order where an output is tiled under the texture limit: glTiledSpec keeps the cells'
 * order), holding the cell's values in its channels: R32F for a Number, RG32F for Array(2),
 * RGBA32F for Array(4). gpu.js reads a texture argument by the type it carries: as a vector per
 * cell for Array(n) results, each axis bounded by the producer's dims. Its 1-D accessors, though,
 * find texel and channel from one flat index, which is what our kernels' `X[i]` asks for:
 *   - a Number result is read flat by 'ArrayTexture(1)' (texel i, channel R);
 *   - an Array(4) result is read flat by 'MemoryOptimizedNumberTexture' (texel ⌊i/4⌋, channel
 *     i mod 4), the packing gpu.js's optimizeFloatMemory uses: cell c's value k is value 4c + k,
 *     as a host call returns it;
 *   - an Array(2) result has no such accessor (two values per texel), so an unpack step reads it
 *     cell by cell as vectors and writes a Number result of its values in order.
 * So a result is bound through a view: an object of the result's class over the same texture,
 * typed to the flat accessor, with dims [length]. Uploaded arrays (weights, tables, the images)
 * are RGBA32F textures packed four values a texel, bound as 'MemoryOptimizedNumberTexture'.
 * gpu.js types a texture argument by its own `type` property and binds its `texture`, `size` and
 * `dimensions` (gpu.js 2.24.1: utils.getVariableType, web-gl/kernel-value/*-number-texture.js).
 */

/** What gpu.js's GL textures hold (gpu.js 2.24.1, src/texture.js) and its kernel values read. */
interface GlArray {
  texture: WebGLTexture;
  size: Int32Array;
  dimensions: Int32Array;
  output: number[];
  context: WebGL2RenderingContext;
  kernel: object;
  type: GlArrayType;
  /** The texture's format (R32F, RG32F, RGBA32F). */
  internalFormat?: number;
}

/** The texture types whose 1-D accessor reads a flat index (see above), and the one an unpack step reads. */
type GlArrayType = 'ArrayTexture(1)' | 'MemoryOptimizedNumberTexture' | 'ArrayTexture(2)';

/** Values per texel of a texture bound as each type. */
const PER_TEXEL: Record<GlArrayType, number> = { 'ArrayTexture(1)': 1, 'MemoryOptimizedNumberTexture': 4, 'ArrayTexture(2)': 2 };

/** An array uploaded by the plan (its class marks it as one of gpu.js's texture arguments of a fixed type). */
class UploadedArray implements GlArray {
  readonly type = 'MemoryOptimizedNumberTexture';
  constructor(
    readonly texture: WebGLTexture,
    readonly size: Int32Array,
    readonly dimensions: Int32Array,
    readonly output: number[],
    readonly context: WebGL2RenderingContext,
    readonly kernel: object,
    /** Its texels' values, padded to whole texels (write() fills it). */
    readonly staging: Float32Array,
  ) {}
}

/** The memory of a plan on `be`'s WebGL2 context. */
export async function openWebGl2(be: Backend): Promise<DeviceMemory> {
  // a one-cell pipeline kernel: its result gives the context every kernel of the backend draws in
  const probe = pipelineKernel(be, { name: 'device_probe', source: 'function() { return 0; }', output: [1] });
  const t = (await (probe as unknown as () => GlArray | Promise<GlArray>)()) as GlArray;
  return new WebGl2Memory(be, probe, t.context, t.kernel);
}

class WebGl2Memory implements DeviceMemory {
  private readonly owned: WebGLTexture[] = [];
  /** One kernel per spec, and how many steps run it. */
  private readonly kernels = new Map<KernelSpec, { readonly run: IKernelRunShortcut; users: number }>();
  private readonly users = new Map<IKernelRunShortcut, { users: number }>();
  private readonly framebuffer: WebGLFramebuffer;
  /** Whether readPixels may read a one-channel float texture as RED/FLOAT (else RGBA/FLOAT, which WebGL2 always allows). */
  private redReads: boolean | null = null;
  private readonly maxSize: number;

  constructor(
    private readonly be: Backend,
    private readonly probe: IKernelRunShortcut,
    private readonly gl: WebGL2RenderingContext,
    private readonly owner: object,
  ) {
    const fb = gl.createFramebuffer();
    if (!fb) throw new Error('DevicePlan: the WebGL2 context gave no framebuffer');
    this.framebuffer = fb;
    this.maxSize = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
  }

  kernel(spec: KernelSpec): IKernelRunShortcut {
    let k = this.kernels.get(spec);
    if (!k) {
      const run = pipelineKernel(this.be, spec);
      // the steps of one kernel bind arrays of one length in textures of different sizes (a
      // [T·D, B] result, a [D, B·T] one): each argument's texture size is a uniform, set per call,
      // not a constant of the shader
      (run as unknown as { setDynamicArguments(on: boolean): void }).setDynamicArguments(true);
      k = { run, users: 0 };
      this.kernels.set(spec, k);
      this.users.set(k.run, k);
    }
    k.users++;
    return k.run;
  }

  upload(values: Float32Array): UploadedArray {
    const texels = Math.max(1, Math.ceil(values.length / 4));
    const w = Math.ceil(Math.sqrt(texels));
    const h = Math.ceil(texels / w);
    if (w > this.maxSize || h > this.maxSize) throw new RangeError(`DevicePlan: an array of ${values.length} values needs a ${w} × ${h} texture, past this context's limit of ${this.maxSize}`);
    const texture = this.texture(this.gl.RGBA32F, w, h);
    const gl = this.gl;
    const array = new UploadedArray(texture, Int32Array.of(w, h), Int32Array.of(values.length, 1, 1), [values.length], gl, this.owner, new Float32Array(w * h * 4));
    this.write(array, values);
    return array;
  }

  write(array: object, values: Float32Array): void {
    const a = array as UploadedArray;
    const gl = this.gl;
    a.staging.set(values);
    gl.bindTexture(gl.TEXTURE_2D, a.texture);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, a.size[0], a.size[1], gl.RGBA, gl.FLOAT, a.staging);
  }

  async run(kernel: IKernelRunShortcut, args: readonly object[], view: object | null, length: number, components: number): Promise<object> {
    // a kernel draws into its one output texture on every call (immutable: false): the view stays
    const t = (kernel as unknown as (...a: unknown[]) => GlArray)(...args);
    if (this.users.get(kernel)!.users === 1) return view ?? viewOf(t, t.texture, length, components);
    // a kernel of several steps: this step's result is copied into its own texture before the next step of the kernel draws
    const own = (view as GlArray | null) ?? viewOf(t, this.texture(t.internalFormat!, t.size[0], t.size[1]), length, components);
    this.copy(t, own.texture);
    return own;
  }

  /** A new texture of `format`, w × h, sampled texel by texel. */
  private texture(format: number, w: number, h: number): WebGLTexture {
    const gl = this.gl;
    const texture = gl.createTexture();
    if (!texture) throw new Error('DevicePlan: the WebGL2 context gave no texture');
    this.owned.push(texture);
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texStorage2D(gl.TEXTURE_2D, 1, format, w, h);
    return texture;
  }

  /** Copies result t's texture into `into` (same size and format) on the device. */
  private copy(t: GlArray, into: WebGLTexture): void {
    const gl = this.gl;
    const [w, h] = t.size;
    // the kernel's framebuffer holds its output texture (gpu.js 2.24.1, gl/kernel.js)
    gl.bindFramebuffer(gl.READ_FRAMEBUFFER, (t.kernel as { framebuffer: WebGLFramebuffer }).framebuffer);
    gl.bindFramebuffer(gl.DRAW_FRAMEBUFFER, this.framebuffer);
    gl.framebufferTexture2D(gl.DRAW_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, into, 0);
    gl.blitFramebuffer(0, 0, w, h, 0, 0, w, h, gl.COLOR_BUFFER_BIT, gl.NEAREST);
    // the next kernel must not draw while `into` is attached here (a texture it may sample)
    gl.framebufferTexture2D(gl.DRAW_FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, null, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
  }

  unpack(length: number, components: number): KernelSpec | null {
    return components === 2 ? specFor(unpack2Spec, length) : null;
  }

  async read(array: object, length: number): Promise<Float32Array> {
    const a = array as GlArray;
    const gl = this.gl;
    const per = PER_TEXEL[a.type];
    if (per === 2) throw new Error('DevicePlan: a result of two values per cell is read through its unpack step');
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.framebuffer);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, a.texture, 0);
    this.redReads ??= gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_FORMAT) === gl.RED && gl.getParameter(gl.IMPLEMENTATION_COLOR_READ_TYPE) === gl.FLOAT;
    const red = per === 1 && this.redReads;
    const channels = red ? 1 : 4;
    // only the rows that hold the array's texels
    const w = a.size[0];
    const rows = Math.ceil(Math.ceil(length / per) / w);
    const pixels = new Float32Array(w * rows * channels);
    const pbo = gl.createBuffer();
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, pbo);
    gl.bufferData(gl.PIXEL_PACK_BUFFER, pixels.byteLength, gl.STREAM_READ);
    gl.readPixels(0, 0, w, rows, red ? gl.RED : gl.RGBA, gl.FLOAT, 0);
    gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    try {
      await finished(gl);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, pbo);
      gl.getBufferSubData(gl.PIXEL_PACK_BUFFER, 0, pixels);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
    } finally {
      gl.deleteBuffer(pbo);
    }
    if (per === 4 || red) return pixels.slice(0, length);
    // one value per texel, read as RGBA: its R channels
    return Float32Array.from({ length }, (_, i) => pixels[i * 4]);
  }

  lost(): string | null {
    return this.gl.isContextLost() ? 'the WebGL2 context was lost' : null;
  }

  destroy(): void {
    for (const t of this.owned) this.gl.deleteTexture(t);
    this.owned.length = 0;
    this.gl.deleteFramebuffer(this.framebuffer);
    for (const k of [...this.users.keys(), this.probe]) (k as unknown as { destroy(): void }).destroy();
    this.kernels.clear();
    this.users.clear();
  }
}

/**
 * A view of result t over `texture` (t's own or a copy of it), read as a flat array of `length`
 * values (see above; a result of two values per cell keeps its type and dims, for its unpack
 * step): an object of t's class.
 */
function viewOf(t: GlArray, texture: WebGLTexture, length: number, components: number): GlArray {
  if (components !== 1 && components !== 2 && components !== 4) throw new Error(`DevicePlan: webgl2 binds results of 1, 2 or 4 values per cell, not ${components}`);
  // no constructor call: gpu.js's counts the texture's references, and a view is none of them
  const view = Object.assign(Object.create(Object.getPrototypeOf(t) as object) as GlArray, t, { texture });
  if (components === 2) return view;
  const type: GlArrayType = components === 4 ? 'MemoryOptimizedNumberTexture' : 'ArrayTexture(1)';
  return Object.assign(view, { output: [length], dimensions: Int32Array.of(length, 1, 1), type });
}

/** A Number result of `length` values out of one of two values per cell: cell c = ⌊i/2⌋ read as a vector, value i its component i mod 2. */
function unpack2Spec(length: number): KernelSpec {
  const source = `function(S) {
  const c = Math.floor(this.thread.x / 2);
  const v = S[c];
  if (this.thread.x - c * 2 === 0) {
    return v[0];
  }
  return v[1];
}`;
  return { name: 'device_unpack2', source, output: [length] };
}

/** Resolves once the GPU has run every command issued so far (a fence, polled once per task: the thread stays free meanwhile). */
function finished(gl: WebGL2RenderingContext): Promise<void> {
  const sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
  if (!sync) return Promise.reject(new Error('DevicePlan: the WebGL2 context gave no fence'));
  // a fence is only queued: without a flush the driver may never run what it waits on
  gl.flush();
  return new Promise<void>((resolve, reject) => {
    const poll = (): void => {
      if (gl.isContextLost()) return settle(new Error('DevicePlan: the WebGL2 context was lost while reading back'));
      const status = gl.clientWaitSync(sync, 0, 0);
      if (status === gl.WAIT_FAILED) return settle(new Error('DevicePlan: waiting for the WebGL2 context failed'));
      if (status === gl.TIMEOUT_EXPIRED) return void setTimeout(poll, 0);
      settle(null);
    };
    const settle = (error: Error | null): void => {
      gl.deleteSync(sync);
      if (error) reject(error);
      else resolve();
    };
    poll();
  });
}
