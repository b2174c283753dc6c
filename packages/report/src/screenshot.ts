#!/usr/bin/env node
/**
 * tsx src/screenshot.ts [report.html] [out.png] [--width px]: a full-page screenshot of the report in headless
 * Debian chromium (the launch flags of packages/element's end-to-end tests). Fails on page errors
 * or on any request that leaves the file (the report must be self-contained).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { positiveIntOption } from '@digitlab/models/cli-options';
import { chromium } from 'playwright-core';
import { REPO } from './build.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'];

const cli = new Command('pnpm --filter @digitlab/report screenshot')
  .description('a full-page screenshot of the report in headless chromium; fails on page errors or requests that leave the file')
  .argument('[report]', 'the report', join(REPO, 'reports', 'report.html'))
  .argument('[png]', 'the screenshot', join(REPO, 'reports', 'report.png'))
  .option('--width <px>', 'viewport width in CSS pixels', positiveIntOption, Number(process.env.WIDTH ?? 1240))
  .parse();
const input = resolve(cli.processedArgs[0] as string);
const output = resolve(cli.processedArgs[1] as string);
const width = cli.opts<{ width: number }>().width;

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install it with: sudo apt-get install -y chromium`);
const profile = mkdtempSync(join(tmpdir(), 'digitlab-report-'));
const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width, height: 900 } });
try {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) problems.push(`request to ${url}`);
  });
  await page.goto(pathToFileURL(input).href, { waitUntil: 'load' });
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.screenshot({ path: output, fullPage: true });
  console.log(`wrote ${output} (${width}×${height} CSS px)`);
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exitCode = 1;
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
