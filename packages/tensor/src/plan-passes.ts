import { type ConvOutputLayout, convCellOffset, convChannelStart } from './ops/conv2d.js';
import { ROWS } from './ops/gemm.js';

/*
 * The host passes of an inference plan: each reads one kernel's output where the kernel left it
 * and writes the next kernel's input where that kernel reads it, doing a step's elementwise work
 * on the way. Sums and adds round to f32 in the order the op-by-op kernels use (a gemm's chunks
 * first to last, then the bias, then the residual), so the CNN's plan returns the op-by-op logits
 * bit for bit; GELU and layer norm are computed in float64 and rounded once, which moves a ViT's
 * logits by ~1e-6.
 */

const f = Math.fround;

/** Elementwise work after a dense layer. */
export type Activation = 'none' | 'relu' | 'gelu';

const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh form (the gelu op's). */
export function geluValue(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
}

/** Where a dense layer's epilogue writes: dst[m·stride + n]. */
export interface DenseEpilogue {
  /** The gemm kernel's raw output, [parts][M/4][N][4] (a padded M, reduction chunks as parts). */
  readonly raw: Float32Array;
  /** Rows kept (the batch's real rows, M before padding) and columns. */
  readonly M: number;
  readonly N: number;
  readonly parts: number;
  /** Rows of 4 in raw: the padded M / 4. */
  readonly blocks: number;
  /** Absent where the kernel added it (a fused epilogue). */
  readonly bias?: Float32Array;
  readonly activation: Activation;
  /** Added after the activation (a residual connection); may be dst itself. */
  readonly residual?: Float32Array;
  readonly dst: Float32Array;
}

/** A row of a dense layer's output before its residual is added (the residual may be dst itself). */
let rowScratch = new Float32Array(0);

/** dst = act(Σ parts + bias) (+ residual), row-major [M, N]. */
export function denseEpilogue(e: DenseEpilogue): void {
  const { raw, M, N, parts, blocks, bias, activation, residual, dst } = e;
  const part = blocks * N * ROWS;
  if (rowScratch.length < N) rowScratch = new Float32Array(N);
  const v = rowScratch;
  for (let m = 0; m < M; m++) {
    const src = (m >> 2) * N * ROWS + (m & 3);
    for (let n = 0; n < N; n++) {
      let s = raw[src + n * ROWS];
      for (let p = 1; p < parts; p++) s = f(s + raw[p * part + src + n * ROWS]);
      v[n] = bias ? s + bias[n] : s;
    }
    // the activation and the residual as passes over one row (in cache), keeping the loop above free of branches
    if (activation === 'relu') for (let n = 0; n < N; n++) v[n] = v[n] > 0 ? v[n] : 0;
    else if (activation === 'gelu') for (let n = 0; n < N; n++) v[n] = geluValue(v[n]);
    const row = m * N;
    if (residual) for (let n = 0; n < N; n++) dst[row + n] = residual[row + n] + v[n];
    else for (let n = 0; n < N; n++) dst[row + n] = v[n];
  }
}

/**
 * k×k max-pooling (stride k, floor) of a convolution's raw output, its cells laid out as
 * conv2dForwardKernel's layout says, into dst [B, OC, OH/k, OW/k].
 */
export function poolConvOutput(raw: Float32Array, B: number, OC: number, OH: number, OW: number, layout: ConvOutputLayout, k: number, dst: Float32Array): void {
  const PH = Math.floor(OH / k);
  const PW = Math.floor(OW / k);
  const comps = layout.channels * layout.rowsPerCell;
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < OC; c++) {
      const start = convChannelStart(layout, OC, b, c);
      for (let py = 0; py < PH; py++)
        for (let px = 0; px < PW; px++) {
          let m = -Infinity;
          for (let dy = 0; dy < k; dy++) {
            // the k cells of a window row are neighbours: comps floats apart
            const row = start + convCellOffset(layout, OW, py * k + dy, px * k);
            for (let dx = 0; dx < k; dx++) {
              const v = raw[row + dx * comps];
              if (v > m) m = v;
            }
          }
          dst[o++] = m;
        }
    }
}

/** Layer norm of rows [R, D] of src (row stride D) into dst (row stride D), eps as the layerNorm op's. */
export function layerNormRows(src: Float32Array, R: number, D: number, gamma: Float32Array, beta: Float32Array, dst: Float32Array, eps = 1e-5, srcStride = D): void {
  for (let r = 0; r < R; r++) {
    const s0 = r * srcStride;
    let s = 0;
    for (let i = 0; i < D; i++) s += src[s0 + i];
    const mean = s / D;
    let v = 0;
    for (let i = 0; i < D; i++) {
      const d = src[s0 + i] - mean;
      v += d * d;
    }
    const rstd = 1 / Math.sqrt(v / D + eps);
    const d0 = r * D;
    for (let i = 0; i < D; i++) dst[d0 + i] = (src[s0 + i] - mean) * rstd * gamma[i] + beta[i];
  }
}
