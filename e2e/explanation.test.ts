/**
 * The "Why" view of <digit-classifier> end to end: the real server (real weights, explanations
 * compiled at start-up, by workers of their own) on a loopback port, Debian's headless chromium drawing and uploading.
 * The maps the element shows are the server's maps of the image it sent, and the layer over the
 * preview is drawn from them. Screenshots go to packages/element/screenshots/ with
 * UPDATE_SCREENSHOTS=1, else to a scratch folder.
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImagePrediction, PredictResponse } from '@digitlab/element';
import { SEVEN_STROKE, buildElement, drawWithMouse, elementPage, launchBrowser, mnistCsv, mnistTestSamples, recordedEvents, watchErrors, type Browser, type RecordedEvent } from '@digitlab/element/testing';
import { buildServer } from '@digitlab/server';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'packages/element/screenshots') : mkdtempSync(join(tmpdir(), 'digitlab-screenshots-'));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const EL = 'digit-classifier';
const part = (name: string) => `${EL} [part~="${name}"]`;
const choice = (view: string) => `${part('explain-choice')}[data-view="${view}"]`;

const TEST_PAGE = elementPage('digit-classifier explanations', '<digit-classifier mode="server" endpoint="/predict"></digit-classifier>');
/** The same element computing its answers, and its maps, in the page. */
const LOCAL_PAGE = elementPage('digit-classifier local explanations', '<digit-classifier mode="local" backend="webasm" endpoint="/predict"></digit-classifier>');

let base: string;
let browser: Browser;
let closeServer: () => Promise<void>;
let page: Page;
let pageErrors: string[];
let sent: Request[];

beforeAll(async () => {
  await buildElement();
  const server = await buildServer({ logger: false });
  await server.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  closeServer = () => server.close();
  browser = await launchBrowser();
  await browser.context.route(`${base}/e2e.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: TEST_PAGE }));
  await browser.context.route(`${base}/local.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: LOCAL_PAGE }));
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await closeServer?.();
});

beforeEach(async () => {
  page = await browser.context.newPage();
  pageErrors = watchErrors(page);
  sent = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname === '/predict') sent.push(r);
  });
  await page.setViewportSize(DESKTOP);
  await page.goto(`${base}/e2e.html`);
  await page.locator(part('canvas')).waitFor();
  return () => page.close();
});

const answers = async (): Promise<PredictResponse[]> =>
  (await recordedEvents<RecordedEvent<PredictResponse>>(page)).filter((e) => e.type === 'prediction').map((e) => e.detail);

/** Alpha of each of the 784 pixels of the layer over the preview, read back from its PNG in the page. */
function layerAlpha(): Promise<number[]> {
  return page.locator(part('explanation')).evaluate(async (img: HTMLImageElement) => {
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = 28;
    canvas.height = 28;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    const data = ctx.getImageData(0, 0, 28, 28).data;
    return Array.from({ length: 784 }, (_, i) => data[4 * i + 3]);
  });
}

/** The layer shown for `view` is drawn from that model's map: the stronger a pixel's weight, the more opaque (never less), clear where it is zero. */
async function expectLayerOf(view: 'cnn' | 'vit', map: readonly number[]): Promise<void> {
  await page.locator(choice(view)).click();
  await expect.poll(() => page.locator(part('explanation')).getAttribute('data-view')).toBe(view);
  await expect.poll(() => page.locator(choice(view)).getAttribute('aria-pressed')).toBe('true');
  const alpha = await layerAlpha();
  const byWeight = [...map.keys()].sort((a, b) => map[a] - map[b]);
  for (let k = 1; k < byWeight.length; k++) expect(alpha[byWeight[k]], `pixel ${byWeight[k]}`).toBeGreaterThanOrEqual(alpha[byWeight[k - 1]]);
  expect(new Set(alpha).size).toBeGreaterThan(5);
  map.forEach((w, i) => {
    if (w === 0) expect(alpha[i], `pixel ${i}`).toBe(0);
  });
  expect(Math.max(...alpha)).toBeGreaterThan(150);
}

describe('the "Why" view against the real server', () => {
  it("lays each model's map of a drawing, as the server computed it, over the preview, and switches between them", async () => {
    await drawWithMouse(page, part('canvas'), SEVEN_STROKE);
    await expect.poll(async () => (await answers()).length, { timeout: 120_000 }).toBe(1);
    const [answer] = await answers();
    const p: ImagePrediction = answer.predictions[0];
    expect([p.cnn?.digit, p.vit?.digit]).toEqual([7, 7]);

    // The drawing was sent with ?explain=1, and the maps are the server's maps of that very image.
    expect(sent).toHaveLength(1);
    expect(new URL(sent[0].url()).searchParams.get('explain')).toBe('1');
    const again = await fetch(`${base}/predict?explain=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: sent[0].postData()! });
    const direct = ((await again.json()) as PredictResponse).predictions[0];
    expect(p.explanation).toEqual(direct.explanation);
    const { cnn, vit } = p.explanation!;
    expect(cnn!.kind).toBe('saliency');
    expect(vit!.kind).toBe('attention');
    expect(cnn!.map).toHaveLength(784);
    expect(cnn!.map).not.toEqual(vit!.map);

    // Off until asked; then each model's map, then off again.
    await expect.poll(() => page.locator(choice('off')).getAttribute('aria-pressed')).toBe('true');
    expect(await page.locator(part('explanation')).count()).toBe(0);
    await expectLayerOf('cnn', cnn!.map);
    await expect.poll(() => page.locator(`${EL} .explain-caption`).textContent()).toMatch(/CNN/);
    await page.screenshot({ path: join(SCREENSHOTS, 'desktop-explain-cnn.png'), fullPage: true });
    await expectLayerOf('vit', vit!.map);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(150); // let the container query settle
    await page.screenshot({ path: join(SCREENSHOTS, 'phone-explain-vit.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    await page.locator(choice('off')).click();
    await expect.poll(() => page.locator(part('explanation')).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('explains an uploaded one-image file; a larger file is answered without maps and says so', async () => {
    const [seven, two, one] = mnistTestSamples(3);
    await page.locator(`${EL} input[type=file]`).setInputFiles({ name: 'one.csv', mimeType: 'text/csv', buffer: Buffer.from(mnistCsv([two])) });
    await expect.poll(async () => (await answers()).length, { timeout: 120_000 }).toBe(1);
    expect(new URL(sent[0].url()).searchParams.get('explain')).toBe('1');
    const explained = (await answers())[0].predictions[0];
    expect(explained.vit?.digit).toBe(2);
    await expectLayerOf('vit', explained.explanation!.vit!.map);

    await page.locator(`${EL} input[type=file]`).setInputFiles({ name: 'three.csv', mimeType: 'text/csv', buffer: Buffer.from(mnistCsv([seven, two, one])) });
    await expect.poll(async () => (await answers()).length, { timeout: 120_000 }).toBe(2);
    expect(new URL(sent[1].url()).searchParams.has('explain')).toBe(false);
    expect((await answers())[1].predictions[0].explanation).toBeUndefined();
    await expect.poll(() => page.locator(choice('cnn')).isDisabled()).toBe(true);
    await expect.poll(() => page.locator(`${EL} .explain-caption`).textContent()).toMatch(/one-image file/);
    expect(await page.locator(part('explanation')).count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('in local mode computes the maps in the page as well, with no request to /predict', async () => {
    await page.goto(`${base}/local.html`);
    await page.locator(part('canvas')).waitFor();
    await drawWithMouse(page, part('canvas'), SEVEN_STROKE);
    await expect.poll(async () => (await answers()).length, { timeout: 600_000, interval: 500 }).toBe(1);
    const [answer] = (await answers()) as Array<PredictResponse & { where?: string; backend?: string }>;
    expect([answer.where, answer.backend]).toEqual(['local', 'webasm']);
    const { cnn, vit } = answer.predictions[0].explanation!;
    expect([cnn!.kind, vit!.kind]).toEqual(['saliency', 'attention']);
    expect(Math.max(...cnn!.map)).toBe(1);
    await page.setViewportSize(DESKTOP);
    await expectLayerOf('cnn', cnn!.map);
    await expect.poll(() => page.locator(part('provenance')).textContent()).toMatch(/in this browser on WebAssembly, checked/);
    await page.screenshot({ path: join(SCREENSHOTS, 'desktop-local-explain-cnn.png'), fullPage: true });
    await expectLayerOf('vit', vit!.map);
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(150); // let the container query settle
    await page.screenshot({ path: join(SCREENSHOTS, 'phone-local-explain-vit.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(sent).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 900_000);
});
