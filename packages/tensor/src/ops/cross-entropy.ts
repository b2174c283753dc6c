import type { Backend, KernelSpec } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';

/** Options of softmaxCrossEntropy. */
export interface CrossEntropyOptions {
  /** Label smoothing ε in [0, 1): the target puts 1 − ε + ε/C on the label and ε/C on every other class. */
  readonly smoothing?: number;
}

/** A float literal gpu.js parses (no exponent form). */
const lit = (v: number): string => v.toFixed(12);

/*
 * softmax_xent_forward: per row, loss = logsumexp(z) − Σ_c t_c z_c with t the (smoothed) target:
 * logsumexp(z) − z[label] without smoothing, logsumexp(z) − (1 − ε) z[label] − (ε/C) Σ_c z_c with.
 * Thread per row.
 */
function forwardSpec(B: number, C: number, eps = 0): KernelSpec {
  const target = eps === 0
    ? 'Z[base + L[this.thread.x]]'
    : `(${lit(1 - eps)} * Z[base + L[this.thread.x]] + ${lit(eps / C)} * sz)`;
  const src = `function(Z, L) {
  const base = this.thread.x * ${C};
  let m = Z[base];
  for (let c = 1; c < ${C}; c++) { m = Math.max(m, Z[base + c]); }
  let s = 0;${eps === 0 ? '' : `
  let sz = 0;
  for (let c = 0; c < ${C}; c++) { sz += Z[base + c]; }`}
  for (let c = 0; c < ${C}; c++) { s += Math.exp(Z[base + c] - m); }
  return m + Math.log(s) - ${target};
}`;
  return { name: 'softmax_xent_forward', source: src, output: [B] };
}

/* softmax_xent_backward: dz[b][c] = g · (softmax(z)[c] − t_c) / B, t the (smoothed) target. Thread (c, b). */
function backwardSpec(B: number, C: number, eps = 0): KernelSpec {
  const target = eps === 0 ? '(L[b] === c ? 1 : 0)' : `(L[b] === c ? ${lit(1 - eps + eps / C)} : ${lit(eps / C)})`;
  const src = `function(Z, L, G) {
  const c = this.thread.x;
  const b = this.thread.y;
  const base = b * ${C};
  let m = Z[base];
  for (let k = 1; k < ${C}; k++) { m = Math.max(m, Z[base + k]); }
  let s = 0;
  for (let k = 0; k < ${C}; k++) { s += Math.exp(Z[base + k] - m); }
  const p = Math.exp(Z[base + c] - m) / s;
  return G[0] * (p - ${target}) / ${B};
}`;
  return { name: 'softmax_xent_backward', source: src, output: [C, B] };
}

/** Per-example losses of softmaxCrossEntropy (for evaluation); logits [B, C], labels B class indices. */
export async function crossEntropyPerExample(be: Backend, logits: Tensor, labels: ArrayLike<number>): Promise<Float32Array> {
  const [B, C] = checkArgs(logits, labels);
  return be.run(forwardSpec(B, C), [logits.data, Float32Array.from(labels)]);
}

/** Mean sparse categorical cross-entropy of softmax(logits) against integer labels (optionally label-smoothed): a scalar tensor. */
export async function softmaxCrossEntropy(be: Backend, logits: Tensor, labels: ArrayLike<number>, options: CrossEntropyOptions = {}): Promise<Tensor> {
  const [B, C] = checkArgs(logits, labels);
  const eps = options.smoothing ?? 0;
  if (!(eps >= 0 && eps < 1)) throw new Error(`softmaxCrossEntropy: smoothing must be in [0, 1), got ${eps}`);
  const lab = Float32Array.from(labels);
  const per = await be.run(forwardSpec(B, C, eps), [logits.data, lab]);
  let total = 0;
  for (let i = 0; i < B; i++) total += per[i];
  const loss = new Tensor([1], new Float32Array([total / B]));
  return record(loss, 'softmaxCrossEntropy', [logits], async (g) => {
    logits.accumulateGrad(await be.run(backwardSpec(B, C, eps), [logits.data, lab, g]));
  });
}

function checkArgs(logits: Tensor, labels: ArrayLike<number>): [number, number] {
  if (logits.shape.length !== 2) throw new Error(`softmaxCrossEntropy: logits must be [B, C], got [${logits.shape.join(',')}]`);
  const [B, C] = logits.shape;
  if (labels.length !== B) throw new Error(`softmaxCrossEntropy: ${labels.length} labels for ${B} rows`);
  for (let i = 0; i < B; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= C) throw new Error(`softmaxCrossEntropy: label ${l} at row ${i} is not a class in 0..${C - 1}`);
  }
  return [B, C];
}

/** Reference forward (float64): the mean loss as a 1-element array, against targets smoothed by eps. */
export function softmaxCrossEntropyRef(z: ArrayLike<number>, labels: ArrayLike<number>, B: number, C: number, eps = 0): Float64Array {
  let total = 0;
  for (let b = 0; b < B; b++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[b * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[b * C + c] - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < C; c++) total += (eps / C + (labels[b] === c ? 1 - eps : 0)) * (lse - z[b * C + c]);
  }
  return new Float64Array([total / B]);
}

/** Reference backward (float64), against targets smoothed by eps. */
export function softmaxCrossEntropyBackwardRef(g: number, z: ArrayLike<number>, labels: ArrayLike<number>, B: number, C: number, eps = 0): Float64Array {
  const dz = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[b * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[b * C + c] - m);
    for (let c = 0; c < C; c++) dz[b * C + c] = (g * (Math.exp(z[b * C + c] - m) / s - (eps / C + (labels[b] === c ? 1 - eps : 0)))) / B;
  }
  return dz;
}
