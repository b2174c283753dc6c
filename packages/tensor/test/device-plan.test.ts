// DevicePlan's pieces that run without a GPU: the gather kernel (on webasm, as any kernel) and the
// refusal of a backend that is neither webgpu nor webgl2. The device itself is exercised in Chromium
// (packages/element/test/local/device-pass.test.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { Backend } from '../src/backend.js';
import { DevicePlan, gatherSpec, runsOnDevice } from '../src/device-plan.js';

describe('gatherSpec', () => {
  const be = new Backend('webasm');
  afterAll(() => be.destroy());
  // R = -4..3; output 2 rows of 2, two taps each
  const R = Float32Array.from({ length: 8 }, (_, i) => i - 4);
  const I = Float32Array.from([0, 7, 1, 6, 2, 5, 3, 4]);

  it('sums the taps, then adds the bias by column, ReLU, and the residual last', async () => {
    const Bs = Float32Array.from([10, -20]);
    const X = Float32Array.from([0.5, 0.5, 0.5, 0.5]);
    const out = await be.run(gatherSpec({ width: 2, rows: 2, taps: 2, reduce: 'sum', bias: true, relu: true, residual: true }), [R, I, Bs, X]);
    // every pair of taps sums to -1; + [10, -20]; ReLU; + 0.5
    expect(Array.from(out)).toEqual([9.5, 0.5, 9.5, 0.5]);
  });

  it('takes the maximum of the taps (max-pooling), and a single tap is a permutation', async () => {
    expect(Array.from(await be.run(gatherSpec({ width: 2, rows: 2, taps: 2, reduce: 'max' }), [R, I]))).toEqual([3, 2, 1, 0]);
    expect(Array.from(await be.run(gatherSpec({ width: 4, rows: 2, taps: 1, reduce: 'sum' }), [R, I]))).toEqual([-4, 3, -3, 2, -2, 1, -1, 0]);
  });
});

describe('DevicePlan', () => {
  it('runs on webgpu and webgl2 alone, and says so', async () => {
    const be = new Backend('webasm');
    try {
      expect(runsOnDevice(be)).toBe(false);
      await expect(DevicePlan.open(be)).rejects.toThrow('DevicePlan: runs on webgpu or webgl2, not webasm');
    } finally {
      be.destroy();
    }
  });
});
