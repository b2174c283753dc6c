/** Plain-loop float64 references for layerNorm over the last dimension (R rows of D). */

/** y = (x - mean) / sqrt(var + eps) · gamma + beta, row by row. */
export function layerNormRef(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, R: number, D: number, eps = 1e-5): Float64Array {
  const y = new Float64Array(R * D);
  for (let r = 0; r < R; r++) {
    const { mean, rstd } = rowStats(x, r, D, eps);
    for (let d = 0; d < D; d++) y[r * D + d] = (x[r * D + d] - mean) * rstd * gamma[d] + beta[d];
  }
  return y;
}

/** Gradients of layerNormRef for output gradient dy. */
export function layerNormBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, gamma: ArrayLike<number>, R: number, D: number, eps = 1e-5): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const dx = new Float64Array(R * D);
  const dgamma = new Float64Array(D);
  const dbeta = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    const { mean, rstd } = rowStats(x, r, D, eps);
    let a = 0;
    let b = 0;
    for (let d = 0; d < D; d++) {
      const xhat = (x[r * D + d] - mean) * rstd;
      const g = dy[r * D + d] * gamma[d];
      a += g;
      b += g * xhat;
      dgamma[d] += dy[r * D + d] * xhat;
      dbeta[d] += dy[r * D + d];
    }
    for (let d = 0; d < D; d++) {
      const xhat = (x[r * D + d] - mean) * rstd;
      dx[r * D + d] = rstd * (dy[r * D + d] * gamma[d] - a / D - (xhat * b) / D);
    }
  }
  return { dx, dgamma, dbeta };
}

function rowStats(x: ArrayLike<number>, r: number, D: number, eps: number): { mean: number; rstd: number } {
  let s = 0;
  for (let d = 0; d < D; d++) s += x[r * D + d];
  const mean = s / D;
  let v = 0;
  for (let d = 0; d < D; d++) v += (x[r * D + d] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / D + eps) };
}
