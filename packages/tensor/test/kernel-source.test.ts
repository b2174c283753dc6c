import { describe, expect, it } from 'vitest';
import { kernelSourceFor } from '../src/kernel-source.js';

// Golden sources of kernels the shipped CNN runs (conv5x5(32)-pool-conv5x5(64)-pool-dense256 on
// 28x28): a change in what a shape compiles to shows up here as a diff to review, then
// `pnpm exec vitest run packages/tensor/test/kernel-source.test.ts -u` accepts it. Sources over
// ~50 KB are pinned by their header line (variant, grid, length) only.
describe('kernel-source golden sources', () => {
  const golden: [string, string][] = [
    ['cnn-conv1-forward-webasm.js', 'conv2d --x 1,1,28,28 --w 32,1,5,5 --relu'],
    ['cnn-conv1-forward-looped-cpu.js', 'conv2d --x 1,1,28,28 --w 32,1,5,5 --relu --mode cpu --forward looped'],
    ['cnn-conv2-forward-block-looped.js', 'conv2d --x 1,32,12,12 --w 64,32,5,5 --relu --forward block-looped'],
    ['cnn-conv1-weight-gradient-rows.js', 'conv2d --x 128,1,28,28 --w 32,1,5,5 --pass weightGradient'],
    ['cnn-conv2-weight-gradient-channels-last.js', 'conv2d --x 1,32,12,12 --w 64,32,5,5 --pass weightGradient'],
    ['cnn-conv2-bias-gradient.js', 'conv2d --x 128,32,12,12 --w 64,32,5,5 --pass biasGradient'],
    ['cnn-dense1-gemm.js', 'gemm --M 4 --N 10 --K 256'],
    ['vit-fc1-gemm-4x2.js', 'gemm --M 68 --N 128 --K 64'],
    // the ViT plan's dense layers for one image: fc1 with GELU, fc2 reading fc1's tiles
    ['vit-plan-fc1-gemm-bias-gelu.js', 'gemm --M 20 --N 128 --K 64 --epilogue bias-gelu'],
    ['vit-plan-fc2-gemm-bias-tiles.js', 'gemm --M 20 --N 64 --K 128 --epilogue bias --a-tiles 4x2'],
  ];
  for (const [file, args] of golden) {
    it(`${args} matches __golden__/${file}`, async () => {
      await expect(kernelSourceFor(args.split(' '))).toMatchFileSnapshot(`./__golden__/${file}`);
    });
  }

  it('pins the long sources of the shipped CNN by their header', () => {
    const header = (args: string) => kernelSourceFor(args.split(' ')).split('\n')[0];
    expect(header('conv2d --x 1,32,12,12 --w 64,32,5,5 --relu')).toMatchInlineSnapshot(`"// conv2d_forward variant block-unrolled on webasm: output [8, 2, 32], 8 per cell, 238168 chars"`);
    expect(header('conv2d --x 128,32,12,12 --w 64,32,5,5 --pass inputGradient')).toMatchInlineSnapshot(`"// conv2d_forward variant flipped-block-unrolled on webasm: output [12, 3, 2048], 8 per cell, 591577 chars"`);
    expect(header('conv2d --x 128,32,12,12 --w 64,32,5,5 --pass weightGradient')).toMatchInlineSnapshot(`"// conv2d_backward_weight variant channels-last on webasm: output [32, 25, 256], 4 per cell, 238426 chars"`);
    expect(header('conv2d --x 128,32,12,12 --w 64,32,5,5 --mode cpu')).toMatchInlineSnapshot(`"// conv2d_forward variant looped on cpu: output [64, 16, 128], 4 per cell, 5325 chars"`);
  });

  it('names what was wrong with a request', () => {
    expect(() => kernelSourceFor(['conv2d', '--x', '1,32,12', '--w', '64,32,5,5'])).toThrow(/--x takes 4 positive integers separated by commas, got "1,32,12"/);
    expect(() => kernelSourceFor(['conv2d', '--x', '1,3,6,6', '--w', '4,3,3,3', '--padding', '1', '--forward', 'unrolled'])).toThrow(/forward variant 'unrolled' does not fit/);
    expect(() => kernelSourceFor(['conv2d', '--x', '1,3,6,6', '--w', '4,3,3,3', '--pass', 'sideways'])).toThrow(/--pass takes one of forward, inputGradient, weightGradient, biasGradient/);
    expect(() => kernelSourceFor(['fft'])).toThrow(/name a kernel family, conv2d or gemm, got "fft"/);
    expect(() => kernelSourceFor(['gemm', '--M', '4', '--N', '8', '--K', '2', '--mode', 'metal'])).toThrow(/--mode takes one of cpu, webasm/);
  });
});
