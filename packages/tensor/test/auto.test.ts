import gpujs from 'gpu.js';
import { describe, expect, it } from 'vitest';
import { candidateModes, chooseMode, createBackend, describeChoice } from '../src/auto.js';

describe('auto: the fastest mode that is correct here', () => {
  it('times every candidate on a probe checked against the reference and keeps the fastest', async () => {
    const choice = await chooseMode({ candidates: ['webasm', 'async'], poolSize: 2, repeats: 3 });
    expect(choice.trials.map((t) => t.mode)).toEqual(['webasm', 'async']);
    for (const t of choice.trials) {
      expect(t.error).toBeUndefined();
      expect(t.kernel).toBe('WebAssemblyKernel');
      expect(t.ms).toBeGreaterThan(0);
      expect(t.gflops).toBeGreaterThan(0);
    }
    const fastest = choice.trials.reduce((a, b) => (b.ms! < a.ms! ? b : a));
    expect(choice.mode).toBe(fastest.mode);
    expect(describeChoice(choice)).toContain(`${choice.mode}: `);
  });

  it('never picks a mode that fails here; gpu.js cpu is the last resort', async () => {
    // webgl2 needs a browser: in Node gpu.js refuses it, and the choice must say why
    const choice = await chooseMode({ candidates: ['webgl2'], workload: 'inference' });
    expect(choice.trials[0]).toMatchObject({ mode: 'webgl2' });
    expect(choice.trials[0].error).toMatch(/webgl2/i);
    expect(choice.mode).toBe('cpu');
    expect(choice.trials[1]).toMatchObject({ mode: 'cpu', kernel: 'CPUKernel' });
  });

  it('offers WebAssembly modes in Node, and headlessgl only where gl is built', () => {
    const modes = candidateModes();
    expect(modes.slice(-2)).toEqual(['async', 'webasm']);
    expect(modes.includes('headlessgl')).toBe(gpujs.GPU.isHeadlessGLSupported);
    expect(modes).not.toContain('cpu');
  });

  it('createBackend returns a Backend in the chosen mode, or in the mode asked for', async () => {
    const auto = await createBackend('auto', { workload: 'inference', poolSize: 2, repeats: 2 });
    expect(['async', 'webasm', 'headlessgl']).toContain(auto.backend.mode);
    expect(auto.choice?.mode).toBe(auto.backend.mode);
    auto.backend.destroy();
    const fixed = await createBackend('webasm');
    expect(fixed.backend.mode).toBe('webasm');
    expect(fixed.choice).toBeUndefined();
    fixed.backend.destroy();
  });
});
