/** Plain-loop float64 references for softmax over the last dimension (R rows of N). */

/** y = e^(x - max) / Σ e^(x - max), row by row. */
export function softmaxRef(x: ArrayLike<number>, R: number, N: number): Float64Array {
  const y = new Float64Array(R * N);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let j = 0; j < N; j++) m = Math.max(m, x[r * N + j]);
    let s = 0;
    for (let j = 0; j < N; j++) s += (y[r * N + j] = Math.exp(x[r * N + j] - m));
    for (let j = 0; j < N; j++) y[r * N + j] /= s;
  }
  return y;
}

/** dx = y · (dy - Σ y·dy), with y = softmaxRef(x). */
export function softmaxBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, R: number, N: number): Float64Array {
  const y = softmaxRef(x, R, N);
  const dx = new Float64Array(R * N);
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let j = 0; j < N; j++) s += y[r * N + j] * dy[r * N + j];
    for (let j = 0; j < N; j++) dx[r * N + j] = y[r * N + j] * (dy[r * N + j] - s);
  }
  return dx;
}
