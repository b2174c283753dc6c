import { describe, expect, it } from 'vitest';
import { Backend } from '../src/backend.js';
import { gemmSpec } from '../src/ops/gemm.js';
import { type CompiledModule, PlanKernels } from '../src/plan.js';
import { Rng } from '../src/random.js';

// a plan's kernels handed to another plan as compiled modules (PlanOptions.modules): what a plan
// worker thread builds its plan from, so that it compiles nothing the calling thread compiled
const shape = { batch: 1, M: 8, N: 16, K: 12, a: [0, 12, 1], b: [0, 16, 1] } as const;
const spec = gemmSpec(shape);

/** A, B and C = A·B run through a fresh plan kernel on be, built from `modules` where given. */
function runGemm(be: Backend, modules?: readonly CompiledModule[]) {
  const rng = new Rng(5);
  const A = Float32Array.from({ length: shape.M * shape.K }, () => rng.normal());
  const B = Float32Array.from({ length: shape.K * shape.N }, () => rng.normal());
  const ks = new PlanKernels(be, { modules });
  const k = ks.kernel(spec, [A, B]);
  ks.run(k);
  return { ks, out: k.output.slice() };
}

describe('compiled modules handed to another plan', () => {
  for (const mode of ['webasm', 'async'] as const)
    it(`${mode}: a plan given another plan's modules compiles nothing and computes the same bits`, () => {
      const [a, b] = [new Backend(mode), new Backend(mode)];
      try {
        const first = runGemm(a);
        expect(a.compiled).toBe(1);
        const modules = first.ks.exportModules();
        expect(modules).toHaveLength(1);
        const second = runGemm(b, modules);
        expect(b.compiled).toBe(0);
        expect(b.executed.has('WebAssemblyKernel')).toBe(true);
        expect(second.out).toEqual(first.out);
        // a spec that no module matches (another shape) still compiles
        const other = new PlanKernels(b, { modules });
        other.kernel(gemmSpec({ ...shape, K: 8, a: [0, 8, 1] }), [shape.M * 8, 8 * shape.N]);
        expect(b.compiled).toBe(1);
        first.ks.destroy();
        second.ks.destroy();
        other.destroy();
      } finally {
        a.destroy();
        b.destroy();
      }
    });
});
