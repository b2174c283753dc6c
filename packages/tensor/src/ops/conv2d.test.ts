import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Backend, type KernelSpec } from '../backend.js';
import { checkOp } from '../testing/check-op.js';
import { conv2d, conv2dForward, convGeometry, convTuning } from './conv2d.js';
import { conv2dBackwardRef, conv2dRef } from './conv2d.ref.js';
import { reluBackwardRef, reluRef } from './relu.js';

function convCase(name: string, x: number[], w: number[], stride: number, padding: number, relu = false) {
  const g = convGeometry(x, w, { stride, padding });
  return checkOp({
    name,
    inputs: { x: { shape: x }, w: { shape: w }, b: { shape: [w[0]] } },
    forward: (be, t) => conv2d(be, t.x, t.w, t.b, { stride, padding, relu }),
    reference: (t) => (relu ? reluRef(conv2dRef(t.x, t.w, t.b, g)) : conv2dRef(t.x, t.w, t.b, g)),
    referenceBackward: (d, t) => {
      const dz = relu ? reluBackwardRef(d, conv2dRef(t.x, t.w, t.b, g)) : d;
      const r = conv2dBackwardRef(dz, t.x, t.w, g);
      return { x: r.dx, w: r.dw, b: r.db };
    },
    fdSamples: 16,
  });
}

// both kernel choices run in every test, whichever a mode would pick (see convTuning and tuningFor)
const TUNINGS = [
  { name: 'unrolled kernels (the WebAssembly modes)', unrollTaps: 2048, unrolledWeightGradient: true },
  { name: 'looped kernels (cpu, GL, WebGPU)', unrollTaps: 256, unrolledWeightGradient: false },
];

for (const { name, ...tuning } of TUNINGS) {
  describe(`conv2d, ${name}`, () => {
    const saved = { ...convTuning };
    beforeAll(() => Object.assign(convTuning, tuning));
    afterAll(() => Object.assign(convTuning, saved));
    it('valid 3x3, stride 1, output channels not a multiple of 4', () => convCase('conv 3x3 valid', [2, 3, 6, 7], [5, 3, 3, 3], 1, 0));
    it('same-padded 5x5', () => convCase('conv 5x5 pad 2', [2, 2, 7, 6], [4, 2, 5, 5], 1, 2));
    it('stride 2 with padding 1', () => convCase('conv 3x3 stride 2 pad 1', [2, 3, 7, 8], [6, 3, 3, 3], 2, 1));
    it('a single input channel (the first layer on MNIST)', () => convCase('conv 1 channel', [3, 1, 8, 8], [8, 1, 3, 3], 1, 0));
    it('two input channels, an odd width, a weight gradient summed over two image chunks', () => convCase('conv 2 channels', [20, 2, 9, 11], [8, 2, 3, 3], 1, 0));
    it('channels in fours, unpadded, odd widths: the unrolled kernels on x axes padded to 4, a weight-gradient reduction over 1000 split across image chunks', () =>
      convCase('conv unrolled', [8, 4, 14, 13], [8, 4, 3, 3], 1, 0));
    it('channels in fours at stride 2, output channels not a power-of-two multiple of 4', () =>
      convCase('conv unrolled stride 2', [3, 4, 9, 9], [12, 4, 3, 3], 2, 0));
    it('a reduction longer than 1000 in every gradient', () => convCase('conv long reductions', [4, 8, 18, 18], [4, 8, 3, 3], 1, 1));
    it('ReLU fused into the unrolled forward, the backward masked by the output', () => convCase('conv+relu unrolled', [2, 4, 9, 7], [8, 4, 3, 3], 1, 0, true));
    it('ReLU fused into the padded forward', () => convCase('conv+relu padded', [2, 3, 7, 6], [5, 3, 3, 3], 1, 1, true));
  });
}

describe('conv2d kernel choice', () => {
  it('runs the long unrolled forward only on the WebAssembly modes (GL and WebGPU shader compilers choke on it)', async () => {
    const g = convGeometry([2, 32, 6, 6], [4, 32, 3, 3]); // 288 taps: unrolled on webasm, looped elsewhere
    const x = new Float32Array(2 * 32 * 36).fill(0.5);
    const w = new Float32Array(4 * 32 * 9).fill(0.25);
    const saved = { ...convTuning };
    Object.assign(convTuning, { unrollTaps: 2048, unrolledWeightGradient: true });
    try {
      for (const [mode, looped] of [['cpu', true], ['webasm', false]] as const) {
        const be = new Backend(mode);
        const sources: string[] = [];
        const run = be.run.bind(be);
        be.run = (spec: KernelSpec, args) => (sources.push(spec.source), run(spec, args));
        try {
          const y = await conv2dForward(be, x, w, new Float32Array(4), g);
          expect(y[0]).toBeCloseTo(288 * 0.125, 3);
          expect(sources.length).toBe(1);
          expect(sources[0].includes('for (let c = 0;'), mode).toBe(looped);
        } finally {
          be.destroy();
        }
      }
    } finally {
      Object.assign(convTuning, saved);
    }
  });
});
