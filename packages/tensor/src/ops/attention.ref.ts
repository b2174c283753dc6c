/** Plain-loop float64 references for multi-head self-attention over q, k, v [B, T, D], D = H·dh. */

/** Probabilities P [B, H, T, T] = softmax_j(q_i · k_j / √dh), head by head. */
export function attentionProbsRef(q: ArrayLike<number>, k: ArrayLike<number>, B: number, T: number, D: number, H: number): Float64Array {
  const dh = D / H;
  const p = new Float64Array(B * H * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * T;
        let m = -Infinity;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) s += q[(b * T + i) * D + h * dh + c] * k[(b * T + j) * D + h * dh + c];
          p[row + j] = s / Math.sqrt(dh);
          m = Math.max(m, p[row + j]);
        }
        let z = 0;
        for (let j = 0; j < T; j++) z += (p[row + j] = Math.exp(p[row + j] - m));
        for (let j = 0; j < T; j++) p[row + j] /= z;
      }
    }
  }
  return p;
}

/** Output O [B, T, D]: per head, P · v, heads side by side. */
export function attentionRef(q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, T: number, D: number, H: number): Float64Array {
  const dh = D / H;
  const p = attentionProbsRef(q, k, B, T, D, H);
  const o = new Float64Array(B * T * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        for (let j = 0; j < T; j++) {
          const pij = p[((b * H + h) * T + i) * T + j];
          for (let c = 0; c < dh; c++) o[(b * T + i) * D + h * dh + c] += pij * v[(b * T + j) * D + h * dh + c];
        }
      }
    }
  }
  return o;
}

/** Gradients of attentionRef for output gradient dout, through the softmax Jacobian written out in full. */
export function attentionBackwardRef(dout: ArrayLike<number>, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, B: number, T: number, D: number, H: number): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const dh = D / H;
  const p = attentionProbsRef(q, k, B, T, D, H);
  const dq = new Float64Array(B * T * D);
  const dk = new Float64Array(B * T * D);
  const dv = new Float64Array(B * T * D);
  const dp = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < T; i++) {
        const row = ((b * H + h) * T + i) * T;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let c = 0; c < dh; c++) {
            const g = dout[(b * T + i) * D + h * dh + c];
            s += g * v[(b * T + j) * D + h * dh + c];
            dv[(b * T + j) * D + h * dh + c] += p[row + j] * g;
          }
          dp[j] = s;
        }
        for (let j = 0; j < T; j++) {
          // dS_j = Σ_l dP_l · ∂P_l/∂S_j, ∂P_l/∂S_j = P_l (δ_lj - P_j)
          let ds = 0;
          for (let l = 0; l < T; l++) ds += dp[l] * p[row + l] * ((l === j ? 1 : 0) - p[row + j]);
          ds /= Math.sqrt(dh);
          for (let c = 0; c < dh; c++) {
            dq[(b * T + i) * D + h * dh + c] += ds * k[(b * T + j) * D + h * dh + c];
            dk[(b * T + j) * D + h * dh + c] += ds * q[(b * T + i) * D + h * dh + c];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
