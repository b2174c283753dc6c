import { type Backend, type KernelSpec, specFor } from '../backend.js';
import { record } from '../tape.js';
import { Tensor } from '../tensor.js';
import { EXP_TABLE, expCode, lit } from './kernel-math.js';

/*
 * GELU, tanh approximation (as in GPT-2 / BERT, not the exact erf form):
 *   gelu(x) = x/2 · (1 + tanh(u)),   u = √(2/π) · (x + 0.044715·x³)
 *   gelu'(x) = (1 + tanh(u))/2 + x/2 · (1 - tanh²(u)) · √(2/π) · (1 + 3·0.044715·x²)
 * tanh(u) = 1 - 2/(e^{2u} + 1) through the inlined exp (kernel-math.ts), because Math.tanh
 * leaves webasm's SIMD body for a JS call per lane. Its absolute error near u = 0 (~1e-7) is
 * scaled by x/2 there, so gelu keeps f32 accuracy. Backward recomputes tanh from x instead of
 * saving gelu'(x) from the forward pass: returning it as a second component and splitting the
 * pair in JS measured slower under async (the split is single-threaded, the kernel is not).
 */

const C = Math.sqrt(2 / Math.PI);
const A = 0.044715;

/** Statements declaring t<suffix> = tanh(u<suffix>), u = √(2/π)·(x + 0.044715·x³); the suffix keeps several in one kernel apart. */
function tanhCode(x: string, suffix = ''): string {
  return `const u${suffix} = ${lit(C)} * (${x} + ${lit(A)} * ${x} * ${x} * ${x});
  ${expCode(`e2u${suffix}`, `2.0 * u${suffix}`)}
  const t${suffix} = 1.0 - 2.0 / (e2u${suffix} + 1.0);`;
}

/** Statements declaring `out` = gelu(x) with the gelu op's arithmetic (a fused gemm epilogue uses it; `ET` is EXP_TABLE). */
export function geluCode(out: string, x: string, suffix: string): string {
  return `${tanhCode(x, suffix)}
  const ${out} = 0.5 * ${x} * (1.0 + t${suffix});`;
}

/** X [n] -> Y [n] */
export function geluForwardSpec(n: number): KernelSpec {
  const source = `function(X, ET) {
  const x = X[this.thread.x];
  ${tanhCode('x')}
  return 0.5 * x * (1.0 + t);
}`;
  return { name: 'gelu_forward', source, output: [n] };
}

/** X [n], DY [n] -> DX [n] */
export function geluBackwardSpec(n: number): KernelSpec {
  const source = `function(X, DY, ET) {
  const x = X[this.thread.x];
  ${tanhCode('x')}
  const du = ${lit(C)} * (1.0 + ${lit(3 * A)} * x * x);
  return DY[this.thread.x] * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du);
}`;
  return { name: 'gelu_backward', source, output: [n] };
}

/** GELU activation (tanh approximation), elementwise. */
export async function gelu(be: Backend, x: Tensor): Promise<Tensor> {
  const out = new Tensor(x.shape, await be.run(specFor(geluForwardSpec, x.size), [x.data, EXP_TABLE]));
  return record(out, 'gelu', [x], async (dy) => {
    x.accumulateGrad(await be.run(specFor(geluBackwardSpec, x.size), [x.data, dy, EXP_TABLE]));
  });
}
