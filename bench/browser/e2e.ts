/**
 * `pnpm bench:browser --e2e`: both shipped models end to end in headless Chromium, as
 * <digit-classifier mode="local"> runs them (the engine worker, dist/element-local.js, on weights
 * fetched from the real server and checked), on each browser backend: batch-1 latency and
 * batch-64 throughput per model, beside the same server answering POST /predict over loopback.
 * Writes bench/results/browser-e2e.{json,md}.
 */
import type { AddressInfo } from 'node:net';
import { buildElement, mnistTestSamples } from '@digitlab/element/testing';
import { buildServer } from '@digitlab/server';
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM, CHROMIUM_FLAGS, matchNiceness } from './chromium.js';

/** One row: a model, where and on what it ran, and its speed. */
export interface E2eRow {
  readonly model: 'cnn' | 'vit';
  readonly where: 'browser' | 'server';
  readonly backend: string;
  /** The gpu.js kernel class that ran (browser), or the server's backend. */
  readonly kernelClass: string | null;
  /** Median milliseconds of one image, end to end (browser: worker round trip; server: HTTP round trip). */
  readonly batch1Ms: number | null;
  /** Median milliseconds of the models' own compute in a batch-1 call (browser: inside the worker; server: the response's timings). */
  readonly batch1ComputeMs: number | null;
  /** Images per second at batch 64 (median call). */
  readonly batch64PerS: number | null;
  /** Loading, checking, probing and compiling (browser), in ms. */
  readonly loadMs: number | null;
  readonly error?: string;
}

export interface E2eOptions {
  readonly modes: readonly string[];
  /** Timed calls per figure, after the warm-up (WARM_MS). */
  readonly repeats: number;
  readonly log: (line: string) => void;
}

/** Least milliseconds of warm-up calls before a browser figure is timed. */
export const WARM_MS = 3000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** Runs in the page (a string, so no bundler helper leaks into it): one worker per backend, timed calls. */
const PAGE_RUN = `async ({ base, mode, batch1, batch64, repeats, warmMs }) => {
  const w = new Worker(base + '/element-local.js', { type: 'module' });
  const next = () => new Promise((ok) => (w.onmessage = (e) => ok(e.data)));
  const urls = { cnn: { card: base + '/models/cnn', weights: base + '/models/cnn/weights' }, vit: { card: base + '/models/vit', weights: base + '/models/vit/weights' } };
  let reply = next();
  w.postMessage({ type: 'load', urls, force: mode });
  const ready = await reply;
  if (ready.type !== 'ready') { w.terminate(); return { error: ready.message }; }
  const rows = [];
  let id = 1;
  const time = async (images, count, only) => {
    const call = async () => {
      const t = performance.now();
      reply = next();
      w.postMessage({ type: 'predict', id: id++, images: new Float32Array(images), count, only });
      const a = await reply;
      if (a.type !== 'answer') throw new Error(a.message);
      return { ms: performance.now() - t, computeMs: a.ms };
    };
    // warm-up: one call, and more until warmMs have passed (the first seconds after a load run
    // beside the browser's background work on the new code: round trips then take tens of ms)
    const warmStart = performance.now();
    do await call(); while (performance.now() - warmStart < warmMs);
    const times = [];
    const compute = [];
    for (let r = 0; r < repeats; r++) {
      const c = await call();
      times.push(c.ms);
      compute.push(c.computeMs);
    }
    const mid = (xs) => xs.sort((x, y) => x - y)[xs.length >> 1];
    return { ms: mid(times), computeMs: mid(compute) };
  };
  for (const model of ['cnn', 'vit']) {
    try {
      const one = await time(batch1, 1, model);
      const many = await time(batch64, 64, model);
      rows.push({ model, batch1Ms: one.ms, batch1ComputeMs: one.computeMs, batch64PerS: 64000 / many.ms });
    } catch (e) {
      rows.push({ model, error: String(e.message || e) });
    }
  }
  w.terminate();
  return { backend: ready.backend, kernelClass: ready.kernelClass, loadMs: ready.loadMs, rows };
}`;

/** Browser rows for every mode, then the server's, from one server on loopback. */
export async function runE2e(options: E2eOptions): Promise<E2eRow[]> {
  const { log, repeats } = options;
  await buildElement();
  const server = await buildServer({ logger: false, warm: true, requestTimeoutMs: 600_000 });
  await server.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const samples = mnistTestSamples(64);
  const pixels = samples.flatMap((s) => Array.from(s.pixels, (v) => v / 255));
  const rows: E2eRow[] = [];
  const profile = mkdtempSync(join(tmpdir(), 'digitlab-bench-e2e-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_FLAGS] });
  try {
    matchNiceness();
    await context.route(`${base}/bench-e2e.html`, (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>digitlab e2e</title>' }));
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${base}/bench-e2e.html`);
    for (const mode of options.modes) {
      log(`browser ${mode}: loading both models (fetch, sha256, probe, compile)…`);
      const out = (await page.evaluate(`(${PAGE_RUN})(${JSON.stringify({ base, mode, batch1: pixels.slice(0, 784), batch64: pixels, repeats, warmMs: WARM_MS })})`)) as {
        error?: string;
        backend?: string;
        kernelClass?: string;
        loadMs?: number;
        rows?: Array<{ model: 'cnn' | 'vit'; batch1Ms?: number; batch1ComputeMs?: number; batch64PerS?: number; error?: string }>;
      };
      for (const model of ['cnn', 'vit'] as const) {
        const r = out.rows?.find((x) => x.model === model);
        const row: E2eRow = {
          model,
          where: 'browser',
          backend: out.backend ?? mode,
          kernelClass: out.kernelClass ?? null,
          batch1Ms: r?.batch1Ms ?? null,
          batch1ComputeMs: r?.batch1ComputeMs ?? null,
          batch64PerS: r?.batch64PerS ?? null,
          loadMs: out.loadMs ?? null,
          ...((out.error ?? r?.error) ? { error: (out.error ?? r?.error)!.slice(0, 300) } : {}),
        };
        rows.push(row);
        log(`  ${model} on ${row.backend}: ${row.error ?? `batch 1 ${row.batch1Ms?.toFixed(1)} ms (compute ${row.batch1ComputeMs?.toFixed(1)} ms), batch 64 ${row.batch64PerS?.toFixed(0)} img/s, load ${((row.loadMs ?? 0) / 1000).toFixed(1)} s`}`);
      }
    }
  } finally {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  // the server: both models answer every request; its timings say each model's share
  const health = (await (await fetch(`${base}/health`)).json()) as { backend: string };
  const post = async (count: number): Promise<{ ms: number; cnnMs: number; vitMs: number }> => {
    const body = JSON.stringify({ pixels: samples.slice(0, count).map((s) => Array.from(s.pixels, (v) => v / 255)) });
    const t = performance.now();
    const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const json = (await response.json()) as { timings: { cnnMs: number; vitMs: number } };
    return { ms: performance.now() - t, cnnMs: json.timings.cnnMs, vitMs: json.timings.vitMs };
  };
  const sample = async (count: number) => {
    await post(count);
    const got = [];
    for (let r = 0; r < repeats; r++) got.push(await post(count));
    return got;
  };
  const one = await sample(1);
  const many = await sample(64);
  await server.close();
  for (const model of ['cnn', 'vit'] as const) {
    const key = model === 'cnn' ? 'cnnMs' : 'vitMs';
    // each model's own compute inside the round trip, plus the request's overhead around both
    const overhead1 = median(one.map((x) => x.ms - Math.max(x.cnnMs, x.vitMs)));
    const overhead64 = median(many.map((x) => x.ms - Math.max(x.cnnMs, x.vitMs)));
    rows.push({
      model,
      where: 'server',
      backend: health.backend,
      kernelClass: null,
      batch1Ms: median(one.map((x) => x[key])) + overhead1,
      batch1ComputeMs: median(one.map((x) => x[key])),
      batch64PerS: 64000 / (median(many.map((x) => x[key])) + overhead64),
      loadMs: null,
    });
  }
  log(`server (${health.backend}): both models per request, round trip batch 1 ${median(one.map((x) => x.ms)).toFixed(1)} ms, batch 64 ${median(many.map((x) => x.ms)).toFixed(1)} ms`);
  return rows;
}

/** The rows as a Markdown table. */
export function e2eMarkdown(rows: readonly E2eRow[], header: string): string {
  const fmt = (v: number | null, d: number): string => (v === null ? '—' : v.toFixed(d));
  const lines = [
    header,
    '',
    '| model | where | backend | kernel class | batch 1 (ms) | of which compute (ms) | batch 64 (img/s) | load (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      r.error
        ? `| ${r.model} | ${r.where} | ${r.backend} | ${r.kernelClass ?? '—'} | **error**: ${r.error.replace(/\|/g, '/')} | | | |`
        : `| ${r.model} | ${r.where} | ${r.backend} | ${r.kernelClass ?? '—'} | ${fmt(r.batch1Ms, 1)} | ${fmt(r.batch1ComputeMs, 1)} | ${fmt(r.batch64PerS, 0)} | ${r.loadMs === null ? '—' : (r.loadMs / 1000).toFixed(1)} |`,
    ),
    '',
  ];
  return lines.join('\n');
}
