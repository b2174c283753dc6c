// The browser leg on a small slice (a matmul and a softmax, tiny shapes, webgl2 and webasm, and
// webgpu where Chromium finds an adapter, which it does here on SwiftShader): the
// bundle builds, Chromium starts with its flags, the page runs the engine's kernels, checks them
// against the float64 reference and names the kernel class, and the report renders. Keeps
// `pnpm bench:browser` from rotting between runs. Skips only where /usr/bin/chromium is absent.
import { EXPECTED_KERNEL } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_FLAGS, chromiumPresent } from '../browser/chromium.js';
import { runBrowserSuite } from '../browser/driver.js';
import { browserMarkdown, type BrowserResults } from '../browser/report.js';
import { presetShapes } from '../src/shapes.js';
import { TINY } from '../src/timing.js';

const present = chromiumPresent();
if (!present) console.warn(`bench/test/browser.test.ts skipped: ${CHROMIUM} is absent (scripts/setup.sh installs it)`);

describe.skipIf(!present)(`browser leg${present ? '' : ` (skipped: ${CHROMIUM} is absent)`}`, () => {
  it('validates and times a matmul and a softmax on webgl2, webasm and webgpu in headless Chromium', async () => {
    const limits = { firstCallTimeoutMs: 30_000, timingTimeoutMs: 30_000, referenceTimeoutMs: 30_000 };
    const suite = await runBrowserSuite({
      shapes: presetShapes('tiny-cnn', 'tiny-vit', 4),
      modes: ['webgl2', 'webasm', 'webgpu'],
      only: /^(cnn\/dense1 forward|vit\/softmax forward)$/,
      measure: TINY,
      slowCallMs: 5000,
      ...limits,
    });
    expect(suite.probes.map((p) => [p.mode, p.available])).toEqual([['webgl2', true], ['webasm', true], ['webgpu', expect.any(Boolean)]]);
    expect(suite.page.crossOriginIsolated).toBe(true);
    expect(suite.kernels).toHaveLength(6);
    // WebGPU is a bonus where the machine's Chromium has no adapter: then it must say so, not fail
    const webgpu = suite.probes.find((p) => p.mode === 'webgpu')!;
    if (!webgpu.available) console.warn(`webgpu unavailable in this Chromium: ${webgpu.detail}`);
    for (const r of suite.kernels.filter((k) => k.mode === 'webgpu' && !webgpu.available)) expect(r.status).toBe('unavailable');
    for (const r of suite.kernels.filter((k) => k.mode !== 'webgpu' || webgpu.available)) {
      expect(r.status, `${r.id} on ${r.mode}: ${r.note ?? ''}`).toBe('ok');
      expect(r.ran).toBe(EXPECTED_KERNEL[r.mode]);
      expect(r.maxError!).toBeLessThanOrEqual(1e-4);
      expect(r.timing!.medianMs).toBeGreaterThan(0);
    }
    expect(suite.kernels.find((r) => r.id === 'cnn/dense1 forward')!.gflops).toBeGreaterThan(0);

    const res: BrowserResults = {
      info: {
        run: 'test', date: new Date().toISOString(), commit: 'test', seconds: 0,
        machine: { cpu: 'test', cores: 2, os: 'test', node: process.versions.node }, load: { start: 0, end: 0 },
        chromium: 'test', flags: CHROMIUM_FLAGS, page: suite.page, versions: {}, shapes: 'tiny', modes: ['webgl2', 'webasm', 'webgpu'],
        measure: TINY, slowCallMs: 5000, limits, bundleBytes: suite.bundleBytes,
      },
      probes: suite.probes,
      kernels: suite.kernels,
    };
    const md = browserMarkdown(res);
    expect(md).toMatch(/\| vit\/softmax forward \| x\[\d+,\d+\] \| [\d.]+ (ms|µs) ±\d+% \| [\d.]+ (ms|µs) ±\d+% \| /);
    expect(md).toContain('| webgl2 | ANGLE');
    expect(md).not.toContain('## Not ok');
  });
});
