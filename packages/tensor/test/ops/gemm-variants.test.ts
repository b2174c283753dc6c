import { describe, expect, it } from 'vitest';
import { Backend, type Mode } from '../../src/backend.js';
import { Rng } from '../../src/random.js';
import { type GemmShape, type GemmVariant, ROWS, chooseGemmKernel, gemm, gemmSpec, gemmSpec4x2, tileOffset, unpackColumnPairs, unpackRows } from '../../src/ops/gemm.js';
import { matmulRef } from '../../src/ops/matmul.ref.js';

// shapes that reach every path of both variants: a reduction in chunks (K > 128), a batch with
// its own B, M padded to a multiple of 4, a transposed (strided) B, N / 2 not a multiple of 4
const SHAPES: { name: string; s: GemmShape }[] = [
  { name: 'one chunk', s: { batch: 1, M: 8, N: 12, K: 20, a: [160, 20, 1], b: [0, 12, 1] } },
  { name: 'a 300-long reduction in chunks, batched', s: { batch: 3, M: 4, N: 6, K: 300, a: [1200, 300, 1], b: [1800, 6, 1] } },
  { name: 'M not a multiple of 4', s: { batch: 2, M: 7, N: 10, K: 9, a: [63, 9, 1], b: [0, 10, 1] } },
  { name: 'B read transposed', s: { batch: 1, M: 4, N: 14, K: 5, a: [20, 5, 1], b: [0, 1, 5] } },
];

describe('gemm variants', () => {
  for (const mode of ['webasm', 'async', 'cpu'] as Mode[])
    for (const variant of ['4x1', '4x2'] as GemmVariant[])
      it(`${mode}: the ${variant} kernel matches the float64 reference on every shape`, async () => {
        const be = new Backend(mode, { poolSize: 2 });
        const rng = new Rng(9);
        try {
          for (const { name, s } of SHAPES) {
            const A = Float32Array.from({ length: s.batch * s.M * s.K }, () => rng.normal());
            const B = Float32Array.from({ length: (s.b[0] === 0 ? 1 : s.batch) * s.K * s.N }, () => rng.normal());
            // the reference takes B row-major [K][N]: read the transposed case through its strides
            const Bkn = Float64Array.from({ length: B.length }, (_, i) => {
              const z = Math.floor(i / (s.K * s.N));
              const k = Math.floor((i % (s.K * s.N)) / s.N);
              const n = i % s.N;
              return B[z * s.b[0] + k * s.b[1] + n * s.b[2]];
            });
            const want = matmulRef(A, Bkn, s.batch, s.M, s.K, s.N, s.b[0] !== 0);
            const got = await gemm(be, A, B, s, variant);
            let err = 0;
            for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
            expect(err, `${name}`).toBeLessThan(1e-4 * Math.sqrt(s.K));
          }
        } finally {
          be.destroy();
        }
      });

  it('picks 4x2 on the WebAssembly modes for N/2 in fours and short reductions, 4x1 elsewhere, and refuses 4x2 for an odd N', async () => {
    const even: GemmShape = { batch: 1, M: 4, N: 8, K: 4, a: [16, 4, 1], b: [0, 8, 1] };
    const odd: GemmShape = { ...even, N: 9, b: [0, 9, 1] };
    expect(chooseGemmKernel('webasm', even)).toBe('4x2');
    expect(chooseGemmKernel('async', even)).toBe('4x2');
    expect(chooseGemmKernel('webasm', { ...even, K: 256 })).toBe('4x2');
    expect(chooseGemmKernel('webasm', { ...even, K: 384 })).toBe('4x1'); // three chunks
    expect(chooseGemmKernel('webasm', { ...even, N: 10, b: [0, 10, 1] })).toBe('4x1'); // N/2 = 5
    expect(chooseGemmKernel('webasm', odd)).toBe('4x1');
    for (const mode of ['cpu', 'webgl2', 'webgpu'] as const) expect(chooseGemmKernel(mode, even)).toBe('4x1');
    const be = new Backend('webasm');
    try {
      await expect(gemm(be, new Float32Array(16), new Float32Array(36), odd, '4x2')).rejects.toThrow(/'4x2' variant does not fit N=9 on webasm/);
    } finally {
      be.destroy();
    }
  });

  for (const mode of ['webasm', 'async', 'cpu'] as Mode[])
    for (const tiles of ['4x1', '4x2'] as GemmVariant[])
      it(`${mode}: both kernels read A in ${tiles} tiles (another gemm's raw output) and add their bias as over strided rows`, async () => {
        const [M, K, N] = [8, 12, 16];
        const rng = new Rng(11);
        const A = Float64Array.from({ length: M * K }, () => rng.normal());
        const B = Float32Array.from({ length: K * N }, () => rng.normal());
        const bias = Float32Array.from({ length: N }, () => rng.normal());
        const tiled = new Float32Array(M * K);
        for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) tiled[(m >> 2) * ROWS * K + tileOffset(tiles, K, m & 3, k)] = A[m * K + k];
        const want = matmulRef(A, Float64Array.from(B), 1, M, K, N, false);
        const s: GemmShape = { batch: 1, M, N, K, a: [M * K, 0, 0], b: [0, N, 1], aTiles: tiles };
        const be = new Backend(mode, { poolSize: 2 });
        try {
          const kernels = { '4x1': (raw: Float32Array) => unpackRows(raw, 1, M, N), '4x2': (raw: Float32Array) => unpackColumnPairs(raw, 1, M, N, 1) };
          for (const [variant, unpack] of Object.entries(kernels)) {
            const spec = variant === '4x2' ? gemmSpec4x2(s, 'bias') : gemmSpec(s, 'bias');
            const got = unpack(await be.run(spec, [tiled, B, bias]));
            let err = 0;
            for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - (want[i] + bias[i % N])));
            expect(err, variant).toBeLessThan(1e-4 * Math.sqrt(K));
          }
        } finally {
          be.destroy();
        }
      });

  it('refuses A in tiles over a reduction in chunks', () => {
    expect(() => gemmSpec({ batch: 1, M: 4, N: 4, K: 300, a: [1200, 0, 0], b: [0, 4, 1], aTiles: '4x1' })).toThrow(/A in 4x1 tiles needs the reduction in one chunk, K=300 takes 3/);
  });
});
