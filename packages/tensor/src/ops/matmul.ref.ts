/** Plain-loop references for matmul; float64 so finite differences are meaningful. */

/** C[z] = A[z] · B[z]; a is [batch, M, K] (or [M, K] shared when aBatched=false), b likewise [.., K, N]. */
export function matmulRef(a: ArrayLike<number>, b: ArrayLike<number>, batch: number, M: number, K: number, N: number, bBatched = true): Float64Array {
  const c = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const bo = bBatched ? z * K * N : 0;
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const av = a[(z * M + m) * K + k];
        for (let n = 0; n < N; n++) c[(z * M + m) * N + n] += av * b[bo + k * N + n];
      }
    }
  }
  return c;
}

/** Gradients of matmulRef: dA = dC·Bᵀ, dB = Aᵀ·dC (summed over batch when B is shared). */
export function matmulBackwardRef(dc: ArrayLike<number>, a: ArrayLike<number>, b: ArrayLike<number>, batch: number, M: number, K: number, N: number, bBatched = true): { da: Float64Array; db: Float64Array } {
  const da = new Float64Array(batch * M * K);
  const db = new Float64Array((bBatched ? batch : 1) * K * N);
  for (let z = 0; z < batch; z++) {
    const bo = bBatched ? z * K * N : 0;
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        let s = 0;
        const av = a[(z * M + m) * K + k];
        for (let n = 0; n < N; n++) {
          const g = dc[(z * M + m) * N + n];
          s += g * b[bo + k * N + n];
          db[bo + k * N + n] += av * g;
        }
        da[(z * M + m) * K + k] = s;
      }
    }
  }
  return { da, db };
}
