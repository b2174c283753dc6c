/**
 * The page script of device-pass.test.ts: both models loaded by LocalModels on one backend in the
 * page, with every WebGPU buffer map and every WebGL2 readPixels counted (the one way a result
 * of either reaches JavaScript), so the test sees what a prediction reads back.
 */
import { CHUNK, LOCAL_MODELS, LocalModels, type ModelFiles } from '../../src/local/engine.ts';
import type { BrowserMode } from '../../src/local/modes.ts';

/** Read-backs (WebGPU buffer maps, WebGL2 readPixels calls) and the bytes they covered. */
export interface Reads {
  reads: number;
  bytes: number;
}

/** What the page answers. */
export interface DevicePassResult {
  readonly logits: Record<string, number[]>;
  readonly probabilities: Record<string, number[]>;
  /** Reads made by the logits calls (one per model) and by the prediction, each after loading. */
  readonly logitReads: Reads;
  readonly predictReads: Reads;
  readonly deviceReads: { reads: number; values: number };
  readonly kernels: { classes: string[]; expected: boolean };
  readonly loadMs: number;
  /** The ViT's logits of all the images and, asked at the same time, of those after the first chunk. */
  readonly overlapping: { all: number[]; tail: number[] };
}

interface MappableBuffer {
  readonly size: number;
  mapAsync(mode: number, offset?: number, size?: number): Promise<void>;
}

const reads: Reads = { reads: 0, bytes: 0 };
const gpuBuffer = (globalThis as unknown as { GPUBuffer?: { prototype: MappableBuffer } }).GPUBuffer;
if (gpuBuffer) {
  const original = gpuBuffer.prototype.mapAsync;
  gpuBuffer.prototype.mapAsync = function (this: MappableBuffer, mode: number, offset?: number, size?: number): Promise<void> {
    reads.reads++;
    reads.bytes += size ?? this.size - (offset ?? 0);
    return original.call(this, mode, offset, size);
  };
}

interface ReadingContext {
  readPixels(x: number, y: number, width: number, height: number, format: number, type: number, ...rest: unknown[]): void;
}

// WebGL2's RED, RGB, RGBA, and UNSIGNED_BYTE, FLOAT (fixed by the spec)
const CHANNELS: Record<number, number> = { 0x1903: 1, 0x1907: 3, 0x1908: 4 };
const BYTES: Record<number, number> = { 0x1401: 1, 0x1406: 4 };

const gl2 = (globalThis as unknown as { WebGL2RenderingContext?: { prototype: ReadingContext } }).WebGL2RenderingContext;
if (gl2) {
  const original = gl2.prototype.readPixels;
  gl2.prototype.readPixels = function (this: ReadingContext, x: number, y: number, width: number, height: number, format: number, type: number, ...rest: unknown[]): void {
    reads.reads++;
    // an unexpected format or type counts as NaN bytes, which no assertion accepts
    reads.bytes += width * height * (CHANNELS[format] ?? NaN) * (BYTES[type] ?? NaN);
    return original.call(this, x, y, width, height, format, type, ...rest);
  };
}

const since = (start: Reads): Reads => ({ reads: reads.reads - start.reads, bytes: reads.bytes - start.bytes });

async function devicePass(mode: BrowserMode, count: number): Promise<DevicePassResult> {
  const files: Partial<Record<(typeof LOCAL_MODELS)[number], ModelFiles>> = {};
  for (const name of LOCAL_MODELS) {
    const card = await (await fetch(`/models/${name}/card`)).json();
    const weights = await (await fetch(`/models/${name}/weights`)).arrayBuffer();
    files[name] = { card, weights };
  }
  const images = new Float32Array(await (await fetch('/images')).arrayBuffer());
  const started = performance.now();
  const local = await LocalModels.load(mode, files);
  const loadMs = performance.now() - started;
  try {
    let start = { ...reads };
    const logits: Record<string, number[]> = {};
    for (const name of LOCAL_MODELS) logits[name] = Array.from(await local.logitsOf(name, images, count));
    const logitReads = since(start);
    start = { ...reads };
    const answer = await local.predict(images, count);
    const predictReads = since(start);
    const probabilities = Object.fromEntries(Object.entries(answer.probabilities).map(([k, v]) => [k, Array.from(v)]));
    const deviceReads = local.deviceReads();
    // two calls at once on one plan: each must get its own images' logits
    const [all, tail] = await Promise.all([local.logitsOf('vit', images, count), local.logitsOf('vit', images.subarray(CHUNK * 784), count - CHUNK)]);
    const overlapping = { all: Array.from(all), tail: Array.from(tail) };
    return { logits, probabilities, logitReads, predictReads, deviceReads, kernels: local.kernels(), loadMs, overlapping };
  } finally {
    local.destroy();
  }
}

(globalThis as unknown as { devicePass: typeof devicePass }).devicePass = devicePass;
