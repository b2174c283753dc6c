// Load benchmark of the prediction server: single-image POST /predict on loopback, with autocannon.
// Starts the real server (apps/server/src/main.ts, the shipped weights) as a child process on
// 127.0.0.1, warms it up, then runs each scenario for a bounded time and request count, and reports
// requests/s plus client latency and server time (the response's timings.totalMs) at p50/p99,
// split into each model's time and the rest (HTTP, parsing, validation, JSON).
//
//   pnpm bench:server [--duration 10] [--max-requests 20000] [--connections 1,4] [--backend async] [--json out.json]
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { formatDigitCsv, PIXELS } from '../packages/digit-csv/src/index.ts';
import { loadMnist } from '../packages/models/src/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Scenario {
  readonly name: string;
  readonly contentType: string;
  readonly body: string;
  readonly connections: number;
}

interface Row {
  readonly scenario: string;
  readonly connections: number;
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly latencyMs: { p50: number; p99: number; mean: number };
  /** Server time from the responses' timings; overhead = total - cnn - vit (HTTP, parsing, JSON). */
  readonly serverMs: { p50: number; p99: number; cnnP50: number | null; vitP50: number | null; overheadP50: number };
  readonly errors: number;
  readonly non2xx: number;
}

/** p-th percentile (0-100) of values, nearest-rank. */
function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Starts the server process and waits (at most 180 s) until /health answers 200. */
async function startServer(port: number, backend: string): Promise<{ child: ChildProcess; url: string }> {
  const tsx = resolve(ROOT, 'node_modules/.bin/tsx');
  const child = spawn(tsx, ['src/main.ts'], {
    cwd: resolve(ROOT, 'apps/server'),
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', BACKEND: backend, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it answered`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.status === 200) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill('SIGTERM');
  throw new Error('the server did not answer /health within 180 s');
}

/** Runs one scenario with autocannon, bounded by duration and maxRequests. */
async function run(url: string, scenario: Scenario, duration: number, maxRequests: number): Promise<Row> {
  const serverTotal: number[] = [];
  const cnn: number[] = [];
  const vit: number[] = [];
  const overhead: number[] = [];
  const latencies: number[] = [];
  const result = await autocannon({
    url: `${url}/predict`,
    method: 'POST',
    headers: { 'content-type': scenario.contentType },
    body: scenario.body,
    connections: scenario.connections,
    duration,
    maxOverallRequests: Math.max(maxRequests, scenario.connections),
    timeout: 30,
    setupClient: (client) => {
      client.on('response', (_status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
    },
    requests: [
      {
        onResponse: (status: number, body: string) => {
          if (status !== 200) return;
          const { timings } = JSON.parse(body) as { timings: { totalMs: number; cnnMs: number | null; vitMs: number | null } };
          serverTotal.push(timings.totalMs);
          if (timings.cnnMs !== null) cnn.push(timings.cnnMs);
          if (timings.vitMs !== null) vit.push(timings.vitMs);
          overhead.push(timings.totalMs - (timings.cnnMs ?? 0) - (timings.vitMs ?? 0));
        },
      },
    ],
  });
  const completed = result['2xx'] + result.non2xx;
  return {
    scenario: scenario.name,
    connections: scenario.connections,
    requests: completed,
    seconds: result.duration,
    requestsPerSecond: completed / result.duration,
    latencyMs: {
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      mean: latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length),
    },
    serverMs: {
      p50: percentile(serverTotal, 50),
      p99: percentile(serverTotal, 99),
      cnnP50: cnn.length === 0 ? null : percentile(cnn, 50),
      vitP50: vit.length === 0 ? null : percentile(vit, 50),
      overheadP50: percentile(overhead, 50),
    },
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

function fixed(value: number | null, digits = 2): string {
  return value === null || Number.isNaN(value) ? '-' : value.toFixed(digits);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      'max-requests': { type: 'string', default: '20000' },
      connections: { type: 'string', default: '1,4' },
      backend: { type: 'string', default: 'async' },
      json: { type: 'string' },
    },
  });
  const duration = Math.min(60, Math.max(1, Number(values.duration)));
  const maxRequests = Math.min(100_000, Math.max(1, Number(values['max-requests'])));
  const connections = values.connections.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);

  const mnist = loadMnist('test');
  const image = mnist.images.subarray(0, PIXELS);
  const csv = formatDigitCsv(image, 1);
  const json = JSON.stringify({ pixels: [Array.from(image, (v) => Math.round(v * 255))] });
  const scenarios: Scenario[] = [];
  for (const c of connections) {
    scenarios.push({ name: 'text/csv, 1 image', contentType: 'text/csv', body: csv, connections: c });
    scenarios.push({ name: 'JSON, 1 image', contentType: 'application/json', body: json, connections: c });
  }

  const port = await freePort();
  const { child, url } = await startServer(port, values.backend);
  try {
    const health = (await (await fetch(`${url}/health`)).json()) as { status: string; models: Record<string, { available: boolean; version?: string }> };
    const models = Object.entries(health.models)
      .map(([name, m]) => `${name} ${m.available ? (m.version ?? '') : 'unavailable'}`)
      .join(', ');
    // Warm up: compile the batch-1 kernels and let the JIT settle.
    for (let i = 0; i < 50; i++) {
      const response = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
      if (response.status !== 200) throw new Error(`warm-up request failed: ${response.status} ${await response.text()}`);
    }
    const rows: Row[] = [];
    for (const scenario of scenarios) {
      process.stderr.write(`running ${scenario.name}, ${scenario.connections} connection(s), ${duration} s or ${maxRequests} requests...\n`);
      rows.push(await run(url, scenario, duration, maxRequests));
    }
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0].toFixed(2)}, node ${process.version}`;
    console.log(`\nPOST /predict, one MNIST test image per request, loopback, backend ${values.backend} (${models}); ${machine}\n`);
    console.log('| input | connections | requests | req/s | latency p50 ms | latency p99 ms | server p50 ms | server p99 ms | cnn p50 ms | vit p50 ms | rest p50 ms | errors |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(
        `| ${r.scenario} | ${r.connections} | ${r.requests} | ${r.requestsPerSecond.toFixed(0)} | ${fixed(r.latencyMs.p50)} | ${fixed(r.latencyMs.p99)} | ` +
          `${fixed(r.serverMs.p50)} | ${fixed(r.serverMs.p99)} | ${fixed(r.serverMs.cnnP50)} | ${fixed(r.serverMs.vitP50)} | ${fixed(r.serverMs.overheadP50)} | ${r.errors + r.non2xx} |`,
      );
    }
    if (values.json !== undefined) {
      writeFileSync(values.json, `${JSON.stringify({ backend: values.backend, models: health.models, machine, duration, maxRequests, rows }, null, 2)}\n`);
    }
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
