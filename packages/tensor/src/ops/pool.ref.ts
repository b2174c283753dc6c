/** Plain-loop reference for k×k max-pooling with stride k (NCHW); float64. Ties go to the first maximum. */
export function maxPoolRef(x: ArrayLike<number>, BC: number, H: number, W: number, k: number): Float64Array {
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const y = new Float64Array(BC * OH * OW);
  for (let p = 0; p < BC; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) m = Math.max(m, x[(p * H + oy * k + dy) * W + ox * k + dx]);
        y[(p * OH + oy) * OW + ox] = m;
      }
  return y;
}

/** Gradient: each window's dy goes to its (first) maximum. */
export function maxPoolBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, BC: number, H: number, W: number, k: number): Float64Array {
  const OH = Math.floor(H / k);
  const OW = Math.floor(W / k);
  const dx = new Float64Array(BC * H * W);
  for (let p = 0; p < BC; p++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        let at = 0;
        for (let dy = 0; dy < k; dy++)
          for (let dx2 = 0; dx2 < k; dx2++) {
            const i = (p * H + oy * k + dy) * W + ox * k + dx2;
            if (x[i] > m) {
              m = x[i];
              at = i;
            }
          }
        dx[at] += dy[(p * OH + oy) * OW + ox];
      }
  return dx;
}
