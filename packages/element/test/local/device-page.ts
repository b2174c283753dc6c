/**
 * The page script of device-pass.test.ts: both models loaded by LocalModels on one backend in the
 * page, with every WebGPU buffer map counted (a map is the one way a WebGPU result reaches
 * JavaScript), so the test sees what a prediction reads back.
 */
import { CHUNK, LOCAL_MODELS, LocalModels, type ModelFiles } from '../../src/local/engine.ts';
import type { BrowserMode } from '../../src/local/modes.ts';

/** Buffer maps and the bytes they covered. */
export interface Maps {
  maps: number;
  bytes: number;
}

/** What the page answers. */
export interface DevicePassResult {
  readonly logits: Record<string, number[]>;
  readonly probabilities: Record<string, number[]>;
  /** Maps made by the logits calls (one per model) and by the prediction, each after loading. */
  readonly logitMaps: Maps;
  readonly predictMaps: Maps;
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

const maps: Maps = { maps: 0, bytes: 0 };
const gpuBuffer = (globalThis as unknown as { GPUBuffer?: { prototype: MappableBuffer } }).GPUBuffer;
if (gpuBuffer) {
  const original = gpuBuffer.prototype.mapAsync;
  gpuBuffer.prototype.mapAsync = function (this: MappableBuffer, mode: number, offset?: number, size?: number): Promise<void> {
    maps.maps++;
    maps.bytes += size ?? this.size - (offset ?? 0);
    return original.call(this, mode, offset, size);
  };
}

const since = (start: Maps): Maps => ({ maps: maps.maps - start.maps, bytes: maps.bytes - start.bytes });

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
    let start = { ...maps };
    const logits: Record<string, number[]> = {};
    for (const name of LOCAL_MODELS) logits[name] = Array.from(await local.logitsOf(name, images, count));
    const logitMaps = since(start);
    start = { ...maps };
    const answer = await local.predict(images, count);
    const predictMaps = since(start);
    const probabilities = Object.fromEntries(Object.entries(answer.probabilities).map(([k, v]) => [k, Array.from(v)]));
    const deviceReads = local.deviceReads();
    // two calls at once on one plan: each must get its own images' logits
    const [all, tail] = await Promise.all([local.logitsOf('vit', images, count), local.logitsOf('vit', images.subarray(CHUNK * 784), count - CHUNK)]);
    const overlapping = { all: Array.from(all), tail: Array.from(tail) };
    return { logits, probabilities, logitMaps, predictMaps, deviceReads, kernels: local.kernels(), loadMs, overlapping };
  } finally {
    local.destroy();
  }
}

(globalThis as unknown as { devicePass: typeof devicePass }).devicePass = devicePass;
