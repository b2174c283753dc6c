import { describe, expect, it } from 'vitest';
import { type GemmVariant, ROWS, tileOffset } from '../src/ops/gemm.js';
import { conv2dForwardKernel, convGeometry, unpackConvOutput } from '../src/ops/conv2d.js';
import { convPool, denseEpilogue, geluValue, layerNormRows } from '../src/plan-passes.js';
import { Rng } from '../src/random.js';

/** C [M, N] laid out as a gemm's raw output: `parts` partial sums in variant's tiles, M padded to 4. */
function tiles(parts: Float64Array[], M: number, N: number, variant: GemmVariant): Float32Array {
  const MP = Math.ceil(M / ROWS) * ROWS;
  const raw = new Float32Array(parts.length * MP * N);
  parts.forEach((c, p) => {
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) raw[p * MP * N + (m >> 2) * ROWS * N + tileOffset(variant, N, m & 3, n)] = c[m * N + n];
  });
  return raw;
}

describe('the plan host passes', () => {
  for (const variant of ['4x1', '4x2'] as GemmVariant[])
    it(`denseEpilogue reads ${variant} tiles: two parts, a column range, grouped rows, bias, GELU and a residual`, () => {
      const rng = new Rng(3);
      const [N, rows, pitch, groups] = [16, 3, 4, 2];
      const M = groups * pitch; // raw rows: two groups of 3 kept rows, each padded to 4
      const parts = [0, 1].map(() => Float64Array.from({ length: M * N }, () => Math.fround(rng.normal())));
      const raw = tiles(parts, M, N, variant);
      const bias = Float32Array.from({ length: N }, () => rng.normal());
      const [first, count] = [5, 9]; // across the middle of a 4x2 tile
      const kept = groups * rows;
      const residual = Float32Array.from({ length: kept * count }, () => rng.normal());
      const dst = new Float32Array(kept * count);
      denseEpilogue({ raw, tiles: variant, M: kept, N, parts: 2, blocks: M / ROWS, columns: [first, count], groups: { rows, pitch }, bias, activation: 'gelu', residual, dst });
      for (let m = 0; m < kept; m++) {
        const r = Math.floor(m / rows) * pitch + (m % rows);
        for (let n = 0; n < count; n++) {
          const c = first + n;
          const want = residual[m * count + n] + geluValue(Math.fround(parts[0][r * N + c] + parts[1][r * N + c]) + bias[c]);
          expect(dst[m * count + n]).toBeCloseTo(want, 5);
        }
      }
    });

  it('denseEpilogue copies a fused kernel\'s values straight across, adding the residual in place', () => {
    const [M, N] = [5, 8];
    const c = Float64Array.from({ length: M * N }, (_, i) => i * 0.25);
    const raw = tiles([c], M, N, '4x2');
    const x = Float32Array.from({ length: M * N }, (_, i) => -i);
    denseEpilogue({ raw, tiles: '4x2', M, N, parts: 1, blocks: 2, activation: 'none', residual: x, dst: x });
    expect(Array.from(x)).toEqual(Array.from(c, (v, i) => v - i));
  });

  it('layerNormRows matches a two-pass float64 reference, also on a row whose mean is far from zero', () => {
    const rng = new Rng(7);
    const [R, D] = [3, 64];
    const src = Float32Array.from({ length: R * D }, (_, i) => (i >= 2 * D ? 1000 : 0) + rng.normal());
    const gamma = Float32Array.from({ length: D }, () => 1 + 0.1 * rng.normal());
    const beta = Float32Array.from({ length: D }, () => rng.normal());
    const dst = new Float32Array(R * D);
    layerNormRows(src, R, D, gamma, beta, dst);
    for (let r = 0; r < R; r++) {
      const row = Array.from(src.subarray(r * D, (r + 1) * D));
      const mean = row.reduce((a, b) => a + b, 0) / D;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / D;
      for (let i = 0; i < D; i++) expect(dst[r * D + i]).toBeCloseTo(((row[i] - mean) / Math.sqrt(variance + 1e-5)) * gamma[i] + beta[i], 5);
    }
  });
});

describe('convPool', () => {
  for (const [variant, k] of [['block-unrolled', 2], ['unrolled', 2], ['looped', 3]] as const)
    it(`pools a ${variant} forward kernel's cells ${k}x${k} as a max-pool of its unpacked output`, () => {
      const g = convGeometry([2, 3, 12, 12], [4, 3, 3, 3]);
      const { layout } = conv2dForwardKernel({ mode: 'webasm' }, g, { variant });
      const rng = new Rng(9);
      const cells = 2 * Math.ceil(g.OC / layout.channels) * layout.rows * layout.pitch * layout.channels * layout.rowsPerCell;
      const raw = Float32Array.from({ length: cells }, () => rng.normal());
      const x = unpackConvOutput(raw, g, layout);
      const P = Math.floor(g.OH / k);
      const want = new Float32Array(2 * g.OC * P * P);
      let o = 0;
      for (let bc = 0; bc < 2 * g.OC; bc++)
        for (let py = 0; py < P; py++)
          for (let px = 0; px < P; px++) {
            let m = -Infinity;
            for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) m = Math.max(m, x[(bc * g.OH + py * k + dy) * g.OW + px * k + dx]);
            want[o++] = m;
          }
      const got = new Float32Array(want.length);
      convPool(2, g.OC, g.OH, g.OW, layout, k)(raw, got);
      expect(Array.from(got)).toEqual(Array.from(want));
    });
});
