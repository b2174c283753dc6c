/**
 * The full browser run (not in CI): the cnn-small preset, one epoch of the 54,000 training images,
 * on webasm in headless Chromium through /train; prints the test accuracy, the wall time, and
 * what `pnpm evaluate` measures on the downloaded weights and card. Screenshots of the live curves
 * and of the result go to the folder printed at the end.
 *
 *   pnpm --filter @digitlab/e2e trainer:full            # PRESET, EPOCHS, BACKEND override the run
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, watchErrors } from '@digitlab/element/testing';
import { buildTrainer, recordTrainerEvents, waitForDone } from '@digitlab/trainer/testing';
import { evaluateDownloads, saveDownloads, startServer } from './trainer-helpers.ts';

const preset = process.env.PRESET ?? 'cnn-small';
const epochs = process.env.EPOCHS ?? '1';
const backend = process.env.BACKEND ?? 'webasm';
const out = mkdtempSync(join(tmpdir(), 'digitlab-trainer-full-'));

await buildTrainer();
const server = await startServer();
const browser = await launchBrowser();
try {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1200, height: 1000 });
  const errors = watchErrors(page);
  await recordTrainerEvents(page);
  const started = performance.now();
  await page.goto(`${server.base}/train?preset=${preset}&epochs=${epochs}&backend=${backend}&autostart`);
  // the live curves, once a fifth of the run has passed
  await page.waitForFunction(() => {
    const p = document.querySelector('digit-trainer')?.shadowRoot?.querySelector('progress');
    return p !== null && p !== undefined && p.value / p.max >= 0.2;
  }, null, { timeout: 1_800_000, polling: 1000 });
  await page.screenshot({ path: join(out, 'live-desktop.png'), fullPage: true });
  const events = await waitForDone(page, 3_600_000);
  const wall = (performance.now() - started) / 1000;
  await page.screenshot({ path: join(out, 'done-desktop.png'), fullPage: true });
  const done = events.find((e) => e.type === 'done')!.detail as { testAccuracy: number; testLoss: number; seconds: number; card: { training: { backend: string; machine: string } } };
  const epochEvents = events.filter((e) => e.type === 'epoch');
  console.log(JSON.stringify({ preset, epochs: Number(epochs), backend: done.card.training.backend, machine: done.card.training.machine, epochEvents: epochEvents.map((e) => e.detail) }, null, 2));
  console.log(`test accuracy ${(done.testAccuracy * 100).toFixed(2)}% (loss ${done.testLoss.toFixed(4)}), training ${done.seconds.toFixed(0)} s, wall ${wall.toFixed(0)} s from opening /train to done`);
  const [weights] = await saveDownloads(page, out);
  const name = weights.endsWith('vit.safetensors') ? 'vit' : 'cnn';
  const ev = await evaluateDownloads(name, out);
  console.log(`pnpm evaluate ${name} --weights ${out}: accuracy ${(ev.accuracy * 100).toFixed(2)}% (page ${(done.testAccuracy * 100).toFixed(2)}%), ${ev.matchesCard ? 'matches the model card' : 'DIFFERS from the model card'}`);
  if (errors.length) console.log(`page errors: ${errors.join('; ')}`);
  console.log(`screenshots and downloads: ${out}`);
} finally {
  await browser.close();
  await server.close();
}
