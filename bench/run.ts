// digitlab's benchmarks: every kernel, forward and backward, at the shipped models' shapes on every
// gpu.js backend that runs here, beside the float64 reference and TensorFlow.js; then training
// and inference end to end. Writes bench/results/<run>.json, <run>.md, <run>-kernels.svg and
// <run>-e2e.svg, and prints the Markdown.
//
//   pnpm bench                  quick run (a few minutes): reference, webasm, async, tfjs-wasm
//   pnpm bench:full             adds gpu.js's cpu mode and TF.js's cpu backend, and samples longer
//   pnpm bench --only 'conv|attention' --impls reference,webasm --no-e2e
//   pnpm bench --render bench/results/quick.json     re-renders the Markdown and SVGs of a run
//   pnpm bench --no-kernels --infer-only --name infer   only the inference rows (plan and op by op, TF.js)
//   pnpm bench --no-kernels --train-only --name train   only the training rows, with each step's kernels vs host
//   DIGITLAB_HEADLESSGL=1 xvfb-run -a -s "-ac -screen 0 1280x1024x24" pnpm bench --impls reference,webasm,async,headlessgl --name headlessgl
//                               gpu.js's headlessgl (after scripts/build-headlessgl.sh), each case in a
//                               child process under --first-call-timeout; its failures are rows
//
// Run it on an idle machine (or under `nice -n 19` beside other work, knowing the figures suffer).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { floatOption, listOption, positiveIntOption, regexOption } from '@digitlab/models/cli-options';
import type { Mode } from '@digitlab/tensor';
import { defaultThreads, type ModelName } from '@digitlab/models';
import { kernelCases } from './src/cases.js';
import { runEndToEnd, type E2eResult } from './src/e2e.js';
import { FULL, QUICK } from './src/measure.js';
import { e2eChart, kernelChart, markdown, type BenchResults } from './src/report.js';
import { presetShapes } from './src/shapes.js';
import { ALL_IMPLS, ENGINE_IMPLS, runKernelSuite, ValidationError, type Impl, type KernelResult } from './src/suite.js';
import type { TfBackend } from './src/tfjs.js';
import { commit, version } from './src/provenance.js';
import type { IsolateOptions } from './src/isolate.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const IMPL_NAMES: readonly Impl[] = [...new Set([...ALL_IMPLS, ...ENGINE_IMPLS])];

const args = new Command('pnpm bench')
  .description('every kernel, forward and backward, on every gpu.js backend here beside the float64 reference and TF.js; then training and inference end to end')
  .option('--quick', 'the quick run (the default): reference, webasm, async, tfjs-wasm')
  .option('--full', "adds gpu.js's cpu mode and TF.js's cpu backend, and samples longer")
  .option('--only <regex>', 'only the kernel cases whose id matches', regexOption)
  .option('--impls <list>', `comma-separated, of ${IMPL_NAMES.join(', ')}`, listOption(IMPL_NAMES))
  .option('--no-e2e', 'skip training and inference end to end')
  .option('--no-kernels', 'skip the kernel cases')
  .option('--infer-only', 'end to end: only the inference rows (plan and op by op, TF.js)')
  .option('--train-only', "end to end: only the training rows and where their steps' time goes")
  .option('--out <dir>', 'results folder', join(HERE, 'results'))
  .option('--name <run>', 'run name, the results file names (default: quick or full)')
  .option('--pool <threads>', 'worker threads of async (default: all cores)', positiveIntOption)
  .option('--threads <n>', "threads a large inference batch runs on, as loadClassifier's threads (default: all cores)", positiveIntOption)
  .option('--render <results.json>', "re-render a run's Markdown and SVGs from its JSON, and stop")
  .option('--first-call-timeout <seconds>', "limit on a headlessgl case's first call (compiles)", floatOption, 30)
  .parse()
  .opts<{ quick?: boolean; full?: boolean; only?: RegExp; impls?: Impl[]; e2e: boolean; kernels: boolean; inferOnly?: boolean; trainOnly?: boolean; out: string; name?: string; pool?: number; threads?: number; render?: string; firstCallTimeout: number }>();

const full = args.full === true && !args.quick;
const run = args.name ?? (full ? 'full' : 'quick');
// headlessgl needs a gl build and a display (xvfb-run); opt in like the op tests do
const gl: Impl[] = process.env.DIGITLAB_HEADLESSGL === '1' ? ['headlessgl'] : [];
const impls: Impl[] = args.impls
  ? args.impls
  : full
    ? ['reference', 'cpu', 'webasm', 'async', ...gl, 'tfjs-cpu', 'tfjs-wasm']
    : ['reference', 'webasm', 'async', ...gl, 'tfjs-wasm'];
const modes = impls.filter((i): i is Mode & Impl => i === 'cpu' || i === 'webasm' || i === 'async' || i === 'headlessgl');
// gpu.js's cpu mode runs the gemm at ~0.005 GFLOP/s: end to end it only serves batch 1
// headlessgl is not run end to end: both models need kernels that do not compile on it
// (bench/README.md, "headlessgl under Xvfb")
const trainModes = modes.filter((m) => m !== 'cpu' && m !== 'headlessgl');
const inferOnly = modes.includes('cpu') ? [{ mode: 'cpu' as const, batch: 1 }] : [];
const tfBackends = impls.filter((i) => i.startsWith('tfjs-')).map((i) => i.slice(5) as TfBackend);
const poolSize = args.pool ?? cpus().length;
const measureOpts = full ? FULL : QUICK;
// a call slower than this is timed once, not sampled (TF.js cpu's filter gradient takes a minute a call)
const slowCallMs = full ? 20_000 : 1_500;

// headlessgl's cases run in child processes (isolate.ts), which can be killed when a GL compile
// runs past the first-call limit
const display = process.env.DISPLAY;
const isolated: Impl[] = modes.includes('headlessgl') ? ['headlessgl'] : [];
const firstCallTimeoutMs = args.firstCallTimeout * 1000;
const notes: string[] = [];
if (isolated.length) {
  notes.push(`headlessgl: each case in a child process with the display (${display ?? 'none: run under xvfb-run'}), first call limited to ${firstCallTimeoutMs / 1000} s; its failures are listed, not timed.`);
  notes.push('headlessgl is not run end to end: a model can only run where every one of its kernels does (see the failures below).');
}


/** Writes a run's JSON, Markdown and charts into dir; returns the Markdown. */
function writeReports(results: BenchResults, dir: string): string {
  const { run, date } = results.info;
  mkdirSync(dir, { recursive: true });
  const md = markdown(results);
  writeFileSync(join(dir, `${run}.json`), `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(join(dir, `${run}.md`), md);
  if (results.kernels.length) writeFileSync(join(dir, `${run}-kernels.svg`), kernelChart(results.kernels, `digitlab kernels (${run} run, ${date.slice(0, 10)})`));
  if (results.e2e.length) writeFileSync(join(dir, `${run}-e2e.svg`), e2eChart(results.e2e, `digitlab end to end (${run} run, ${date.slice(0, 10)})`));
  return md;
}

async function main(): Promise<void> {
  if (args.render) {
    const results = JSON.parse(readFileSync(args.render, 'utf8')) as BenchResults;
    console.log(writeReports(results, dirname(resolve(args.render))));
    return;
  }
  const started = performance.now();
  const loadStart = loadavg()[0];
  // the code this run loads is the code at its start: an edit made while it runs is not in its figures
  const startCommit = commit(ROOT);
  const log = (line: string): void => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const inferThreads = args.threads ?? defaultThreads();
  log(`${run} run: ${impls.join(', ')}; async pool ${poolSize}; inference on ${inferThreads} thread${inferThreads === 1 ? '' : 's'}; load ${loadStart.toFixed(2)} on ${cpus().length} cores`);
  if (loadStart > cpus().length / 2) log('the machine is busy: figures will be low and noisy');

  let kernels: KernelResult[] = [];
  if (args.kernels) {
    const only = args.only ?? null;
    const shapes = presetShapes();
    const cases = kernelCases(shapes).filter((c) => !only || only.test(c.id));
    log(`kernels: ${cases.length} cases`);
    const env: Record<string, string> = display ? { DISPLAY: display } : {};
    const isolate: IsolateOptions | undefined = isolated.length ? { impls: isolated, shapes, firstCallTimeoutMs, timeoutMs: 10 * 60_000, env } : undefined;
    kernels = await runKernelSuite(cases, { impls, measure: measureOpts, slowCallMs, poolSize, log, isolate });
  }
  let e2e: E2eResult[] = [];
  if (args.e2e) {
    log('end to end');
    e2e = await runEndToEnd({
      models: ['cnn', 'vit'] as ModelName[],
      trainPresets: ['cnn-ref'],
      modes: trainModes,
      inferOnly,
      tfBackends,
      inferBatches: [1, 256],
      measure: measureOpts,
      slowCallMs,
      weightsDir: join(ROOT, 'weights'),
      poolSize,
      inferOnlyRows: args.inferOnly === true,
      threads: inferThreads,
      trainOnlyRows: args.trainOnly === true,
      log,
    });
  }

  const cpu = cpus()[0];
  const results: BenchResults = {
    info: {
      run,
      date: new Date().toISOString(),
      commit: startCommit,
      machine: { cpu: cpu?.model.trim() ?? 'unknown', cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), os: `${type()} ${release()}`, node: process.versions.node },
      load: { start: loadStart, end: loadavg()[0] },
      versions: {
        'gpu.js': version(ROOT, 'packages/tensor', 'gpu.js'),
        '@tensorflow/tfjs': version(ROOT, 'bench', '@tensorflow/tfjs'),
        '@tensorflow/tfjs-backend-wasm': version(ROOT, 'bench', '@tensorflow/tfjs-backend-wasm'),
        benchmark: version(ROOT, 'bench', 'benchmark'),
      },
      options: { impls, poolSize, measure: measureOpts, slowCallMs, only: args.only?.source ?? null, ...(isolated.length ? { isolated, firstCallTimeoutMs } : {}) },
      ...(notes.length ? { notes } : {}),
      seconds: (performance.now() - started) / 1000,
    },
    kernels,
    e2e,
  };
  const md = writeReports(results, args.out);
  console.log(`\n${md}`);
  log(`wrote ${join(args.out, run)}.{json,md,svg}`);
}

main().then(
  // gpu.js worker pools and TF.js's wasm module keep handles open
  () => process.exit(0),
  (e: unknown) => {
    // print only the message: TF.js's wasm glue rethrows uncaught errors with its whole source
    console.error(e instanceof ValidationError ? `\nVALIDATION FAILED: ${e.message}` : `\nbench failed: ${(e as Error)?.stack ?? String(e)}`);
    process.exit(1);
  },
);
