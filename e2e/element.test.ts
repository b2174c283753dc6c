/**
 * <digit-classifier> end to end: the bundle built fresh, the REAL server (real weights) on a
 * loopback port, and Debian's headless chromium clicking, drawing and uploading like a person.
 * Screenshots are taken on every run; they replace the committed ones in
 * packages/element/screenshots/ only with UPDATE_SCREENSHOTS=1 (look at them after a change to
 * the looks), so a test run leaves the working tree clean.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DigitClassifier, ImagePrediction, ModelAnswer, PredictResponse } from '@digitlab/element';
import { SEVEN_STROKE, buildElement, drawWithMouse, elementPage, launchBrowser, mnistCsv, mnistTestSamples, recordedEvents, watchErrors, type Browser } from '@digitlab/element/testing';
import { buildServer } from '@digitlab/server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'packages/element/screenshots') : mkdtempSync(join(tmpdir(), 'digitlab-screenshots-'));
const DESKTOP = { width: 1100, height: 900 };
const PHONE = { width: 375, height: 812 };
/** The server's image limit in these tests: a whole file goes in batches of this many, and one more image is refused. */
const SERVER_MAX_IMAGES = 1000;

/** The page the tests open: the element alone, as an embedding site would use it. */
const TEST_PAGE = elementPage('digit-classifier e2e', '<digit-classifier mode="server" endpoint="/predict"></digit-classifier>');

type Recorded = { type: 'prediction'; detail: PredictResponse } | { type: 'error'; detail: { message: string; code?: string; status?: number } };

const EL = 'digit-classifier';
const part = (name: string) => `${EL} [part~="${name}"]`;

let base: string;
let browser: Browser;
let closeServer: () => Promise<void>;

beforeAll(async () => {
  await buildElement(); // never test a stale bundle
  const server = await buildServer({ logger: false, maxImages: SERVER_MAX_IMAGES, fileMaxRows: SERVER_MAX_IMAGES });
  await server.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  closeServer = () => server.close();
  browser = await launchBrowser();
  await browser.context.route(`${base}/e2e.html`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: TEST_PAGE }),
  );
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await closeServer?.();
});

let page: Page;
let pageErrors: string[];

beforeEach(async () => {
  page = await browser.context.newPage();
  pageErrors = watchErrors(page);
  await page.setViewportSize(DESKTOP);
  await page.goto(`${base}/e2e.html`);
  await page.locator(part('canvas')).waitFor();
  return async () => {
    await page.close();
  };
});

/** Both models' answers; the real server with the shipped weights has both. */
function both(p: ImagePrediction): { cnn: ModelAnswer; vit: ModelAnswer } {
  if (!p.cnn || !p.vit) throw new Error(`the server answered without the ${p.cnn ? 'ViT' : 'CNN'}: are both models shipped in weights/?`);
  return { cnn: p.cnn, vit: p.vit };
}

const events = () => recordedEvents<Recorded>(page);

async function upload(name: string, text: string): Promise<void> {
  // A whole test set is 18 MB to hand to the browser: allow it the time a busy machine needs.
  await page.locator(`${EL} input[type=file]`).setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) }, { timeout: 180_000 });
}

async function shoot(name: string, size: { width: number; height: number }): Promise<void> {
  await page.setViewportSize(size);
  await page.waitForTimeout(150); // let the container query and the pad's ResizeObserver settle
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  // Nothing sticks out sideways, at phone width included.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(size.width);
}

describe('<digit-classifier> against the real server', () => {
  it('shows the right digits for a CSV of real MNIST test images, and fires `prediction`', async () => {
    const samples = mnistTestSamples(20);
    const predictRequests: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/predict')) predictRequests.push(r.headers()['content-type'] ?? '');
    });
    await upload('mnist-test-first-20.csv', mnistCsv(samples));
    await expect.poll(async () => (await events()).length, { timeout: 60_000 }).toBe(1);

    // The event carries the /predict response, one prediction per image.
    const [event] = await events();
    expect(event.type).toBe('prediction');
    const response = (event as Extract<Recorded, { type: 'prediction' }>).detail;
    expect(response.predictions).toHaveLength(20);
    expect(predictRequests).toEqual(['text/csv']);

    // Every thumbnail shows both models' digits, the same as the server said.
    const thumbs = page.locator(part('thumbnail'));
    await expect.poll(() => thumbs.count()).toBe(20);
    const shown = await thumbs.evaluateAll((buttons) => buttons.map((b) => b.getAttribute('aria-label')));
    const answers = response.predictions.map(both);
    answers.forEach(({ cnn, vit }, i) => {
      expect(shown[i]).toBe(`Image ${i + 1}: CNN ${cnn.digit}, ViT ${vit.digit}, label ${samples[i].label}`);
    });

    // And they are the right digits: trained models get (nearly) all of these right.
    const cnnRight = answers.filter((a, i) => a.cnn.digit === samples[i].label).length;
    const vitRight = answers.filter((a, i) => a.vit.digit === samples[i].label).length;
    expect(cnnRight).toBeGreaterThanOrEqual(19);
    expect(vitRight).toBeGreaterThanOrEqual(19);

    // The first image is selected: its digits and label are in the detail panel.
    await expect.poll(() => page.locator(part('cnn-digit')).textContent()).toBe(String(answers[0].cnn.digit));
    await expect.poll(() => page.locator(part('vit-digit')).textContent()).toBe(String(answers[0].vit.digit));
    await expect.poll(() => page.locator(`${EL} .label-note`).textContent()).toMatch(`Label in the file: ${samples[0].label}`);

    // Choosing another thumbnail (by keyboard) shows that image's answers.
    await thumbs.nth(0).focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => thumbs.nth(2).getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => page.locator(part('cnn-digit')).textContent()).toBe(String(answers[2].cnn.digit));

    // Announced to screen readers.
    await expect.poll(() => page.locator(`${EL} [aria-live]`).textContent()).toMatch(/20 images classified/);

    await shoot('desktop-csv', DESKTOP);
    await shoot('phone-csv', PHONE);
    expect(pageErrors).toEqual([]);
  });

  it('takes a CSV file dropped anywhere on the element', async () => {
    const csv = mnistCsv(mnistTestSamples(3));
    await page.locator(EL).evaluate((el, text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'dropped.csv', { type: 'text/csv' }));
      for (const type of ['dragenter', 'dragover', 'drop']) {
        el.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      }
    }, csv);
    await expect.poll(async () => (await events()).length, { timeout: 60_000 }).toBe(1);
    await expect.poll(() => page.locator(part('thumbnail')).count()).toBe(3);
    await expect.poll(() => page.locator(`${EL} .source`).textContent()).toMatch(/dropped\.csv · 3 images/);
    expect(pageErrors).toEqual([]);
  });

  it('predicts a digit drawn with the mouse', async () => {
    await drawWithMouse(page, part('canvas'), SEVEN_STROKE);
    await expect.poll(async () => (await events()).length, { timeout: 60_000 }).toBe(1);
    const [event] = await events();
    expect(event.type).toBe('prediction');
    const p = both((event as Extract<Recorded, { type: 'prediction' }>).detail.predictions[0]);
    await expect.poll(() => page.locator(part('cnn-digit')).textContent()).toBe(String(p.cnn.digit));
    await expect.poll(() => page.locator(part('vit-digit')).textContent()).toBe(String(p.vit.digit));
    expect([p.cnn.digit, p.vit.digit]).toEqual([7, 7]);

    // The preview shows the 28x28 image that was sent.
    await expect(page.locator(`${part('preview')} img`).getAttribute('src')).resolves.toMatch(/^data:image\/png/);
    await expect.poll(() => page.locator(`${EL} [aria-live]`).textContent()).toMatch(/CNN reads 7.*ViT reads 7/);

    await shoot('desktop-drawing', DESKTOP);
    await shoot('phone-drawing', PHONE);

    // Clear empties the pad and the answers.
    await page.locator(part('clear-button')).click();
    await expect.poll(() => page.locator(part('cnn-digit')).textContent()).toBe('–');
    expect(pageErrors).toEqual([]);
  });

  it('predicts a digit drawn with a finger (touch pointer events)', async () => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
    const box = (await page.locator(part('canvas')).boundingBox())!;
    const at = (x: number, y: number) => [{ x: box.x + x * box.width, y: box.y + y * box.height }];
    // A "1": one stroke straight down.
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0.5, 0.15) });
    for (let i = 1; i <= 20; i++) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(0.5, 0.15 + (0.7 * i) / 20) });
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    await expect.poll(async () => (await events()).length, { timeout: 60_000 }).toBe(1);
    const [event] = await events();
    const p = both((event as Extract<Recorded, { type: 'prediction' }>).detail.predictions[0]);
    expect([p.cnn.digit, p.vit.digit]).toEqual([1, 1]);
    await cdp.detach();
    expect(pageErrors).toEqual([]);
  });

  it('can be drawn on with the keyboard alone', async () => {
    await page.locator(part('canvas')).focus();
    // A "1": pen to the top, down, then a long stroke downwards, pen up.
    for (let i = 0; i < 9; i++) await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Space');
    for (let i = 0; i < 18; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    await expect.poll(async () => (await events()).length, { timeout: 60_000 }).toBe(1);
    const [event] = await events();
    expect(event.type).toBe('prediction');
    const p = both((event as Extract<Recorded, { type: 'prediction' }>).detail.predictions[0]);
    expect([p.cnn.digit, p.vit.digit]).toEqual([1, 1]);
    expect(pageErrors).toEqual([]);
  });

  it('explains a bad CSV in place, without asking the server', async () => {
    let asked = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/predict')) asked++;
    });
    const row = (values: number) => Array.from({ length: values }, (_, i) => i % 256).join(',');
    await upload('ragged.csv', `${row(784)}\n${row(784)}\n${row(700)}\n`);
    const error = page.locator(part('error'));
    await expect.poll(() => error.textContent()).toMatch(/"ragged\.csv" can't be used\.\s*Row 3/);
    await expect.poll(() => error.textContent()).toMatch(/700 values/);
    expect(await error.getAttribute('role')).toBe('alert');
    const [event] = await events();
    expect(event).toMatchObject({ type: 'error', detail: { code: 'RAGGED_ROWS', message: expect.stringMatching(/Row 3/) } });
    expect(asked).toBe(0);

    await shoot('desktop-error', DESKTOP);
    await shoot('phone-error', PHONE);

    // A good file afterwards replaces the error with answers.
    await upload('one.csv', mnistCsv(mnistTestSamples(1)));
    await expect.poll(() => page.locator(part('cnn-digit')).textContent(), { timeout: 60_000 }).toBe('7');
    expect(await error.count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('works on the demo page the server serves at /', async () => {
    await page.goto(`${base}/`);
    await expect.poll(() => page.evaluate(() => customElements.get('digit-classifier') !== undefined)).toBe(true);
    await drawWithMouse(page, part('canvas'), [
      [0.5, 0.15],
      [0.5, 0.85],
    ]);
    await expect.poll(() => page.locator(part('cnn-digit')).textContent(), { timeout: 60_000 }).toBe('1');
    await shoot('demo-page-desktop', DESKTOP);
    await shoot('demo-page-phone', PHONE);
    expect(pageErrors).toEqual([]);
  });

  it("shows the server's refusal in plain words (more images than the server takes)", async () => {
    // An element set to send more images a request than this server takes.
    await page.locator(EL).evaluate((el, size) => ((el as DigitClassifier).batchSize = size), 2 * SERVER_MAX_IMAGES);
    const samples = mnistTestSamples(SERVER_MAX_IMAGES + 10);
    await upload('too-many.csv', mnistCsv(samples));
    const error = page.locator(part('error'));
    await expect.poll(() => error.textContent(), { timeout: 60_000 }).toMatch(/Too much for the classifier at once/);
    const [event] = await events();
    expect(event).toMatchObject({ type: 'error', detail: { status: 413 } });
    // The refused batch shows no answers.
    expect(await page.locator(`${part('thumbnail')} .thumb-cnn`).count()).toBe(0);
    expect(pageErrors.filter((e) => !e.includes('413'))).toEqual([]);
  });

  it('takes the whole MNIST test set as one CSV file: a summary, a paged grid, the accuracy of the model cards', async () => {
    // mnist_test.csv as it is commonly shared: no header, the label then 784 pixels, 10,000 rows (about 18 MB).
    const samples = mnistTestSamples(10_000);
    const csv = samples.map((s) => `${s.label},${Array.from(s.pixels).join(',')}`).join('\n') + '\n';
    expect(csv.length).toBeGreaterThan(17_000_000);
    const batches: number[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/predict')) batches.push((JSON.parse(r.postData() ?? '{}') as { pixels: unknown[] }).pixels.length);
    });
    // A server that takes SERVER_MAX_IMAGES a request: the element sends the file in batches of that many.
    await page.locator(EL).evaluate((el, size) => ((el as DigitClassifier).batchSize = size), SERVER_MAX_IMAGES);
    await upload('mnist_test.csv', csv);
    await expect.poll(async () => (await events()).length, { timeout: 600_000, interval: 1000 }).toBe(1);
    const [event] = await events();
    expect(event.type).toBe('prediction');
    const response = (event as Extract<Recorded, { type: 'prediction' }>).detail;
    expect(response.predictions).toHaveLength(10_000);
    expect(batches).toEqual(new Array(10_000 / SERVER_MAX_IMAGES).fill(SERVER_MAX_IMAGES));

    // What the models' cards say they score on these 10,000 images, the summary shows.
    const card = (model: string) => (JSON.parse(readFileSync(join(ROOT, 'weights', `${model}.json`), 'utf8')) as { metrics: { test: { accuracy: number } } }).metrics.test;
    const right = (key: 'cnn' | 'vit') => response.predictions.filter((p, i) => p[key]?.digit === samples[i].label).length;
    expect(right('cnn') / 10_000).toBe(card('cnn').accuracy);
    expect(right('vit') / 10_000).toBe(card('vit').accuracy);
    const agree = response.predictions.filter((p) => p.cnn?.digit === p.vit?.digit).length;
    const ratio = (n: number) => new RegExp(`${(n / 100).toFixed(2)}%\\s*${n.toLocaleString('en')} of 10,000`);
    await expect.poll(() => page.locator(part('cnn-accuracy')).textContent()).toMatch(ratio(right('cnn')));
    await expect.poll(() => page.locator(part('vit-accuracy')).textContent()).toMatch(ratio(right('vit')));
    await expect.poll(() => page.locator(part('agreement-rate')).textContent()).toMatch(ratio(agree));
    await expect.poll(() => page.locator(`${EL} .source`).textContent()).toMatch(/mnist_test\.csv · 10,000 images · rows with labels/);

    // One page of thumbnails at a time; the last page holds the last image.
    const thumbs = page.locator(part('thumbnail'));
    expect(await thumbs.count()).toBe(48);
    await page.locator(part('page-next')).click();
    await expect.poll(() => thumbs.first().getAttribute('aria-label')).toMatch(/^Image 49: /);
    // The wrong ones, at a click: every image some model got wrong, no other.
    await page.locator(`${part('filter')}[data-filter="wrong"]`).click();
    const wrong = response.predictions.filter((p, i) => p.cnn?.digit !== samples[i].label || p.vit?.digit !== samples[i].label).length;
    await expect.poll(() => page.locator(`${part('filter')}[data-filter="wrong"]`).textContent()).toMatch(String(wrong));
    await expect.poll(() => thumbs.count()).toBe(Math.min(48, wrong));
    await shoot('desktop-file-wrong', DESKTOP);
    await page.locator(`${part('filter')}[data-filter="all"]`).click();
    await expect.poll(() => page.locator(`${EL} [aria-live]`).textContent()).toMatch(/10,000 images classified/);

    await shoot('desktop-file-summary', DESKTOP);
    await shoot('phone-file-summary', PHONE);
    expect(pageErrors).toEqual([]);
  }, 900_000);
});
