// The benchmark machinery on tiny shapes: every case validates and is timed on the reference,
// every engine mode and TF.js cpu; a wrong kernel and a gpu.js fallback are caught; end to end
// and the reports work. Keeps `pnpm bench` from rotting between full runs.
import { describe, expect, it } from 'vitest';
import { kernelCases } from '../src/cases.js';
import { shortReduction } from './fixtures/misbehaving.js';
import { buildModel, loadPreset } from '@digitlab/models';
import { runEndToEnd } from '../src/e2e.js';
import { TINY } from '../src/measure.js';
import type { TfBackend } from '../src/tfjs.js';
import { breakdownTable, e2eChart, kernelChart, markdown, type BenchResults } from '../src/report.js';
import { presetShapes } from '../src/shapes.js';
import { testInfo } from './fixtures/run-info.js';
import { checkExecuted, runKernelSuite, ValidationError } from '../src/suite.js';

const shapes = presetShapes('tiny-cnn', 'tiny-vit', 4);
const cases = kernelCases(shapes);
const opts = { measure: TINY, slowCallMs: 5000, poolSize: 2 };

describe('kernel suite', () => {
  it('validates and times every case on the reference, every engine mode and TF.js cpu', async () => {
    const results = await runKernelSuite(cases, { ...opts, impls: ['reference', 'cpu', 'webasm', 'async', 'tfjs-cpu'] });
    expect(new Set(results.map((r) => r.id)).size).toBe(cases.length);
    for (const r of results) {
      expect(r.status, `${r.id} ${r.impl}`).toBe('ok');
      expect(r.timing!.medianMs).toBeGreaterThan(0);
      if (r.impl === 'webasm' || r.impl === 'async') expect(r.ran).toBe('WebAssemblyKernel');
      if (r.impl === 'cpu') expect(r.ran).toBe('CPUKernel');
    }
    const md = markdown({ info: testInfo(), kernels: results, e2e: [] });
    expect(md).toContain('| cnn/conv0 forward |');
    expect(kernelChart(results, 'test')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  });

  it('stops the run when a kernel disagrees with the reference', async () => {
    const matmul = cases.find((c) => c.id === 'cnn/dense0 forward')!;
    await expect(runKernelSuite([shortReduction(matmul)], { ...opts, impls: ['webasm'] })).rejects.toThrow(ValidationError);
    await expect(runKernelSuite([shortReduction(matmul)], { ...opts, impls: ['webasm'] })).rejects.toThrow(/differs from the float64 reference/);
  });

  it('rejects a kernel that ran on another gpu.js backend', () => {
    expect(() => checkExecuted('x', 'webasm', new Set(['CPUKernel (fallback: no wasm)']))).toThrow(/fell back/);
    expect(() => checkExecuted('x', 'async', new Set())).toThrow(/no gpu.js kernel ran/);
    expect(checkExecuted('x', 'webasm', new Set(['WebAssemblyKernel']))).toBe('WebAssemblyKernel');
  });
});

describe('end to end', () => {
  it('trains and infers both tiny models, TF.js agreeing with the engine', async () => {
    const lines: string[] = [];
    const e2e = await runEndToEnd({
      models: ['cnn', 'vit'],
      presets: { cnn: 'tiny-cnn', vit: 'tiny-vit' },
      trainPresets: ['tiny-cnn'],
      modes: ['webasm'],
      tfBackends: ['cpu'],
      inferBatches: [1, 4],
      trainBatch: 4,
      weightsDir: '/nonexistent',
      ...opts,
      log: (l) => lines.push(l),
    });
    // per model: a training step; at each batch the plan and the op-by-op pass; TF.js at each batch
    expect(e2e).toHaveLength(2 * (1 + 2 * 2 + 2) + 1);
    for (const r of e2e) {
      expect(r.imagesPerSecond).toBeGreaterThan(0);
      expect(r.note).toBeUndefined();
      expect(r.weights).toBe('random init');
    }
    const train = e2e.find((r) => r.task === 'train')!;
    expect(train.breakdown!.reduce((s, k) => s + k.share, 0)).toBeCloseTo(1, 6);
    // a training-only preset gets its row, with the effective GFLOP/s of forward + both gradients
    const extra = e2e[e2e.length - 1];
    expect(extra).toMatchObject({ task: 'train', model: 'tiny-cnn', impl: 'webasm' });
    const flops = buildModel(loadPreset('tiny-cnn').model, 0).flopsPerImage;
    expect(extra.gflops).toBeCloseTo((3 * flops * extra.imagesPerSecond) / 1e9, 9);
    for (const plan of e2e.filter((r) => r.task === 'infer' && r.impl === 'webasm')) {
      const opByOp = e2e.find((r) => r.model === plan.model && r.batch === plan.batch && r.impl === 'webasm op-by-op')!;
      expect(plan.kernelCalls).toBeGreaterThan(0);
      expect(plan.warmMs).toBeGreaterThan(0);
      expect(plan.kernelCalls).toBeLessThan(opByOp.kernelCalls!);
      expect(plan.breakdown!.reduce((s, k) => s + k.share, 0)).toBeCloseTo(1, 6);
    }
    const res: BenchResults = { info: testInfo(), kernels: [], e2e };
    expect(markdown(res)).toContain('### Where a training step');
    expect(markdown(res)).toMatch(/inference plan on `webasm`, batch 1: \d+ kernel calls \(op by op: \d+\), [\d.]+ (µs|ms) a call while profiled; its warm-up \(every kernel compiled on (one thread|\d threads)\) took [\d.]+ (ms|s)/);
    expect(e2eChart(e2e, 'test')).toContain('</svg>');
  });

  /** The tiny CNN, trained and inferred on webasm, with the given rows left out. */
  const tinyRows = (tfBackends: TfBackend[], only: { inferOnlyRows?: boolean; trainOnlyRows?: boolean }): ReturnType<typeof runEndToEnd> =>
    runEndToEnd({ models: ['cnn'], presets: { cnn: 'tiny-cnn' }, trainPresets: ['tiny-cnn'], modes: ['webasm'], tfBackends, inferBatches: [1], weightsDir: '/nonexistent', ...opts, ...only });

  it('runs only the inference rows when asked', async () => {
    const e2e = await tinyRows([], { inferOnlyRows: true });
    expect(e2e.map((r) => `${r.task} ${r.impl}`)).toEqual(['infer webasm', 'infer webasm op-by-op']);
  });

  it('runs only the training rows when asked, each with its kernels vs host', async () => {
    const e2e = await tinyRows(['cpu'], { trainOnlyRows: true });
    expect(e2e.map((r) => `${r.task} ${r.model} ${r.impl}`)).toEqual(['train cnn webasm', 'train tiny-cnn webasm']);
    const table = breakdownTable(e2e);
    for (const model of ['cnn', 'tiny-cnn']) expect(table).toContain(`**${model}**, training step`);
    expect(table).toMatch(/\| \*\*kernels, all \d+\*\* \| [\d.]+ \| [\d.]+% \|/);
    expect(table).toContain('(host: tape, optimizer, copies)');
  });
});
