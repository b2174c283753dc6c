/**
 * The browser of the element's tests: Debian's chromium driven by playwright-core, a fresh profile
 * per run. Installs chromium where it is missing and we are root (as scripts/setup.sh does).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The quiet-headless flags every browser run here starts with (the benchmarks' Chromium too). */
export const QUIET_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

const ARGS = [...QUIET_ARGS, '--disable-gpu'];

export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing; install it with: sudo apt-get install -y chromium`);
  execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], {
    stdio: 'inherit',
    timeout: 600_000,
  });
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get did not install ${CHROMIUM}`);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * WebGL2 and a WebGPU adapter on a machine without a GPU: both run on SwiftShader, WebGPU only
 * with --enable-unsafe-webgpu (and on a secure context: http://127.0.0.1 is one).
 */
export const GPU_ARGS: readonly string[] = ['--enable-unsafe-webgpu', '--enable-webgpu-developer-features'];

/** Launches Chromium with a fresh profile; `gpu` gives it WebGL2 and WebGPU (software), for local-mode tests. */
export async function launchBrowser(options: { gpu?: boolean } = {}): Promise<Browser> {
  ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'digitlab-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: options.gpu ? [...QUIET_ARGS, ...GPU_ARGS] : ARGS,
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects the page's errors, so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/**
 * Draws a polyline with the mouse on `selector`'s box; points are fractions of its width and
 * height. Many small moves, as a hand would make.
 */
export async function drawWithMouse(page: Page, selector: string, points: Array<[number, number]>, stepsPerSegment = 12): Promise<void> {
  const box = await page.locator(selector).boundingBox();
  if (!box) throw new Error(`${selector} is not visible`);
  const at = ([x, y]: [number, number]): [number, number] => [box.x + x * box.width, box.y + y * box.height];
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (let i = 1; i < points.length; i++) await page.mouse.move(...at(points[i]), { steps: stepsPerSegment });
  await page.mouse.up();
}
