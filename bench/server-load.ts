// Load benchmark of the prediction server on loopback, with autocannon: single-image POST /predict
// (both models answer each image) as fast as the given connection counts go (capacity), then a
// fixed 500 req/s on the same connection counts (the latency at that rate), then twice the
// measured capacity offered for a fixed time, with /health/live probed alongside on the server's
// probe listener (HEALTH_PORT) and on its main port. Starts the real server (apps/server/src/main.ts,
// shipped weights, every batch bucket compiled before it answers) as a child process on 127.0.0.1
// on the Node running this script, lowers the generator's own priority (--generator-nice) below
// the server's and the prober's, and writes the results with their commit to
// bench/results/server-<runtime>.md (and .json).
//
//   bash scripts/with-node.sh pnpm bench:server                       # the full run (Node 24)
//   pnpm bench:server --duration 5 --overload-duration 10 --connections 32   # a short check
//
// Targets it checks: 500 req/s answered with p99 <= 50 ms at 32 and 64 connections; under 2x
// capacity: 0 timeouts, 0 socket errors, no 5xx but 503 with Retry-After, every /health/live
// within 100 ms (on each port; the probe listener's is where an orchestrator's probes go). A closed loop of N connections always waits N / throughput on average, so the
// latency target is read at the fixed rate, and the capacity phases give the throughput.
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { cpus, getPriority, loadavg, setPriority } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Command, InvalidArgumentError } from 'commander';
import { PIXELS } from '@digitlab/digit-csv';
import { loadMnist } from '@digitlab/models';
import { floatOption, intListOption, intOption, modeChoiceOption, positiveIntOption } from '@digitlab/models/cli-options';
import { maxOf, percentile } from './latency-stats.js';
import { openLoop, uniformSequence } from './open-loop.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_RPS = 500;
const TARGET_P99_MS = 50;
const PROBE_LIMIT_MS = 100;
const PHASES = ['capacity', 'bursts', 'poisson', 'overload'] as const;
type PhaseKind = (typeof PHASES)[number];
/**
 * The generator (autocannon, the open loop) runs on this process's thread, on the same cores as the
 * server it loads: run as an equal it takes CPU turns that a server of its own machine would have,
 * and a probe's answer waits for them. It runs this many nice steps below the server and the prober.
 */
const DEFAULT_GENERATOR_NICE = 5;
const BURSTS = `${TARGET_RPS} req/s, autocannon`;
const POISSON = `${TARGET_RPS} req/s, Poisson`;

function niceOption(raw: string): number {
  const n = intOption(raw);
  if (n < 0 || n > 19) throw new InvalidArgumentError(`${raw} is not a nice step count; use 0-19`);
  return n;
}

/**
 * Lowers this thread's priority by `steps` (Linux keeps a nice value per thread: the server and the
 * prober, started before, keep theirs) and returns the steps it went down; 0 where that is refused.
 */
function lowerOwnPriority(steps: number): number {
  if (steps === 0) return 0;
  try {
    const before = getPriority();
    setPriority(Math.min(19, before + steps));
    return getPriority() - before;
  } catch {
    return 0;
  }
}

function phaseListOption(raw: string): PhaseKind[] {
  const list = raw.split(',').map((p) => p.trim());
  const bad = list.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (bad.length > 0) throw new InvalidArgumentError(`${bad.join(', ')} is not a phase; use ${PHASES.join(', ')}`);
  return list as PhaseKind[];
}

interface Phase {
  readonly name: string;
  readonly connections: number;
  readonly offeredRps: number | null;
  readonly seconds: number;
  readonly requests: number;
  readonly ok: number;
  readonly requestsPerSecond: number;
  readonly okPerSecond: number;
  readonly latencyMs: { p50: number; p99: number; max: number };
  readonly status: Record<string, number>;
  readonly shed503: number;
  readonly shed503WithoutRetryAfter: number;
  /** How many 503s said each Retry-After value (seconds). */
  readonly retryAfter: Record<string, number>;
  readonly timeouts: number;
  readonly errors: number;
  /** /health/live probed during the phase: on the probe listener's port, and on the main port. */
  readonly probes?: Record<ProbeTarget, ProbeSummary>;
  /** Open loop only: the generator's largest lag behind an arrival (its own event loop). */
  readonly issueLagMs?: number;
  /** The server's own view of the phase, from /metrics (scraped before and after). */
  server?: ServerView;
}

/** Where /health/live is probed: the probe listener's port (HEALTH_PORT) and the port /predict is served on. */
const PROBE_TARGETS = ['probe port', 'main port'] as const;
type ProbeTarget = (typeof PROBE_TARGETS)[number];
const PROBE_WHERE: Record<ProbeTarget, string> = {
  'probe port': "probe port (HEALTH_PORT, the server's probe listener: where an orchestrator's probes go)",
  'main port': 'main port (beside the /predict load)',
};

interface ProbeSummary {
  readonly count: number;
  readonly maxMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly over: number;
  readonly failed: number;
}

/** What the server's metrics say of a phase: its HTTP thread's event-loop delay and each model's batches. */
interface ServerView {
  readonly eventLoopDelayMs: { p99: number; max: number };
  /** Per model: batches run, mean images a batch, mean compute ms a batch. */
  readonly batches: Record<string, { count: number; meanImages: number; meanMs: number }>;
}

/** The numeric samples of a Prometheus text exposition, keyed by name and labels as written. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The server's view of the time between two scrapes (the event-loop gauges cover the time since the previous scrape). */
function serverView(before: Map<string, number>, after: Map<string, number>): ServerView {
  const delta = (key: string): number => (after.get(key) ?? 0) - (before.get(key) ?? 0);
  const batches: ServerView['batches'] = {};
  for (const model of ['cnn', 'vit']) {
    const count = delta(`digitlab_batch_size_images_count{model="${model}",task="predict"}`);
    if (count <= 0) continue;
    batches[model] = {
      count,
      meanImages: delta(`digitlab_batch_size_images_sum{model="${model}",task="predict"}`) / count,
      meanMs: (1000 * delta(`digitlab_inference_seconds_sum{model="${model}",task="predict"}`)) / count,
    };
  }
  return {
    eventLoopDelayMs: { p99: 1000 * (after.get('digitlab_process_nodejs_eventloop_lag_p99_seconds') ?? Number.NaN), max: 1000 * (after.get('digitlab_process_nodejs_eventloop_lag_max_seconds') ?? Number.NaN) },
    batches,
  };
}

/** Runs a phase between two scrapes of the server's metrics and attaches what they say. */
async function observed(url: string, phase: () => Promise<Phase>): Promise<Phase> {
  const before = await scrape(url);
  const result = await phase();
  return { ...result, server: serverView(before, await scrape(url)) };
}

/** p-th percentile (0-100) of values, nearest-rank. */

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

/** Starts the server process (its probe listener on healthPort) and waits (at most 600 s: every bucket compiles first) for /health/ready. */
async function startServer(port: number, healthPort: number, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; healthUrl: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: resolve(ROOT, 'apps/server'),
    env: { ...process.env, PORT: String(port), HEALTH_PORT: String(healthPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode} before it answered`);
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return { child, url, healthUrl: `http://127.0.0.1:${healthPort}` };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  child.kill('SIGTERM');
  throw new Error('the server was not ready within 600 s');
}

/**
 * Probes /health/live at each of `urls` in turn, one probe every intervalMs, each on a fresh
 * connection as a kubelet's probe comes (it sends no keep-alive), from a process (and scheduling group) of
 * its own, so its times are the server's and not the load generator's event loop. The process is started before the
 * generator lowers its own priority, so it runs at the priority it was started with. It makes one
 * uncounted request to each URL before `ready` resolves: a fresh Node's first fetch loads its HTTP
 * client, tens of milliseconds that are the prober's and not the server's (a long-running
 * orchestrator's client is loaded already). It waits for start(); stop() ends it and returns the
 * times per URL.
 */
function probe(urls: readonly string[], intervalMs: number): { ready: Promise<void>; start(): void; kill(): void; stop(): Promise<{ times: number[][]; failed: number[] }> } {
  const targets = JSON.stringify(urls.map((url) => `${url}/health/live`));
  const script = `
    const targets = ${targets};
    const once = (target) => fetch(target, { signal: AbortSignal.timeout(5000), headers: { connection: 'close' } });
    const times = targets.map(() => []); const failed = targets.map(() => 0); let running = true;
    const go = new Promise((r) => process.on('message', (m) => { if (m === 'go') r(); else running = false; }));
    process.on('disconnect', () => process.exit(0));
    for (const target of targets) await (await once(target)).arrayBuffer();
    process.send({ ready: true });
    await go;
    for (let i = 0; running; i = (i + 1) % targets.length) {
      const t0 = performance.now();
      try {
        const response = await once(targets[i]);
        await response.arrayBuffer();
        if (response.status === 200) times[i].push(performance.now() - t0); else failed[i]++;
      } catch { failed[i]++; }
      await new Promise((r) => setTimeout(r, ${intervalMs / Math.max(1, urls.length)}));
    }
    process.send({ times, failed }, () => process.exit(0));`;
  // detached (setsid): a scheduling group of its own, so where the kernel shares the CPU between such
  // groups (Linux's autogroups) the prober is not in the server's and the generator's group, as an orchestrator's
  // probe process is not; its priority stays the one it started with
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
  const messages: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  child.on('message', (m: unknown) => (waiters.length > 0 ? waiters.shift()!(m) : messages.push(m)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const next = (): Promise<unknown> =>
    messages.length > 0
      ? Promise.resolve(messages.shift())
      : Promise.race([new Promise<unknown>((r) => waiters.push(r)), exited.then(() => Promise.reject(new Error('the /health/live prober exited early')))]);
  const ready = next().then(() => undefined);
  return {
    ready,
    start() {
      child.send('go');
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
    async stop() {
      if (child.exitCode !== null) throw new Error('the /health/live prober exited early');
      child.send('stop');
      const result = (await next()) as { times: number[][]; failed: number[] };
      await exited;
      return result;
    },
  };
}

/** A probe target's times summarised against PROBE_LIMIT_MS. */
function probeSummary(times: readonly number[], failed: number): ProbeSummary {
  return { count: times.length, maxMs: maxOf(times), p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), over: times.filter((t) => t > PROBE_LIMIT_MS).length, failed };
}

/** Tallies the 503s of a phase and the Retry-After each carried. */
function shedCounter(): { onResponse(status: number, headers?: IncomingHttpHeaders): void; shed503: number; without: number; retryAfter: Record<string, number> } {
  const counter = {
    shed503: 0,
    without: 0,
    retryAfter: {} as Record<string, number>,
    onResponse(status: number, headers?: IncomingHttpHeaders): void {
      if (status !== 503) return;
      counter.shed503++;
      const after = headers?.['retry-after'];
      if (after === undefined) counter.without++;
      else counter.retryAfter[String(after)] = (counter.retryAfter[String(after)] ?? 0) + 1;
    },
  };
  return counter;
}

/** The request every phase sends: one image as JSON to /predict. */
function predictRequest(url: string, body: string): { url: string; method: 'POST'; headers: Record<string, string>; body: string } {
  return { url: `${url}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body };
}

/** `rate` req/s of Poisson arrivals on at most `connections` connections (bench/open-loop.ts). */
async function poisson(url: string, name: string, body: string, connections: number, seconds: number, rate: number): Promise<Phase> {
  const shed = shedCounter();
  const result = await openLoop({
    ...predictRequest(url, body),
    rate,
    seconds,
    connections,
    timeoutMs: 10_000,
    random: uniformSequence(connections),
    onResponse: (status, headers) => shed.onResponse(status, headers),
  });
  return { ...phaseOf(name, connections, rate, result.seconds, result.status, result.latencies, shed, result.timeouts, result.errors), issueLagMs: result.maxIssueLagMs };
}

/** A phase's row from what its generator counted. */
function phaseOf(
  name: string,
  connections: number,
  offeredRps: number | null,
  seconds: number,
  status: Record<string, number>,
  latencies: readonly number[],
  shed: ReturnType<typeof shedCounter>,
  timeouts: number,
  errors: number,
): Phase {
  const requests = Object.values(status).reduce((a, b) => a + b, 0);
  const ok = status['200'] ?? 0;
  return {
    name,
    connections,
    offeredRps,
    seconds,
    requests,
    ok,
    requestsPerSecond: requests / seconds,
    okPerSecond: ok / seconds,
    latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: maxOf(latencies) },
    status,
    shed503: shed.shed503,
    shed503WithoutRetryAfter: shed.without,
    retryAfter: shed.retryAfter,
    timeouts,
    errors,
  };
}

async function load(url: string, name: string, body: string, connections: number, seconds: number, rate: number | null): Promise<Phase> {
  const latencies: number[] = [];
  const shed = shedCounter();
  const result = await autocannon({
    ...predictRequest(url, body),
    connections,
    duration: seconds,
    timeout: 10,
    ...(rate === null ? {} : { overallRate: rate }),
    setupClient: (client) => {
      client.on('response', (_status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
    },
    requests: [{ onResponse: (status: number, _body: string, _context: object, headers?: IncomingHttpHeaders) => shed.onResponse(status, headers) }],
  });
  const status: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {})) status[code] = (stats as { count: number }).count;
  return phaseOf(name, connections, rate, result.duration, status, latencies, shed, result.timeouts, result.errors - result.timeouts);
}

const f = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '-');

async function main(): Promise<void> {
  const values = new Command('pnpm bench:server')
    .description('load test of the prediction server on loopback: capacity at the given connections, then twice that offered, /health/live probed alongside')
    .option('--duration <seconds>', 'each capacity phase, 1-120', floatOption, 20)
    .option('--overload-duration <seconds>', 'the overload phase, 1-120', floatOption, 60)
    .option('--connections <list>', 'comma-separated connection counts of the capacity phases', intListOption, [32, 64])
    .option('--overload-connections <n>', 'connections of the overload phase', positiveIntOption, 256)
    .option('--backend <mode>', "the server's BACKEND", modeChoiceOption, 'async')
    .option('--phases <list>', `comma-separated phases to run, of ${PHASES.join(', ')} (overload needs capacity)`, phaseListOption, [...PHASES])
    .option('--generator-nice <n>', 'nice steps (0-19) the load generator runs below the server and the prober, which share its cores', niceOption, DEFAULT_GENERATOR_NICE)
    .option('--out <path>', 'results path without extension (default: bench/results/server-node<major>)')
    .parse()
    .opts<{ duration: number; overloadDuration: number; connections: number[]; overloadConnections: number; backend: string; phases: PhaseKind[]; generatorNice: number; out?: string }>();
  const run = new Set(values.phases);
  const duration = Math.min(120, Math.max(1, values.duration));
  const overloadDuration = Math.min(120, Math.max(1, values.overloadDuration));
  const { connections, overloadConnections } = values;

  const mnist = loadMnist('test');
  const body = JSON.stringify({ pixels: [Array.from(mnist.images.subarray(0, PIXELS), (v) => Math.round(v * 255))] });
  const port = await freePort();
  const started = performance.now();
  const { child, url, healthUrl } = await startServer(port, await freePort(), { BACKEND: values.backend });
  const startupS = (performance.now() - started) / 1000;
  const phases: Phase[] = [];
  // the server and the prober are started first: they keep the priority this process has now
  const probes = run.has('overload') ? probe([healthUrl, url], 250) : undefined;
  try {
    await probes?.ready;
    const generatorNice = lowerOwnPriority(values.generatorNice);
    const health = (await (await fetch(`${url}/health`)).json()) as { models: Record<string, { version?: string; warmupMs?: number }> };
    for (let i = 0; i < 100; i++) await (await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })).arrayBuffer();
    if (run.has('capacity')) {
      for (const c of connections) {
        process.stderr.write(`capacity: ${c} connections, ${duration} s...\n`);
        phases.push(await observed(url, () => load(url, 'capacity', body, c, duration, null)));
      }
    }
    const capacity = Math.max(...phases.map((p) => p.okPerSecond));
    if (run.has('bursts')) {
      for (const c of connections) {
        process.stderr.write(`${TARGET_RPS} req/s in autocannon's bursts: ${c} connections, ${duration} s...\n`);
        phases.push(await observed(url, () => load(url, BURSTS, body, c, duration, TARGET_RPS)));
      }
    }
    if (run.has('poisson')) {
      for (const c of connections) {
        process.stderr.write(`${TARGET_RPS} req/s, Poisson arrivals: at most ${c} connections, ${duration} s...\n`);
        phases.push(await observed(url, () => poisson(url, POISSON, body, c, duration, TARGET_RPS)));
      }
    }
    if (run.has('overload') && Number.isFinite(capacity)) {
      const offered = Math.max(1, Math.round(2 * capacity));
      process.stderr.write(`overload: ${offered} req/s offered (2x ${capacity.toFixed(0)}) on ${overloadConnections} connections, ${overloadDuration} s...\n`);
      probes!.start();
      const overload = await observed(url, () => load(url, 'overload 2x', body, overloadConnections, overloadDuration, offered));
      const probed = await probes!.stop();
      const summaries = Object.fromEntries(PROBE_TARGETS.map((target, i) => [target, probeSummary(probed.times[i], probed.failed[i])])) as Record<ProbeTarget, ProbeSummary>;
      phases.push({ ...overload, probes: summaries });
    }

    const commit = execSync('git rev-parse --short HEAD', { cwd: ROOT }).toString().trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd: ROOT }).toString().trim() !== '' ? ' (with uncommitted changes)' : '';
    const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, load ${loadavg()[0].toFixed(2)} at the end, node ${process.version}`;
    const models = Object.entries(health.models).map(([name, m]) => `${name} ${m.version ?? 'unavailable'}`).join(', ');
    // "answered 500 req/s" allows the generators' pacing 2% of slack
    const rateVerdict = (label: string, atRate: readonly Phase[]): string => {
      const met = atRate.filter((p) => p.okPerSecond >= 0.98 * TARGET_RPS && p.latencyMs.p99 <= TARGET_P99_MS);
      return (
        `${label}: ${TARGET_RPS} req/s answered with p99 <= ${TARGET_P99_MS} ms at ${atRate.map((p) => p.connections).join(' and ')} connections: ` +
        `${atRate.map((p) => `${p.connections}: ${f(p.okPerSecond, 0)} req/s, p50 ${f(p.latencyMs.p50)} ms, p99 ${f(p.latencyMs.p99)} ms`).join('; ')}: ${met.length === atRate.length ? 'met' : 'NOT MET'}`
      );
    };
    const verdicts: string[] = [];
    const poissonPhases = phases.filter((p) => p.name === POISSON);
    const burstPhases = phases.filter((p) => p.name === BURSTS);
    if (poissonPhases.length > 0) verdicts.push(rateVerdict('Poisson arrivals (the target)', poissonPhases));
    if (burstPhases.length > 0) verdicts.push(rateVerdict(`autocannon's synchronized bursts (${connections.map((c) => `${c} at once`).join(', ')})`, burstPhases));
    const over = phases.find((p) => p.probes !== undefined);
    if (over !== undefined) {
      const afters = Object.entries(over.retryAfter).sort(([a], [b]) => Number(a) - Number(b)).map(([s, n]) => `${s} s: ${n}`).join(', ');
      const other5xx = Object.entries(over.status).filter(([code]) => code.startsWith('5') && code !== '503').reduce((a, [, n]) => a + n, 0);
      verdicts.push(
        `overload: ${over.shed503} of ${over.requests} answered 503${afters === '' ? '' : ` (Retry-After ${afters})`}, p50 ${f(over.latencyMs.p50)} ms over all answers`,
        `overload: ${over.timeouts} timeouts, ${over.errors} socket errors, ${other5xx} 5xx other than 503, ${over.shed503WithoutRetryAfter} 503 without Retry-After: ${over.timeouts + over.errors + other5xx + over.shed503WithoutRetryAfter === 0 ? 'met' : 'NOT MET'}`,
        ...PROBE_TARGETS.map((target) => {
          const p = over.probes![target];
          return `/health/live within ${PROBE_LIMIT_MS} ms on the ${PROBE_WHERE[target]}: ${p.count} probes, ${p.over} over, ${p.failed} failed, max ${f(p.maxMs)} ms: ${p.over + p.failed === 0 ? 'met' : 'NOT MET'}`;
        }),
      );
    }
    const lines = [
      `# Server load test`,
      '',
      `Commit ${commit}${dirty}; \`pnpm bench:server --duration ${duration} --overload-duration ${overloadDuration} --connections ${connections.join(',')} --phases ${values.phases.join(',')} --generator-nice ${values.generatorNice}\`; ` +
        `POST /predict, one MNIST test image per request as JSON, both models; loopback; backend ${values.backend} (${models}); ${machine}; server ready in ${f(startupS, 0)} s; ` +
        `the load generator ran ${generatorNice} nice steps below the server and the prober.`,
      '',
      '| phase | connections | offered req/s | requests | req/s | 200/s | latency p50 ms | p99 ms | max ms | 503 (all with Retry-After) | Retry-After s | timeouts | socket errors | statuses |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|',
      ...phases.map(
        (p) =>
          `| ${p.name} | ${p.connections} | ${p.offeredRps ?? '-'} | ${p.requests} | ${f(p.requestsPerSecond, 0)} | ${f(p.okPerSecond, 0)} | ${f(p.latencyMs.p50)} | ${f(p.latencyMs.p99)} | ${f(p.latencyMs.max, 0)} | ` +
          `${p.shed503}${p.shed503WithoutRetryAfter === 0 ? '' : ` (${p.shed503WithoutRetryAfter} without)`} | ${Object.keys(p.retryAfter).sort().join(', ') || '-'} | ${p.timeouts} | ${p.errors} | ${Object.entries(p.status).map(([c, n]) => `${c}: ${n}`).join(', ')} |`,
      ),
      '',
      "The server's side of each phase (its /metrics): the HTTP thread's event-loop delay, and per model the batches run, their mean size and mean compute time in the worker.",
      '',
      '| phase | connections | event-loop delay p99 ms | max ms | cnn batches | images/batch | ms/batch | vit batches | images/batch | ms/batch |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...phases.map((p) => {
        const v = p.server;
        const b = (model: string): string => {
          const m = v?.batches[model];
          return m === undefined ? '- | - | -' : `${m.count} | ${f(m.meanImages)} | ${f(m.meanMs)}`;
        };
        return `| ${p.name} | ${p.connections} | ${f(v?.eventLoopDelayMs.p99 ?? Number.NaN)} | ${f(v?.eventLoopDelayMs.max ?? Number.NaN)} | ${b('cnn')} | ${b('vit')} |`;
      }),
      '',
      ...(over === undefined
        ? []
        : [
            `/health/live during the overload, each port probed every 250 ms on a fresh connection from a process and scheduling group of its own (after one uncounted request each that loads its HTTP client): ` +
              PROBE_TARGETS.map((target) => {
                const p = over.probes![target];
                return `${target}: ${p.count} answered, p50 ${f(p.p50Ms)} ms, p99 ${f(p.p99Ms)} ms, max ${f(p.maxMs)} ms`;
              }).join('; ') +
              '.',
            '',
          ]),
      ...(poissonPhases.length === 0 ? [] : [`Poisson phases: the generator issued every arrival within ${f(Math.max(...poissonPhases.map((p) => p.issueLagMs ?? 0)))} ms of its time.`, '']),
      ...verdicts.map((v) => `- ${v}`),
      '',
    ];
    const text = lines.join('\n');
    console.log(`\n${text}`);
    const out = values.out ?? resolve(ROOT, `bench/results/server-node${process.versions.node.split('.')[0]}`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.md`, text);
    writeFileSync(`${out}.json`, `${JSON.stringify({ commit, machine, backend: values.backend, generatorNice, models: health.models, startupS, phases }, null, 2)}\n`);
    process.stderr.write(`wrote ${out}.md and .json\n`);
  } finally {
    probes?.kill();
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
