import type { Backend } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { gemm } from './gemm.js';

/**
 * C = A · B.
 *   a: [M, K] or [batch, M, K]
 *   b: [K, N] (shared by every batch) or [batch, K, N]
 * Backward: dA = dC · Bᵀ, dB = Aᵀ · dC (summed over the batch when B is shared),
 * both on the same strided gemm kernel, no transposed copies.
 */
export async function matmul(be: Backend, a: Tensor, b: Tensor): Promise<Tensor> {
  const aBatched = a.shape.length === 3;
  const bBatched = b.shape.length === 3;
  if (a.shape.length < 2 || a.shape.length > 3 || b.shape.length < 2 || b.shape.length > 3) {
    throw new Error(`matmul: expected 2-D or 3-D operands, got [${a.shape.join(',')}] · [${b.shape.join(',')}]`);
  }
  const batch = aBatched ? a.shape[0] : 1;
  const M = a.shape[a.shape.length - 2];
  const K = a.shape[a.shape.length - 1];
  const K2 = b.shape[b.shape.length - 2];
  const N = b.shape[b.shape.length - 1];
  if (K !== K2 || (bBatched && (!aBatched || b.shape[0] !== batch))) {
    throw new Error(`matmul: shapes [${a.shape.join(',')}] · [${b.shape.join(',')}] do not match`);
  }
  const bz = bBatched ? K * N : 0;
  const c = await gemm(be, a.data, b.data, { batch, M, N, K, a: [M * K, K, 1], b: [bz, N, 1] });
  const out = new Tensor(aBatched ? [batch, M, N] : [M, N], c);
  return record(out, 'matmul', [a, b], async (dc) => {
    if (a.requiresGrad) {
      // dA[z][m][k] = Σ_n dC[z][m][n] · B[z][k][n]
      a.accumulateGrad(await gemm(be, dc, b.data, { batch, M, N: K, K: N, a: [M * N, N, 1], b: [bz, 1, N] }));
    }
    if (b.requiresGrad) {
      if (bBatched) {
        // dB[z][k][n] = Σ_m A[z][m][k] · dC[z][m][n]
        b.accumulateGrad(await gemm(be, a.data, dc, { batch, M: K, N, K: M, a: [M * K, 1, K], b: [M * N, N, 1] }));
      } else {
        // shared B: the batch folds into the reduction, (z, m) is one index of length batch·M
        b.accumulateGrad(await gemm(be, a.data, dc, { batch: 1, M: K, N, K: batch * M, a: [0, 1, K], b: [0, N, 1] }));
      }
    }
  });
}
