/**
 * <digit-classifier mode="local"> end to end: the real server with the shipped weights hands out
 * the cards and weights, and the element runs both models in headless Chromium, on webasm,
 * webgl2 and webgpu in turn (both GPU modes on SwiftShader). Every answer must be the server's
 * (same digits, probabilities within 1e-4) with no request to /predict, the event must name the
 * backend that ran, and it must go on answering after the server is stopped. Then `auto`: the
 * server answers when the weights cannot be had, and `local` refuses weights that are not the
 * card's.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocatedResponse } from '@digitlab/element';
import { buildElement, elementPage, launchBrowser, mnistCsv, mnistTestSamples, recordedEvents, watchErrors, type Browser } from '@digitlab/element/testing';
import { buildServer } from '@digitlab/server';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** As in element.test.ts: the committed screenshots are replaced only with UPDATE_SCREENSHOTS=1. */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'packages/element/screenshots') : mkdtempSync(join(tmpdir(), 'digitlab-screenshots-'));
const IMAGES = 100;
const TOLERANCE = 1e-4;
const KERNEL_CLASS = { webasm: 'WebAssemblyKernel', webgl2: 'WebGL2Kernel', webgpu: 'WebGPUKernel' } as const;
/** SwiftShader compiles the GPU modes' shaders on the CPU: loading and the first answers take minutes on a busy machine. */
const LOAD_TIMEOUT_MS = 900_000;

const page = (markup: string): string => elementPage('digit-classifier local e2e', markup);

type Recorded = { type: 'prediction'; detail: LocatedResponse } | { type: 'error'; detail: { message: string; code?: string } };
type ServerAnswer = { predictions: Array<{ cnn: { digit: number; probabilities: number[] }; vit: { digit: number; probabilities: number[] } }> };

const samples = mnistTestSamples(IMAGES);
const csv = mnistCsv(samples);
let browser: Browser;

interface Served {
  base: string;
  close(): Promise<void>;
}

async function serve(): Promise<Served> {
  const server = await buildServer({ logger: false, warm: false, requestTimeoutMs: 300_000 });
  await server.listen({ host: '127.0.0.1', port: 0 });
  return { base: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** The server's own answers for the CSV, asked from Node (not through the page). */
async function serverAnswers(base: string): Promise<ServerAnswer> {
  const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
  expect(response.status).toBe(200);
  return (await response.json()) as ServerAnswer;
}

/** Opens `markup` on the server's origin; every request to /predict from the page or its workers is counted and refused. */
async function open(base: string, markup: string, name: string): Promise<{ page: Page; predictRequests: string[]; errors: string[] }> {
  const predictRequests: string[] = [];
  await browser.context.route(`${base}/${name}.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: page(markup) }));
  await browser.context.route(`${base}/predict**`, (route) => {
    predictRequests.push(route.request().url());
    return route.abort('blockedbyclient');
  });
  const p = await browser.context.newPage();
  const errors = watchErrors(p);
  await p.goto(`${base}/${name}.html`);
  await p.locator('digit-classifier [part~="canvas"]').waitFor();
  return { page: p, predictRequests, errors };
}

async function classify(p: Page, name: string): Promise<void> {
  // not awaited in the page: the answer comes as the `prediction` event, and the page can be looked at meanwhile
  await p.locator('digit-classifier').evaluate((el, args) => {
    void (el as unknown as { classifyCsv(t: string, n: string): Promise<unknown> }).classifyCsv(args.csv, args.name);
  }, { csv, name });
}

const events = (p: Page) => recordedEvents<Recorded>(p);

async function lastPrediction(p: Page, count: number): Promise<LocatedResponse> {
  await expect.poll(async () => (await events(p)).length, { timeout: LOAD_TIMEOUT_MS, interval: 500 }).toBeGreaterThanOrEqual(count);
  const all = await events(p);
  const last = all[all.length - 1]!;
  if (last.type !== 'prediction') throw new Error(`the element reported an error: ${last.detail.message}`);
  return last.detail;
}

function expectSameAnswers(got: LocatedResponse, want: ServerAnswer): void {
  expect(got.predictions).toHaveLength(IMAGES);
  let worst = 0;
  got.predictions.forEach((p, i) => {
    for (const model of ['cnn', 'vit'] as const) {
      const mine = p[model]!;
      const theirs = want.predictions[i]![model];
      expect(mine.digit, `${model} on image ${i}`).toBe(theirs.digit);
      mine.probabilities.forEach((v, d) => (worst = Math.max(worst, Math.abs(v - theirs.probabilities[d]!))));
    }
  });
  expect(worst).toBeLessThanOrEqual(TOLERANCE);
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await buildElement(); // never test a stale bundle: dist/element.js and dist/element-local.js
  browser = await launchBrowser({ gpu: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

describe('<digit-classifier mode="local">', () => {
  for (const backend of ['webasm', 'webgl2', 'webgpu'] as const) {
    it(
      `on ${backend}: the server's answers for ${IMAGES} test images, no request to /predict, and the same once the server is gone`,
      async () => {
        const server = await serve();
        let stopped = false;
        try {
          const want = await serverAnswers(server.base);
          const { page: p, predictRequests, errors } = await open(server.base, `<digit-classifier mode="local" backend="${backend}"></digit-classifier>`, `local-${backend}`);
          await classify(p, 'first-100.csv');
          if (backend === 'webasm') {
            // while the models load into the page the element says so (webasm loads in seconds: look at once)
            await p.screenshot({ path: join(SCREENSHOTS, 'desktop-local-mode-loading.png') });
          }
          const first = await lastPrediction(p, 1);
          expect({ where: first.where, backend: first.backend, kernelClass: first.kernelClass, checked: first.checked }).toEqual({
            where: 'local',
            backend,
            kernelClass: KERNEL_CLASS[backend],
            checked: true,
          });
          expectSameAnswers(first, want);
          const words = { webasm: 'WebAssembly', webgl2: 'WebGL2', webgpu: 'WebGPU' }[backend];
          await expect.poll(() => p.locator('digit-classifier [part~="provenance"]').textContent()).toBe(`ran in this browser on ${words}, checked`);
          if (backend === 'webasm') {
            for (const [name, size] of [['desktop', { width: 1100, height: 900 }], ['phone', { width: 375, height: 812 }]] as const) {
              await p.setViewportSize(size);
              await p.waitForTimeout(150);
              await p.screenshot({ path: join(SCREENSHOTS, `${name}-local-mode.png`), fullPage: true });
            }
            await p.setViewportSize({ width: 1100, height: 900 });
          }

          await server.close();
          stopped = true;
          await classify(p, 'again.csv');
          const again = await lastPrediction(p, 2);
          expect(again.backend).toBe(backend);
          expectSameAnswers(again, want);
          expect(predictRequests).toEqual([]);
          expect(errors.filter((e) => !e.includes('GPU stall'))).toEqual([]);
          await p.close();
        } finally {
          if (!stopped) await server.close();
        }
      },
      2 * LOAD_TIMEOUT_MS,
    );
  }
});

describe('<digit-classifier> when local cannot run', () => {
  let server: Served;
  beforeAll(async () => {
    server = await serve();
  }, 300_000);
  afterAll(async () => {
    await server?.close();
  });

  it('auto asks the server when the weights cannot be had, and says so', async () => {
    await browser.context.route(`${server.base}/models/*/weights`, (route) => route.fulfill({ status: 404, body: 'gone' }));
    const predictRequests: Request[] = [];
    const p = await browser.context.newPage();
    await browser.context.route(`${server.base}/auto.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: page('<digit-classifier></digit-classifier>') }));
    p.on('request', (r) => {
      if (r.url().endsWith('/predict')) predictRequests.push(r);
    });
    await p.goto(`${server.base}/auto.html`);
    await p.locator('digit-classifier [part~="canvas"]').waitFor();
    // the engine's load fails first (its weights answer 404); then a request goes to the server
    await p.waitForTimeout(2000);
    await classify(p, 'first-100.csv');
    const answer = await lastPrediction(p, 1);
    expect(answer.where).toBe('server');
    expect(answer.backend).toBeNull();
    expectSameAnswers(answer, await serverAnswers(server.base));
    expect(predictRequests.length).toBe(1);
    await expect.poll(() => p.locator('digit-classifier [part~="provenance"]').textContent()).toBe('answered by the server');
    await p.close();
    await browser.context.unroute(`${server.base}/models/*/weights`);
  }, 300_000);

  it('local refuses weights that are not the ones the card states, in words', async () => {
    await browser.context.route(`${server.base}/models/cnn/weights`, async (route) => {
      const real = await route.fetch();
      const body = Buffer.from(await real.body());
      body[body.length - 1] ^= 1; // one bit of one weight
      return route.fulfill({ response: real, body });
    });
    const { page: p, predictRequests } = await open(server.base, '<digit-classifier mode="local"></digit-classifier>', 'tampered');
    await classify(p, 'first-100.csv');
    await expect.poll(async () => (await events(p)).length, { timeout: 120_000 }).toBe(1);
    const [event] = await events(p);
    if (event?.type !== 'error') throw new Error(`expected an error event, got ${JSON.stringify(event).slice(0, 200)}`);
    expect(event.detail.message).toMatch(/cnn's weights have sha256 [0-9a-f]{64}, but its card states/);
    expect(await p.locator('digit-classifier [part~="error"]').textContent()).toContain('The models could not run in this browser.');
    expect(predictRequests).toEqual([]);
    await p.close();
    await browser.context.unroute(`${server.base}/models/cnn/weights`);
  }, 300_000);
});
