// The kernel benchmark's browser leg: every kernel case of the Node bench (bench/src/cases.ts, at
// the shipped models' shapes) in headless Chromium on gpu.js's webgl2, webgpu and webasm modes,
// each validated against the float64 reference before it is timed. Writes
// bench/results/<name>.json and <name>.md and prints the Markdown.
//
//   pnpm bench:browser                                   webgl2, webgpu, webasm; every case (~6 minutes)
//   pnpm bench:browser --modes webgl2,cpu --only 'softmax|dense1'
//   pnpm bench:browser --tiny                            the tiny presets at batch 4 (seconds)
//
// Run it on an idle machine (or under `nice -n 19` beside other work: Chromium's processes are
// brought to the same niceness, see chromium.ts).
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { floatOption, listOption, regexOption } from '@digitlab/models/cli-options';
import { presetShapes } from '../src/shapes.js';
import { FULL, QUICK } from '../src/timing.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';
import { runBrowserSuite } from './driver.js';
import { BROWSER_MODES, DEFAULT_MODES, type BrowserMode } from './protocol.js';
import { browserMarkdown, type BrowserResults } from './report.js';
import { commit, version } from '../src/provenance.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');

const args = new Command('pnpm bench:browser')
  .description("the kernel cases of the Node bench in headless Chromium on gpu.js's webgl2, webgpu and webasm modes, each validated against the float64 reference before it is timed")
  .option('--modes <list>', `comma-separated, of ${BROWSER_MODES.join(', ')}`, listOption(BROWSER_MODES), [...DEFAULT_MODES])
  .option('--only <regex>', 'only the cases whose id matches', regexOption)
  .option('--tiny', 'the tiny presets at batch 4 (seconds)')
  .option('--full', 'sample longer')
  .option('--first-call-timeout <seconds>', "limit on a case's first call (compiles)", floatOption, 30)
  .option('--out <dir>', 'results folder', join(HERE, '..', 'results'))
  .option('--name <run>', 'run name, the results file names (default: browser, or browser-tiny with --tiny)')
  .parse()
  .opts<{ modes: BrowserMode[]; only?: RegExp; tiny?: boolean; full?: boolean; firstCallTimeout: number; out: string; name?: string }>();

function chromiumVersion(): string {
  try {
    // Debian's /usr/bin/chromium is a shell wrapper that prints a harmless shell warning on stderr
    return execSync(`${CHROMIUM} --version`, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'unknown';
  }
}

/** The Node run's webasm medians by case id, when the committed quick run is there. */
function nodeWebasm(): Record<string, number> | undefined {
  const path = join(HERE, '..', 'results', 'quick.json');
  if (!existsSync(path)) return undefined;
  const quick = JSON.parse(readFileSync(path, 'utf8')) as { kernels?: Array<{ id: string; impl: string; timing: { medianMs: number } | null }> };
  const out: Record<string, number> = {};
  for (const k of quick.kernels ?? []) if (k.impl === 'webasm' && k.timing) out[k.id] = k.timing.medianMs;
  return Object.keys(out).length ? out : undefined;
}

async function main(): Promise<void> {
  const modes = args.modes;
  const started = performance.now();
  const loadStart = loadavg()[0];
  // the code this run loads is the code at its start: an edit made while it runs is not in its figures
  const startCommit = commit(ROOT);
  const log = (line: string): void => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  if (loadStart > cpus().length / 2) log(`load ${loadStart.toFixed(2)} on ${cpus().length} cores: the machine is busy, figures will be low and noisy`);

  const shapes = args.tiny ? presetShapes('tiny-cnn', 'tiny-vit', 4) : presetShapes();
  const measure = args.full ? FULL : QUICK;
  // as in the Node run: a call slower than this is timed once, not sampled
  const slowCallMs = args.full ? 20_000 : 1_500;
  const limits = {
    // SwiftShader compiles some of our shaders for minutes (bench/README.md): past this a case is a timeout
    firstCallTimeoutMs: args.firstCallTimeout * 1000,
    timingTimeoutMs: 120_000,
    referenceTimeoutMs: 300_000,
  };
  const suite = await runBrowserSuite({
    shapes,
    modes,
    only: args.only,
    measure,
    slowCallMs,
    ...limits,
    log,
  });
  const run = args.name ?? (args.tiny ? 'browser-tiny' : 'browser');
  const cpu = cpus()[0];
  const results: BrowserResults = {
    info: {
      run,
      date: new Date().toISOString(),
      commit: startCommit,
      machine: { cpu: cpu?.model.trim() ?? 'unknown', cores: cpus().length, os: `${type()} ${release()}`, node: process.versions.node },
      load: { start: loadStart, end: loadavg()[0] },
      chromium: chromiumVersion(),
      flags: CHROMIUM_FLAGS,
      page: suite.page,
      versions: { 'gpu.js': version(ROOT, 'packages/tensor', 'gpu.js'), 'playwright-core': version(ROOT, 'bench', 'playwright-core'), esbuild: version(ROOT, 'bench', 'esbuild') },
      shapes: args.tiny ? 'tiny-cnn / tiny-vit presets, batch 4' : 'cnn / vit presets, batch 128 (as the Node bench)',
      modes,
      measure,
      slowCallMs,
      limits,
      bundleBytes: suite.bundleBytes,
      seconds: (performance.now() - started) / 1000,
    },
    probes: suite.probes,
    kernels: suite.kernels,
    ...(args.tiny ? {} : { nodeWebasm: nodeWebasm() }),
  };
  mkdirSync(args.out, { recursive: true });
  const md = browserMarkdown(results);
  writeFileSync(join(args.out, `${run}.json`), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(join(args.out, `${run}.md`), md);
  console.log(`\n${md}`);
  log(`wrote ${join(args.out, run)}.{json,md}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`\nbench:browser failed: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
