// A mode under test (headlessgl) reports its failures as rows, with the reason, never timed,
// while the main modes still stop the run; and a case in a child process (isolate.ts) is
// stopped at its first-call limit. No gl needed: the failures are simulated on webasm.
import { fileURLToPath } from 'node:url';
import { candidateModes } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { kernelCases, type KernelCase } from '../src/cases.js';
import { TINY } from '../src/measure.js';
import { kernelChart, markdown, type BenchResults } from '../src/report.js';
import { presetShapes } from '../src/shapes.js';
import { testInfo } from './fixtures/run-info.js';
import { runKernelSuite, ValidationError, type KernelResult } from '../src/suite.js';
import { fallingBack, glslError, shortReduction } from './fixtures/misbehaving.js';

const shapes = presetShapes('tiny-cnn', 'tiny-vit', 4);
const cases = kernelCases(shapes);
const matmul = cases.find((c) => c.id === 'cnn/dense0 forward')!;
const opts = { measure: TINY, slowCallMs: 5000, poolSize: 2 };
const MISBEHAVING_CHILD = fileURLToPath(new URL('./fixtures/misbehaving-child.ts', import.meta.url));

function rowOf(results: readonly KernelResult[], id: string, impl = 'webasm'): KernelResult {
  return results.find((r) => r.id === id && r.impl === impl)!;
}

describe('failures of a mode under test', () => {
  const bad: KernelCase[] = [shortReduction(matmul, 'test/short'), glslError(matmul, 'test/glsl'), fallingBack(matmul, 'test/fallback')];

  it('become rows with the reason, untimed, and the run goes on', async () => {
    const results = await runKernelSuite([...bad, matmul], { ...opts, impls: ['reference', 'webasm'], reportFailures: ['webasm'] });
    const wrong = rowOf(results, 'test/short');
    expect(wrong).toMatchObject({ status: 'wrong', timing: null, gflops: null });
    expect(wrong.note).toMatch(/differs from the float64 reference/);
    expect(wrong.maxError).toBeGreaterThan(matmul.tolerance);
    expect(rowOf(results, 'test/glsl')).toMatchObject({ status: 'error', timing: null, note: "compile error (gpu.js's GLSL): 'min' : no matching overloaded function found" });
    const fell = rowOf(results, 'test/fallback');
    expect(fell).toMatchObject({ status: 'fallback', timing: null });
    expect(fell.note).toMatch(/ran as CPUKernel \(fallback: simulated\)/);
    // the good case after them is right and timed
    const ok = rowOf(results, matmul.id);
    expect(ok.status).toBe('ok');
    expect(ok.timing!.medianMs).toBeGreaterThan(0);
    expect(ok.firstCallMs).toBeGreaterThan(0);

    const md = markdown({ info: testInfo(), kernels: results, e2e: [] });
    expect(md).toMatch(/\| test\/short \|[^\n]*\*\*✗ wrong\*\*³ \|/);
    expect(md).toContain('`webasm` 1 of 4 right and timed, 1 error, 1 fallback, 1 wrong');
    expect(md).toContain("- **test/glsl** on **webasm**: error: compile error (gpu.js's GLSL): 'min' : no matching overloaded function found");
    // a failure is never the fastest engine mode, and has no bar
    expect(md).not.toMatch(/\| test\/short \|[^\n]*\(webasm\)/);
    expect(kernelChart(results, 'test')).not.toContain('test/short webasm');
  });

  it('headlessgl where gpu.js cannot run it (no gl build or no display) is an error row', async () => {
    const [row] = await runKernelSuite([matmul], { ...opts, impls: ['headlessgl'] });
    // candidateModes offers headlessgl exactly where gpu.js can run it
    if (candidateModes().includes('headlessgl')) expect(row).toMatchObject({ status: 'ok', ran: 'HeadlessGLKernel' });
    else expect(row).toMatchObject({ status: 'error', timing: null, note: expect.stringMatching(/"headlessgl" and is not supported/) });
  });

  it('still stop the run on the main modes', async () => {
    for (const c of bad) {
      await expect(runKernelSuite([c], { ...opts, impls: ['webasm'] })).rejects.toThrow(c.id === 'test/glsl' ? /Error compiling fragment shader/ : ValidationError);
    }
  });
});

describe('cases in a child process', () => {
  it('run and validate there as in the suite', async () => {
    const results = await runKernelSuite([matmul], { ...opts, impls: ['webasm'], isolate: { impls: ['webasm'], shapes, firstCallTimeoutMs: 60_000, timeoutMs: 60_000 } });
    expect(results[0]).toMatchObject({ status: 'ok', ran: 'WebAssemblyKernel' });
    expect(results[0].timing!.medianMs).toBeGreaterThan(0);
  });

  it('are stopped at the first-call limit, and a main mode still stops the run', async () => {
    const isolate = { impls: ['webasm' as const], shapes, firstCallTimeoutMs: 3000, timeoutMs: 60_000, childScript: MISBEHAVING_CHILD };
    const hang = { ...matmul, id: 'test/hang' };
    const t0 = performance.now();
    const [row] = await runKernelSuite([hang], { ...opts, impls: ['webasm'], reportFailures: ['webasm'], isolate });
    expect(row).toMatchObject({ status: 'timeout', timing: null });
    expect(row.note).toMatch(/first call \(compiling the kernels\) took over 3 s; the child process was killed/);
    expect(performance.now() - t0).toBeLessThan(30_000);
    // a wrong answer in the child stops the run as in this process
    await expect(runKernelSuite([{ ...matmul, id: 'test/short' }], { ...opts, impls: ['webasm'], isolate })).rejects.toThrow(ValidationError);
  });
});
