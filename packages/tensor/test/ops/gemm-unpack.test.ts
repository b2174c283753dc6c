import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/random.js';
import { ROWS, unpackColumnPairs, unpackRows } from '../../src/ops/gemm.js';

/** A raw output of `count` values, each distinct, so any misplaced value shows. */
function rawOf(count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: count }, () => rng.uniform() - 0.5);
}

/** [batch][M][N] from the '4x1' layout [z·parts][M/4][rows·pitch][4], one element at a time, chunks added in order. */
function rowsByElement(raw: Float32Array, batch: number, M: number, N: number, parts: number, rows: number, pitch: number): Float32Array {
  const MB = Math.ceil(M / ROWS);
  const keep = N / rows;
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const r = Math.floor(n / keep);
        const cell = r * pitch + (n % keep);
        let s = 0;
        for (let p = 0; p < parts; p++) {
          const v = raw[(((z * parts + p) * MB + Math.floor(m / ROWS)) * rows * pitch + cell) * ROWS + (m % ROWS)];
          s = p === 0 ? v : Math.fround(s + v);
        }
        out[(z * M + m) * N + n] = s;
      }
  return out;
}

/** [batch][M][N] from the '4x2' layout [z·parts][M/4][N/2][8], one element at a time. */
function pairsByElement(raw: Float32Array, batch: number, M: number, N: number, parts: number): Float32Array {
  const half = N / 2;
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        const g = n < half ? 0 : 1;
        let s = 0;
        for (let p = 0; p < parts; p++) {
          const v = raw[((((z * parts + p) * (M / ROWS) + Math.floor(m / ROWS)) * half + (n % half)) * 2 + g) * ROWS + (m % ROWS)];
          s = p === 0 ? v : Math.fround(s + v);
        }
        out[(z * M + m) * N + n] = s;
      }
  return out;
}

describe('gemm output unpacking', () => {
  it('unpackRows puts every value where the layout says, chunks summed in order, padding cells dropped, a short last block kept short', () => {
    for (const [batch, M, N, parts, rows, pitch] of [[1, 8, 12, 1, 1, 12], [2, 10, 12, 3, 1, 12], [3, 7, 6, 2, 2, 4], [2, 32, 25, 2, 5, 8], [1, 5, 9, 1, 3, 4]]) {
      const raw = rawOf(batch * parts * Math.ceil(M / ROWS) * rows * pitch * ROWS, M * N + parts);
      expect(unpackRows(raw, batch, M, N, parts, { rows, pitch })).toEqual(rowsByElement(raw, batch, M, N, parts, rows, pitch));
    }
  });

  it('unpackColumnPairs puts every value where the layout says, chunks summed in order', () => {
    for (const [batch, M, N, parts] of [[1, 8, 16, 1], [2, 12, 6, 3], [3, 4, 2, 2]]) {
      const raw = rawOf(batch * parts * M * N, M * N + parts);
      expect(unpackColumnPairs(raw, batch, M, N, parts)).toEqual(pairsByElement(raw, batch, M, N, parts));
    }
  });
});
