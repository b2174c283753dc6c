/**
 * The page the end-to-end tests open: the element's markup alone, as an embedding site would use
 * it, with every `prediction` and `error` event it fires kept in `window.__events`.
 */
import type { Page } from 'playwright-core';

/** One event the page kept: the kind and its detail. */
export interface RecordedEvent<Detail = unknown> {
  readonly type: 'prediction' | 'error';
  readonly detail: Detail;
}

/** A "7" for drawWithMouse: the top bar, then the long diagonal down to the left (fractions of the pad). */
export const SEVEN_STROKE: Array<[number, number]> = [
  [0.25, 0.2],
  [0.72, 0.2],
  [0.45, 0.85],
];

/** The HTML of a page holding `markup` (one digit-classifier) that records its events; /element.js is the bundle. */
export function elementPage(title: string, markup: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title>
    <style>body { margin: 0; padding: 24px 16px; background: #f1f5f9; } main { max-width: 920px; margin: 0 auto; }</style>
    <script type="module" src="/element.js"></script>
  </head>
  <body>
    <main>${markup}</main>
    <script>
      window.__events = [];
      const el = document.querySelector('digit-classifier');
      el.addEventListener('prediction', (e) => window.__events.push({ type: 'prediction', detail: e.detail }));
      el.addEventListener('error', (e) => window.__events.push({ type: 'error', detail: e.detail }));
    </script>
  </body>
</html>`;
}

/** The events the page has kept so far, oldest first. */
export function recordedEvents<E extends RecordedEvent>(page: Page): Promise<E[]> {
  return page.evaluate(() => (window as unknown as { __events: E[] }).__events);
}
