/**
 * Fixture tests in the style of Shoelace's: put the element on a page in headless Chromium, act
 * on it, assert the DOM. The page and the bundle (built in memory from src/) are served by the
 * browser's request routing, and `/predict` by a handler in the test, so no server runs.
 */
import type { Page, Request } from 'playwright-core';
import { bundleElementText } from '../../scripts/build.ts';
import type { Browser } from './browser.ts';

/** The fixture page's origin (routed, never on the network). */
export const FIXTURE_ORIGIN = 'http://digit-classifier.fixture';

/** What a fake `/predict` answers: a status and a JSON body, or `'abort'` for a network failure. */
export type PredictReply = { status: number; json: unknown } | 'abort';

let bundle: Promise<string> | undefined;

/**
 * Opens a page holding `markup` (e.g. `<digit-classifier batch-size="100"></digit-classifier>`)
 * with the element's bundle loaded, and `/predict` answered by `predict`.
 */
export async function fixture(browser: Browser, markup: string, predict: (request: Request) => PredictReply | Promise<PredictReply>): Promise<Page> {
  bundle ??= bundleElementText();
  const code = await bundle;
  const page = await browser.context.newPage();
  await page.route(`${FIXTURE_ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/element.js') return route.fulfill({ status: 200, contentType: 'text/javascript', body: code });
    if (url.pathname === '/predict') {
      const reply = await predict(route.request());
      return reply === 'abort' ? route.abort('connectionrefused') : route.fulfill({ status: reply.status, json: reply.json });
    }
    if (url.pathname === '/') return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: pageHtml(markup) });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  await page.goto(`${FIXTURE_ORIGIN}/`);
  await page.waitForFunction(() => customElements.get('digit-classifier') !== undefined);
  await page.locator('digit-classifier').evaluate((el) => (el as HTMLElement & { updateComplete: Promise<boolean> }).updateComplete);
  return page;
}

function pageHtml(markup: string): string {
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>digit-classifier fixture</title>
    <script type="module" src="/element.js"></script>
  </head>
  <body style="margin: 0; padding: 16px; background: #f1f5f9">
    <main style="max-width: 920px; margin: 0 auto">${markup}</main>
  </body>
</html>`;
}
