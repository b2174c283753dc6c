import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { EXP_TABLE, expCode, idiv, imin, imod, lit, roundUp4 } from './kernel-math.js';

/*
 * Multi-head scaled dot-product self-attention, q, k, v [B, T, D], D = H·dh, head h owning
 * columns h·dh .. h·dh+dh-1 of every token:
 *   S[b,h,i,j] = Σ_c q[b,i,h·dh+c] · k[b,j,h·dh+c] / √dh
 *   P[b,h,i,:] = softmax(S[b,h,i,:])
 *   O[b,i,h·dh+c] = Σ_j P[b,h,i,j] · v[b,j,h·dh+c]          (heads concatenated: O is [B, T, D])
 * Backward (with dP = dO·vᵀ, and Σ_j P·dP = Σ_c dO·O, which saves a pass):
 *   dS[b,h,i,j] = P · (dP[b,h,i,j] - Σ_c dO[b,i,hc] · O[b,i,hc]) / √dh
 *   dq[b,i] = Σ_j dS[b,h,i,j] k[b,j]    dk[b,j] = Σ_i dS[b,h,i,j] q[b,i]    dv[b,j] = Σ_i P[b,h,i,j] dO[b,i]
 *
 * Kernels (9 calls per forward+backward, each covering the whole batch):
 *   forward:  scores S (from the keys transposed on the host), stats (row max and 1/Σe per
 *             (b, h, i)), probs P, output O
 *   backward: rowdot (Σ_c dO·O), dS, dq, dk, dv (dk and dv share one kernel source)
 * Layout choices for webasm's f32x4 body (4 neighbouring thread.x per quad, thread.y/z uniform):
 *  - T is padded to TP (a multiple of 4) wherever it is an x axis, so rows split into whole
 *    quads; a ragged x axis would run row by row from JS with a scalar tail per row.
 *  - a value that only depends on thread.y/z is one scalar load per quad; one that depends on
 *    thread.x is a 4-load gather. Each kernel keeps one operand row in registers (gathered once)
 *    and streams the other with uniform loads, and returns 4 results per thread (Array(4)) so
 *    each gathered value feeds 4 multiply-adds.
 * gemm (one batch stride) cannot address a head inside the [B, T, D] layout without
 * transposed copies, so these kernels are fused by hand instead.
 */

/** Options of attention(). */
export interface AttentionOptions {
  /** Receives the attention probabilities [B, heads, T, T] (for attention maps) after the forward pass. */
  readonly onProbs?: (probs: Float32Array) => void;
}

/** Attention sizes as the kernels see them (TP: T padded to a multiple of 4). */
export interface AttentionDims {
  readonly B: number;
  readonly T: number;
  readonly D: number;
  readonly H: number;
  readonly dh: number;
  readonly TP: number;
  readonly scale: number;
}

/** The sizes of an attention call over [B, T, D] with H heads. */
export function attentionDims(B: number, T: number, D: number, H: number): AttentionDims {
  return { B, T, D, H, dh: D / H, TP: roundUp4(T), scale: 1 / Math.sqrt(D / H) };
}

/** `+`-joined terms, so short reductions unroll into one expression (no loop counter, no branch). */
function sumOf(n: number, term: (i: number) => string): string {
  return Array.from({ length: n }, (_, i) => term(i)).join(' + ');
}

const X = 'this.thread.x';
const Y = 'this.thread.y';
const Z = 'this.thread.z';

/*
 * The probability-shaped arrays S, P and dS are stored "row-quad interleaved", padded to TP x TP
 * per (b, h) block: A[b·H + h][ib][j][r] = M[i = 4·ib + r][j]. That is the natural output of a
 * kernel that holds one k (or v) row in registers and returns 4 query rows as Array(4), and
 * every consumer reads it with uniform loads. Per-token outputs (O, dq, dk, dv) come from
 * threads (x = c, y = tb·H + h, z = b) returning 4 token rows 4·tb..4·tb+3, so one gathered
 * value feeds 4 multiply-adds; unpackTokenRows() puts them back into [B, T, D].
 */

/** Flat index of M[i][j] in a row-quad interleaved block layout; every argument an i32 expression. */
function quadIndex(d: AttentionDims, bh: string, i: string, j: string): string {
  return `((${bh}) * ${d.TP * d.TP} + ((${i}) >> 2) * ${d.TP * 4} + (${j}) * 4 + ((${i}) & 3))`;
}

/**
 * Q [B, T, D], KT (keys transposed per head, [B·H][dh][TP], see transposeKeys) -> S (row-quad)
 * = q·kᵀ/√dh; thread (x = j, y = ib, z = b·H + h) returns S[4ib..4ib+3][j]. With the keys
 * transposed a thread's key column is a bare thread.x plus uniform terms: one vector load per
 * c for the four lanes, where [B, T, D] keys would take a four-lane gather each.
 * Scores are computed once and kept: the stats and the probabilities both need them.
 */
export function attentionScoresSpec(d: AttentionDims): KernelSpec {
  const { T, D, H, dh, TP, scale } = d;
  const b = idiv(Z, H);
  const h = imod(Z, H);
  const rows = [0, 1, 2, 3].map((r) => {
    const qRow = `(${b} * ${T} + ${imin(`${Y} * 4 + ${r}`, T - 1)}) * ${D} + ${h} * ${dh}`;
    return `(${sumOf(dh, (c) => `Q[${qRow} + ${c}] * k${c}`)}) * ${lit(scale)}`;
  });
  const source = `function(Q, KT) {
  ${Array.from({ length: dh }, (_, c) => `const k${c} = KT[${Z} * ${dh * TP} + ${c * TP} + ${X}];`).join('\n  ')}
  return [${rows.join(',\n    ')}];
}`;
  return { name: 'attention_scores', source, output: [TP, TP / 4, d.B * H], components: 4 };
}

/**
 * Keys [B·T] rows of `stride` values, columns [offset, offset + D) -> KT [B·H][dh][TP], the
 * scores kernel's keys; the padding columns j >= T are left as they are (zero in a new array;
 * the scores there are never read).
 */
export function transposeKeys(k: Float32Array, d: AttentionDims, out: Float32Array = new Float32Array(d.B * d.H * d.dh * d.TP), stride = d.D, offset = 0): Float32Array {
  const { B, T, H, dh, TP } = d;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let c = 0; c < dh; c++) {
        const dst = ((b * H + h) * dh + c) * TP;
        const src = b * T * stride + offset + h * dh + c;
        for (let j = 0; j < T; j++) out[dst + j] = k[src + j * stride];
      }
  return out;
}

/** S -> MS [B, H, TP, 2] = (max_j S, 1/Σ_j e^(S - max)) for row (b = z, h = y, i = x); lanes are 4 rows */
export function attentionStatsSpec(d: AttentionDims): KernelSpec {
  const { T, H, TP } = d;
  const bh = `${Z} * ${H} + ${Y}`;
  const i = imin(X, T - 1);
  const source = `function(S, ET) {
  ${Array.from({ length: T }, (_, j) => `const s${j} = S[${quadIndex(d, bh, i, String(j))}];`).join('\n  ')}
  let m = s0;
  ${Array.from({ length: T - 1 }, (_, j) => `m = Math.max(m, s${j + 1});`).join('\n  ')}
  ${Array.from({ length: T }, (_, j) => expCode(`e${j}`, `s${j} - m`)).join('\n  ')}
  return [m, 1.0 / (${sumOf(T, (j) => `e${j}`)})];
}`;
  return { name: 'attention_stats', source, output: [TP, H, d.B], components: 2 };
}

/** S, MS -> P (row-quad), padding 0; thread (x = j, y = ib, z = b·H + h) */
export function attentionProbsSpec(d: AttentionDims): KernelSpec {
  const { T, H, TP } = d;
  const rows = [0, 1, 2, 3].map((r) => {
    const i = `${Y} * 4 + ${r}`;
    const ms = `(${Z} * ${TP} + ${i}) * 2`;
    return `${expCode(`e${r}`, `S[${quadIndex(d, Z, i, X)}] - MS[${ms}]`)}
  const p${r} = ${i} < ${T} ? e${r} * MS[${ms} + 1] : 0.0;`;
  });
  const source = `function(S, MS, ET) {
  ${rows.join('\n  ')}
  if (${X} < ${T}) {
    return [p0, p1, p2, p3];
  }
  return [0.0, 0.0, 0.0, 0.0];
}`;
  return { name: 'attention_probs', source, output: [TP, TP / 4, d.B * H], components: 4 };
}

/** Per-token kernel source pieces: thread (x = c, y = tb·H + h, z = b) owns rows 4tb..4tb+3 of column h·dh + c. */
function tokenThread(d: AttentionDims): { tb: string; h: string; bh: string; col: string } {
  const tb = idiv(Y, d.H);
  const h = imod(Y, d.H);
  return { tb, h, bh: `${Z} * ${d.H} + ${h}`, col: `${Z} * ${d.T * d.D} + ${h} * ${d.dh} + ${X}` };
}

/**
 * Source of a kernel returning out[4tb + r][col] = Σ_u M(row(r), u) · A[u][col] for r = 0..3,
 * M read from a row-quad interleaved array (uniform loads) and A from a [B, T, D] array
 * (one gather per u, shared by the 4 rows).
 */
function tokenRowsSource(d: AttentionDims, mIndex: (r: number, u: number) => string): string {
  const { T, D } = d;
  const { col } = tokenThread(d);
  return `function(M, A) {
  ${Array.from({ length: T }, (_, u) => `const a${u} = A[${col} + ${u * D}];`).join('\n  ')}
  return [${[0, 1, 2, 3].map((r) => sumOf(T, (u) => `M[${mIndex(r, u)}] * a${u}`)).join(',\n    ')}];
}`;
}

/** P (row-quad), V [B, T, D] -> O rows (x = c, y = tb·H + h, z = b) x 4; O[i] = Σ_j P[i][j] · v[j] */
export function attentionOutputSpec(d: AttentionDims): KernelSpec {
  const { tb, bh } = tokenThread(d);
  const source = tokenRowsSource(d, (r, j) => quadIndex(d, bh, `${tb} * 4 + ${r}`, String(j)));
  return { name: 'attention_output', source, output: [d.dh, (d.TP / 4) * d.H, d.B], components: 4 };
}

/** dO, O [B, T, D] -> RD [B, H, TP] = Σ_c dO·O over each head's slice (= Σ_j P·dP); lanes are rows i */
export function attentionBackwardRowdotSpec(d: AttentionDims): KernelSpec {
  const { T, D, H, dh, TP } = d;
  const row = `(${Z} * ${T} + ${imin(X, T - 1)}) * ${D} + ${Y} * ${dh}`;
  const source = `function(DO, O) {
  return ${sumOf(dh, (c) => `DO[${row} + ${c}] * O[${row} + ${c}]`)};
}`;
  return { name: 'attention_backward_rowdot', source, output: [TP, H, d.B] };
}

/** P (row-quad), V, dO, RD -> dS (row-quad) = P · (dO·vᵀ - RD) / √dh; thread (x = j, y = ib, z = b·H + h) */
export function attentionBackwardScoresSpec(d: AttentionDims): KernelSpec {
  const { T, D, H, dh, TP, scale } = d;
  const b = idiv(Z, H);
  const h = imod(Z, H);
  const vRow = `(${b} * ${T} + ${imin(X, T - 1)}) * ${D} + ${h} * ${dh}`;
  const rows = [0, 1, 2, 3].map((r) => {
    const i = `${Y} * 4 + ${r}`;
    const oRow = `(${b} * ${T} + ${imin(i, T - 1)}) * ${D} + ${h} * ${dh}`;
    return `P[${quadIndex(d, Z, i, X)}] * ((${sumOf(dh, (c) => `DO[${oRow} + ${c}] * v${c}`)}) - RD[${Z} * ${TP} + ${i}]) * ${lit(scale)}`;
  });
  const source = `function(P, V, DO, RD) {
  ${Array.from({ length: dh }, (_, c) => `const v${c} = V[${vRow} + ${c}];`).join('\n  ')}
  return [${rows.join(',\n    ')}];
}`;
  return { name: 'attention_backward_scores', source, output: [TP, TP / 4, d.B * H], components: 4 };
}

/** dS (row-quad), K -> dq rows; dq[i] = Σ_j dS[i][j] · k[j] */
export function attentionBackwardQuerySpec(d: AttentionDims): KernelSpec {
  const { tb, bh } = tokenThread(d);
  const source = tokenRowsSource(d, (r, j) => quadIndex(d, bh, `${tb} * 4 + ${r}`, String(j)));
  return { name: 'attention_backward_query', source, output: [d.dh, (d.TP / 4) * d.H, d.B], components: 4 };
}

/** dS (row-quad), Q -> dk rows (and P, dO -> dv rows: the same kernel); dk[j] = Σ_i dS[i][j] · q[i] */
export function attentionBackwardKeySpec(d: AttentionDims): KernelSpec {
  const { tb, bh } = tokenThread(d);
  const source = tokenRowsSource(d, (r, i) => quadIndex(d, bh, String(i), `${tb} * 4 + ${r}`));
  return { name: 'attention_backward_key', source, output: [d.dh, (d.TP / 4) * d.H, d.B], components: 4 };
}

/** [B, TB, H, dh] cells x 4 token rows (the per-token kernels' output) -> [B, T, D], into `out` (its first B·T·D values). */
export function unpackTokenRows(raw: Float32Array, d: AttentionDims, out: Float32Array = new Float32Array(d.B * d.T * d.D)): Float32Array {
  const { B, T, D, H, dh, TP } = d;
  const TB = TP / 4;
  for (let b = 0; b < B; b++) {
    for (let tb = 0; tb < TB; tb++) {
      const rows = Math.min(4, T - tb * 4);
      for (let h = 0; h < H; h++) {
        const src = ((b * TB + tb) * H + h) * dh * 4;
        for (let r = 0; r < rows; r++) {
          const dst = (b * T + tb * 4 + r) * D + h * dh;
          for (let c = 0; c < dh; c++) out[dst + c] = raw[src + c * 4 + r];
        }
      }
    }
  }
  return out;
}

/** P in the row-quad layout -> [B, H, T, T] (for attention maps). */
function compactProbs(p: Float32Array, d: AttentionDims): Float32Array {
  const { B, H, T, TP } = d;
  const out = new Float32Array(B * H * T * T);
  for (let bh = 0; bh < B * H; bh++) {
    for (let i = 0; i < T; i++) {
      const src = bh * TP * TP + (i >> 2) * TP * 4 + (i & 3);
      const dst = (bh * T + i) * T;
      for (let j = 0; j < T; j++) out[dst + j] = p[src + j * 4];
    }
  }
  return out;
}

/** Multi-head scaled dot-product self-attention over q, k, v [B, T, D] with `heads` heads; returns [B, T, D]. */
export async function attention(be: Backend, q: Tensor, k: Tensor, v: Tensor, heads: number, options: AttentionOptions = {}): Promise<Tensor> {
  if (q.shape.length !== 3) throw new Error(`attention: q must be [B, T, D], got [${q.shape.join(',')}]`);
  const [B, T, D] = q.shape;
  for (const [t, name] of [[k, 'k'], [v, 'v']] as const) {
    if (t.shape.length !== 3 || t.shape[0] !== B || t.shape[1] !== T || t.shape[2] !== D) {
      throw new Error(`attention: ${name} must match q [${q.shape.join(',')}], got [${t.shape.join(',')}]`);
    }
  }
  if (!Number.isInteger(heads) || heads < 1 || D % heads !== 0) throw new Error(`attention: D = ${D} is not divisible into ${heads} heads`);
  const d = attentionDims(B, T, D, heads);
  const s = await be.run(specFor(attentionScoresSpec, d), [q.data, transposeKeys(k.data, d)]);
  const ms = await be.run(specFor(attentionStatsSpec, d), [s, EXP_TABLE]);
  // P is kept (padded, row-quad layout) for backward: dS and dv both need it
  const p = await be.run(specFor(attentionProbsSpec, d), [s, ms, EXP_TABLE]);
  const out = new Tensor([B, T, D], unpackTokenRows(await be.run(specFor(attentionOutputSpec, d), [p, v.data]), d));
  options.onProbs?.(compactProbs(p, d));
  return record(out, 'attention', [q, k, v], async (dout) => {
    const rd = await be.run(specFor(attentionBackwardRowdotSpec, d), [dout, out.data]);
    const ds = await be.run(specFor(attentionBackwardScoresSpec, d), [p, v.data, dout, rd]);
    if (q.requiresGrad) q.accumulateGrad(unpackTokenRows(await be.run(specFor(attentionBackwardQuerySpec, d), [ds, k.data]), d));
    if (k.requiresGrad) k.accumulateGrad(unpackTokenRows(await be.run(specFor(attentionBackwardKeySpec, d), [ds, q.data]), d));
    if (v.requiresGrad) v.accumulateGrad(unpackTokenRows(await be.run(specFor(attentionBackwardKeySpec, d), [p, dout]), d));
  });
}
