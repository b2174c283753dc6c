// The web component imports this package: it must bundle for the browser and run without Node's globals.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { formatDigitCsv, PIXELS, type ParsedDigits } from '../src/index.js';

const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

interface BundleApi {
  parseDigitCsv(text: string): ParsedDigits;
}

describe('browser bundle', () => {
  it('bundles with esbuild for the browser and parses in a context without Node globals', async () => {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'iife',
      globalName: 'digitCsv',
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0].text;
    expect(code).not.toMatch(/require\(["']node:/);

    // A bare context: no require, process, Buffer or global; only what a browser page has that we need.
    const sandbox: Record<string, unknown> = { TextDecoder, TextEncoder, console };
    sandbox.self = sandbox;
    sandbox.window = sandbox;
    vm.createContext(sandbox);
    vm.runInContext(code, sandbox);
    const api = sandbox.digitCsv as BundleApi;
    const images = new Float32Array(2 * PIXELS).map((_, i) => (i % 256) / 255);
    const parsed = api.parseDigitCsv(formatDigitCsv(images, 2, [4, 2]));
    expect(parsed.count).toBe(2);
    expect(parsed.labels).toEqual([4, 2]);
    expect(parsed.images[300]).toBeCloseTo(images[300], 6);
  });

  it('also bundles as an ES module', async () => {
    const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    expect(result.outputFiles[0].text).toContain('parseDigitCsv');
  });
});
