import gpujs from 'gpu.js';
import { describe, expect, it } from 'vitest';
import { Backend } from './backend.js';

describe('Backend', () => {
  it("runs 'async' on WebAssembly threads even where gpu.js's own async mode would take headlessgl (gl built, a display)", async () => {
    // gpu.js's mode 'async' takes the first backend that works, and headlessgl comes before webasm;
    // pretend it works, as it does under Xvfb once scripts/build-headlessgl.sh has run
    const own = Object.getOwnPropertyDescriptor(gpujs.HeadlessGLKernel, 'isSupported');
    if (!own) throw new Error('gpu.js changed: HeadlessGLKernel.isSupported is no longer its own getter');
    Object.defineProperty(gpujs.HeadlessGLKernel, 'isSupported', { get: () => true, configurable: true });
    const be = new Backend('async', { poolSize: 2 });
    try {
      const x = Float32Array.from({ length: 8192 }, (_, i) => i % 7);
      const out = await be.run({ name: 'double', source: 'function(A) { return A[this.thread.x] * 2; }', output: [8192] }, [x]);
      expect([...be.executed]).toEqual(['WebAssemblyKernel']);
      expect(Array.from(out.subarray(0, 8))).toEqual([0, 2, 4, 6, 8, 10, 12, 0]);
    } finally {
      be.destroy();
      Object.defineProperty(gpujs.HeadlessGLKernel, 'isSupported', own);
    }
  });

  it('drops the parsed source of a webasm kernel after its first call, and the kernel keeps running', async () => {
    for (const mode of ['webasm', 'async'] as const) {
      const be = new Backend(mode, { poolSize: 2 });
      try {
        const spec = { name: 'axpy', source: 'function(A, B) { return A[this.thread.x] * 3 + B[this.thread.x]; }', output: [8192] };
        const a = Float32Array.from({ length: 8192 }, (_, i) => i % 5);
        const b = Float32Array.from({ length: 8192 }, (_, i) => i % 3);
        await be.run(spec, [a, b]);
        const inner = (be.kernelFor(spec, [a, b]).run as unknown as { kernel: { functionBuilder: unknown } }).kernel;
        expect(inner.functionBuilder).toBeNull();
        const again = await be.run(spec, [b, a]);
        expect(Array.from(again.subarray(0, 6))).toEqual([0, 4, 8, 3, 7, 6]);
        expect(be.cachedKernels).toBe(1);
      } finally {
        be.destroy();
      }
    }
  });
});
