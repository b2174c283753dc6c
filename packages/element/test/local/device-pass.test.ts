/**
 * The forward pass on the device, in headless Chromium on webgpu and webgl2 (both SwiftShader):
 * LocalModels gives the host inference plan's digits, logits and probabilities for both models,
 * and a prediction reads back only the logits (one read of CHUNK × 10 floats per chunk and model),
 * which the page counts at GPUBuffer.mapAsync and WebGL2RenderingContext.readPixels.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPlan, loadClassifier, loadMnist, type Classifier } from '@digitlab/models';
import { Backend } from '@digitlab/tensor';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLocalText } from '../../scripts/build-local.ts';
import { CHUNK } from '../../src/local/engine.ts';
import { launchBrowser, watchErrors, type Browser } from '../../src/testing/index.ts';
import type { DevicePassResult } from './device-page.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const WEIGHTS = join(HERE, '..', '..', '..', '..', 'weights');
/** Secure (WebGPU needs one), and routed: never on the network. */
const ORIGIN = 'http://127.0.0.1:9';
/** Two chunks, the second padded. */
const COUNT = CHUNK + 9;
const CHUNKS = Math.ceil(COUNT / CHUNK);
/** The kernels' tolerance against their float64 references (checkOp's default). */
const TOLERANCE = 1e-4;
/** SwiftShader compiles every kernel's shader on the CPU, beside whatever else the machine runs. */
const LOAD_TIMEOUT_MS = 900_000;

const MODELS = ['cnn', 'vit'] as const;
/** The modes the device pass runs on, and the gpu.js kernel class each must run on. */
const DEVICES = { webgpu: 'WebGPUKernel', webgl2: 'WebGL2Kernel' } as const;

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function worstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe.each(Object.entries(DEVICES))('the forward pass on the device (%s in Chromium)', (mode, kernelClass) => {
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let result: DevicePassResult;
  const images = loadMnist('test').images.slice(0, COUNT * 784);
  const want: Record<string, { logits: Float32Array; probabilities: Float32Array }> = {};

  beforeAll(async () => {
    const be = new Backend('webasm');
    for (const name of MODELS) {
      const reference: Classifier = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm' });
      const plan = buildPlan(reference.model, be);
      want[name] = { logits: plan.run(images, COUNT), probabilities: await reference.predict(images, COUNT) };
      plan.destroy();
      reference.close();
    }
    be.destroy();

    const code = await bundleLocalText(join(HERE, 'device-page.ts'));
    browser = await launchBrowser({ gpu: true });
    page = await browser.context.newPage();
    errors = watchErrors(page);
    await page.route(`${ORIGIN}/**`, (route) => {
      const path = new URL(route.request().url()).pathname;
      const model = /^\/models\/(cnn|vit)\/(card|weights)$/.exec(path);
      if (model) {
        const file = join(WEIGHTS, `${model[1]}.${model[2] === 'card' ? 'json' : 'safetensors'}`);
        return route.fulfill({ status: 200, contentType: model[2] === 'card' ? 'application/json' : 'application/octet-stream', body: readFileSync(file) });
      }
      if (path === '/images') return route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from(images.buffer, images.byteOffset, images.byteLength) });
      if (path === '/page.js') return route.fulfill({ status: 200, contentType: 'text/javascript', body: code });
      if (path === '/') return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: '<!doctype html><title>device pass</title><script type="module" src="/page.js"></script>' });
      return route.fulfill({ status: 404, body: 'not found' });
    });
    await page.goto(`${ORIGIN}/`);
    await page.waitForFunction(() => 'devicePass' in globalThis);
    result = await page.evaluate(
      ([m, count]) => (globalThis as unknown as { devicePass(mode: string, n: number): Promise<DevicePassResult> }).devicePass(m, count),
      [mode, COUNT] as const,
    );
  }, 2 * LOAD_TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close();
  });

  it(`gives the host inference plan's digits, logits and probabilities for both models, on ${kernelClass}`, () => {
    expect(result.kernels).toEqual({ classes: [kernelClass], expected: true });
    for (const name of MODELS) {
      const got = result.logits[name];
      expect(worstDifference(got, want[name].logits), `${name} logits`).toBeLessThanOrEqual(TOLERANCE);
      expect(worstDifference(result.probabilities[name], want[name].probabilities), `${name} probabilities`).toBeLessThanOrEqual(TOLERANCE);
      for (let i = 0; i < COUNT; i++) {
        expect(argmax(got.slice(i * 10, i * 10 + 10)), `${name} image ${i}`).toBe(argmax(want[name].logits.subarray(i * 10, i * 10 + 10)));
      }
    }
    expect(errors).toEqual([]);
  });

  it('answers two calls at once on one plan each with its own images', () => {
    const { all, tail } = result.overlapping;
    expect(all).toEqual(result.logits.vit);
    expect(tail).toEqual(result.logits.vit.slice(CHUNK * 10));
  });

  it('reads back only the logits: one read of CHUNK × 10 floats per chunk and model', () => {
    const perCall = { reads: CHUNKS, bytes: CHUNKS * CHUNK * 10 * 4 };
    // logitsOf: each model once; predict: both models
    expect(result.logitReads).toEqual({ reads: MODELS.length * perCall.reads, bytes: MODELS.length * perCall.bytes });
    expect(result.predictReads).toEqual({ reads: MODELS.length * perCall.reads, bytes: MODELS.length * perCall.bytes });
    // the plans' own count, since loading (its one-image check, then the two calls above): every read one chunk's logits
    expect(result.deviceReads.reads).toBe(MODELS.length * (1 + 2 * CHUNKS));
    expect(result.deviceReads.values).toBe(result.deviceReads.reads * CHUNK * 10);
  });
});
