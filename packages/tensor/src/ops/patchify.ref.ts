/** Plain-loop float64 references for patchify: [B, C, H, W] -> [B, (H/p)(W/p), C·p·p]. */

/** out[b][py·(W/p) + px][c·p·p + ky·p + kx] = x[b][c][py·p + ky][px·p + kx]. */
export function patchifyRef(x: ArrayLike<number>, B: number, C: number, H: number, W: number, p: number): Float64Array {
  const NP = (H / p) * (W / p);
  const E = C * p * p;
  const out = new Float64Array(B * NP * E);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let y = 0; y < H; y++)
        for (let xx = 0; xx < W; xx++) {
          const n = Math.floor(y / p) * (W / p) + Math.floor(xx / p);
          const e = c * p * p + (y % p) * p + (xx % p);
          out[(b * NP + n) * E + e] = x[((b * C + c) * H + y) * W + xx];
        }
  return out;
}

/** dx: each pixel takes the gradient of the one patch slot it was copied to. */
export function patchifyBackwardRef(dout: ArrayLike<number>, B: number, C: number, H: number, W: number, p: number): Float64Array {
  const NP = (H / p) * (W / p);
  const E = C * p * p;
  const dx = new Float64Array(B * C * H * W);
  for (let b = 0; b < B; b++)
    for (let n = 0; n < NP; n++)
      for (let e = 0; e < E; e++) {
        const c = Math.floor(e / (p * p));
        const y = Math.floor(n / (W / p)) * p + Math.floor((e % (p * p)) / p);
        const xx = (n % (W / p)) * p + (e % p);
        dx[((b * C + c) * H + y) * W + xx] += dout[(b * NP + n) * E + e];
      }
  return dx;
}
