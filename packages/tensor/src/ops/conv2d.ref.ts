/** Plain-loop references for conv2d (NCHW, weights [OC, C, KH, KW]); float64. */

/** Output geometry of a convolution. */
export interface ConvGeometry {
  readonly B: number; readonly C: number; readonly H: number; readonly W: number;
  readonly OC: number; readonly KH: number; readonly KW: number;
  readonly stride: number; readonly pad: number;
  readonly OH: number; readonly OW: number;
}

/** Forward: y[b][o][oy][ox] = bias[o] + Σ x[b][c][oy·s−p+ky][ox·s−p+kx] · w[o][c][ky][kx]. */
export function conv2dRef(x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number>, g: ConvGeometry): Float64Array {
  const { B, C, H, W, OC, KH, KW, stride, pad, OH, OW } = g;
  const y = new Float64Array(B * OC * OH * OW);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < OC; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          let s = bias[o];
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * stride - pad + ky;
                const ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += x[((b * C + c) * H + iy) * W + ix] * w[((o * C + c) * KH + ky) * KW + kx];
              }
          y[((b * OC + o) * OH + oy) * OW + ox] = s;
        }
  return y;
}

/** Backward: gradients of input, weight and bias from dy. */
export function conv2dBackwardRef(dy: ArrayLike<number>, x: ArrayLike<number>, w: ArrayLike<number>, g: ConvGeometry): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { B, C, H, W, OC, KH, KW, stride, pad, OH, OW } = g;
  const dx = new Float64Array(B * C * H * W);
  const dw = new Float64Array(OC * C * KH * KW);
  const db = new Float64Array(OC);
  for (let b = 0; b < B; b++)
    for (let o = 0; o < OC; o++)
      for (let oy = 0; oy < OH; oy++)
        for (let ox = 0; ox < OW; ox++) {
          const d = dy[((b * OC + o) * OH + oy) * OW + ox];
          db[o] += d;
          for (let c = 0; c < C; c++)
            for (let ky = 0; ky < KH; ky++)
              for (let kx = 0; kx < KW; kx++) {
                const iy = oy * stride - pad + ky;
                const ix = ox * stride - pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                const xi = ((b * C + c) * H + iy) * W + ix;
                const wi = ((o * C + c) * KH + ky) * KW + kx;
                dx[xi] += d * w[wi];
                dw[wi] += d * x[xi];
              }
        }
  return { dx, dw, db };
}
