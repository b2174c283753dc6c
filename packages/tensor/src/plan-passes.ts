import { type ConvOutputLayout, convCellOffset, convChannelStart } from './ops/conv2d.js';
import { ROWS } from './ops/gemm.js';
import type { CellGrid, GemmVariant } from './ops/gemm.js';

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

/** Where a dense layer's epilogue writes: dst[m·count + n - first] for its columns [first, first + count). */
export interface DenseEpilogue {
  /** The gemm kernel's raw output, [parts][blocks][4·N] in `tiles` (reduction chunks as parts). */
  readonly raw: Float32Array;
  /** The variant whose tiles raw holds (tileOffset in ops/gemm.ts); default '4x1'. */
  readonly tiles?: GemmVariant;
  /** Rows kept (the batch's real rows, M before padding) and the gemm's columns. */
  readonly M: number;
  readonly N: number;
  readonly parts: number;
  /** Blocks of 4 rows in raw: the padded M / 4. */
  readonly blocks: number;
  /** The columns written, [first, count]; default all N. */
  readonly columns?: readonly [number, number];
  /** Where raw holds rows in groups `pitch` apart (attention's padded tokens): row m is raw row ⌊m/rows⌋·pitch + m % rows. */
  readonly groups?: CellGrid;
  /** Absent where the kernel added it (a fused epilogue); indexed by column. */
  readonly bias?: Float32Array;
  readonly activation: Activation;
  /** Added after the activation (a residual connection), laid out as dst; may be dst itself. */
  readonly residual?: Float32Array;
  readonly dst: Float32Array;
}

/** A row of a dense layer's output before its residual is added (the residual may be dst itself). */
let rowScratch = new Float32Array(0);

/**
 * Reads row m's columns [first, first + count) of one part of raw (its values from lo, `step`
 * apart, the second half of a '4x2' tile ROWS further) into out[at..], adding add[at..] if given.
 */
function readTiles(raw: Float32Array, lo: number, step: number, half: number, first: number, count: number, out: Float32Array, at: number, add?: Float32Array): void {
  const end = first + count;
  const split = Math.min(Math.max(half, first), end);
  // the second half of a '4x2' tile: the upper four of its eight values
  const hi = lo + ROWS - half * step;
  const o = at - first;
  if (add) {
    for (let n = first; n < split; n++) out[o + n] = add[o + n] + raw[lo + n * step];
    for (let n = split; n < end; n++) out[o + n] = add[o + n] + raw[hi + n * step];
    return;
  }
  for (let n = first; n < split; n++) out[o + n] = raw[lo + n * step];
  for (let n = split; n < end; n++) out[o + n] = raw[hi + n * step];
}

/** dst = act(Σ parts + bias) (+ residual), row-major [M, count]. */
export function denseEpilogue(e: DenseEpilogue): void {
  const { raw, M, N, parts, blocks, bias, activation, residual, dst } = e;
  const [first, count] = e.columns ?? [0, N];
  const pairs = e.tiles === '4x2';
  const step = pairs ? 2 * ROWS : ROWS;
  const half = pairs ? N / 2 : N;
  const part = blocks * N * ROWS;
  const { rows, pitch } = e.groups ?? { rows: M, pitch: M };
  // the kernel did all of the step's work: the values (plus the residual) go straight to dst
  const direct = parts === 1 && !bias && activation === 'none';
  if (rowScratch.length < 2 * count) rowScratch = new Float32Array(2 * count);
  const v = rowScratch;
  const w = rowScratch.subarray(count);
  for (let m = 0; m < M; m++) {
    const r = Math.floor(m / rows) * pitch + (m % rows);
    const lo = (r >> 2) * N * ROWS + (r & 3);
    const row = m * count;
    if (direct) {
      readTiles(raw, lo, step, half, first, count, dst, row, residual);
      continue;
    }
    readTiles(raw, lo, step, half, first, count, v, 0);
    for (let p = 1; p < parts; p++) {
      readTiles(raw, p * part + lo, step, half, first, count, w, 0);
      for (let n = 0; n < count; n++) v[n] = f(v[n] + w[n]);
    }
    if (bias) for (let n = 0; n < count; n++) v[n] += bias[first + n];
    // the activation and the residual as passes over one row (in cache), keeping the loops above free of branches
    if (activation === 'relu') for (let n = 0; n < count; n++) v[n] = v[n] > 0 ? v[n] : 0;
    else if (activation === 'gelu') for (let n = 0; n < count; n++) v[n] = geluValue(v[n]);
    if (residual) for (let n = 0; n < count; n++) dst[row + n] = residual[row + n] + v[n];
    else for (let n = 0; n < count; n++) dst[row + n] = v[n];
  }
}

/**
 * k×k max-pooling (stride k, floor) of a convolution's raw output, its cells laid out as
 * conv2dForwardKernel's layout says, into dst [B, OC, OH/k, OW/k], as a pass built once for one
 * geometry: every window's k·k cells are looked up in the layout here, so each call is a gather
 * and a max over a table of indices. A window's values are compared in row order, the first of
 * equal values kept, as the max-pool op does.
 */
export function convPool(B: number, OC: number, OH: number, OW: number, layout: ConvOutputLayout, k: number): (raw: Float32Array, dst: Float32Array) => void {
  const PH = Math.floor(OH / k);
  const PW = Math.floor(OW / k);
  const comps = layout.channels * layout.rowsPerCell;
  const kk = k * k;
  const index = new Int32Array(B * OC * PH * PW * kk);
  let i = 0;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < OC; c++) {
      const start = convChannelStart(layout, OC, b, c);
      for (let py = 0; py < PH; py++)
        for (let px = 0; px < PW; px++)
          for (let dy = 0; dy < k; dy++) {
            // the k cells of a window row are neighbours: comps floats apart
            const row = start + convCellOffset(layout, OW, py * k + dy, px * k);
            for (let dx = 0; dx < k; dx++) index[i++] = row + dx * comps;
          }
    }
  const outputs = index.length / kk;
  return (raw, dst) => {
    for (let o = 0, j = 0; o < outputs; o++) {
      let m = -Infinity;
      for (let e = 0; e < kk; e++, j++) {
        const v = raw[index[j]];
        if (v > m) m = v;
      }
      dst[o] = m;
    }
  };
}

/**
 * Layer norm of rows [R, D] of src (row stride srcStride) into dst (row stride D), eps as the
 * layerNorm op's. Mean and variance in float64 from one pass of sums (x and x²): rounding then
 * costs ~1e-16 · mean²/variance, far below f32's.
 */
export function layerNormRows(src: Float32Array, R: number, D: number, gamma: Float32Array, beta: Float32Array, dst: Float32Array, eps = 1e-5, srcStride = D): void {
  for (let r = 0; r < R; r++) {
    const s0 = r * srcStride;
    let s = 0;
    let ss = 0;
    for (let i = 0; i < D; i++) {
      const x = src[s0 + i];
      s += x;
      ss += x * x;
    }
    const mean = s / D;
    const rstd = 1 / Math.sqrt(Math.max(ss / D - mean * mean, 0) + eps);
    const d0 = r * D;
    for (let i = 0; i < D; i++) dst[d0 + i] = (src[s0 + i] - mean) * rstd * gamma[i] + beta[i];
  }
}
