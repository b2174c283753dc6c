/**
 * Codegen pieces shared by the Vision-Transformer ops' kernels.
 *
 * Why an exp of our own: gpu.js's webasm backend has no wasm opcode for Math.exp/Math.tanh, so
 * it calls back into JavaScript once per SIMD lane (~20-30 ns a value, measured: 6-10 ms for
 * 278k values, 10x a plain copy). Softmax, attention and GELU would spend most of their time
 * there. The inlined exp below is pure f32 arithmetic plus one table read, so it stays in the
 * f32x4 body.
 */

/** A number as kernel source text, written so that acorn and gpu.js read back the same value. */
export function lit(v: number): string {
  if (!Number.isFinite(v)) throw new Error(`kernel literal must be finite, got ${v}`);
  const s = String(v);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/** The inlined exp clamps its argument to [EXP_MIN, EXP_MAX]: e^x stays a finite, normal f32. */
export const EXP_MIN = -87;
/** See EXP_MIN. */
export const EXP_MAX = 88;
/** Table steps per unit of x: a finer table leaves a shorter polynomial, which costs more than the larger table. */
const EXP_STEPS = 8;

/** e^(k/8) for k = 8·EXP_MIN..8·EXP_MAX; the kernels that use expCode() take it as an argument. */
export const EXP_TABLE: Float32Array = Float32Array.from({ length: (EXP_MAX - EXP_MIN) * EXP_STEPS + 1 }, (_, i) => Math.exp(i / EXP_STEPS + EXP_MIN));

/**
 * Kernel statements that declare `const <name> = e^(<x>)`, with x clamped to [EXP_MIN, EXP_MAX]
 * (so e^x underflows to ~1e-38, never 0, and never overflows). Split x = k/8 + f with k integer
 * and |f| <= 1/16: e^(k/8) comes from the table `table` (EXP_TABLE), e^f from its degree-4
 * Taylor polynomial (truncation error (1/16)^5/5! ≈ 8e-9). Measured error: 1.6e-7 relative.
 * `name` must be unique in the kernel; helper locals take it as a prefix.
 */
export function expCode(name: string, x: string, table = 'ET'): string {
  const c = `${name}_c`;
  const k = `${name}_k`;
  const f = `${name}_f`;
  return `const ${c} = Math.min(Math.max(${x}, ${lit(EXP_MIN)}), ${lit(EXP_MAX)});
  const ${k} = Math.floor(${c} * ${lit(EXP_STEPS)} + 0.5);
  const ${f} = ${c} - ${k} * ${lit(1 / EXP_STEPS)};
  const ${name} = ${table}[${k} + ${-EXP_MIN * EXP_STEPS}] * (1.0 + ${f} * (1.0 + ${f} * (0.5 + ${f} * (${lit(1 / 6)} + ${f} * ${lit(1 / 24)}))));`;
}

/*
 * Index arithmetic. gpu.js's webasm backend declares every local as f32 (integer initializers
 * decay to float, loop counters included), so an index built from locals costs an f32 add and a
 * saturating f32->i32 truncation on every load. An index written inline from this.thread.*,
 * integer literals and these helpers stays i32 end to end. Hence the kernels spell their indices
 * out instead of naming them.
 */

/**
 * floor(expr / n) as an i32 expression, for 0 <= expr < bound: a shift when n is a power of two,
 * else a multiply by a magic number and a shift (exact for every expr below bound, checked here),
 * else an f32 division. The division is the one to avoid: a uniform index term is recomputed at
 * every load, and `(z / 17) | 0` in each of a gemm's loads ran its weight gradient 2.6x slower.
 */
export function idiv(expr: string, n: number, bound = 1 << 24): string {
  if (n === 1) return `(${expr})`;
  if ((n & (n - 1)) === 0) return `((${expr}) >> ${Math.log2(n)})`;
  const magic = magicDivisor(n, bound);
  if (magic) return `(((${expr}) * ${magic.m}) >> ${magic.s})`;
  // f32 division is exact enough here: operands stay far below 2^24
  return `(((${expr}) / ${n}) | 0)`;
}

/**
 * m = ceil(2^s / n) with the smallest s for which floor(x·m / 2^s) = floor(x / n) for all
 * 0 <= x < bound without leaving i32: with e = m·n − 2^s, x·m/2^s = x/n + x·e/(n·2^s), which keeps
 * the floor when x·e < 2^s. Null when no such s exists (bound too large).
 */
export function magicDivisor(n: number, bound: number): { m: number; s: number } | null {
  const xmax = bound - 1;
  for (let s = 1; s <= 30; s++) {
    const m = Math.ceil(2 ** s / n);
    if (xmax * m >= 2 ** 31) return null;
    if (xmax * (m * n - 2 ** s) < 2 ** s) return { m, s };
  }
  return null;
}

/** expr mod n (0 <= expr < bound) as an i32 expression. */
export function imod(expr: string, n: number, bound = 1 << 24): string {
  if (n === 1) return '0';
  if ((n & (n - 1)) === 0) return `((${expr}) & ${n - 1})`;
  return `((${expr}) - ${idiv(expr, n, bound)} * ${n})`;
}

/** min(expr, m) as an i32 expression. */
export function imin(expr: string, m: number): string {
  return `((${expr}) < ${m} ? (${expr}) : ${m})`;
}

/** Reductions at most this long are unrolled: literal offsets keep their loads' indices i32. */
export const UNROLL = 128;

/**
 * Kernel statements running `body(i)` for i = 0..n-1: unrolled with literal i when n <= UNROLL,
 * else a loop whose bound is the literal n (never an argument: gpu.js would cap it).
 */
export function repeat(n: number, body: (i: string) => string, counter = 'k'): string {
  if (n <= UNROLL) return Array.from({ length: n }, (_, i) => body(String(i))).join('\n  ');
  return `for (let ${counter} = 0; ${counter} < ${n}; ${counter}++) {\n    ${body(counter)}\n  }`;
}

/** The largest divisor of n that is <= cap: rows per thread of a chunked column reduction. */
export function chunkFor(n: number, cap = 64): number {
  for (let c = Math.min(cap, n); c > 1; c--) if (n % c === 0) return c;
  return 1;
}

/** Sums `parts` consecutive blocks of `len` values (the partial sums of a chunked reduction). */
export function sumBlocks(raw: Float32Array, parts: number, len: number): Float32Array {
  const out = new Float32Array(len);
  for (let p = 0; p < parts; p++) for (let i = 0; i < len; i++) out[i] += raw[p * len + i];
  return out;
}

/** Splits an interleaved [n][k] array (an Array(k) kernel's result) into k arrays of n. */
export function deinterleave(raw: Float32Array, k: number, take = k): Float32Array[] {
  const n = raw.length / k;
  const outs: Float32Array[] = [];
  for (let j = 0; j < take; j++) {
    const o = new Float32Array(n);
    for (let i = 0; i < n; i++) o[i] = raw[i * k + j];
    outs.push(o);
  }
  return outs;
}

/** n rounded up to a multiple of 4, so an x axis of that length runs all in f32x4 quads. */
export function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
