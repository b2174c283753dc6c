/**
 * <digit-trainer> end to end: the bundles built fresh, the REAL server (/train, the MNIST data
 * endpoint) on loopback, and Debian's headless chromium training on webasm in the page's worker.
 * A short run (1,024 training images, one epoch) fires `epoch` and `done`, shows its curves, test
 * accuracy, confusion matrix and misclassified digits, and its downloaded weights and card give
 * `pnpm evaluate` the page's accuracy. A second run is paused, resumed, reloaded (it continues
 * from the epoch kept in IndexedDB) and stopped. Screenshots (desktop and phone) go to a temporary
 * folder, or to packages/trainer/screenshots/ with UPDATE_SCREENSHOTS=1.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, watchErrors, type Browser } from '@digitlab/element/testing';
import { buildServer } from '@digitlab/server';
import type { TrainerDoneDetail, TrainerEpochDetail } from '@digitlab/trainer';
import { buildTrainer, recordTrainerEvents, waitForDone } from '@digitlab/trainer/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, evaluateDownloads, saveDownloads, startServer } from './trainer-helpers.ts';

const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'packages/trainer/screenshots') : mkdtempSync(join(tmpdir(), 'digitlab-trainer-screenshots-'));
const DESKTOP = { width: 1200, height: 1000 };
const PHONE = { width: 390, height: 844 };
const inTrainer = (selector: string) => `digit-trainer ${selector}`;

let server: { base: string; close: () => Promise<void> };
let browser: Browser;
const downloads = mkdtempSync(join(tmpdir(), 'digitlab-trainer-downloads-'));

beforeAll(async () => {
  await buildTrainer(); // never test a stale bundle
  server = await startServer();
  browser = await launchBrowser();
  mkdirSync(SCREENSHOTS, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(downloads, { recursive: true, force: true });
});

async function open(query: string, viewport = DESKTOP): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.context.newPage();
  await page.setViewportSize(viewport);
  const errors = watchErrors(page);
  await recordTrainerEvents(page);
  await page.goto(`${server.base}/train?${query}`);
  return { page, errors };
}

const batchText = (page: Page) => page.locator(inTrainer('.status')).innerText();
/** How wide the page's content is: wider than the viewport means sideways scrolling. */
const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

describe('<digit-trainer> on /train', () => {
  it('trains a short cnn-small run on webasm: epoch and done events, curves, test results, and downloads that pnpm evaluate agrees with', async () => {
    const { page, errors } = await open('preset=cnn-small&epochs=1&batch-size=32&train-images=1024&backend=webasm&autostart');
    await page.waitForFunction(() => {
      const p = document.querySelector('digit-trainer')?.shadowRoot?.querySelector('progress');
      return !!p && p.value >= 12;
    }, null, { timeout: 300_000, polling: 200 });
    await expect.poll(() => page.locator(inTrainer('[data-backend]')).getAttribute('data-backend')).toBe('webasm');
    expect(await batchText(page)).toMatch(/batch \d+\/32/);
    expect(await batchText(page)).toMatch(/\d+ images\/s/);
    expect(await batchText(page)).toMatch(/ETA/);
    expect(await page.locator(inTrainer('[data-chart="loss"] path')).count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'trainer-live-desktop.png'), fullPage: true });

    const events = await waitForDone(page, 900_000);
    const epochs = events.filter((e) => e.type === 'epoch').map((e) => e.detail as TrainerEpochDetail);
    expect(epochs.map((e) => e.epoch)).toEqual([1]);
    expect(epochs[0].valAccuracy).toBeGreaterThan(0.5);
    expect(epochs[0].imagesPerSecond).toBeGreaterThan(0);
    const done = events.find((e) => e.type === 'done')!.detail as TrainerDoneDetail;
    // 32 steps of 32 images: far above chance (10%), far from a full run
    expect(done.testAccuracy).toBeGreaterThan(0.5);
    expect(done.card.metrics.test.count).toBe(10000);
    expect(done.card.training.backend).toBe('webasm');

    const shown = await page.locator(inTrainer('[data-test-accuracy]')).getAttribute('data-test-accuracy');
    expect(Number(shown)).toBe(done.testAccuracy);
    const cells = await page.locator(inTrainer('svg.confusion g.cell')).evaluateAll((gs) => gs.map((g) => Number(g.getAttribute('data-count'))));
    expect(cells).toHaveLength(100);
    expect(cells.reduce((a, b) => a + b, 0)).toBe(10000);
    const wrong = 10000 - cells.filter((_, i) => i % 11 === 0).reduce((a, b) => a + b, 0);
    expect(wrong).toBe(done.card.metrics.test.misclassified.length);
    expect(await page.locator(inTrainer('.gallery img')).count()).toBe(Math.min(48, wrong));
    await page.screenshot({ path: join(SCREENSHOTS, 'trainer-done-desktop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: join(SCREENSHOTS, 'trainer-done-phone.png'), fullPage: true });
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width);
    await page.setViewportSize(DESKTOP);

    // try it: a drawn 1 goes to the trained model in the worker
    const pad = page.locator(inTrainer('.pad canvas'));
    const box = (await pad.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.85, { steps: 20 });
    await page.mouse.up();
    await expect.poll(() => page.locator(inTrainer('[data-guess]')).getAttribute('data-guess'), { timeout: 60_000 }).not.toBe('-1');
    expect(await page.locator(inTrainer('.bar')).count()).toBe(10);

    const [weights, card] = await saveDownloads(page, downloads);
    expect(weights).toMatch(/cnn\.safetensors$/);
    expect(card).toMatch(/cnn\.json$/);
    const ev = await evaluateDownloads('cnn', downloads);
    expect(Math.abs(ev.accuracy - done.testAccuracy)).toBeLessThanOrEqual(0.0005);
    expect(ev.matchesCard, ev.output).toBe(true);
    // and the server serves them as its CNN
    const served = await buildServer({ weightsDir: downloads, logger: false, warm: false, requestTimeoutMs: 300_000 });
    try {
      const health = (await served.inject({ url: '/health' })).json<{ models: Record<string, { available: boolean; version?: string }> }>();
      expect(health.models.cnn).toMatchObject({ available: true, version: done.card.version });
      const digits = await served.inject({ method: 'POST', url: '/predict', payload: { pixels: [Array.from({ length: 784 }, () => 0)] } });
      expect(digits.statusCode, digits.body).toBe(200);
      expect(digits.json<{ predictions: Array<{ cnn: { probabilities: number[] } }> }>().predictions[0].cnn.probabilities).toHaveLength(10);
    } finally {
      await served.close();
    }
    expect(errors).toEqual([]);
    await page.close();
  }, 1_800_000);

  it('fires error, shown in place, for a form value that is not a valid preset and for data it cannot load', async () => {
    const { page } = await open('preset=tiny-cnn&epochs=0&backend=webasm&autostart');
    const events = await page.waitForFunction(() => (window as unknown as { __trainerEvents: Array<{ type: string; detail: { message: string } }> }).__trainerEvents.find((e) => e.type === 'error')?.detail.message, null, { timeout: 120_000 });
    expect(await events.jsonValue()).toMatch(/"epochs" must be an integer >= 1, got 0/);
    expect(await page.locator(inTrainer('[part="error"]')).innerText()).toMatch(/epochs/);
    await page.close();

    const other = await browser.context.newPage();
    await recordTrainerEvents(other);
    await other.goto(`${server.base}/train`);
    await other.evaluate(() => {
      const el = document.querySelector('digit-trainer')!;
      el.setAttribute('data-url', '/no-such-data/');
      el.setAttribute('backend', 'webasm');
      el.setAttribute('preset', 'tiny-cnn');
      el.setAttribute('autostart', '');
    });
    const message = await other.waitForFunction(() => (window as unknown as { __trainerEvents: Array<{ type: string; detail: { message: string } }> }).__trainerEvents.find((e) => e.type === 'error')?.detail.message, null, { timeout: 120_000 });
    expect(await message.jsonValue()).toMatch(/could not load .*\/no-such-data\/(train|t10k)-(images|labels)-idx[13]-ubyte: HTTP 404/); // the four files load at once: any may fail first
    await other.close();
  }, 300_000);

  it('shows live curves on a phone, pauses and resumes, continues from IndexedDB after a reload, and stops early with a tested model', async () => {
    const query = 'preset=tiny-cnn&epochs=3&batch-size=32&train-images=640&backend=webasm&autostart';
    const { page, errors } = await open(query, PHONE);
    await page.waitForFunction(() => (window as unknown as { __trainerEvents: Array<{ type: string }> }).__trainerEvents.some((e) => e.type === 'epoch'), null, { timeout: 600_000, polling: 200 });
    await page.waitForFunction(() => {
      const p = document.querySelector('digit-trainer')?.shadowRoot?.querySelector('progress');
      return !!p && p.value >= 25;
    }, null, { timeout: 300_000, polling: 100 });
    await page.screenshot({ path: join(SCREENSHOTS, 'trainer-live-phone.png'), fullPage: true });
    expect(await pageWidth(page)).toBeLessThanOrEqual(PHONE.width); // the curves fit: no sideways scrolling

    // reload mid-run (in epoch 2, or in 3 when epoch 2 ended during the screenshot): the run continues
    // after its last finished epoch, read in one turn of the page with the epoch it shows
    await page.reload();
    await expect.poll(() => page.locator(inTrainer('table.epochs tbody tr')).count(), { timeout: 300_000 }).toBeGreaterThanOrEqual(1);
    await page.waitForFunction(() => {
      const p = document.querySelector('digit-trainer')?.shadowRoot?.querySelector('progress');
      return !!p && p.value >= 22;
    }, null, { timeout: 300_000, polling: 100 });
    const resumed = await page.evaluate(() => {
      const root = document.querySelector('digit-trainer')?.shadowRoot;
      return { finished: root?.querySelectorAll('table.epochs tbody tr').length ?? 0, status: (root?.querySelector('.status') as HTMLElement | null)?.innerText ?? '' };
    });
    expect(resumed.finished).toBeGreaterThanOrEqual(1);
    expect(resumed.status).toMatch(new RegExp(`epoch ${resumed.finished + 1}/3`));

    await page.locator(inTrainer('[part="pause-button"]')).click();
    await expect.poll(() => page.locator(inTrainer('.status')).innerText(), { timeout: 60_000 }).toMatch(/paused/);
    const held = await batchText(page);
    await page.waitForTimeout(1500);
    expect(await batchText(page)).toBe(held);
    await page.locator(inTrainer('[part="resume-button"]')).click();
    await expect.poll(() => batchText(page), { timeout: 60_000 }).not.toBe(held);
    await page.locator(inTrainer('[part="stop-button"]')).click();

    const events = await waitForDone(page, 900_000);
    const epochs = events.filter((e) => e.type === 'epoch').map((e) => (e.detail as TrainerEpochDetail).epoch);
    expect(epochs[0]).toBe(2); // after the reload, the first epoch to finish is the second
    expect(epochs.length).toBeLessThanOrEqual(2);
    const done = events.find((e) => e.type === 'done')!.detail as TrainerDoneDetail;
    expect(done.card.training.epochs).toBeLessThan(3);
    expect(done.testAccuracy).toBeGreaterThan(0.3);
    expect(await page.locator(inTrainer('.status')).innerText()).toMatch(/stopped early/);
    expect(errors).toEqual([]);
    await page.close();
  }, 1_800_000);
});
