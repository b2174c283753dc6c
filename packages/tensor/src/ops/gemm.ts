import type { Backend, KernelSpec } from '../backend.js';

/**
 * The one general matrix product every dense op is built on:
 *   C[z][m][n] = Σ_k A(z,m,k) · B(z,k,n)
 * with A and B addressed through strides, so transposes and shared (batch-stride 0)
 * operands cost nothing. Output C is [batch, M, N] row-major.
 */
export interface GemmShape {
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** strides of A along (batch, m, k) */
  readonly a: readonly [number, number, number];
  /** strides of B along (batch, k, n) */
  readonly b: readonly [number, number, number];
}

/** Rows of C each thread accumulates: one gathered B value feeds ROWS multiply-adds. */
export const ROWS = 4;

/**
 * Each thread owns 4 rows m..m+3 of one column n (returned as Array(4)). Lanes of webasm's
 * f32x4 SIMD are neighbouring n, so A's loads are uniform across lanes (one splat) and only
 * B is gathered lane by lane: 1 gather per 4 multiply-adds instead of 1 per 1.
 */
export function gemmSpec(s: GemmShape): KernelSpec {
  const { batch, M, N, K, a, b } = s;
  const MB = Math.ceil(M / ROWS);
  // rows past M are clamped to M-1 (valid memory) and dropped when unpacking
  const src = `function(A, B) {
  const n = this.thread.x;
  const m = this.thread.y * ${ROWS};
  const z = this.thread.z;
  const a0 = z * ${a[0]} + m * ${a[1]};
  const a1 = z * ${a[0]} + Math.min(m + 1, ${M - 1}) * ${a[1]};
  const a2 = z * ${a[0]} + Math.min(m + 2, ${M - 1}) * ${a[1]};
  const a3 = z * ${a[0]} + Math.min(m + 3, ${M - 1}) * ${a[1]};
  const b0 = z * ${b[0]} + n * ${b[2]};
  let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
  for (let k = 0; k < ${K}; k++) {
    const bv = B[b0 + k * ${b[1]}];
    const ak = k * ${a[2]};
    s0 += A[a0 + ak] * bv;
    s1 += A[a1 + ak] * bv;
    s2 += A[a2 + ak] * bv;
    s3 += A[a3 + ak] * bv;
  }
  return [s0, s1, s2, s3];
}`;
  return { name: 'gemm', source: src, output: [N, MB, batch], components: ROWS };
}

/** Runs the gemm kernel and returns C as [batch, M, N] row-major. */
export async function gemm(be: Backend, A: Float32Array, B: Float32Array, s: GemmShape): Promise<Float32Array> {
  const raw = await be.run(gemmSpec(s), [A, B]);
  return unpackRows(raw, s.batch, s.M, s.N);
}

/** Undoes the [batch][m/4][n][4] interleave of a rows-per-thread kernel into [batch][m][n]. */
export function unpackRows(raw: Float32Array, batch: number, M: number, N: number): Float32Array {
  const MB = Math.ceil(M / ROWS);
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    for (let mb = 0; mb < MB; mb++) {
      const src = ((z * MB + mb) * N) * ROWS;
      const rows = Math.min(ROWS, M - mb * ROWS);
      for (let j = 0; j < rows; j++) {
        const dst = (z * M + mb * ROWS + j) * N;
        for (let n = 0; n < N; n++) out[dst + n] = raw[src + n * ROWS + j];
      }
    }
  }
  return out;
}
