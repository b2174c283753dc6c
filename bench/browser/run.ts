// The kernel benchmark's browser leg: every kernel case of the Node bench (bench/src/cases.ts, at
// the shipped models' shapes) in headless Chromium on gpu.js's webgl2, webgpu and webasm modes,
// each validated against the float64 reference before it is timed. Writes
// bench/results/<name>.json and <name>.md and prints the Markdown.
//
//   pnpm bench:browser                                   webgl2, webgpu, webasm; every case (~6 minutes)
//   pnpm bench:browser --modes webgl2,cpu --only 'softmax|dense1'
//   pnpm bench:browser --tiny                            the tiny presets at batch 4 (seconds)
//   pnpm bench:browser --e2e [--modes webasm]            both models end to end as <digit-classifier mode="local">
//                                                        runs them, per backend, beside the server (results/browser-e2e.*)
//
// Run it on an idle machine (or under `nice -n 19` beside other work: Chromium's processes are
// brought to the same niceness, see chromium.ts).
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { floatOption, listOption, positiveIntOption, regexOption } from '@digitlab/models/cli-options';
import { presetShapes } from '../src/shapes.js';
import { FULL, QUICK } from '../src/timing.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';
import { runBrowserSuite } from './driver.js';
import { BROWSER_MODES, DEFAULT_MODES, type BrowserMode } from './protocol.js';
import { browserMarkdown, type BrowserResults } from './report.js';
import { commit, version } from '../src/provenance.js';
import { WARM_MS, e2eMarkdown, runE2e } from './e2e.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');

const E2E_MODES = ['webgpu', 'webgl2', 'webasm'] as const;

const args = new Command('pnpm bench:browser')
  .description("the kernel cases of the Node bench in headless Chromium on gpu.js's webgl2, webgpu and webasm modes, each validated against the float64 reference before it is timed; with --e2e, both models end to end in the page per backend, beside the server")
  .option('--modes <list>', `comma-separated, of ${BROWSER_MODES.join(', ')} (default ${DEFAULT_MODES.join(',')}; with --e2e, of ${E2E_MODES.join(', ')}, default all three)`, listOption(BROWSER_MODES))
  .option('--only <regex>', 'only the cases whose id matches', regexOption)
  .option('--tiny', 'the tiny presets at batch 4 (seconds)')
  .option('--full', 'sample longer')
  .option('--e2e', 'the end-to-end rows: batch-1 latency and batch-64 throughput of both models per backend, beside the server')
  .option('--repeats <n>', 'with --e2e, timed calls per row', positiveIntOption, 5)
  .option('--first-call-timeout <seconds>', "limit on a case's first call (compiles)", floatOption, 30)
  .option('--out <dir>', 'results folder', join(HERE, '..', 'results'))
  .option('--name <run>', 'run name, the results file names (default: browser, or browser-tiny with --tiny)')
  .parse()
  .opts<{ modes?: BrowserMode[]; only?: RegExp; tiny?: boolean; full?: boolean; e2e?: boolean; repeats: number; firstCallTimeout: number; out: string; name?: string }>();

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
  if (args.e2e) return e2e();
  const modes = args.modes ?? [...DEFAULT_MODES];
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

/** The end-to-end rows: both models in the browser per backend, beside the server. */
async function e2e(): Promise<void> {
  const started = performance.now();
  const log = (line: string): void => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const modes: string[] = args.modes ?? [...E2E_MODES];
  const unknown = modes.filter((m) => !(E2E_MODES as readonly string[]).includes(m));
  if (unknown.length) throw new Error(`unknown mode(s) ${unknown.join(', ')}; the end-to-end rows run ${E2E_MODES.join(', ')}`);
  const repeats = args.repeats;
  const loadStart = loadavg()[0];
  const startCommit = commit(ROOT);
  const rows = await runE2e({ modes, repeats, log });
  const cpu = cpus()[0];
  const header = [
    '# digitlab end to end in headless Chromium, beside the server',
    '',
    `${new Date().toISOString()}, commit \`${startCommit}\`, ${((performance.now() - started) / 1000).toFixed(0)} s. Machine: ${cpu?.model.trim() ?? 'unknown'}, ${cpus().length} cores. Load average ${loadStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end. ${chromiumVersion()}.`,
    '',
    'Browser rows: the engine worker of `<digit-classifier mode="local">` (`dist/element-local.js`) on weights fetched from the server and checked against their cards\' sha256, one model at a time, timed from `postMessage` to the answer (median of ' +
      `${repeats} calls after warm-up calls for at least ${WARM_MS / 1000} s, at least one). Server rows: POST /predict (JSON) over loopback from Node; both models answer every request, so each model's row is its own compute (the response's timings) plus the request's overhead. Load: fetching, checking, probing the backends and compiling batch 1.`,
  ].join('\n');
  const md = e2eMarkdown(rows, header);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'browser-e2e.json'), `${JSON.stringify({ date: new Date().toISOString(), commit: startCommit, load: { start: loadStart, end: loadavg()[0] }, repeats, rows }, null, 1)}\n`);
  writeFileSync(join(args.out, 'browser-e2e.md'), md);
  console.log(`\n${md}`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`\nbench:browser failed: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
