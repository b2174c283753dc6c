// Kernel variants side by side: every gemm a training step of the shipped models runs (forward,
// input and weight gradient of each dense layer), once per variant, in interleaved rounds, so the
// variants share whatever else the machine is doing. Prints each variant's fastest and median
// call and its GFLOP/s; on a busy machine --clock cpu times the process's own CPU time
// (process.cpuUsage, meaningful for the one-thread webasm mode) instead of the wall clock.
//
//   pnpm exec tsx bench/variants.ts                       webasm (one thread), 15 rounds
//   bash scripts/with-node.sh pnpm exec tsx bench/variants.ts --mode async --rounds 25 --fma on
//                      --fma on|off|both (default both): with and without fused multiply-adds,
//                      where the runtime has them
import { parseArgs } from 'node:util';
import { Backend, FUSED_MULTIPLY_ADD, type GemmShape, type GemmVariant, type Mode, gemm, gemmFits } from '@digitlab/tensor';
import { presetShapes } from './src/shapes.js';

const { values: args } = parseArgs({ options: { mode: { type: 'string', default: 'webasm' }, rounds: { type: 'string', default: '15' }, clock: { type: 'string', default: 'wall' }, fma: { type: 'string', default: 'both' }, preset: { type: 'string', default: 'cnn' } } });
const mode = args.mode as Mode;
const rounds = Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a positive integer, got ${args.rounds}`);
if (args.clock !== 'wall' && args.clock !== 'cpu') throw new Error(`--clock takes wall or cpu, got ${args.clock}`);
if (!['on', 'off', 'both'].includes(args.fma)) throw new Error(`--fma takes on, off or both, got ${args.fma}`);
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

const shapes = presetShapes(args.preset);
const cases: { name: string; s: GemmShape }[] = [];
shapes.cnn.dense.forEach((d, i) => cases.push(...denseGemms(`cnn dense${i} [${shapes.cnn.batch}x${d.inputs}·${d.inputs}x${d.units}]`, shapes.cnn.batch, d.inputs, d.units)));
const v = shapes.vit;
const R = v.batch * v.tokens;
cases.push(...denseGemms(`vit fc1 [${R}x${v.dim}·${v.dim}x${v.mlp}]`, R, v.dim, v.mlp), ...denseGemms(`vit fc2 [${R}x${v.mlp}·${v.mlp}x${v.dim}]`, R, v.mlp, v.dim));

// one backend per fused-multiply-add setting: the kernels compile differently
const fmas = (args.fma === 'both' ? [false, true] : [args.fma === 'on']).filter((f) => !f || FUSED_MULTIPLY_ADD);
const backends = fmas.map((fusedMultiplyAdd) => ({ tag: fusedMultiplyAdd ? ' fma' : '', be: new Backend(mode, { fusedMultiplyAdd }) }));
const variants: GemmVariant[] = ['4x1', '4x2'];
console.log(`gemm variants on ${mode}, Node ${process.versions.node}, ${rounds} interleaved rounds, ${args.clock} clock (fastest / median ms, GFLOP/s of the fastest)`);
try {
  for (const { name, s } of cases) {
    const A = Float32Array.from({ length: s.M * s.K }, (_, i) => Math.sin(i));
    const B = Float32Array.from({ length: s.K * s.N }, (_, i) => Math.cos(i));
    const runs = backends.flatMap(({ tag, be }) => variants.filter((vr) => gemmFits(vr, s, mode)).map((vr) => ({ name: vr + tag, be, vr, times: [] as number[] })));
    for (const r of runs) for (let i = 0; i < 4; i++) await gemm(r.be, A, B, s, r.vr); // compile and place
    for (let i = 0; i < rounds; i++)
      for (const r of runs) {
        const t0 = now();
        await gemm(r.be, A, B, s, r.vr);
        r.times.push(now() - t0);
      }
    const flops = 2 * s.M * s.N * s.K;
    const cells = runs.map((r) => {
      const t = r.times.sort((a, b) => a - b);
      return `${r.name} ${t[0].toFixed(2)} / ${t[t.length >> 1].toFixed(2)} ms (${(flops / t[0] / 1e6).toFixed(1)})`;
    });
    console.log(`${name.padEnd(44)} ${cells.join('   ')}`);
  }
} finally {
  for (const { be } of backends) be.destroy();
}
