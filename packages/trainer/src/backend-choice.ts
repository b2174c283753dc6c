/**
 * Which gpu.js mode a browser runs the engine on: webgpu, then webgl2, then webasm, each probed
 * (does this browser offer it?) and validated (does a gemm through the engine match the float64
 * reference, on the kernel class the mode promises?) before it is used. Works in a page and in a
 * Web Worker.
 */
import { Backend, EXPECTED_KERNEL, Rng, gemm } from '@digitlab/tensor';
import { matmulRef } from '@digitlab/tensor/reference';
import { BROWSER_MODES, type BackendPreference, type BackendTrial, type BrowserMode } from './modes.ts';

export { BROWSER_MODES, isBackendPreference, type BrowserMode, type BackendPreference, type BackendTrial } from './modes.ts';

/** WebGPU's types are not in TypeScript's DOM lib: the little the probe reads. */
interface GpuLike {
  requestAdapter(): Promise<{ readonly info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

// an f32x4 SIMD function: gpu.js's webasm kernels need WebAssembly SIMD
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

async function probe(mode: BrowserMode): Promise<string | null> {
  if (mode === 'webasm') return WebAssembly.validate(SIMD_PROBE) ? 'WebAssembly with SIMD' : null;
  if (mode === 'webgl2') {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : typeof document !== 'undefined' ? document.createElement('canvas') : null;
    const gl = canvas?.getContext('webgl2') as WebGL2RenderingContext | null | undefined;
    if (!gl) return null;
    const renderer = String(gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return `WebGL2 (${renderer})`;
  }
  const gpu = (globalThis.navigator as { gpu?: GpuLike } | undefined)?.gpu;
  const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
  if (!adapter) return null;
  const i = adapter.info ?? {};
  return `WebGPU (${[i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'adapter'})`;
}

/** A small gemm on `be` against the float64 reference; throws naming what was wrong. */
async function validate(be: Backend, mode: BrowserMode): Promise<void> {
  const [M, K, N] = [68, 64, 48];
  const rng = new Rng(7);
  const a = Float32Array.from({ length: M * K }, () => rng.normal());
  const b = Float32Array.from({ length: K * N }, () => rng.normal());
  const want = matmulRef(a, b, 1, M, K, N);
  const got = await gemm(be, a, b, { batch: 1, M, N, K, a: [0, K, 1], b: [0, N, 1] });
  const ran = [...be.executed];
  if (ran.length !== 1 || ran[0] !== EXPECTED_KERNEL[mode]) throw new Error(`ran on ${ran.join(', ') || 'nothing'}, not ${EXPECTED_KERNEL[mode]}`);
  let worst = 0;
  let scale = 1;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  if (!(worst <= 1e-4 * scale)) throw new Error(`wrong result (largest error ${worst.toExponential(2)})`);
}

/**
 * The backend to train on: the preferred mode, or for `auto` the first of webgpu → webgl2 →
 * webasm that this browser offers and that computes correctly. `check` may run more on a
 * candidate (e.g. the model's own forward pass); a throw moves on to the next mode.
 */
export async function chooseBrowserBackend(preference: BackendPreference, check?: (be: Backend) => Promise<void>): Promise<{ backend: Backend; mode: BrowserMode; trials: BackendTrial[] }> {
  const trials: BackendTrial[] = [];
  for (const mode of preference === 'auto' ? BROWSER_MODES : [preference]) {
    const found = await probe(mode);
    if (found === null) {
      trials.push({ mode, ok: false, detail: 'not offered by this browser' });
      continue;
    }
    let be: Backend | null = null;
    try {
      be = new Backend(mode);
      await validate(be, mode);
      await check?.(be);
      trials.push({ mode, ok: true, detail: found });
      return { backend: be, mode, trials };
    } catch (e) {
      be?.destroy();
      trials.push({ mode, ok: false, detail: `${found}: ${(e as Error).message.split('\n')[0].slice(0, 200)}` });
    }
  }
  throw new Error(`no backend works here: ${trials.map((t) => `${t.mode}: ${t.detail}`).join('; ')}`);
}
