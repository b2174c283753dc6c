/**
 * `@digitlab/trainer/testing`: what the trainer's browser tests and its full-run command share:
 * the bundles built fresh, and a page that records the element's events.
 */
import type { Page } from 'playwright-core';
import type { TrainerDoneDetail, TrainerEpochDetail, TrainerErrorDetail } from './digit-trainer.component.ts';

export { buildTrainer } from '../scripts/build.ts';

/** One event the element fired, as the page recorded it. */
export type Recorded =
  | { readonly type: 'epoch'; readonly detail: TrainerEpochDetail; readonly at: number }
  | { readonly type: 'done'; readonly detail: TrainerDoneDetail; readonly at: number }
  | { readonly type: 'error'; readonly detail: TrainerErrorDetail; readonly at: number };

/** Makes every page of the context record <digit-trainer>'s events in window.__trainerEvents, from before the element starts. */
export async function recordTrainerEvents(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as unknown as { __trainerEvents: unknown[] };
    w.__trainerEvents = [];
    for (const type of ['epoch', 'done', 'error']) {
      document.addEventListener(type, (e) => {
        if ((e.target as Element | null)?.tagName === 'DIGIT-TRAINER') w.__trainerEvents.push({ type, detail: (e as CustomEvent).detail, at: performance.now() });
      });
    }
  });
}

/** The events recorded so far on the page. */
export function trainerEvents(page: Page): Promise<Recorded[]> {
  return page.evaluate(() => (window as unknown as { __trainerEvents: Recorded[] }).__trainerEvents);
}

/** Waits for the run's `done` (or `error`, which throws) and returns every event. */
export async function waitForDone(page: Page, timeoutMs: number): Promise<Recorded[]> {
  await page.waitForFunction(() => (window as unknown as { __trainerEvents: Array<{ type: string }> }).__trainerEvents.some((e) => e.type === 'done' || e.type === 'error'), null, { timeout: timeoutMs, polling: 500 });
  const events = await trainerEvents(page);
  const err = events.find((e) => e.type === 'error');
  if (err) throw new Error(`the trainer failed: ${(err.detail as TrainerErrorDetail).message}`);
  return events;
}
