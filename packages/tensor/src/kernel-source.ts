/**
 * Prints the generated source of a kernel for a shape: the text gpu.js compiles, after the
 * variant rule (chooseConvKernels, chooseGemmKernel) has picked it.
 *
 *   pnpm --filter @digitlab/tensor kernel-source conv2d --x 1,32,12,12 --w 64,32,5,5 --pass forward
 *   pnpm --filter @digitlab/tensor kernel-source gemm --M 4 --N 256 --K 1024
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MODES, type KernelSpec, type Mode } from './backend.js';
import { CONV_FORWARD_VARIANTS, CONV_INPUT_GRADIENT_VARIANTS, type ConvForwardVariant, type ConvInputGradientVariant, type ConvKernels, type ConvWeightGradientVariant, chooseConvKernels, convGeometry, convKernelSpecs } from './ops/conv2d.js';
import { type GemmEpilogue, type GemmShape, type GemmVariant, chooseGemmKernel, gemmSpec, gemmSpec4x2 } from './ops/gemm.js';

const USAGE = `usage: kernel-source conv2d --x B,C,H,W --w OC,C,KH,KW [--stride s] [--padding p] [--relu] [--pass forward|inputGradient|weightGradient|biasGradient] [--forward ${CONV_FORWARD_VARIANTS.join('|')}] [--input-gradient ${CONV_INPUT_GRADIENT_VARIANTS.join('|')}] [--weight-gradient channels-last|rows|looped]
       kernel-source gemm --M m --N n --K k [--batch b] [--variant 4x1|4x2] [--epilogue none|bias|bias-relu|bias-gelu] [--a-tiles 4x1|4x2]
options for both: [--mode ${MODES.join('|')}] (default webasm)`;

const PASSES = ['forward', 'inputGradient', 'weightGradient', 'biasGradient'] as const;

/** A list of positive integers such as "1,32,12,12", or an error naming the option. */
function dims(name: string, value: string | undefined, n: number): number[] {
  const parts = (value ?? '').split(',').map(Number);
  if (parts.length !== n || !parts.every((d) => Number.isInteger(d) && d >= 1)) throw new Error(`--${name} takes ${n} positive integers separated by commas, got "${value ?? ''}"\n${USAGE}`);
  return parts;
}

/** One positive integer (or `fallback` when absent), or an error naming the option. */
function int(name: string, value: string | undefined, fallback?: number, min = 1): number {
  if (value === undefined && fallback !== undefined) return fallback;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} takes an integer >= ${min}, got "${value ?? ''}"\n${USAGE}`);
  return v;
}

/** One of `allowed` (or undefined when absent), or an error listing them. */
function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${name} takes one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

/** parseArgs options that each take one string, by name. */
function stringOptions<const K extends string>(names: readonly K[]): Record<K, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<K, { type: 'string' }>;
}

/** The kernel spec that `kernel-source <argv>` prints: a header comment (name, output grid, components) and the source. */
export function kernelSourceFor(argv: readonly string[]): string {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...stringOptions(['x', 'w', 'stride', 'padding', 'pass', 'forward', 'input-gradient', 'weight-gradient', 'M', 'N', 'K', 'batch', 'variant', 'epilogue', 'a-tiles', 'mode']), relu: { type: 'boolean' } },
  });
  const mode: Mode = oneOf('mode', values.mode, MODES) ?? 'webasm';
  let spec: KernelSpec;
  let variant = '';
  if (positionals[0] === 'conv2d') {
    const g = convGeometry(dims('x', values.x, 4), dims('w', values.w, 4), { stride: int('stride', values.stride, 1), padding: int('padding', values.padding, 0, 0) });
    const chosen = chooseConvKernels(mode, g);
    const kernels: ConvKernels = {
      forward: oneOf<ConvForwardVariant>('forward', values.forward, CONV_FORWARD_VARIANTS) ?? chosen.forward,
      inputGradient: oneOf<ConvInputGradientVariant>('input-gradient', values['input-gradient'], CONV_INPUT_GRADIENT_VARIANTS) ?? chosen.inputGradient,
      weightGradient: oneOf<ConvWeightGradientVariant>('weight-gradient', values['weight-gradient'], ['channels-last', 'rows', 'looped']) ?? chosen.weightGradient,
    };
    const pass = oneOf('pass', values.pass, PASSES) ?? 'forward';
    spec = convKernelSpecs(mode, g, { relu: values.relu ?? false, kernels })[pass];
    variant = pass === 'biasGradient' ? '' : ` variant ${kernels[pass]}`;
  } else if (positionals[0] === 'gemm') {
    const M = int('M', values.M);
    const N = int('N', values.N);
    const K = int('K', values.K);
    const batch = int('batch', values.batch, 1);
    const aTiles = oneOf<GemmVariant>('a-tiles', values['a-tiles'], ['4x1', '4x2']);
    const shape: GemmShape = { batch, M, N, K, a: [M * K, K, 1], b: [K * N, N, 1], ...(aTiles ? { aTiles } : {}) };
    const chosen = oneOf<GemmVariant>('variant', values.variant, ['4x1', '4x2']) ?? chooseGemmKernel(mode, shape);
    const epilogue = oneOf<GemmEpilogue>('epilogue', values.epilogue, ['none', 'bias', 'bias-relu', 'bias-gelu']) ?? 'none';
    spec = chosen === '4x2' ? gemmSpec4x2(shape, epilogue) : gemmSpec(shape, epilogue);
    variant = ` variant ${chosen}`;
  } else {
    throw new Error(`name a kernel family, conv2d or gemm, got "${positionals[0] ?? ''}"\n${USAGE}`);
  }
  return `// ${spec.name}${variant} on ${mode}: output [${spec.output.join(', ')}], ${spec.components ?? 1} per cell, ${spec.source.length} chars\n${spec.source}\n`;
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(kernelSourceFor(process.argv.slice(2)));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}
