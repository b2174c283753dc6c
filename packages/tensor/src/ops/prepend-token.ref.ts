/** Plain-loop float64 references for prependToken: x [B, T, D], token [D] -> [B, T+1, D]. */

/** out[b][0] = token, out[b][t+1] = x[b][t]. */
export function prependTokenRef(x: ArrayLike<number>, token: ArrayLike<number>, B: number, T: number, D: number): Float64Array {
  const out = new Float64Array(B * (T + 1) * D);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) out[b * (T + 1) * D + d] = token[d];
    for (let i = 0; i < T * D; i++) out[b * (T + 1) * D + D + i] = x[b * T * D + i];
  }
  return out;
}

/** dx = dOut without the token rows; dtoken = the token rows summed over the batch. */
export function prependTokenBackwardRef(dout: ArrayLike<number>, B: number, T: number, D: number): { dx: Float64Array; dtoken: Float64Array } {
  const dx = new Float64Array(B * T * D);
  const dtoken = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) dtoken[d] += dout[b * (T + 1) * D + d];
    for (let i = 0; i < T * D; i++) dx[b * T * D + i] = dout[b * (T + 1) * D + D + i];
  }
  return { dx, dtoken };
}
