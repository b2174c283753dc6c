/**
 * <digit-classifier> fixture tests: the element alone on a page in headless Chromium, `/predict`
 * answered by a fake in this file, assertions on the DOM. A fake model reads the digit each test
 * image carries in its first pixel (k/255 for digit k): the CNN always right, the ViT wrong on
 * every image whose index ends in 3, so every figure on screen has a known value.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, watchErrors, fixture, type Browser, type PredictReply } from '../src/testing/index.ts';

const EL = 'digit-classifier';
const part = (name: string) => `${EL} [part~="${name}"]`;

/** `count` images, image i carrying digit i % 10 in its first pixel, as labelled CSV rows (0-255). */
function labelledCsv(count: number): string {
  const rows: string[] = [];
  for (let i = 0; i < count; i++) {
    const pixels = new Array<number>(784).fill(0);
    pixels[0] = i % 10;
    pixels[400] = 255; // ink, so the file reads as 0-255
    rows.push(`${i % 10},${pixels.join(',')}`);
  }
  return rows.join('\n') + '\n';
}

const answer = (digit: number) => ({ digit, probabilities: Array.from({ length: 10 }, (_, d) => (d === digit ? 0.91 : 0.01)) });

interface Seen {
  type: string;
  images: number[][];
}

/** The fake server: answers JSON pixels (as the element sends batches) and records each request. */
function fakePredict(seen: Seen[], offset: () => number) {
  return (request: Request): PredictReply => {
    const type = request.headers()['content-type'] ?? '';
    if (!type.startsWith('application/json')) return { status: 415, json: { error: 'UNSUPPORTED_MEDIA_TYPE', message: 'JSON only here.' } };
    const images = (JSON.parse(request.postData() ?? '{}') as { pixels: number[][] }).pixels;
    seen.push({ type, images });
    const start = offset();
    const predictions = images.map((px, i) => {
      const digit = Math.round(px[0] * 255);
      const vit = (start + i) % 10 === 3 ? (digit + 1) % 10 : digit;
      return { index: i, cnn: answer(digit), vit: answer(vit), agree: digit === vit, label: null };
    });
    return { status: 200, json: { predictions, count: images.length, timings: { totalMs: 2 } } };
  };
}

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
}, 300_000);

afterAll(async () => {
  await browser?.close();
});

async function open(markup: string, predict: (r: Request) => PredictReply | Promise<PredictReply>): Promise<{ page: Page; errors: string[] }> {
  const page = await fixture(browser, markup, predict);
  return { page, errors: watchErrors(page) };
}

async function classifyCsv(page: Page, text: string, name: string): Promise<void> {
  await page.locator(EL).evaluate((el, [t, n]) => (el as HTMLElement & { classifyCsv(t: string, n: string): Promise<unknown> }).classifyCsv(t, n), [text, name]);
}

describe('<digit-classifier> in a fixture page', () => {
  it('renders the pad with its bar closed before the file chooser, and nothing to clear', async () => {
    const { page, errors } = await open(`<${EL}></${EL}>`, () => 'abort');
    const layout = await page.locator(EL).evaluate((el) => {
      const root = el.shadowRoot!;
      const bar = root.querySelector('.pad-bar')!;
      return {
        barChildren: Array.from(bar.children, (c) => c.className || c.tagName.toLowerCase()),
        uploadParent: root.querySelector('.upload')!.parentElement!.className,
        drawParent: root.querySelector('.draw')!.parentElement!.className,
      };
    });
    expect(layout).toEqual({ barChildren: ['keys', 'button'], uploadParent: 'layout', drawParent: 'layout' });
    expect(await page.locator(part('clear-button')).isDisabled()).toBe(true);
    expect(await page.locator(part('cnn-digit')).textContent()).toBe('–');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('sends a file larger than a batch in batches, and sums it up: count, agreement, accuracy', async () => {
    const seen: Seen[] = [];
    const { page, errors } = await open(`<${EL} batch-size="100" page-size="48"></${EL}>`, fakePredict(seen, () => seen.length * 100));
    await classifyCsv(page, labelledCsv(250), 'digits.csv');

    // Three requests of 100, 100 and 50 images, each value exactly the float32 shown (k/255).
    expect(seen.map((s) => s.images.length)).toEqual([100, 100, 50]);
    expect(seen.map((s) => s.type)).toEqual(new Array(3).fill('application/json'));
    expect(Math.fround(seen[0].images[7][0])).toBe(Math.fround(7 / 255));

    // 25 of 250 images (index ending in 3) have the ViT wrong and disagreeing.
    await expect.poll(() => page.locator(part('summary')).textContent()).toMatch('250 images');
    expect(await page.locator(part('agreement-rate')).textContent()).toMatch(/90\.00%\s*225 of 250/);
    expect(await page.locator(part('cnn-accuracy')).textContent()).toMatch(/100\.00%\s*250 of 250/);
    expect(await page.locator(part('vit-accuracy')).textContent()).toMatch(/90\.00%\s*225 of 250/);
    await expect.poll(() => page.locator(`${EL} [aria-live]`).textContent()).toMatch('250 images classified. The models agree on 225 of 250. CNN 100.00% correct. ViT 90.00% correct.');

    // Paged: 48 a page; the next page starts at image 49; the last holds images 241-250.
    const thumbs = page.locator(part('thumbnail'));
    expect(await thumbs.count()).toBe(48);
    expect(await thumbs.nth(3).getAttribute('aria-label')).toBe('Image 4: CNN 3, ViT 4, label 3');
    expect(await thumbs.nth(3).getAttribute('class')).toMatch(/thumb--disagree.*thumb--wrong|thumb--wrong.*thumb--disagree/);
    await page.locator(part('page-next')).click();
    await expect.poll(() => thumbs.first().getAttribute('aria-label')).toMatch(/^Image 49: /);
    expect(await page.locator(part('pager')).textContent()).toMatch('49–96 of 250 · page 2 of 6');
    for (let i = 0; i < 4; i++) await page.locator(part('page-next')).click();
    await expect.poll(() => thumbs.count()).toBe(10);
    expect(await page.locator(part('page-next')).isDisabled()).toBe(true);
    // Selecting an image shows its answers in the panels.
    await thumbs.nth(3).click();
    await expect.poll(() => page.locator(`${EL} .preview figcaption`).textContent()).toBe('Image 244 of 250');
    expect(await page.locator(part('cnn-digit')).textContent()).toBe('3');
    expect(await page.locator(part('vit-digit')).textContent()).toBe('4');

    // Filters: the disagreements are exactly the 25 images ending in 3.
    await page.locator(`${part('filter')}[data-filter="disagree"]`).click();
    await expect.poll(() => thumbs.count()).toBe(25);
    const labels = await thumbs.evaluateAll((b) => b.map((x) => x.getAttribute('aria-label')));
    expect(labels).toEqual(Array.from({ length: 25 }, (_, k) => `Image ${10 * k + 4}: CNN 3, ViT 4, label 3`));
    expect(await page.locator(`${part('filter')}[data-filter="wrong"]`).textContent()).toMatch('25');
    // Keyboard: End goes to the last image of the filter.
    await thumbs.first().focus();
    await page.keyboard.press('End');
    await expect.poll(() => page.locator(`${EL} .preview figcaption`).textContent()).toBe('Image 244 of 250');

    // Clear resets everything at once.
    await page.locator(part('clear-button')).click();
    await expect.poll(() => thumbs.count()).toBe(0);
    expect(await page.locator(part('summary')).count()).toBe(0);
    expect(await page.locator(part('cnn-digit')).textContent()).toBe('–');
    expect(await page.locator(part('clear-button')).isDisabled()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("says so when the models agree but the server marks the answer uncertain", async () => {
    const { page } = await open(`<${EL}></${EL}>`, () => {
      const predictions = [{ index: 0, cnn: answer(4), vit: answer(4), agree: true, uncertain: true, lowConfidence: ['vit'], label: null }];
      return { status: 200, json: { predictions, count: 1 } };
    });
    await classifyCsv(page, labelledCsv(5).split('\n')[4] + '\n', 'one.csv');
    await expect.poll(() => page.locator(part('uncertain')).textContent()).toMatch(/Both models read 4, but not surely enough to trust/);
    expect(await page.locator(part('agreement')).count()).toBe(0);
    await page.close();
  });

  it('sends a file that fits in one batch as its own text', async () => {
    const bodies: Array<{ type: string; body: string }> = [];
    const { page } = await open(`<${EL}></${EL}>`, (r) => {
      bodies.push({ type: r.headers()['content-type'] ?? '', body: r.postData() ?? '' });
      const predictions = [0, 1].map((i) => ({ index: i, cnn: answer(i), vit: answer(i), agree: true, label: i }));
      return { status: 200, json: { predictions, count: 2 } };
    });
    const csv = labelledCsv(2);
    await classifyCsv(page, csv, 'two.csv');
    expect(bodies).toEqual([{ type: 'text/csv', body: csv }]);
    await expect.poll(() => page.locator(part('agreement-rate')).textContent()).toMatch(/100\.00%\s*2 of 2/);
    await page.close();
  });

  it("drops a file the server refuses part-way, and says why in the server's words", async () => {
    const seen: Seen[] = [];
    const ok = fakePredict(seen, () => 0);
    const { page } = await open(`<${EL} batch-size="100"></${EL}>`, (r) =>
      seen.length === 1 ? { status: 413, json: { error: 'TOO_MANY_IMAGES', message: 'At most 50 images per request. Accepted: fewer.' } } : ok(r),
    );
    await classifyCsv(page, labelledCsv(250), 'big.csv');
    await expect.poll(() => page.locator(part('error')).textContent()).toMatch(/Too much for the classifier at once\.\s*At most 50 images per request\.\s*Accepted: fewer\./);
    expect(await page.locator(part('thumbnail')).count()).toBe(0);
    expect(await page.locator(part('summary')).count()).toBe(0);
    await page.close();
  });

  it('keeps the images when the server cannot be reached, and tries again on request', async () => {
    const seen: Seen[] = [];
    let reachable = false;
    const ok = fakePredict(seen, () => seen.length * 100);
    const { page } = await open(`<${EL} batch-size="100"></${EL}>`, (r) => (reachable ? ok(r) : 'abort'));
    await classifyCsv(page, labelledCsv(120), 'flaky.csv');
    await expect.poll(() => page.locator(part('error')).textContent()).toMatch(/Could not reach the classifier/);
    expect(await page.locator(part('thumbnail')).count()).toBe(48);
    reachable = true;
    await page.locator(part('retry-button')).click();
    await expect.poll(() => page.locator(part('agreement-rate')).textContent()).toMatch(/90\.00%\s*108 of 120/);
    expect(await page.locator(part('error')).count()).toBe(0);
    await page.close();
  });

  it('says a file is being read while it is checked, then sums it up', async () => {
    const seen: Seen[] = [];
    const { page } = await open(`<${EL} batch-size="10"></${EL}>`, fakePredict(seen, () => seen.length * 10));
    const csv = labelledCsv(30);
    // A file whose text arrives only when the test says so.
    await page.locator(EL).evaluate((el, text) => {
      const w = window as unknown as { release: () => void };
      const file = { name: 'slow.csv', size: text.length, text: () => new Promise<string>((resolve) => (w.release = () => resolve(text))) };
      void (el as HTMLElement & { classifyFile(f: unknown): Promise<unknown> }).classifyFile(file);
    }, csv);
    await expect.poll(() => page.locator(`${EL} .placeholder`).textContent()).toBe('Reading slow.csv…');
    expect(await page.locator(part('results')).getAttribute('aria-busy')).toBe('true');
    await page.evaluate(() => (window as unknown as { release: () => void }).release());
    await expect.poll(() => page.locator(part('agreement-rate')).textContent()).toMatch(/90\.00%\s*27 of 30/);
    expect(seen.map((s) => s.images.length)).toEqual([10, 10, 10]);
    expect(await page.locator(part('results')).getAttribute('aria-busy')).toBe('false');
    await page.close();
  });
});
