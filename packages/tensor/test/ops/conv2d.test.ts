import { describe, expect, it } from 'vitest';
import { Backend, type KernelSpec } from '../../src/backend.js';
import { availableModes, checkOp } from '../testing/check-op.js';
import { CONV_LIMITS, type ConvKernels, type ConvLimits, chooseConvKernels, conv2d, conv2dBackwardInput, conv2dBackwardWeight, conv2dForward, conv2dForwardKernel, convGeometry } from '../../src/ops/conv2d.js';
import { type ConvGeometry, conv2dBackwardRef, conv2dRef } from '../../src/ops/conv2d.ref.js';
import { reluBackwardRef, reluRef } from '../../src/ops/relu.js';

/** The modes whose kernels return Array(8), which the block forwards need. */
const blockModes = availableModes().filter((m) => m === 'webasm' || m === 'async' || m === 'cpu');

/** checkOp of one convolution on the kernels `choose` picks for its geometry (the block forwards on the modes that run them). */
function convCaseOn(choose: (g: ConvGeometry) => ConvKernels, name: string, x: number[], w: number[], stride: number, padding: number, relu = false) {
  const g = convGeometry(x, w, { stride, padding });
  const kernels = choose(g);
  return checkOp({
    name: `${name} (${kernels.forward}, ${kernels.inputGradient}, ${kernels.weightGradient})`,
    inputs: { x: { shape: x }, w: { shape: w }, b: { shape: [w[0]] } },
    forward: (be, t) => conv2d(be, t.x, t.w, t.b, { stride, padding, relu, kernels }),
    reference: (t) => (relu ? reluRef(conv2dRef(t.x, t.w, t.b, g)) : conv2dRef(t.x, t.w, t.b, g)),
    referenceBackward: (d, t) => {
      const dz = relu ? reluBackwardRef(d, conv2dRef(t.x, t.w, t.b, g)) : d;
      const r = conv2dBackwardRef(dz, t.x, t.w, g);
      return { x: r.dx, w: r.dw, b: r.db };
    },
    fdSamples: 16,
  }, kernels.forward.startsWith('block') || kernels.inputGradient.startsWith('flipped-block') ? blockModes : availableModes());
}

// both limit sets run in every test on every mode, whichever a mode would pick (see chooseConvKernels)
const LIMITS: { name: string; limits: ConvLimits }[] = [
  { name: 'unrolled kernels (the WebAssembly modes)', limits: CONV_LIMITS.wasm },
  { name: 'looped kernels (cpu, GL, WebGPU)', limits: CONV_LIMITS.other },
];

for (const { name, limits } of LIMITS) {
  describe(`conv2d, ${name}`, () => {
    const convCase = (name: string, x: number[], w: number[], stride: number, padding: number, relu = false) => convCaseOn((g) => chooseConvKernels(limits, g), name, x, w, stride, padding, relu);
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

describe('conv2d variants chosen by hand', () => {
  // each variant at least once against the reference, on a geometry it fits but the rule would not give it
  const x = [2, 4, 9, 7];
  const w = [8, 4, 3, 3];
  const cases: ConvKernels[] = [
    { forward: 'looped', inputGradient: 'masked', weightGradient: 'rows' },
    { forward: 'unrolled', inputGradient: 'flipped-looped', weightGradient: 'channels-last' },
    { forward: 'looped', inputGradient: 'flipped-unrolled', weightGradient: 'looped' },
    { forward: 'block-looped', inputGradient: 'masked', weightGradient: 'channels-last' },
    // the flipped convolution: 4 output channels (two pairs), 9 rows (the last block of 4 has three past the image)
    { forward: 'looped', inputGradient: 'flipped-block-unrolled', weightGradient: 'looped' },
    { forward: 'looped', inputGradient: 'flipped-block-looped', weightGradient: 'looped' },
  ];
  for (const kernels of cases) it(`${kernels.forward} forward, ${kernels.inputGradient} input gradient, ${kernels.weightGradient} weight gradient`, () => convCaseOn(() => kernels, 'conv by hand', x, w, 1, 0));

  // the block kernels: 6 output channels (three pairs), 7 output rows (the last block of 4 has
  // one row past the image), an x axis padded from 9 to 12
  for (const forward of ['block-unrolled', 'block-looped'] as const) {
    const kernels: ConvKernels = { forward, inputGradient: 'masked', weightGradient: 'looped' };
    it(`${forward} forward with ReLU, output channels in pairs, rows and columns off the block`, () => convCaseOn(() => kernels, `conv ${forward} relu`, [2, 3, 9, 11], [6, 3, 3, 3], 1, 0, true));
    it(`${forward} forward of one image (the inference plans' kernels: no image offset in the indices)`, () => convCaseOn(() => kernels, `conv ${forward} one image`, [1, 3, 9, 11], [6, 3, 3, 3], 1, 0));
  }

  it('refuses a block forward on a mode without Array(8) returns, naming the modes that have them', () => {
    const g = convGeometry([1, 2, 6, 6], [4, 2, 3, 3]);
    expect(() => conv2dForwardKernel({ mode: 'webgl2' }, g, { variant: 'block-unrolled' })).toThrow(/'block-unrolled' returns Array\(8\), which runs on webasm, async and cpu only, not webgl2/);
  });

  it('refuses a variant that does not fit the geometry, naming it', async () => {
    const be = new Backend('cpu');
    try {
      const g = convGeometry([1, 3, 6, 6], [4, 3, 3, 3], { padding: 1 });
      const x = new Float32Array(3 * 36);
      await expect(conv2dForward(be, x, new Float32Array(4 * 27), new Float32Array(4), g, { variant: 'unrolled' })).rejects.toThrow(/forward variant 'unrolled' does not fit C=3 OC=4 3x3 stride 1 pad 1/);
      await expect(conv2dForward(be, x, new Float32Array(4 * 27), new Float32Array(4), g, { variant: 'block-looped' })).rejects.toThrow(/forward variant 'block-looped' does not fit/);
      await expect(conv2dBackwardWeight(be, new Float32Array(4 * 36), x, g, 'channels-last')).rejects.toThrow(/weightGradient variant 'channels-last'/);
      const strided = convGeometry([1, 3, 6, 6], [4, 3, 3, 3], { stride: 2 });
      await expect(conv2dBackwardInput(be, new Float32Array(4 * 4), new Float32Array(4 * 27), strided, 'flipped-looped')).rejects.toThrow(/inputGradient variant 'flipped-looped'/);
    } finally {
      be.destroy();
    }
  });
});

describe('chooseConvKernels', () => {
  it('unrolls on the WebAssembly modes only, within the tap limit, and falls back where a variant does not fit', () => {
    const cnn2 = convGeometry([128, 32, 12, 12], [64, 32, 5, 5]);
    expect(chooseConvKernels('async', cnn2)).toEqual({ forward: 'block-unrolled', inputGradient: 'flipped-block-unrolled', weightGradient: 'channels-last' });
    expect(chooseConvKernels('webasm', cnn2)).toEqual(chooseConvKernels('async', cnn2));
    for (const mode of ['cpu', 'webgl2', 'webgpu'] as const) expect(chooseConvKernels(mode, cnn2)).toEqual({ forward: 'looped', inputGradient: 'flipped-looped', weightGradient: 'looped' });
    const cnn1 = convGeometry([128, 1, 28, 28], [32, 1, 5, 5]);
    expect(chooseConvKernels('async', cnn1)).toEqual({ forward: 'block-unrolled', inputGradient: 'flipped-looped', weightGradient: 'rows' }); // the flipped convolution has one output channel
    const padded = convGeometry([2, 4, 8, 8], [8, 4, 3, 3], { padding: 1 });
    expect(chooseConvKernels('webasm', padded)).toEqual({ forward: 'looped', inputGradient: 'flipped-block-unrolled', weightGradient: 'looped' });
    const strided = convGeometry([2, 4, 9, 9], [12, 4, 3, 3], { stride: 2 });
    expect(chooseConvKernels('webasm', strided)).toEqual({ forward: 'unrolled', inputGradient: 'masked', weightGradient: 'channels-last' });
    const wide = convGeometry([1, 96, 8, 8], [4, 96, 5, 5]); // 2400 taps: past the wasm limit
    expect(chooseConvKernels('webasm', wide).forward).toBe('block-looped');
    expect(chooseConvKernels('cpu', wide).forward).toBe('looped');
    const odd = convGeometry([1, 4, 8, 8], [5, 4, 3, 3]); // an odd channel count: no block fits
    expect(chooseConvKernels('webasm', odd).forward).toBe('looped');
  });

  it('hands out frozen limits: no caller can retune another', () => {
    expect(Object.isFrozen(CONV_LIMITS) && Object.isFrozen(CONV_LIMITS.wasm) && Object.isFrozen(CONV_LIMITS.other)).toBe(true);
  });
});

describe('conv2d kernel choice', () => {
  it('runs the long unrolled forward only on the WebAssembly modes (GL and WebGPU shader compilers choke on it)', async () => {
    const g = convGeometry([2, 32, 6, 6], [4, 32, 3, 3]); // 288 taps: unrolled on webasm, looped elsewhere
    const x = new Float32Array(2 * 32 * 36).fill(0.5);
    const w = new Float32Array(4 * 32 * 9).fill(0.25);
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
  });
});
