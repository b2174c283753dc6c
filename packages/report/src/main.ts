#!/usr/bin/env node
/**
 * pnpm report [--limit n] [--weights dir] [--out file] [--backend mode] [--threads n] [--explain n]
 * Evaluates the shipped CNN and ViT on the 10,000 test images and writes reports/report.html.
 */
import { resolve } from 'node:path';
import { Command } from 'commander';
import { modeOption, positiveIntOption } from '@digitlab/models/cli-options';
import type { Mode } from '@digitlab/tensor';
import { buildReport } from './build.js';

const values = new Command('pnpm report')
  .description('evaluates the shipped CNN and ViT on the 10,000 test images and writes reports/report.html; exits 1 when a model differs from its card')
  .option('--limit <n>', 'only the first n test images', positiveIntOption)
  .option('--weights <dir>', 'weights folder (default: weights/)')
  .option('--out <file>', 'the HTML file (default: reports/report.html)')
  .option('--backend <mode>', 'gpu.js mode: cpu, webasm, async', modeOption, 'async')
  .option('--threads <n>', 'worker threads of async (default: all cores)', positiveIntOption)
  .option('--explain <n>', 'digits shown with attention and saliency maps (default 8)', positiveIntOption)
  .parse()
  .opts<{ limit?: number; weights?: string; out?: string; backend: Mode; threads?: number; explain?: number }>();

const t0 = performance.now();
try {
  const { data, out } = await buildReport({
    weightsDir: values.weights ? resolve(values.weights) : undefined,
    out: values.out ? resolve(values.out) : undefined,
    limit: values.limit,
    backend: values.backend,
    poolSize: values.threads,
    explainCount: values.explain,
    log: (line) => console.error(line),
  });
  for (const m of data.models) {
    const card = m.matchesCard === null ? '' : m.matchesCard ? ', matches its card' : ', DIFFERS from its card';
    console.log(`${m.name}: ${(m.summary.accuracy * 100).toFixed(2)}% on ${data.data.count} images, loss ${m.summary.loss.toFixed(4)}, ${m.latencyMs.toFixed(1)} ms/image${card}`);
    if (m.matchesCard === false) process.exitCode = 1;
  }
  console.log(`${data.disagreements.length} disagreements; wrote ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 1;
}
