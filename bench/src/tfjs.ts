/**
 * TensorFlow.js for comparison: the cpu backend (@tensorflow/tfjs, plain JS) and the wasm backend
 * (@tensorflow/tfjs-backend-wasm, XNNPACK, SIMD). Kernels run eagerly on both, so a call's time is
 * its work. Layout helpers convert between digitlab's NCHW / [OC, C, K, K] and TF's NHWC / HWIO;
 * they run outside the timed calls.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

export { tf };
export type Tf = typeof tf;

/** The TF.js backends compared. */
export type TfBackend = 'cpu' | 'wasm';

let prodMode = false;

/**
 * Switches TF.js to a backend and returns a description of what runs (for the results' "ran"
 * column). Throws if TF.js did not end up on it.
 */
export async function useTfBackend(name: TfBackend, threads?: number): Promise<string> {
  if (!prodMode) {
    // skips debug-only checks; the numbers are then what an application would see
    tf.enableProdMode();
    prodMode = true;
  }
  if (name === 'wasm' && threads !== undefined) setThreadsCount(threads);
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) throw new Error(`TF.js could not switch to its ${name} backend (on ${tf.getBackend()})`);
  if (name === 'cpu') return 'tfjs cpu (JS)';
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  return `tfjs wasm (${simd ? 'SIMD' : 'no SIMD'}, ${mt ? `${getThreadsCount()} threads` : '1 thread'})`;
}

/** True when err is TF.js saying a kernel does not exist on the backend. */
export function unsupportedKernel(err: unknown): string | null {
  const m = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(String((err as Error)?.message ?? err));
  return m ? `no ${m[1]} kernel on ${m[2]}` : null;
}

/** [B, C, H, W] -> [B, H, W, C]. */
export function nchwToNhwc(x: Float32Array, B: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(b * H * W + i) * C + c] = x[(b * C + c) * H * W + i];
  return out;
}

/** [B, H, W, C] -> [B, C, H, W]. */
export function nhwcToNchw(x: ArrayLike<number>, B: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(B * C * H * W);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(b * C + c) * H * W + i] = x[(b * H * W + i) * C + c];
  return out;
}

/** Convolution weights [OC, C, KH, KW] -> [KH, KW, C, OC]. */
export function oihwToHwio(w: Float32Array, OC: number, C: number, KH: number, KW: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < OC; o++)
    for (let c = 0; c < C; c++)
      for (let t = 0; t < KH * KW; t++) out[(t * C + c) * OC + o] = w[(o * C + c) * KH * KW + t];
  return out;
}

/** [KH, KW, C, OC] -> [OC, C, KH, KW]. */
export function hwioToOihw(w: ArrayLike<number>, OC: number, C: number, KH: number, KW: number): Float32Array {
  const out = new Float32Array(OC * C * KH * KW);
  for (let o = 0; o < OC; o++)
    for (let c = 0; c < C; c++)
      for (let t = 0; t < KH * KW; t++) out[(o * C + c) * KH * KW + t] = w[(t * C + c) * OC + o];
  return out;
}
