/**
 * TensorFlow.js for comparison: the cpu backend (@tensorflow/tfjs, plain JS) and the wasm backend
 * (@tensorflow/tfjs-backend-wasm, XNNPACK, SIMD). Kernels run eagerly on both, so a call's time is
 * its work. Layout helpers convert between digitlab's NCHW / [OC, C, K, K] and TF's NHWC / HWIO;
 * they run outside the timed calls (layout.ts).
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
