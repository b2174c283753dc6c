/**
 * What the trainer's browser test and its full-run command share: the real server on loopback,
 * the /train page driven in headless Chromium, the downloads saved, and `pnpm evaluate` run on them.
 */
import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildServer } from '@digitlab/server';
import type { Page } from 'playwright-core';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..');

/** The real server (data endpoint, /train, the bundles) on a loopback port. */
export async function startServer(): Promise<{ base: string; close: () => Promise<void> }> {
  const server = await buildServer({ logger: false, warm: false });
  await server.listen({ host: '127.0.0.1', port: 0 });
  return { base: `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`, close: () => server.close() };
}

/** Clicks the result's two download links and saves them as <dir>/<name>.safetensors and <dir>/<name>.json. */
export async function saveDownloads(page: Page, dir: string): Promise<string[]> {
  const saved: string[] = [];
  for (const which of ['weights', 'card']) {
    const link = page.locator(`digit-trainer [data-download="${which}"]`);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const path = join(dir, download.suggestedFilename());
    await download.saveAs(path);
    saved.push(path);
  }
  return saved;
}

/** What `pnpm evaluate` printed for a weights folder. */
export interface Evaluated {
  readonly accuracy: number;
  readonly matchesCard: boolean;
  readonly output: string;
}

/** Runs `pnpm evaluate <name> --weights <dir>` (the CLI as a reader runs it) and reads its accuracy line. */
export async function evaluateDownloads(name: string, dir: string, backend = 'webasm'): Promise<Evaluated> {
  const { stdout } = await run('pnpm', ['evaluate', name, '--weights', dir, '--backend', backend], { cwd: ROOT, maxBuffer: 16 << 20, timeout: 900_000 }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
    // a card that differs makes evaluate exit 1: its output still says why
    if (e.stdout) return { stdout: e.stdout };
    throw new Error(`pnpm evaluate failed: ${e.stderr ?? e.message}`);
  });
  const m = /on 10000 test images: accuracy (\d+\.\d+)%/.exec(stdout);
  if (!m) throw new Error(`pnpm evaluate printed no accuracy line:\n${stdout}`);
  return { accuracy: Number(m[1]) / 100, matchesCard: /matches the model card/.test(stdout), output: stdout };
}
