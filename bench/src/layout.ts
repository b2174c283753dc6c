/**
 * Layout conversions between digitlab's NCHW activations / [OC, C, K, K] filters and TF.js's NHWC /
 * HWIO. Kept apart from tfjs.ts (which imports TF.js itself) so that cases.ts, and through it the
 * browser bundle, can use them without pulling TF.js in.
 */

/** [B, C, H, W] -> [B, H, W, C]. */
export function nchwToNhwc(x: Float32Array, B: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(b * H * W + i) * C + c] = x[(b * C + c) * H * W + i];
  return out;
}

/** [B, H, W, C] -> [B, C, H, W]. */
export function nhwcToNchw(x: ArrayLike<number>, B: number, C: number, H: number, W: number): Float32Array {
  const out = new Float32Array(B * C * H * W);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < H * W; i++) out[(b * C + c) * H * W + i] = x[(b * H * W + i) * C + c];
  return out;
}

/** Convolution weights [OC, C, KH, KW] -> [KH, KW, C, OC]. */
export function oihwToHwio(w: Float32Array, OC: number, C: number, KH: number, KW: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < OC; o++)
    for (let c = 0; c < C; c++)
      for (let t = 0; t < KH * KW; t++) out[(t * C + c) * OC + o] = w[(o * C + c) * KH * KW + t];
  return out;
}

/** [KH, KW, C, OC] -> [OC, C, KH, KW]. */
export function hwioToOihw(w: ArrayLike<number>, OC: number, C: number, KH: number, KW: number): Float32Array {
  const out = new Float32Array(OC * C * KH * KW);
  for (let o = 0; o < OC; o++)
    for (let c = 0; c < C; c++)
      for (let t = 0; t < KH * KW; t++) out[(o * C + c) * KH * KW + t] = w[(t * C + c) * OC + o];
  return out;
}
