import { type Backend, type KernelSpec, type Mode, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import type { ConvGeometry } from './conv2d.ref.js';
import { type CellGrid, ROWS, rowsKernelSource, unpackRows } from './gemm.js';
import { idiv, imod, roundUp4 } from './kernel-math.js';
import { CONV2D_RELU_OP, reluBackward } from './relu.js';

/** Stride and zero padding of a convolution. */
export interface Conv2dOptions {
  readonly stride?: number;
  readonly padding?: number;
  /** ReLU on the output, inside the forward kernel; the backward first masks dy by y > 0. */
  readonly relu?: boolean;
  /** The kernels to run instead of the mode's choice (chooseConvKernels): tests run every variant. */
  readonly kernels?: ConvKernels;
}

/** Checks shapes and derives the output size. x: [B, C, H, W], w: [OC, C, KH, KW]. */
export function convGeometry(xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions = {}): ConvGeometry {
  const stride = opts.stride ?? 1;
  const pad = opts.padding ?? 0;
  if (xShape.length !== 4) throw new Error(`conv2d: input must be [B, C, H, W], got [${xShape.join(',')}]`);
  if (wShape.length !== 4) throw new Error(`conv2d: weight must be [OC, C, KH, KW], got [${wShape.join(',')}]`);
  const [B, C, H, W] = xShape;
  const [OC, C2, KH, KW] = wShape;
  if (C !== C2) throw new Error(`conv2d: input has ${C} channels but the weight expects ${C2}`);
  if (!Number.isInteger(stride) || stride < 1 || !Number.isInteger(pad) || pad < 0) throw new Error(`conv2d: stride must be >= 1 and padding >= 0 (integers), got ${stride}, ${pad}`);
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  if (OH < 1 || OW < 1) throw new Error(`conv2d: a ${KH}x${KW} kernel does not fit a ${H}x${W} input with padding ${pad}`);
  return { B, C, H, W, OC, KH, KW, stride, pad, OH, OW };
}

/** A forward kernel's returned array of four accumulators, rectified when ReLU is fused in. */
function outputs(relu: boolean): string {
  return relu ? '[Math.max(s0, 0), Math.max(s1, 0), Math.max(s2, 0), Math.max(s3, 0)]' : '[s0, s1, s2, s3]';
}

/** Source for a padded tap: `name` is the clamped (safe) index, `nameok` is 1 inside the image, 0 in the padding. */
function tapSource(name: string, pos: string, hiExclusive: number): string {
  return `const ${name} = Math.min(Math.max(${pos}, 0), ${hiExclusive - 1}); const ${name}ok = (${pos} >= 0 && ${pos} < ${hiExclusive}) ? 1 : 0;`;
}

/*
 * conv2d_forward. Thread (p = oy·OW+ox, o-block, b) accumulates 4 output channels.
 * SIMD lanes are neighbouring ox: the weights are uniform across lanes (splat) and each
 * gathered input value feeds 4 multiply-adds. Out: [B, OC, OH, OW].
 */
function forwardSpec(g: ConvGeometry, relu: boolean): KernelSpec {
  const { C, H, W, OC, KH, KW, stride: S, pad: P, OH, OW } = g;
  const padded = P > 0;
  const KK = KH * KW;
  const lines: string[] = [];
  for (let ky = 0; ky < KH; ky++) lines.push(padded ? tapSource(`y${ky}`, `iy0 + ${ky}`, H) : `const y${ky} = iy0 + ${ky};`);
  for (let kx = 0; kx < KW; kx++) lines.push(padded ? tapSource(`x${kx}`, `ix0 + ${kx}`, W) : `const x${kx} = ix0 + ${kx};`);
  const taps: string[] = [];
  for (let ky = 0; ky < KH; ky++)
    for (let kx = 0; kx < KW; kx++) {
      const t = ky * KW + kx;
      taps.push(`const o${t} = y${ky} * ${W} + x${kx};${padded ? ` const v${t} = y${ky}ok * x${kx}ok;` : ''}`);
    }
  const body: string[] = [];
  for (let t = 0; t < KK; t++) {
    body.push(`xv = X[xc + o${t}]${padded ? ` * v${t}` : ''};`);
    for (let j = 0; j < ROWS; j++) body.push(`s${j} += Wt[w${j} + wc + ${t}] * xv;`);
  }
  const src = `function(X, Wt, Bs) {
  const p = this.thread.x;
  const oy = Math.floor(p / ${OW});
  const ox = p - oy * ${OW};
  const o = this.thread.y * ${ROWS};
  const b = this.thread.z;
  const iy0 = oy * ${S} - ${P};
  const ix0 = ox * ${S} - ${P};
  ${lines.join('\n  ')}
  ${taps.join('\n  ')}
  const w0 = o * ${C * KK};
  const w1 = Math.min(o + 1, ${OC - 1}) * ${C * KK};
  const w2 = Math.min(o + 2, ${OC - 1}) * ${C * KK};
  const w3 = Math.min(o + 3, ${OC - 1}) * ${C * KK};
  let s0 = Bs[o]; let s1 = Bs[Math.min(o + 1, ${OC - 1})]; let s2 = Bs[Math.min(o + 2, ${OC - 1})]; let s3 = Bs[Math.min(o + 3, ${OC - 1})];
  let xv = 0;
  for (let c = 0; c < ${C}; c++) {
    const xc = (b * ${C} + c) * ${H * W};
    const wc = c * ${KK};
    ${body.join('\n    ')}
  }
  return ${outputs(relu)};
}`;
  return { name: 'conv2d_forward', source: src, output: [roundUp4(OH * OW), Math.ceil(OC / ROWS), g.B], components: ROWS };
}

/*
 * The convolution's kernel variants, and the one rule that picks among them (chooseConvKernels).
 *
 *   forward
 *     'block-unrolled'  forwardSpecBlock. Unpadded at stride 1, OC even, on the modes with Array(8)
 *                       returns (webasm, async, cpu). 2 output channels × 4 output rows a thread
 *                       (eight accumulator chains), channel and tap loops fully unrolled.
 *     'block-looped'    forwardSpecBlock with the channel loop kept: a source of one channel's taps,
 *                       for layers past the unroll limit.
 *     'unrolled'        forwardSpecUnpadded. Unpadded, OC a multiple of 4. Channel and tap loops
 *                       fully unrolled, every index an i32 expression of thread ids and literals;
 *                       at stride 1 the input's four lanes load as one vector.
 *     'looped'          forwardSpec. Any geometry: a channel loop, padded taps masked.
 *   input gradient
 *     'flipped-block-unrolled', 'flipped-block-looped', 'flipped-unrolled', 'flipped-looped'
 *                       Stride 1 with K−1−p >= 0: dy zero-padded by K−1−p, the weights flipped
 *                       and their channel axes swapped, through that forward variant.
 *     'masked'          backwardInputSpec. Any geometry, one mask per tap.
 *   weight gradient
 *     'channels-last'   backwardWeightSpecUnrolled. Unpadded, C and OC multiples of 4,
 *                       OH·OW <= WEIGHT_UNROLL; x read channels-last, every position unrolled.
 *     'rows'            backwardWeightSpecRows. Stride 1, unpadded, OC a multiple of 4,
 *                       OH <= ROW_UNROLL; lanes are output columns, the host adds them up.
 *     'looped'          backwardWeightSpec. Any geometry.
 *
 * The rule: the first variant of each list (in the order above) that fits the geometry and the
 * mode's limits (CONV_LIMITS). The input gradient's flipped convolution takes the block kernels
 * where they fit: 'unrolled' skips the taps of dy's all-zero padding rows, which the block kernels
 * multiply, but their eight accumulator chains (against four) more than pay for those. Only the wasm compiler profits from the long bodies: in Chromium
 * the 800-tap unrolled forward did not compile within 30 s on webgl2 or webgpu, and gpu.js's cpu
 * mode, generated JavaScript, slows down on long unrolled sources.
 */

/** A forward kernel variant (see the list above). */
export type ConvForwardVariant = 'block-unrolled' | 'block-looped' | 'unrolled' | 'looped';

/** Every forward variant, in the rule's order of preference. */
export const CONV_FORWARD_VARIANTS: readonly ConvForwardVariant[] = ['block-unrolled', 'block-looped', 'unrolled', 'looped'];
/** An input-gradient kernel variant (see the list above). */
export type ConvInputGradientVariant = 'flipped-block-unrolled' | 'flipped-block-looped' | 'flipped-unrolled' | 'flipped-looped' | 'masked';

/** Every input-gradient variant, in the rule's order of preference. */
export const CONV_INPUT_GRADIENT_VARIANTS: readonly ConvInputGradientVariant[] = ['flipped-block-unrolled', 'flipped-block-looped', 'flipped-unrolled', 'flipped-looped', 'masked'];

/** The forward variant each flipped input-gradient variant runs. */
const FLIPPED_FORWARD: Readonly<Record<Exclude<ConvInputGradientVariant, 'masked'>, ConvForwardVariant>> = {
  'flipped-block-unrolled': 'block-unrolled',
  'flipped-block-looped': 'block-looped',
  'flipped-unrolled': 'unrolled',
  'flipped-looped': 'looped',
};
/** A weight-gradient kernel variant (see the list above). */
export type ConvWeightGradientVariant = 'channels-last' | 'rows' | 'looped';

/** The kernels one convolution runs. */
export interface ConvKernels {
  readonly forward: ConvForwardVariant;
  readonly inputGradient: ConvInputGradientVariant;
  readonly weightGradient: ConvWeightGradientVariant;
}

/** What a family of modes lets the rule pick. */
export interface ConvLimits {
  /** Taps (C·KH·KW) up to which the forward runs unrolled: compile time grows with them, paid once per shape. */
  readonly unrollTaps: number;
  /** Whether the unrolled weight gradients ('channels-last', 'rows') may be picked. */
  readonly unrolledWeightGradient: boolean;
  /** Whether the block forwards (Array(8) returns) may be picked. */
  readonly block: boolean;
}

/** The limits of the WebAssembly modes (webasm, async) and of the others (cpu, GL, WebGPU). */
export const CONV_LIMITS: { readonly wasm: ConvLimits; readonly other: ConvLimits } = Object.freeze({
  wasm: Object.freeze({ unrollTaps: 2048, unrolledWeightGradient: true, block: true }),
  other: Object.freeze({ unrollTaps: 256, unrolledWeightGradient: false, block: false }),
});

/** The limits a backend mode runs under. */
export function convLimitsFor(mode: Mode): ConvLimits {
  return mode === 'webasm' || mode === 'async' ? CONV_LIMITS.wasm : CONV_LIMITS.other;
}

/** The flipped input gradient's geometry: a stride-1 convolution of dy padded by K−1−p, or null where it does not apply. */
function flippedGeometry(g: ConvGeometry): ConvGeometry | null {
  const qy = g.KH - 1 - g.pad;
  const qx = g.KW - 1 - g.pad;
  if (g.stride !== 1 || qy < 0 || qx < 0) return null;
  const H = g.OH + 2 * qy;
  const W = g.OW + 2 * qx;
  return { B: g.B, C: g.OC, H, W, OC: g.C, KH: g.KH, KW: g.KW, stride: 1, pad: 0, OH: g.H, OW: g.W };
}

/** Whether each variant can compute g at all, whatever the mode (the limits only steer the choice). */
const FITS: {
  readonly forward: Readonly<Record<ConvForwardVariant, (g: ConvGeometry) => boolean>>;
  readonly inputGradient: Readonly<Record<ConvInputGradientVariant, (g: ConvGeometry) => boolean>>;
  readonly weightGradient: Readonly<Record<ConvWeightGradientVariant, (g: ConvGeometry) => boolean>>;
} = {
  forward: {
    'block-unrolled': (g) => g.stride === 1 && g.pad === 0 && g.OC % BLOCK_CHANNELS === 0,
    'block-looped': (g) => g.stride === 1 && g.pad === 0 && g.OC % BLOCK_CHANNELS === 0,
    unrolled: (g) => g.pad === 0 && g.OC % ROWS === 0,
    looped: () => true,
  },
  inputGradient: {
    'flipped-block-unrolled': (g) => flippedFits(g, 'block-unrolled'),
    'flipped-block-looped': (g) => flippedFits(g, 'block-looped'),
    'flipped-unrolled': (g) => flippedFits(g, 'unrolled'),
    'flipped-looped': (g) => flippedFits(g, 'looped'),
    masked: () => true,
  },
  weightGradient: {
    'channels-last': (g) => g.pad === 0 && g.C % ROWS === 0 && g.OC % ROWS === 0 && g.OH * g.OW <= WEIGHT_UNROLL,
    rows: (g) => g.stride === 1 && g.pad === 0 && g.OC % ROWS === 0 && g.OH <= ROW_UNROLL,
    looped: () => true,
  },
};

/** Whether the flipped convolution of g exists and that forward variant computes it. */
function flippedFits(g: ConvGeometry, forward: ConvForwardVariant): boolean {
  const f = flippedGeometry(g);
  return f !== null && FITS.forward[forward](f);
}

/** The forward variant for g under limits. */
function chooseForward(g: ConvGeometry, limits: ConvLimits): ConvForwardVariant {
  const short = g.C * g.KH * g.KW <= limits.unrollTaps;
  if (limits.block && FITS.forward['block-unrolled'](g)) return short ? 'block-unrolled' : 'block-looped';
  return FITS.forward.unrolled(g) && short ? 'unrolled' : 'looped';
}

/** The flipped input-gradient variant that runs forward variant v. */
function flippedVariant(v: ConvForwardVariant): ConvInputGradientVariant {
  return `flipped-${v}`;
}

/** The kernels a convolution of geometry g runs on a mode (or under explicit limits): the rule of the list above. */
export function chooseConvKernels(mode: Mode | ConvLimits, g: ConvGeometry): ConvKernels {
  const limits = typeof mode === 'string' ? convLimitsFor(mode) : mode;
  const flipped = flippedGeometry(g);
  const unrolledWeight = limits.unrolledWeightGradient;
  return {
    forward: chooseForward(g, limits),
    inputGradient: flipped ? flippedVariant(chooseForward(flipped, limits)) : 'masked',
    weightGradient: unrolledWeight && FITS.weightGradient['channels-last'](g) ? 'channels-last' : unrolledWeight && FITS.weightGradient.rows(g) ? 'rows' : 'looped',
  };
}

/** Throws when a variant asked for cannot compute g, naming the variant and the geometry. */
function assertFits<K extends keyof typeof FITS>(kind: K, variant: keyof (typeof FITS)[K], g: ConvGeometry): void {
  const fits = FITS[kind][variant] as (g: ConvGeometry) => boolean;
  if (!fits(g)) {
    const shape = `C=${g.C} OC=${g.OC} ${g.KH}x${g.KW} stride ${g.stride} pad ${g.pad} out ${g.OH}x${g.OW}`;
    throw new Error(`conv2d: the ${String(kind)} variant '${String(variant)}' does not fit ${shape}; see chooseConvKernels for what each variant takes`);
  }
}

/** Input rows [lo, hi) that may be nonzero: the rest is zero padding a kernel need not read. */
export interface LiveRows {
  readonly lo: number;
  readonly hi: number;
}

/*
 * conv2d_forward, unpadded with OC a multiple of 4 (every layer of our CNNs, and the
 * gradient of the input, which runs as an unpadded convolution). Thread (ox, oy, b·OC/4+o-block).
 * Every index is an i32 expression of thread ids and literals, the channel and tap loops fully
 * unrolled: gpu.js's webasm keeps locals (loop counters too) as f32, which costs an f32→i32
 * conversion per load. At stride 1 the input's index is (uniform terms) + this.thread.x, which
 * the patched gpu.js loads for the four lanes with one v128.load.
 */
function forwardSpecUnpadded(g: ConvGeometry, live: LiveRows, relu: boolean): KernelSpec {
  const { C, H, W, OC, KH, KW, stride: S, OH, OW } = g;
  const KK = KH * KW;
  const OB = OC / ROWS;
  const b = idiv('this.thread.z', OB, g.B * OB);
  const ob = imod('this.thread.z', OB, g.B * OB);
  const lane = S === 1 ? 'this.thread.x' : `this.thread.x * ${S}`;
  const xBase = `${b} * ${C * H * W} + this.thread.y * ${S * W}`;
  const body: string[] = [];
  for (let ky = 0; ky < KH; ky++) {
    // output row oy reads input row oy·S + ky: skip the taps of a row that is all zero padding
    // (a uniform test: thread.y is the same in every lane, so gpu.js emits a real branch)
    const first = Math.max(0, Math.ceil((live.lo - ky) / S));
    const end = Math.min(OH, Math.ceil((live.hi - ky) / S));
    if (first >= end) continue;
    const guard = first > 0 || end < OH;
    if (guard) body.push(`if (this.thread.y >= ${first} && this.thread.y < ${end}) {`);
    for (let c = 0; c < C; c++)
      for (let kx = 0; kx < KW; kx++) {
        const t = c * KK + ky * KW + kx;
        body.push(`xv = X[${xBase} + ${c * H * W + ky * W + kx} + ${lane}];`);
        for (let j = 0; j < ROWS; j++) body.push(`s${j} += Wt[${ob} * ${ROWS * C * KK} + ${j * C * KK + t}] * xv;`);
      }
    if (guard) body.push('}');
  }
  const init = Array.from({ length: ROWS }, (_, j) => `let s${j} = Bs[${ob} * ${ROWS} + ${j}];`).join(' ');
  const src = `function(X, Wt, Bs) {
  ${init}
  let xv = 0.0;
  ${body.join('\n  ')}
  return ${outputs(relu)};
}`;
  return { name: 'conv2d_forward', source: src, output: [roundUp4(OW), OH, g.B * OB], components: ROWS };
}

/** Output channels and rows a 'block' forward thread accumulates: 2 × 4 = 8 f32x4 chains (Array(8)). */
const BLOCK_CHANNELS = 2;
const BLOCK_ROWS = 4;

/*
 * conv2d_forward, unpadded at stride 1 with OC even: thread (ox lane, row block, b·OC/2 +
 * channel pair) accumulates 2 output channels × 4 output rows, eight independent chains (enough
 * to keep two fused multiply-add pipes busy). Input row iy feeds rows oy = iy − ky for every ky:
 * a sliding window of 5 loaded rows serves the 4 rows × KH taps of a column kx, so each input
 * vector load feeds 2·4 multiply-adds over its life and each splatted weight 4. `looped` keeps the
 * channel loop a loop (the body is one channel's KH·KW taps: it stays in the instruction cache and
 * compiles in a fraction of the time); its counter is an f32 local, so the indices take it as
 * `(c | 0)`, which keeps them i32 and the input's lanes one vector load. Rows past OH (OH not a
 * multiple of 4) are computed from whatever lies below the image and dropped.
 */
function forwardSpecBlock(g: ConvGeometry, relu: boolean, looped: boolean): KernelSpec {
  const { C, H, W, OC, KH, KW, OH, OW } = g;
  const KK = KH * KW;
  const CB = BLOCK_CHANNELS;
  const R = BLOCK_ROWS;
  const OB = OC / CB;
  // one image (the inference plans' kernels): thread.z is the channel pair, and no load adds an image offset
  const ob = g.B === 1 ? 'this.thread.z' : imod('this.thread.z', OB, g.B * OB);
  const image = g.B === 1 ? '' : `${idiv('this.thread.z', OB, g.B * OB)} * ${C * H * W} + `;
  const channel = looped ? ' + (c | 0) * ' : '';
  const xBase = `${image}this.thread.y * ${R * W}${looped ? `${channel}${H * W}` : ''}`;
  const wBase = `${ob} * ${CB * C * KK}${looped ? `${channel}${KK}` : ''}`;
  const window = (iy: number): string => `x${iy % (R + 1)}`;
  const body: string[] = [];
  for (let c = 0; c < (looped ? 1 : C); c++)
    for (let kx = 0; kx < KW; kx++) {
      const load = (iy: number): void => void body.push(`${window(iy)} = X[${xBase} + ${c * H * W + iy * W + kx} + this.thread.x];`);
      for (let iy = 0; iy < R - 1; iy++) load(iy);
      for (let ky = 0; ky < KH; ky++) {
        load(ky + R - 1);
        for (let j = 0; j < CB; j++) {
          body.push(`w = Wt[${wBase} + ${j * C * KK + c * KK + ky * KW + kx}];`);
          for (let r = 0; r < R; r++) body.push(`s${r}${j} += w * ${window(ky + r)};`);
        }
      }
    }
  const sums = Array.from({ length: R * CB }, (_, i) => `s${Math.floor(i / CB)}${i % CB}`);
  const init = sums.map((s, i) => `let ${s} = Bs[${ob} * ${CB} + ${i % CB}];`).join(' ');
  const windows = Array.from({ length: R + 1 }, (_, i) => `let x${i} = 0.0;`).join(' ');
  const taps = looped ? `for (let c = 0; c < ${C}; c++) {\n    ${body.join('\n    ')}\n  }` : body.join('\n  ');
  const src = `function(X, Wt, Bs) {
  ${init}
  ${windows}
  let w = 0.0;
  ${taps}
  return [${sums.map((s) => (relu ? `Math.max(${s}, 0)` : s)).join(', ')}];
}`;
  return { name: 'conv2d_forward', source: src, output: [roundUp4(OW), Math.ceil(OH / R), g.B * OB], components: 8 };
}

/*
 * conv2d_backward_input. dx[b][c][iy][ix] = Σ_o Σ_ky,kx dy[b][o][oy][ox] · w[o][c][ky][kx]
 * with oy·s − p + ky = iy. Thread (iy·W+ix, c-block, b) accumulates 4 input channels;
 * weights uniform across lanes, dy gathered. Taps outside dy (or off the stride grid) are masked.
 */
function backwardInputSpec(g: ConvGeometry): KernelSpec {
  const { C, H, W, OC, KH, KW, stride: S, pad: P, OH, OW } = g;
  const KK = KH * KW;
  const pre: string[] = [];
  for (let ky = 0; ky < KH; ky++) {
    // oy = (iy + P − ky) / S, valid when integral and inside [0, OH)
    pre.push(`const ty${ky} = iy + ${P - ky}; const qy${ky} = Math.floor(ty${ky} / ${S}); const y${ky} = Math.min(Math.max(qy${ky}, 0), ${OH - 1}); const y${ky}ok = (ty${ky} >= 0 && qy${ky} < ${OH} && qy${ky} * ${S} === ty${ky}) ? 1 : 0;`);
  }
  for (let kx = 0; kx < KW; kx++) {
    pre.push(`const tx${kx} = ix + ${P - kx}; const qx${kx} = Math.floor(tx${kx} / ${S}); const x${kx} = Math.min(Math.max(qx${kx}, 0), ${OW - 1}); const x${kx}ok = (tx${kx} >= 0 && qx${kx} < ${OW} && qx${kx} * ${S} === tx${kx}) ? 1 : 0;`);
  }
  for (let ky = 0; ky < KH; ky++)
    for (let kx = 0; kx < KW; kx++) {
      const t = ky * KW + kx;
      pre.push(`const o${t} = y${ky} * ${OW} + x${kx}; const v${t} = y${ky}ok * x${kx}ok;`);
    }
  const body: string[] = [];
  for (let t = 0; t < KK; t++) {
    body.push(`dv = D[dc + o${t}] * v${t};`);
    for (let j = 0; j < ROWS; j++) body.push(`s${j} += Wt[wo + c${j} + ${t}] * dv;`);
  }
  const src = `function(D, Wt) {
  const p = this.thread.x;
  const iy = Math.floor(p / ${W});
  const ix = p - iy * ${W};
  const c = this.thread.y * ${ROWS};
  const b = this.thread.z;
  ${pre.join('\n  ')}
  const c0 = c * ${KK};
  const c1 = Math.min(c + 1, ${C - 1}) * ${KK};
  const c2 = Math.min(c + 2, ${C - 1}) * ${KK};
  const c3 = Math.min(c + 3, ${C - 1}) * ${KK};
  let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
  let dv = 0;
  for (let o = 0; o < ${OC}; o++) {
    const dc = (b * ${OC} + o) * ${OH * OW};
    const wo = o * ${C * KK};
    ${body.join('\n    ')}
  }
  return [s0, s1, s2, s3];
}`;
  return { name: 'conv2d_backward_input', source: src, output: [roundUp4(H * W), Math.ceil(C / ROWS), g.B], components: ROWS };
}

/** The largest divisor d of the batch B with d · perImage <= cap (at least 1): how many images a weight-gradient thread or chunk takes. */
function imagesWithin(B: number, perImage: number, cap: number): number {
  let best = 1;
  for (let d = 1; d <= B; d++) if (B % d === 0 && d * perImage <= cap) best = d;
  return best;
}

/** Batch chunks for the weight gradient: enough output cells for webasm's threads (>= 4096 per worker). */
function weightChunks(g: ConvGeometry): number {
  return imagesWithin(g.B, g.C * g.KH * g.KW * Math.ceil(g.OC / ROWS), 4 * 4096 * 2);
}

/*
 * conv2d_backward_weight. dw[o][c][ky][kx] = Σ_b,oy,ox dy[b][o][oy][ox] · x[b][c][oy·s−p+ky][ox·s−p+kx].
 * Thread (r = (c·KH+ky)·KW+kx, o-block, batch chunk) accumulates 4 output channels over its
 * chunk; lanes are neighbouring r, so dy is uniform across lanes and x is gathered. The
 * chunks (partial sums) exist so the grid is big enough to split across threads; they are
 * summed on the host.
 */
function backwardWeightSpec(g: ConvGeometry, chunks: number): KernelSpec {
  const { C, H, W, OC, KH, KW, stride: S, pad: P, OH, OW } = g;
  const KK = KH * KW;
  const per = g.B / chunks;
  const padded = P > 0;
  const load = padded
    ? `const iy = oy * ${S} + ky - ${P}; const ix = ox * ${S} + kx - ${P};
          const ok = (iy >= 0 && iy < ${H} && ix >= 0 && ix < ${W}) ? 1 : 0;
          xv = X[xc + Math.min(Math.max(iy, 0), ${H - 1}) * ${W} + Math.min(Math.max(ix, 0), ${W - 1})] * ok;`
    : '';
  let inner: string;
  if (padded) {
    inner = `for (let oy = 0; oy < ${OH}; oy++) {
      for (let ox = 0; ox < ${OW}; ox++) {
        ${load}
        const q = oy * ${OW} + ox;
        s0 += D[d0 + q] * xv;
        s1 += D[d1 + q] * xv;
        s2 += D[d2 + q] * xv;
        s3 += D[d3 + q] * xv;
      }
    }`;
  } else {
    // the row is unrolled: offsets become literals and the loop overhead is paid once per row
    const row: string[] = [];
    for (let ox = 0; ox < OW; ox++) {
      row.push(`xv = X[xo + ${ox * S}]; s0 += D[q0 + ${ox}] * xv; s1 += D[q1 + ${ox}] * xv; s2 += D[q2 + ${ox}] * xv; s3 += D[q3 + ${ox}] * xv;`);
    }
    inner = `for (let oy = 0; oy < ${OH}; oy++) {
      const xo = xr + oy * ${S * W};
      const q0 = d0 + oy * ${OW}; const q1 = d1 + oy * ${OW}; const q2 = d2 + oy * ${OW}; const q3 = d3 + oy * ${OW};
      ${row.join('\n      ')}
    }`;
  }
  const src = `function(D, X) {
  let xv = 0;
  const r = this.thread.x;
  const c = Math.floor(r / ${KK});
  const t = r - c * ${KK};
  const ky = Math.floor(t / ${KW});
  const kx = t - ky * ${KW};
  const o = this.thread.y * ${ROWS};
  const o1 = Math.min(o + 1, ${OC - 1});
  const o2 = Math.min(o + 2, ${OC - 1});
  const o3 = Math.min(o + 3, ${OC - 1});
  let s0 = 0; let s1 = 0; let s2 = 0; let s3 = 0;
  for (let bb = 0; bb < ${per}; bb++) {
    const b = this.thread.z * ${per} + bb;
    const xc = (b * ${C} + c) * ${H * W};
    const xr = xc + (ky - ${P}) * ${W} + kx - ${P};
    const d0 = (b * ${OC} + o) * ${OH * OW};
    const d1 = (b * ${OC} + o1) * ${OH * OW};
    const d2 = (b * ${OC} + o2) * ${OH * OW};
    const d3 = (b * ${OC} + o3) * ${OH * OW};
    ${inner}
  }
  return [s0, s1, s2, s3];
}`;
  return { name: 'conv2d_backward_weight', source: src, output: [roundUp4(C * KK), Math.ceil(OC / ROWS), chunks], components: ROWS };
}

/** Output positions × images the unrolled weight-gradient kernel sums per thread (the source's length). */
const WEIGHT_UNROLL = 640;

/** Images per thread for the unrolled weight gradient: the most that keep per·OH·OW within WEIGHT_UNROLL. */
function weightImagesPerThread(g: ConvGeometry): number {
  return imagesWithin(g.B, g.OH * g.OW, WEIGHT_UNROLL);
}

/*
 * conv2d_backward_weight, unpadded with C and OC multiples of 4 (every layer of cnn-ref but the
 * first). Thread (c, tap, image chunk·OC/4 + o-block) accumulates 4 output channels over `per`
 * images, every output position unrolled, so all indices are i32 expressions of thread ids and
 * literals. Lanes are neighbouring input channels: dy is uniform (one splat feeds a lane-wide
 * multiply-add) and x, read channels-last (channelsLast() below), loads as one vector. The chunks'
 * partial sums are added on the host. With the patch the CNN's conv2 weight gradient runs at 14.3
 * GFLOP/s (Node 24, 2 threads, batch 128), the looped kernel above at about 5.
 */
function backwardWeightSpecUnrolled(g: ConvGeometry, per: number): KernelSpec {
  const { C, H, W, OC, KH, KW, stride: S, OH, OW } = g;
  const OB = OC / ROWS;
  const chunk = idiv('this.thread.z', OB, (g.B / per) * OB);
  const ob = imod('this.thread.z', OB, (g.B / per) * OB);
  // the tap t = ky·KW + kx starts at ky·W + kx in the image
  const tap = KW === W ? 'this.thread.y' : `this.thread.y + ${idiv('this.thread.y', KW, KH * KW)} * ${W - KW}`;
  const body: string[] = [];
  for (let bi = 0; bi < per; bi++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        body.push(`v = X[${chunk} * ${per * C * H * W} + (${tap}) * ${C} + ${(bi * H * W + oy * S * W + ox * S) * C} + this.thread.x];`);
        for (let j = 0; j < ROWS; j++) body.push(`s${j} += D[${chunk} * ${per * OC * OH * OW} + ${ob} * ${ROWS * OH * OW} + ${bi * OC * OH * OW + j * OH * OW + oy * OW + ox}] * v;`);
      }
  return { name: 'conv2d_backward_weight', source: rowsKernelSource('D, X', body), output: [C, KH * KW, (g.B / per) * OB], components: ROWS };
}

/* conv2d_backward_bias. db[o] = Σ_b,p dy[b][o][p]. Out: [OC]. */
function backwardBiasSpec(g: ConvGeometry): KernelSpec {
  const { OC, OH, OW, B } = g;
  const src = `function(D) {
  const o = this.thread.x;
  let s = 0;
  for (let b = 0; b < ${B}; b++) {
    const base = (b * ${OC} + o) * ${OH * OW};
    for (let q = 0; q < ${OH * OW}; q++) {
      s += D[base + q];
    }
  }
  return s;
}`;
  return { name: 'conv2d_backward_bias', source: src, output: [OC] };
}

/** How conv2dForward runs: `live` marks the rows of x that are not zero padding; `relu` rectifies the output; `variant` overrides the mode's choice. */
export interface ForwardOptions {
  readonly live?: LiveRows;
  readonly relu?: boolean;
  readonly variant?: ConvForwardVariant;
}

/**
 * How a forward kernel's cells lie ([B][OC/channels][rows][pitch] cells): each cell holds
 * `rowsPerCell` output rows × `channels` output channels, row-major. With rows and rowsPerCell
 * both 1 the cells are the flattened positions oy·OW + ox; otherwise grid row oy / rowsPerCell,
 * column ox. The x axis is padded to a multiple of 4 (pitch); padding cells hold no output.
 */
export interface ConvOutputLayout extends CellGrid {
  readonly channels: number;
  readonly rowsPerCell: number;
}

/** Floats from the start of a (b, channel block) of cells to output (oy, ox)'s value of the block's first channel. */
export function convCellOffset(l: ConvOutputLayout, OW: number, oy: number, ox: number): number {
  const comps = l.channels * l.rowsPerCell;
  if (l.rows === 1 && l.rowsPerCell === 1) return (oy * OW + ox) * comps;
  const r = oy % l.rowsPerCell;
  return (((oy - r) / l.rowsPerCell) * l.pitch + ox) * comps + r * l.channels;
}

/** Where output channel o of image b starts in raw: add convCellOffset for a position, then cells lie `channels · rowsPerCell` floats apart. */
export function convChannelStart(l: ConvOutputLayout, OC: number, b: number, o: number): number {
  const blocks = Math.ceil(OC / l.channels);
  return (b * blocks + Math.floor(o / l.channels)) * l.rows * l.pitch * l.channels * l.rowsPerCell + (o % l.channels);
}

/** A forward kernel's raw output under layout l as [B, OC, OH, OW]. */
export function unpackConvOutput(raw: Float32Array, g: ConvGeometry, l: ConvOutputLayout): Float32Array {
  const { B, OC, OH, OW } = g;
  const out = new Float32Array(B * OC * OH * OW);
  const comps = l.channels * l.rowsPerCell;
  let i = 0;
  for (let b = 0; b < B; b++)
    for (let o = 0; o < OC; o++) {
      const start = convChannelStart(l, OC, b, o);
      for (let oy = 0; oy < OH; oy++) {
        const row = start + convCellOffset(l, OW, oy, 0);
        for (let ox = 0; ox < OW; ox++) out[i++] = raw[row + ox * comps];
      }
    }
  return out;
}

/** conv2d forward on the backend: x [B,C,H,W], w [OC,C,KH,KW], bias [OC] → [B,OC,OH,OW]. */
export async function conv2dForward(be: Backend, x: Float32Array, w: Float32Array, bias: Float32Array, g: ConvGeometry, opts: ForwardOptions = {}): Promise<Float32Array> {
  const { spec, layout } = conv2dForwardKernel(be, g, opts);
  return unpackConvOutput(await be.run(spec, [x, w, bias]), g, layout);
}

/** Whether a mode's kernels may return Array(8) (patches/gpu.js@2.24.1.patch): the block forwards need it. */
function returnsArray8(mode: Mode): boolean {
  return mode === 'webasm' || mode === 'async' || mode === 'cpu';
}

/**
 * The forward kernel a mode runs for g (opts.variant, else chooseConvKernels'), and how its cells
 * lie (ConvOutputLayout). conv2dForward and the inference plans both take it from here.
 */
export function conv2dForwardKernel(be: { readonly mode: Mode }, g: ConvGeometry, opts: ForwardOptions = {}): { spec: KernelSpec; layout: ConvOutputLayout } {
  const relu = opts.relu ?? false;
  const variant = opts.variant ?? chooseConvKernels(be.mode, g).forward;
  assertFits('forward', variant, g);
  if (variant === 'block-unrolled' || variant === 'block-looped') {
    if (!returnsArray8(be.mode)) throw new Error(`conv2d: the forward variant '${variant}' returns Array(8), which runs on webasm, async and cpu only, not ${be.mode}`);
    const layout = { channels: BLOCK_CHANNELS, rowsPerCell: BLOCK_ROWS, rows: Math.ceil(g.OH / BLOCK_ROWS), pitch: roundUp4(g.OW) };
    return { spec: specFor(forwardSpecBlock, g, relu, variant === 'block-looped'), layout };
  }
  if (variant === 'unrolled') {
    return { spec: specFor(forwardSpecUnpadded, g, opts.live ?? { lo: 0, hi: g.H }, relu), layout: { channels: ROWS, rowsPerCell: 1, rows: g.OH, pitch: roundUp4(g.OW) } };
  }
  return { spec: specFor(forwardSpec, g, relu), layout: { channels: ROWS, rowsPerCell: 1, rows: 1, pitch: roundUp4(g.OH * g.OW) } };
}

/**
 * The input gradient's kernel for a variant, and how its cells lie. The flipped variants are the
 * forward kernel of a valid convolution of dy, zero-padded by K−1−p, with the weights flipped and
 * their channel axes swapped (`flipped` is that geometry): no per-tap masks, so faster than the
 * general masked kernel.
 */
function inputGradientKernel(be: { readonly mode: Mode }, g: ConvGeometry, variant: ConvInputGradientVariant): { spec: KernelSpec; layout: ConvOutputLayout; flipped: ConvGeometry | null } {
  assertFits('inputGradient', variant, g);
  const flipped = variant === 'masked' ? null : flippedGeometry(g);
  if (!flipped) return { spec: specFor(backwardInputSpec, g), layout: { channels: ROWS, rowsPerCell: 1, rows: 1, pitch: roundUp4(g.H * g.W) }, flipped };
  const q = g.KH - 1 - g.pad;
  return { ...conv2dForwardKernel(be, flipped, { live: { lo: q, hi: q + g.OH }, variant: FLIPPED_FORWARD[variant as keyof typeof FLIPPED_FORWARD] }), flipped };
}

/** Gradient of the input, [B, C, H, W]. */
export async function conv2dBackwardInput(be: Backend, dy: Float32Array, w: Float32Array, g: ConvGeometry, variant: ConvInputGradientVariant = chooseConvKernels(be.mode, g).inputGradient): Promise<Float32Array> {
  const { spec, layout, flipped: gt } = inputGradientKernel(be, g, variant);
  if (!gt) return unpackRows(await be.run(spec, [dy, w]), g.B, g.C, g.H * g.W, 1, layout);
  const { B, C, OC, KH, KW, OH, OW } = g;
  const qy = KH - 1 - g.pad;
  const qx = KW - 1 - g.pad;
  const { H: PH, W: PW } = gt;
  const padded = new Float32Array(B * OC * PH * PW);
  // a plain loop: subarray()+set() per short row costs more than the copy itself
  for (let bo = 0; bo < B * OC; bo++)
    for (let y = 0; y < OH; y++) {
      const src = (bo * OH + y) * OW;
      const dst = (bo * PH + y + qy) * PW + qx;
      for (let x = 0; x < OW; x++) padded[dst + x] = dy[src + x];
    }
  const flipped = new Float32Array(w.length);
  for (let o = 0; o < OC; o++)
    for (let c = 0; c < C; c++)
      for (let t = 0; t < KH * KW; t++) flipped[(c * OC + o) * KH * KW + (KH * KW - 1 - t)] = w[(o * C + c) * KH * KW + t];
  // the flipped convolution's output [B, C, H, W] is dx; its cells lie as its forward variant's (layout)
  return unpackConvOutput(await be.run(spec, [padded, flipped, new Float32Array(C)]), gt, layout);
}

/** x [B][C][P] as [B][P][C]: the unrolled weight gradient's lanes (neighbouring channels) then read neighbouring floats. */
function channelsLast(x: Float32Array, B: number, C: number, P: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      const src = (b * C + c) * P;
      const dst = b * P * C + c;
      for (let p = 0; p < P; p++) out[dst + p * C] = x[src + p];
    }
  return out;
}

/** Output rows × images the row-lane weight-gradient kernel sums per thread (the source's length). */
const ROW_UNROLL = 128;

/*
 * conv2d_backward_weight for a layer the channels-last kernel cannot take (C not a multiple of 4:
 * a first layer on MNIST), unpadded at stride 1. Thread (ox lane, tap, image chunk·OC/4 +
 * o-block) sums dy[b][o][oy][ox] · x[b][c][oy+ky][ox+kx] over its chunk's images and rows for one
 * output column ox: lanes are neighbouring ox, so both x and dy load as vectors, and the host adds
 * the columns (and chunks) up. Columns past OW (the x axis padded to 4) read neighbouring values
 * and are dropped. Faster than the looped kernel above on the CNN's 5×5 conv1, on webasm and async.
 */
function backwardWeightSpecRows(g: ConvGeometry, per: number): KernelSpec {
  const { C, H, W, OC, KH, KW, OH, OW } = g;
  const KK = KH * KW;
  const OB = OC / ROWS;
  const chunks = g.B / per;
  const chunk = idiv('this.thread.z', OB, chunks * OB);
  const ob = imod('this.thread.z', OB, chunks * OB);
  // tap y = c·KK + ky·KW + kx starts at c·H·W + ky·W + kx in an image
  const row = KW === W ? '0' : `${idiv('this.thread.y', KW, C * KK)} * ${W - KW}`;
  const plane = C === 1 || KH === H ? '0' : `${idiv('this.thread.y', KK, C * KK)} * ${H * W - KH * W}`;
  const tap = `(this.thread.y + ${row} + ${plane})`;
  const body: string[] = [];
  for (let bi = 0; bi < per; bi++)
    for (let oy = 0; oy < OH; oy++) {
      body.push(`v = X[${chunk} * ${per * C * H * W} + ${tap} + ${bi * C * H * W + oy * W} + this.thread.x];`);
      for (let j = 0; j < ROWS; j++) body.push(`s${j} += D[${chunk} * ${per * OC * OH * OW} + ${ob} * ${ROWS * OH * OW} + ${bi * OC * OH * OW + j * OH * OW + oy * OW} + this.thread.x] * v;`);
    }
  return { name: 'conv2d_backward_weight', source: rowsKernelSource('D, X', body), output: [roundUp4(OW), C * KK, chunks * OB], components: ROWS };
}

/** The weight-gradient kernel of a variant for g. */
function weightGradientSpec(g: ConvGeometry, variant: ConvWeightGradientVariant): KernelSpec {
  if (variant === 'channels-last') return specFor(backwardWeightSpecUnrolled, g, weightImagesPerThread(g));
  if (variant === 'rows') return specFor(backwardWeightSpecRows, g, imagesWithin(g.B, g.OH, ROW_UNROLL));
  return specFor(backwardWeightSpec, g, weightChunks(g));
}

/** Gradient of the weight, [OC, C, KH, KW]. */
export async function conv2dBackwardWeight(be: Backend, dy: Float32Array, x: Float32Array, g: ConvGeometry, variant: ConvWeightGradientVariant = chooseConvKernels(be.mode, g).weightGradient): Promise<Float32Array> {
  assertFits('weightGradient', variant, g);
  const KK = g.KH * g.KW;
  const R = g.C * KK;
  const dw = new Float32Array(g.OC * R);
  if (variant === 'channels-last') {
    const raw = await be.run(weightGradientSpec(g, variant), [dy, channelsLast(x, g.B, g.C, g.H * g.W)]);
    // raw is [chunk][o-block][tap][c][4]: sum the chunks in that order (a sequential pass over raw),
    // then reorder once into dw [o][c][tap]
    const OB = g.OC / ROWS;
    const block = OB * KK * g.C * ROWS;
    const sum = raw.slice(0, block);
    for (let off = block; off < raw.length; off += block) for (let i = 0; i < block; i++) sum[i] += raw[off + i];
    for (let ob = 0; ob < OB; ob++)
      for (let t = 0; t < KK; t++)
        for (let c = 0; c < g.C; c++) {
          const src = ((ob * KK + t) * g.C + c) * ROWS;
          for (let j = 0; j < ROWS; j++) dw[((ob * ROWS + j) * g.C + c) * KK + t] = sum[src + j];
        }
    return dw;
  }
  if (variant === 'rows') {
    const per = imagesWithin(g.B, g.OH, ROW_UNROLL);
    const raw = await be.run(weightGradientSpec(g, variant), [dy, x]);
    // raw is [chunk][o-block][tap][ox (padded)][4]: add up the columns ox < OW of every chunk
    const OB = g.OC / ROWS;
    const OWP = roundUp4(g.OW);
    for (let z = 0; z < g.B / per; z++)
      for (let ob = 0; ob < OB; ob++)
        for (let t = 0; t < R; t++) {
          const src = ((z * OB + ob) * R + t) * OWP * ROWS;
          for (let j = 0; j < ROWS; j++) {
            let sum = 0;
            for (let ox = 0; ox < g.OW; ox++) sum += raw[src + ox * ROWS + j];
            dw[(ob * ROWS + j) * R + t] += sum;
          }
        }
    return dw;
  }
  const chunks = weightChunks(g);
  const raw = await be.run(weightGradientSpec(g, variant), [dy, x]);
  const parts = unpackRows(raw, chunks, g.OC, R, 1, { rows: 1, pitch: roundUp4(R) });
  for (let z = 0; z < chunks; z++) {
    const off = z * g.OC * R;
    for (let i = 0; i < dw.length; i++) dw[i] += parts[off + i];
  }
  return dw;
}

/**
 * The kernels a convolution of geometry g runs on a mode, by pass (the input gradient's is the
 * forward kernel of the flipped convolution where it runs as one): what `pnpm kernel-source`
 * prints and the golden-source tests pin.
 */
export function convKernelSpecs(mode: Mode, g: ConvGeometry, opts: { readonly relu?: boolean; readonly kernels?: ConvKernels } = {}): Record<'forward' | 'inputGradient' | 'weightGradient' | 'biasGradient', KernelSpec> {
  const kernels = opts.kernels ?? chooseConvKernels(mode, g);
  assertFits('weightGradient', kernels.weightGradient, g);
  return {
    forward: conv2dForwardKernel({ mode }, g, { relu: opts.relu, variant: kernels.forward }).spec,
    inputGradient: inputGradientKernel({ mode }, g, kernels.inputGradient).spec,
    weightGradient: weightGradientSpec(g, kernels.weightGradient),
    biasGradient: specFor(backwardBiasSpec, g),
  };
}

/** Gradient of the bias, [OC]. */
export async function conv2dBackwardBias(be: Backend, dy: Float32Array, g: ConvGeometry): Promise<Float32Array> {
  return be.run(specFor(backwardBiasSpec, g), [dy]);
}

/** 2-D convolution (cross-correlation, NCHW) with bias, and optionally ReLU, recorded on the tape. */
export async function conv2d(be: Backend, x: Tensor, w: Tensor, bias: Tensor, opts: Conv2dOptions = {}): Promise<Tensor> {
  const g = convGeometry(x.shape, w.shape, opts);
  if (bias.size !== g.OC) throw new Error(`conv2d: bias has ${bias.size} values, expected ${g.OC}`);
  const relu = opts.relu ?? false;
  const kernels = opts.kernels ?? chooseConvKernels(be.mode, g);
  const y = new Tensor([g.B, g.OC, g.OH, g.OW], await conv2dForward(be, x.data, w.data, bias.data, g, { relu, variant: kernels.forward }));
  return record(y, relu ? CONV2D_RELU_OP : 'conv2d', [x, w, bias], async (dOut) => {
    // y > 0 exactly where the pre-activation is, so the rectified output is all the mask needs
    const dy = relu ? await reluBackward(be, dOut, y.data) : dOut;
    if (x.requiresGrad) x.accumulateGrad(await conv2dBackwardInput(be, dy, w.data, g, kernels.inputGradient));
    if (w.requiresGrad) w.accumulateGrad(await conv2dBackwardWeight(be, dy, x.data, g, kernels.weightGradient));
    if (bias.requiresGrad) bias.accumulateGrad(await conv2dBackwardBias(be, dy, g));
  });
}
