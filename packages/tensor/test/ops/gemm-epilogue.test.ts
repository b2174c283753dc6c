import { describe, expect, it } from 'vitest';
import { Backend, EXPECTED_KERNEL, type Mode } from '../../src/backend.js';
import { Rng } from '../../src/random.js';
import { Tensor } from '../../src/tensor.js';
import { addBias } from '../../src/ops/bias.js';
import { gelu } from '../../src/ops/gelu.js';
import { type GemmEpilogue, type GemmShape, type GemmVariant, gemmSpec, gemmSpec4x2, unpackColumnPairs, unpackRows } from '../../src/ops/gemm.js';
import { EXP_TABLE } from '../../src/ops/kernel-math.js';
import { matmul } from '../../src/ops/matmul.js';
import { relu } from '../../src/ops/relu.js';

// a dense layer's shape in the ViT (K = 64: one chunk), M a multiple of 4
const M = 20;
const K = 64;
const N = 24;

// each variant's kernel and the unpacking of its tiles into [M, N]
const VARIANTS: Record<GemmVariant, { spec: typeof gemmSpec; unpack: (raw: Float32Array) => Float32Array }> = {
  '4x1': { spec: gemmSpec, unpack: (raw) => unpackRows(raw, 1, M, N) },
  '4x2': { spec: gemmSpec4x2, unpack: (raw) => unpackColumnPairs(raw, 1, M, N, 1) },
};

describe('gemm with a fused epilogue', () => {
  for (const mode of ['webasm', 'async', 'cpu'] as Mode[])
    for (const [variant, { spec, unpack }] of Object.entries(VARIANTS)) {
    it(`${mode}, ${variant}: bias, bias + ReLU and bias + GELU inside the kernel give what the separate ops give${mode === 'cpu' ? ' (to f32 rounding: gpu.js cpu computes in float64)' : ', bit for bit'}`, async () => {
      const rng = new Rng(5);
      const a = Tensor.from([M, K], Array.from({ length: M * K }, () => rng.normal()));
      const w = Tensor.from([K, N], Array.from({ length: K * N }, () => rng.normal() * 0.2));
      const b = Tensor.from([N], Array.from({ length: N }, () => rng.normal()));
      const be = new Backend(mode, { poolSize: 2 });
      try {
        const linear = await addBias(be, await matmul(be, a, w), b);
        const expected: Record<Exclude<GemmEpilogue, 'none'>, Float32Array> = {
          bias: linear.data,
          'bias-relu': (await relu(be, linear)).data,
          'bias-gelu': (await gelu(be, linear)).data,
        };
        const shape: GemmShape = { batch: 1, M, N, K, a: [M * K, K, 1], b: [0, N, 1] };
        for (const [epilogue, want] of Object.entries(expected) as [GemmEpilogue, Float32Array][]) {
          const args = epilogue === 'bias-gelu' ? [a.data, w.data, b.data, EXP_TABLE] : [a.data, w.data, b.data];
          const got = unpack(await be.run(spec(shape, epilogue), args));
          if (mode !== 'cpu') expect(Array.from(got), epilogue).toEqual(Array.from(want));
          else for (let i = 0; i < got.length; i++) expect(got[i], `${epilogue} [${i}]`).toBeCloseTo(want[i], 5);
        }
        expect([...be.executed]).toEqual([EXPECTED_KERNEL[mode]]);
      } finally {
        be.destroy();
      }
    });
  }

  it('refuses an epilogue on a reduction cut into chunks (the host adds those)', () => {
    expect(() => gemmSpec({ batch: 1, M: 4, N: 4, K: 1024, a: [4096, 1024, 1], b: [0, 4, 1] }, 'bias')).toThrow(/one chunk, K=1024 takes 8/);
    expect(() => gemmSpec4x2({ batch: 1, M: 4, N: 4, K: 1024, a: [4096, 1024, 1], b: [0, 4, 1] }, 'bias-gelu')).toThrow(/one chunk, K=1024 takes 8/);
  });
});
