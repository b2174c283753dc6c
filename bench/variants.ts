// Kernel variants side by side, once per variant in interleaved rounds, so the variants share
// whatever else the machine is doing: every gemm a training step of the shipped models runs
// (forward, input and weight gradient of each dense layer), or with --family conv every forward
// convolution variant at the CNN's layers (--batch: 1 for serving, the training batch by default).
// Prints each variant's fastest and median call and its GFLOP/s; on a busy machine --clock cpu
// times the process's own CPU time (process.cpuUsage, meaningful for the one-thread webasm mode)
// instead of the wall clock.
//
//   pnpm exec tsx bench/variants.ts                       webasm (one thread), 15 rounds
//   bash scripts/with-node.sh pnpm exec tsx bench/variants.ts --mode async --rounds 25 --fma on
//                      --fma on|off|both (default both): with and without fused multiply-adds,
//                      where the runtime has them
//   bash scripts/with-node.sh node --no-liftoff --import tsx bench/variants.ts --family conv --batch 1 --clock cpu
//                      --no-liftoff: every kernel compiled by the optimising tier from its first call;
//                      otherwise a long kernel may still be tiering up in the background while it is
//                      timed, which the cpu clock counts
import { parseArgs } from 'node:util';
import { Backend, CONV_FORWARD_VARIANTS, FUSED_MULTIPLY_ADD, type GemmShape, type GemmVariant, type Mode, conv2dForward, convGeometry, gemm, gemmFits } from '@digitlab/tensor';
import { presetShapes } from './src/shapes.js';

const { values: args } = parseArgs({ options: { mode: { type: 'string', default: 'webasm' }, rounds: { type: 'string', default: '15' }, clock: { type: 'string', default: 'wall' }, fma: { type: 'string', default: 'both' }, preset: { type: 'string', default: 'cnn' }, family: { type: 'string', default: 'gemm' }, batch: { type: 'string' } } });
const mode = args.mode as Mode;
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a positive integer, got ${args.rounds}`);
if (args.clock !== 'wall' && args.clock !== 'cpu') throw new Error(`--clock takes wall or cpu, got ${args.clock}`);
if (!['on', 'off', 'both'].includes(args.fma)) throw new Error(`--fma takes on, off or both, got ${args.fma}`);
if (args.family !== 'gemm' && args.family !== 'conv') throw new Error(`--family takes gemm or conv, got ${args.family}`);
const batch = args.batch === undefined ? undefined : Number(args.batch);
if (batch !== undefined && (!Number.isInteger(batch) || batch < 1)) throw new Error(`--batch takes a positive integer, got ${args.batch}`);
/** Milliseconds on the chosen clock. */
const now = args.clock === 'cpu' ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();

/** The three gemms of a dense layer x [M, K] · w [K, N], as matmul() issues them. */
function denseGemms(name: string, M: number, K: number, N: number): { name: string; s: GemmShape }[] {
  return [
    { name: `${name} forward`, s: { batch: 1, M, N, K, a: [M * K, K, 1], b: [0, N, 1] } },
    // dx = dy · wᵀ: gemm() first makes wᵀ contiguous, as it does in training
    { name: `${name} dx`, s: { batch: 1, M, N: K, K: N, a: [M * N, N, 1], b: [0, K, 1] } },
    { name: `${name} dw`, s: { batch: 1, M: K, N, K: M, a: [0, 1, K], b: [0, N, 1] } },
  ];
}

const shapes = presetShapes(args.preset, 'vit', batch);
const cases: { name: string; s: GemmShape }[] = [];
shapes.cnn.dense.forEach((d, i) => cases.push(...denseGemms(`cnn dense${i} [${shapes.cnn.batch}x${d.inputs}·${d.inputs}x${d.units}]`, shapes.cnn.batch, d.inputs, d.units)));
const v = shapes.vit;
const R = v.batch * v.tokens;
cases.push(...denseGemms(`vit fc1 [${R}x${v.dim}·${v.dim}x${v.mlp}]`, R, v.dim, v.mlp), ...denseGemms(`vit fc2 [${R}x${v.mlp}·${v.mlp}x${v.dim}]`, R, v.mlp, v.dim));

// one backend per fused-multiply-add setting: the kernels compile differently
const fmas = (args.fma === 'both' ? [false, true] : [args.fma === 'on']).filter((f) => !f || FUSED_MULTIPLY_ADD);
const backends = fmas.map((fusedMultiplyAdd) => ({ tag: fusedMultiplyAdd ? ' fma' : '', be: new Backend(mode, { fusedMultiplyAdd }) }));
const variants: GemmVariant[] = ['4x1', '4x2'];

/** One line per case: each run's fastest and median ms a call and the GFLOP/s of its fastest. */
async function timeRounds(name: string, flops: number, runs: { name: string; call: () => Promise<unknown>; times: number[] }[]): Promise<void> {
  for (const r of runs) for (let i = 0; i < 4; i++) await r.call(); // compile and place
  // calls per sample: enough for 5 ms of the slowest run, so short calls stay above the clock's grain
  let slowest = 0;
  for (const r of runs) {
    const t0 = performance.now();
    await r.call();
    slowest = Math.max(slowest, performance.now() - t0);
  }
  const reps = Math.max(1, Math.ceil(5 / slowest));
  for (let i = 0; i < rounds; i++)
    for (const r of runs) {
      const t0 = now();
      for (let k = 0; k < reps; k++) await r.call();
      r.times.push((now() - t0) / reps);
    }
  const cells = runs.map((r) => {
    const t = r.times.sort((a, b) => a - b);
    return `${r.name} ${t[0].toFixed(2)} / ${t[t.length >> 1].toFixed(2)} ms (${(flops / t[0] / 1e6).toFixed(1)})`;
  });
  console.log(`${name.padEnd(44)} ${cells.join('   ')}`);
}

/** Every forward variant that fits a CNN layer, on every backend. */
async function convVariants(): Promise<void> {
  const { batch: B, conv } = shapes.cnn;
  for (const [i, l] of conv.entries()) {
    const g = convGeometry([B, l.C, l.H, l.W], [l.OC, l.C, l.K, l.K], { stride: l.stride, padding: l.pad });
    const x = Float32Array.from({ length: B * l.C * l.H * l.W }, (_, k) => Math.sin(k));
    const w = Float32Array.from({ length: l.OC * l.C * l.K * l.K }, (_, k) => Math.cos(k));
    const bias = new Float32Array(l.OC);
    const runs = backends.flatMap(({ tag, be }) => CONV_FORWARD_VARIANTS.map((variant) => ({ name: variant + tag, call: () => conv2dForward(be, x, w, bias, g, { relu: true, variant }), times: [] as number[] })));
    // a variant that does not fit the layer (or the mode) rejects its first call: leave it out
    const fitting: typeof runs = [];
    for (const r of runs) if (await r.call().then(() => true, () => false)) fitting.push(r);
    await timeRounds(`cnn conv${i} forward [${B}x${l.C}x${l.H}x${l.W}, ${l.OC}x${l.K}x${l.K}]`, 2 * B * g.OC * g.OH * g.OW * l.C * l.K * l.K, fitting);
  }
}

console.log(`${args.family} variants on ${mode}, Node ${process.versions.node}, ${rounds} interleaved rounds, ${args.clock} clock (fastest / median ms, GFLOP/s of the fastest)`);
try {
  if (args.family === 'conv') await convVariants();
  else for (const { name, s } of cases) {
    const A = Float32Array.from({ length: s.M * s.K }, (_, i) => Math.sin(i));
    const B = Float32Array.from({ length: s.K * s.N }, (_, i) => Math.cos(i));
    const runs = backends.flatMap(({ tag, be }) => variants.filter((vr) => gemmFits(vr, s, mode)).map((vr) => ({ name: vr + tag, call: () => gemm(be, A, B, s, vr), times: [] as number[] })));
    await timeRounds(name, 2 * s.M * s.N * s.K, runs);
  }
} finally {
  for (const { be } of backends) be.destroy();
}
