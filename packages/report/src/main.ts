#!/usr/bin/env node
/**
 * pnpm report [--limit n] [--weights dir] [--out file] [--backend mode] [--threads n] [--explain n]
 * Evaluates the shipped CNN and ViT on the 10,000 test images and writes reports/report.html.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MODES, type Mode } from '@digitlab/tensor';
import { buildReport } from './build.js';

const { values } = parseArgs({
  options: {
    limit: { type: 'string' },
    weights: { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string', default: 'async' },
    threads: { type: 'string' },
    explain: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log('usage: pnpm report [--limit n] [--weights dir] [--out file] [--backend cpu|webasm|async] [--threads n] [--explain n]');
  process.exit(0);
}

function count(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const backend = values.backend as Mode;
if (!MODES.includes(backend)) {
  console.error(`--backend must be one of ${MODES.join(', ')}`);
  process.exit(2);
}

const t0 = performance.now();
try {
  const { data, out } = await buildReport({
    weightsDir: values.weights ? resolve(values.weights) : undefined,
    out: values.out ? resolve(values.out) : undefined,
    limit: count('limit', values.limit),
    backend,
    poolSize: count('threads', values.threads),
    explainCount: count('explain', values.explain),
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
