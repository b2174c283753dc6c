/** Plain-loop float64 references for selectToken: x [B, T, D] -> x[:, index, :]. */

/** out[b] = x[b][index]. */
export function selectTokenRef(x: ArrayLike<number>, B: number, T: number, D: number, index: number): Float64Array {
  const out = new Float64Array(B * D);
  for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) out[b * D + d] = x[(b * T + index) * D + d];
  return out;
}

/** dx is dOut in the selected token's rows and 0 elsewhere. */
export function selectTokenBackwardRef(dout: ArrayLike<number>, B: number, T: number, D: number, index: number): Float64Array {
  const dx = new Float64Array(B * T * D);
  for (let b = 0; b < B; b++) for (let d = 0; d < D; d++) dx[(b * T + index) * D + d] = dout[b * D + d];
  return dx;
}
