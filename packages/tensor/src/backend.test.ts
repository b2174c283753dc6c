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
});
