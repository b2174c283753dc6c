import { type Backend, type KernelSpec, type Mode, specFor } from '../backend.js';
import { geluCode } from './gelu.js';
import { idiv, imod } from './kernel-math.js';

/**
 * The one general matrix product every dense op is built on:
 *   C[z][m][n] = Σ_k A(z,m,k) · B(z,k,n)
 * with A and B addressed through strides, so transposes and shared (batch-stride 0)
 * operands cost nothing. Output C is [batch, M, N] row-major.
 */
export interface GemmShape {
  readonly batch: number;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  /** strides of A along (batch, m, k) */
  readonly a: readonly [number, number, number];
  /** strides of B along (batch, k, n) */
  readonly b: readonly [number, number, number];
  /**
   * Set where A is another gemm's raw output (its N = this K) in that variant's tiles instead of
   * strided rows: A(z, m, k) lies at z·a[0] + (m/4)·4K + tileOffset(variant, K, m%4, k), a[1] and
   * a[2] unused. A chain of dense layers then hands one kernel's output to the next as it is.
   * One chunk only (K ≤ 128).
   */
  readonly aTiles?: GemmVariant;
}

/** Where C[m][n] lies in its 4-row block (4·N values) of a gemm's raw output, for variant's tiles. */
export function tileOffset(variant: GemmVariant, N: number, j: number, n: number): number {
  if (variant === '4x1') return n * ROWS + j;
  const half = N / 2;
  return n < half ? n * 2 * ROWS + j : (n - half) * 2 * ROWS + ROWS + j;
}

/** Rows of C each thread accumulates: one B load (four lanes) feeds ROWS multiply-adds. */
export const ROWS = 4;

/**
 * The source of a kernel that accumulates ROWS sums from zero (s0..s3) and returns them as
 * Array(4): gemm and the convolution weight gradients. `body` loads into the scratch local `v`.
 */
export function rowsKernelSource(params: string, body: readonly string[], finish: { readonly lines: readonly string[]; readonly results: readonly string[] } = { lines: [], results: ['s0', 's1', 's2', 's3'] }): string {
  return `function(${params}) {
  let s0 = 0.0; let s1 = 0.0; let s2 = 0.0; let s3 = 0.0;
  let v = 0.0;
  ${[...body, ...finish.lines].join('\n  ')}
  return [${finish.results.join(', ')}];
}`;
}

/**
 * What a gemm kernel does to its four sums before returning them: nothing, or add the bias of its
 * column (argument Bs), then ReLU or GELU (GELU reads EXP_TABLE as ET). The bias is added after
 * the reduction and GELU is the gelu op's arithmetic, so a fused kernel rounds like the separate
 * ops. Only for a reduction in one chunk: the host adds chunks after the kernel.
 */
export type GemmEpilogue = 'none' | 'bias' | 'bias-relu' | 'bias-gelu';

/** The kernel parameters and closing statements of an epilogue over sums, each with its column's bias. */
function epilogueSource(epilogue: GemmEpilogue, sums: readonly { readonly sum: string; readonly bias: string }[]): { params: string; finish?: { lines: string[]; results: string[] } } {
  if (epilogue === 'none') return { params: 'A, B' };
  const lines = sums.map(({ sum, bias }, j) => `const x${j} = ${sum} + Bs[${bias}];`);
  const xs = sums.map((_, j) => `x${j}`);
  if (epilogue === 'bias') return { params: 'A, B, Bs', finish: { lines, results: xs } };
  if (epilogue === 'bias-relu') return { params: 'A, B, Bs', finish: { lines, results: xs.map((x) => `Math.max(${x}, 0)`) } };
  // the suffix keeps GELU's locals (t0, e2u0, ...) apart from the 4x2 accumulators t0..t3
  sums.forEach((_, j) => lines.push(geluCode(`g${j}`, `x${j}`, `_${j}`)));
  return { params: 'A, B, Bs, ET', finish: { lines, results: sums.map((_, j) => `g${j}`) } };
}

/** Longest reduction a kernel unrolls; longer ones are split into chunks of at most this. */
const MAX_CHUNK = 128;

/**
 * How the reduction is cut: `chunks` pieces of `len` (len · chunks = K). Each piece is fully
 * unrolled, so every index is an i32 expression of thread ids and literals (a loop counter
 * would be an f32 local in gpu.js's webasm: one f32→i32 conversion per load). Chunks also
 * multiply the grid, which lets webasm's threads engage on small outputs with long
 * reductions (weight gradients: 64×64 outputs summed over 2176 tokens).
 */
export function gemmChunks(K: number): { chunks: number; len: number } {
  for (let c = Math.ceil(K / MAX_CHUNK); c <= K; c++) if (K % c === 0) return { chunks: c, len: K / c };
  return { chunks: K, len: 1 };
}


/**
 * The index expressions of a thread's first B column in its batch entry and reduction chunk, and
 * of its A value (row j of its four, reduction step k of its chunk).
 */
function gemmBases(s: GemmShape, chunks: number, len: number): { aAt: (j: number, k: number) => string; bBase: string } {
  const { batch, a, b, aTiles } = s;
  // thread.z = z·chunks + chunk; with one batch entry it is the chunk alone (no division per load)
  const z = chunks === 1 ? 'this.thread.z' : batch === 1 ? '0' : idiv('this.thread.z', chunks, batch * chunks);
  const kc = chunks === 1 ? '0' : batch === 1 ? 'this.thread.z' : imod('this.thread.z', chunks, batch * chunks);
  // a bare thread.x (unit stride) makes B's four lanes neighbours: one v128.load (patches/gpu.js@2.24.1.patch)
  const bLane = b[2] === 1 ? 'this.thread.x' : `this.thread.x * ${b[2]}`;
  const bBase = `${z} * ${b[0]} + ${kc} * ${len * b[1]} + ${bLane}`;
  if (aTiles) {
    if (chunks !== 1) throw new Error(`gemm: A in ${aTiles} tiles needs the reduction in one chunk, K=${s.K} takes ${chunks}`);
    const aBase = `${z} * ${a[0]} + this.thread.y * ${ROWS * s.K}`;
    return { aAt: (j, k) => `${aBase} + ${tileOffset(aTiles, s.K, j, k)}`, bBase };
  }
  const aBase = `${z} * ${a[0]} + ${kc} * ${len * a[2]} + this.thread.y * ${ROWS * a[1]}`;
  return { aAt: (j, k) => `${aBase} + ${j * a[1] + k * a[2]}`, bBase };
}
/**
 * Each thread owns 4 rows m..m+3 of one column n (returned as Array(4)) over one chunk of the
 * reduction. SIMD lanes of webasm's f32x4 are neighbouring n, so A's loads are uniform across
 * lanes (one splat) and B, with unit stride along n, loads its four lanes as one vector: one
 * load per 4 multiply-adds. M must be a multiple of 4 (gemm() pads A otherwise).
 */
export function gemmSpec(s: GemmShape, epilogue: GemmEpilogue = 'none'): KernelSpec {
  const { batch, M, N, K, b } = s;
  if (M % ROWS !== 0) throw new Error(`gemmSpec: M=${M} must be a multiple of ${ROWS}`);
  const { chunks, len } = gemmChunks(K);
  if (epilogue !== 'none' && chunks !== 1) throw new Error(`gemmSpec: a ${epilogue} epilogue needs the reduction in one chunk, K=${K} takes ${chunks}`);
  const { aAt, bBase } = gemmBases(s, chunks, len);
  const body: string[] = [];
  for (let k = 0; k < len; k++) {
    body.push(`v = B[${bBase} + ${k * b[1]}];`);
    for (let j = 0; j < ROWS; j++) body.push(`s${j} += A[${aAt(j, k)}] * v;`);
  }
  const { params, finish } = epilogueSource(epilogue, [0, 1, 2, 3].map((j) => ({ sum: `s${j}`, bias: 'this.thread.x' })));
  return { name: epilogue === 'none' ? 'gemm' : `gemm_${epilogue}`, source: rowsKernelSource(params, body, finish), output: [N, M / ROWS, batch * chunks], components: ROWS };
}

/*
 * The gemm's kernel variants, and the rule that picks one (chooseGemmKernel):
 *
 *   '4x1'  gemmSpec. A thread returns Array(4): rows m..m+3 of one column n. Any mode, any
 *          epilogue; the inference plans read its layout [z][M/4][N][4].
 *   '4x2'  gemmSpec4x2. A thread returns Array(8): rows m..m+3 of columns n and n + N/2, so each
 *          splatted A value feeds two multiply-adds and eight accumulator chains run side by side
 *          (two B vector loads and four A splats per eight multiply-adds, where '4x1' takes one
 *          and four per four). N even, any epilogue (column n + N/2 adds its own bias); Array(8)
 *          needs the patched gpu.js (webasm, async, cpu).
 *
 * Either kernel reads A as strided rows or, for an inference plan's chained dense layers, as the
 * raw output of the gemm before it (GemmShape.aTiles, laid out by tileOffset), so one layer's
 * output is the next one's input without a pass that unpacks it.
 *
 * The rule: '4x2' on the WebAssembly modes where N/2 is a multiple of 4 (a narrower x axis runs
 * its last cells through gpu.js's scalar path) and the reduction takes at most two chunks (longer
 * ones ran slower as '4x2' in bench/variants.ts); '4x1' elsewhere.
 */

/** A gemm kernel variant (see the list above). */
export type GemmVariant = '4x1' | '4x2';

/** Whether a variant can compute shape s on a mode. */
export function gemmFits(variant: GemmVariant, s: GemmShape, mode: Mode): boolean {
  return variant === '4x1' || (s.N % 2 === 0 && (mode === 'webasm' || mode === 'async' || mode === 'cpu'));
}

/** The gemm kernel variant a mode runs for shape s. */
export function chooseGemmKernel(mode: Mode, s: GemmShape): GemmVariant {
  const wasm = mode === 'webasm' || mode === 'async';
  return wasm && gemmFits('4x2', s, mode) && (s.N / 2) % 4 === 0 && gemmChunks(s.K).chunks <= 2 ? '4x2' : '4x1';
}

/**
 * The '4x2' kernel: thread (x, m-block, z·chunks + chunk) accumulates rows m..m+3 of columns x
 * (s0..s3) and x + N/2 (t0..t3) over one chunk of the reduction, returned as Array(8). Both B
 * reads are uniform terms plus a bare thread.x: one v128.load each.
 */
export function gemmSpec4x2(s: GemmShape, epilogue: GemmEpilogue = 'none'): KernelSpec {
  const { batch, M, N, K, b } = s;
  if (M % ROWS !== 0 || N % 2 !== 0) throw new Error(`gemmSpec4x2: M=${M} must be a multiple of ${ROWS} and N=${N} even`);
  const half = N / 2;
  const { chunks, len } = gemmChunks(K);
  if (epilogue !== 'none' && chunks !== 1) throw new Error(`gemmSpec4x2: a ${epilogue} epilogue needs the reduction in one chunk, K=${K} takes ${chunks}`);
  const { aAt, bBase } = gemmBases(s, chunks, len);
  const body: string[] = [];
  for (let k = 0; k < len; k++) {
    body.push(`v = B[${bBase} + ${k * b[1]}];`, `u = B[${bBase} + ${half * b[2] + k * b[1]}];`);
    for (let j = 0; j < ROWS; j++) body.push(`w = A[${aAt(j, k)}];`, `s${j} += w * v;`, `t${j} += w * u;`);
  }
  const rows = [0, 1, 2, 3];
  const sums = [...rows.map((j) => ({ sum: `s${j}`, bias: 'this.thread.x' })), ...rows.map((j) => ({ sum: `t${j}`, bias: `this.thread.x + ${half}` }))];
  const { params, finish = { lines: [], results: sums.map((x) => x.sum) } } = epilogueSource(epilogue, sums);
  const source = `function(${params}) {
  let s0 = 0.0; let s1 = 0.0; let s2 = 0.0; let s3 = 0.0;
  let t0 = 0.0; let t1 = 0.0; let t2 = 0.0; let t3 = 0.0;
  let v = 0.0; let u = 0.0; let w = 0.0;
  ${[...body, ...finish.lines].join('\n  ')}
  return [${finish.results.join(', ')}];
}`;
  return { name: epilogue === 'none' ? 'gemm' : `gemm_${epilogue}`, source, output: [half, M / ROWS, batch * chunks], components: 8 };
}

/**
 * Undoes the '4x2' kernel's interleave [z·parts][M/4][N/2][8] into [batch][M][N], summing the
 * `parts` reduction chunks in order (as unpackRows does).
 */
export function unpackColumnPairs(raw: Float32Array, batch: number, M: number, N: number, parts: number): Float32Array {
  const MB = M / ROWS;
  const half = N / 2;
  const out = new Float32Array(batch * M * N);
  // a block's cells are read in storage order, eight values a cell, each written to its row and
  // column: one pass over raw instead of eight strided ones. Chunks still add in order p = 0, 1, ...
  for (let z = 0; z < batch; z++)
    for (let p = 0; p < parts; p++)
      for (let mb = 0; mb < MB; mb++) {
        let src = ((z * parts + p) * MB + mb) * half * 2 * ROWS;
        const r0 = (z * M + mb * ROWS) * N;
        const r1 = r0 + N;
        const r2 = r1 + N;
        const r3 = r2 + N;
        if (p === 0) {
          for (let n = 0; n < half; n++, src += 2 * ROWS) {
            out[r0 + n] = raw[src];
            out[r1 + n] = raw[src + 1];
            out[r2 + n] = raw[src + 2];
            out[r3 + n] = raw[src + 3];
            out[r0 + half + n] = raw[src + 4];
            out[r1 + half + n] = raw[src + 5];
            out[r2 + half + n] = raw[src + 6];
            out[r3 + half + n] = raw[src + 7];
          }
        } else {
          for (let n = 0; n < half; n++, src += 2 * ROWS) {
            out[r0 + n] += raw[src];
            out[r1 + n] += raw[src + 1];
            out[r2 + n] += raw[src + 2];
            out[r3 + n] += raw[src + 3];
            out[r0 + half + n] += raw[src + 4];
            out[r1 + half + n] += raw[src + 5];
            out[r2 + half + n] += raw[src + 6];
            out[r3 + half + n] += raw[src + 7];
          }
        }
      }
  return out;
}

/** Runs the gemm kernel (`variant`, else the mode's choice) and returns C as [batch, M, N] row-major. */
export async function gemm(be: Backend, A: Float32Array, B: Float32Array, s: GemmShape, variant?: GemmVariant): Promise<Float32Array> {
  if (s.aTiles) throw new Error('gemm: A in tiles is for kernels chained by an inference plan (gemmSpec, gemmSpec4x2); gemm() takes A as strided rows');
  if (s.M % ROWS !== 0) {
    // materialise A with M padded to a multiple of 4 so the kernel needs no per-load clamps
    const Mp = Math.ceil(s.M / ROWS) * ROWS;
    const padded = new Float32Array(s.batch * Mp * s.K);
    for (let z = 0; z < s.batch; z++)
      for (let m = 0; m < s.M; m++)
        for (let k = 0; k < s.K; k++) padded[(z * Mp + m) * s.K + k] = A[z * s.a[0] + m * s.a[1] + k * s.a[2]];
    const full = await gemm(be, padded, B, { ...s, M: Mp, a: [Mp * s.K, s.K, 1] }, variant);
    const out = new Float32Array(s.batch * s.M * s.N);
    for (let z = 0; z < s.batch; z++) out.set(full.subarray(z * Mp * s.N, (z * Mp + s.M) * s.N), z * s.M * s.N);
    return out;
  }
  if (s.b[2] !== 1 && s.N > 1) {
    // materialise B with n contiguous: its four lanes then load as one vector instead of four
    // gathered lanes (a dense layer's input gradient reads the weight transposed)
    const shared = s.b[0] === 0;
    const contiguous = new Float32Array((shared ? 1 : s.batch) * s.K * s.N);
    for (let z = 0; z < (shared ? 1 : s.batch); z++)
      for (let k = 0; k < s.K; k++)
        for (let n = 0; n < s.N; n++) contiguous[(z * s.K + k) * s.N + n] = B[z * s.b[0] + k * s.b[1] + n * s.b[2]];
    return gemm(be, A, contiguous, { ...s, b: [shared ? 0 : s.K * s.N, s.N, 1] }, variant);
  }
  const { chunks } = gemmChunks(s.K);
  const chosen = variant ?? chooseGemmKernel(be.mode, s);
  if (!gemmFits(chosen, s, be.mode)) throw new Error(`gemm: the '${chosen}' variant does not fit N=${s.N} on ${be.mode} (it needs N even, on webasm, async or cpu)`);
  if (chosen === '4x2') return unpackColumnPairs(await be.run(specFor(gemmSpec4x2, s), [A, B]), s.batch, s.M, s.N, chunks);
  const raw = await be.run(specFor(gemmSpec, s), [A, B]);
  return unpackRows(raw, s.batch, s.M, s.N, chunks);
}

/** How a rows-per-thread kernel's cells lie: `rows` rows of `pitch` cells, of which the first N/rows are kept. */
export interface CellGrid {
  readonly rows: number;
  readonly pitch: number;
}

/**
 * Undoes the [z][m/4][n][4] interleave of a rows-per-thread kernel into [batch][m][n],
 * summing the `parts` partial results (reduction chunks) of each batch entry. `grid` describes
 * an x axis padded to a multiple of 4 (gpu.js's webasm runs a row's last width % 4 cells
 * through its scalar path, one call per row): the n cells are `grid.rows` rows, each stored
 * `grid.pitch` wide, and the padding cells are dropped.
 */
export function unpackRows(raw: Float32Array, batch: number, M: number, N: number, parts = 1, grid: CellGrid = { rows: 1, pitch: N }): Float32Array {
  const MB = Math.ceil(M / ROWS);
  const { rows, pitch } = grid;
  const keep = N / rows;
  const out = new Float32Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    for (let p = 0; p < parts; p++) {
      for (let mb = 0; mb < MB; mb++) {
        const block = ((z * parts + p) * MB + mb) * rows * pitch;
        const ms = Math.min(ROWS, M - mb * ROWS);
        if (ms === ROWS) {
          unpackFullBlock(raw, out, block, (z * M + mb * ROWS) * N, N, grid, keep, p === 0);
          continue;
        }
        for (let j = 0; j < ms; j++) {
          const dst = (z * M + mb * ROWS + j) * N;
          for (let r = 0; r < rows; r++) {
            const src = (block + r * pitch) * ROWS + j;
            const d = dst + r * keep;
            if (p === 0) for (let n = 0; n < keep; n++) out[d + n] = raw[src + n * ROWS];
            else for (let n = 0; n < keep; n++) out[d + n] += raw[src + n * ROWS];
          }
        }
      }
    }
  }
  return out;
}

/**
 * unpackRows for one block of ROWS full rows: each stored row of cells is read in storage order,
 * ROWS values a cell, one per output row (one pass instead of ROWS strided ones). `first`
 * writes the chunk, otherwise it is added, as unpackRows does.
 */
function unpackFullBlock(raw: Float32Array, out: Float32Array, block: number, dst: number, N: number, grid: CellGrid, keep: number, first: boolean): void {
  const d1 = N;
  const d2 = 2 * N;
  const d3 = 3 * N;
  for (let r = 0; r < grid.rows; r++) {
    let src = (block + r * grid.pitch) * ROWS;
    const d = dst + r * keep;
    if (first) {
      for (let n = d; n < d + keep; n++, src += ROWS) {
        out[n] = raw[src];
        out[n + d1] = raw[src + 1];
        out[n + d2] = raw[src + 2];
        out[n + d3] = raw[src + 3];
      }
    } else {
      for (let n = d; n < d + keep; n++, src += ROWS) {
        out[n] += raw[src];
        out[n + d1] += raw[src + 1];
        out[n + d2] += raw[src + 2];
        out[n + d3] += raw[src + 3];
      }
    }
  }
}
