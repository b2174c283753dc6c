/** Plain-loop float64 references for addPositional: x [B, T, D] + pos [T, D]. */

/** out[b] = x[b] + pos. */
export function addPositionalRef(x: ArrayLike<number>, pos: ArrayLike<number>, B: number, TD: number): Float64Array {
  return Float64Array.from({ length: B * TD }, (_, i) => x[i] + pos[i % TD]);
}

/** dx = dOut, dpos = Σ_b dOut[b]. */
export function addPositionalBackwardRef(dout: ArrayLike<number>, B: number, TD: number): { dx: Float64Array; dpos: Float64Array } {
  const dpos = new Float64Array(TD);
  for (let i = 0; i < B * TD; i++) dpos[i % TD] += dout[i];
  return { dx: Float64Array.from(dout), dpos };
}
