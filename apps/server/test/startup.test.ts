// Starting up: configuration from the environment, weights checked (missing, corrupt, only one model),
// and main.ts's exit codes and graceful shutdown as a real process.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildServer, ConfigError, configFromEnv, REPO_ROOT, WeightsError } from '../src/index.js';
import { digitsCsv, expectPredictions, post, testDigits, WEIGHTS_DIR, type PredictBody } from './helpers.js';
import type { LazyRunner } from '../src/inference/lazy-runner.js';

const scratch = mkdtempSync(join(tmpdir(), 'digitlab-startup-'));

/** A weights dir holding copies of the named shipped models. */
function weightsWith(names: readonly string[]): string {
  const dir = mkdtempSync(join(scratch, 'weights-'));
  for (const name of names) {
    copyFileSync(join(WEIGHTS_DIR, `${name}.json`), join(dir, `${name}.json`));
    copyFileSync(join(WEIGHTS_DIR, `${name}.safetensors`), join(dir, `${name}.safetensors`));
  }
  return dir;
}

describe('configFromEnv', () => {
  it('has the documented defaults', () => {
    const config = configFromEnv({});
    expect(config).toMatchObject({ port: 3000, host: '0.0.0.0', backend: 'async', bodyLimit: 10 * 1024 * 1024, maxImages: 1000, corsOrigin: '*' });
    expect(config.weightsDir).toBe(resolve(REPO_ROOT, 'weights'));
    expect(config).toMatchObject({ maxBatch: 64, maxBatchWaitMs: 2, queueLimit: 256, maxQueueWaitMs: 100, requestTimeoutMs: 10_000, warm: true, workerNice: 5 });
    expect(config).toMatchObject({ fileBodyLimit: 256 * 1024 * 1024, fileMaxRows: 100_000, fileTimeoutMs: 600_000, fileBatch: 64 });
  });

  it('reads the serving settings', () => {
    const env = { MAX_BATCH: '32', MAX_BATCH_WAIT_MS: '0', QUEUE_LIMIT: '100', MAX_QUEUE_WAIT_MS: '40', REQUEST_TIMEOUT_MS: '500', FILE_BODY_LIMIT: '4096', FILE_MAX_ROWS: '7', FILE_TIMEOUT_MS: '9', FILE_BATCH: '16', POOL_SIZE: '1', WARM: 'false', WORKER_NICE: '0' };
    expect(configFromEnv(env)).toMatchObject({ maxBatch: 32, maxBatchWaitMs: 0, queueLimit: 100, maxQueueWaitMs: 40, requestTimeoutMs: 500, fileBodyLimit: 4096, fileMaxRows: 7, fileTimeoutMs: 9, fileBatch: 16, poolSize: 1, warm: false, workerNice: 0 });
    expect(() => configFromEnv({ QUEUE_LIMIT: '0' })).toThrow(/QUEUE_LIMIT=0/);
    expect(() => configFromEnv({ WARM: 'maybe' })).toThrow(/WARM=maybe/);
    expect(() => configFromEnv({ WORKER_NICE: '20' })).toThrow(/WORKER_NICE=20 is not an integer from 0 to 19/);
  });

  it('reads the probe listener: none unless HEALTH_PORT is set, on HOST, with its stall limit', () => {
    expect(configFromEnv({})).toMatchObject({ healthHost: '0.0.0.0', healthStallMs: 5_000 });
    expect(configFromEnv({}).healthPort).toBeUndefined();
    expect(configFromEnv({ HEALTH_PORT: '3001', HOST: '127.0.0.1', HEALTH_STALL_MS: '2000' })).toMatchObject({ healthPort: 3001, healthHost: '127.0.0.1', healthStallMs: 2000 });
    expect(() => configFromEnv({ HEALTH_PORT: 'yes' })).toThrow(/HEALTH_PORT=yes is not an integer from 0 to 65535/);
    expect(() => configFromEnv({ HEALTH_STALL_MS: '10' })).toThrow(/HEALTH_STALL_MS=10 is not an integer from 100/);
  });

  it('reads every variable', () => {
    const config = configFromEnv({
      PORT: '8080',
      HOST: '127.0.0.1',
      WEIGHTS_DIR: '/tmp/w',
      BACKEND: 'webasm',
      BODY_LIMIT: '2048',
      MAX_IMAGES: '5',
      CORS_ORIGIN: 'https://a.example, https://b.example',
    });
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', weightsDir: '/tmp/w', backend: 'webasm', bodyLimit: 2048, maxImages: 5 });
    expect(config.corsOrigin).toEqual(['https://a.example', 'https://b.example']);
    expect(configFromEnv({ CORS_ORIGIN: 'none' }).corsOrigin).toBe(false);
  });

  it('refuses bad values, naming the variable', () => {
    expect(() => configFromEnv({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => configFromEnv({ PORT: '70000' })).toThrow(/PORT=70000/);
    expect(() => configFromEnv({ BACKEND: 'cuda' })).toThrow(/BACKEND=cuda .*cpu, webasm, async/);
    expect(() => configFromEnv({ MAX_IMAGES: '0' })).toThrow(/MAX_IMAGES/);
    expect(() => configFromEnv({ BODY_LIMIT: '1.5' })).toThrow(/BODY_LIMIT/);
  });

  it('accepts BACKEND=auto', () => {
    expect(configFromEnv({ BACKEND: 'auto' }).backend).toBe('auto');
  });
});

describe('BACKEND=auto', () => {
  it('times the modes at start-up, runs on the fastest correct one and says so on /health', async () => {
    const app = await buildServer({ weightsDir: weightsWith(['cnn']), backend: 'auto', warm: false });
    try {
      const health = (await app.inject({ method: 'GET', url: '/health' })).json<{ backend: string; backendTrials: Array<{ mode: string; ms?: number; kernel?: string; error?: string }> }>();
      const timed = health.backendTrials.filter((t) => t.ms !== undefined);
      expect(timed.map((t) => t.mode)).toEqual(expect.arrayContaining(['async', 'webasm']));
      expect(timed.every((t) => t.kernel === 'WebAssemblyKernel')).toBe(true);
      const fastest = timed.reduce((a, b) => (b.ms! < a.ms! ? b : a));
      expect(health.backend).toBe(fastest.mode);
      expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(2))), 2);
    } finally {
      await app.close();
    }
  });
});

describe('weights at start', () => {
  it('refuses to start without any weights', async () => {
    const empty = mkdtempSync(join(scratch, 'empty-'));
    await expect(buildServer({ weightsDir: empty })).rejects.toThrow(WeightsError);
    await expect(buildServer({ weightsDir: empty })).rejects.toThrow(/no model could be loaded/);
  });

  it('refuses corrupt weights (sha256 mismatch)', async () => {
    const dir = weightsWith(['cnn']);
    const path = join(dir, 'cnn.safetensors');
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
    await expect(buildServer({ weightsDir: dir })).rejects.toThrow(/sha256/);
  });

  it('refuses a card whose weights file is missing', async () => {
    const dir = mkdtempSync(join(scratch, 'card-only-'));
    copyFileSync(join(WEIGHTS_DIR, 'cnn.json'), join(dir, 'cnn.json'));
    await expect(buildServer({ weightsDir: dir })).rejects.toThrow(WeightsError);
  });

  it('starts with only the CNN (every batch bucket and its explanation worker ready first), answering with it and saying the ViT is unavailable', async () => {
    const app = await buildServer({ weightsDir: weightsWith(['cnn']) });
    try {
      // warm: the explanation worker started before the server was ready, not at the first explained request
      expect((app.digitModels.explainQueues.cnn!.runner as LazyRunner).started).toBe(true);
      expect(app.digitModels.explainQueues.vit).toBeUndefined();
      const health = (await app.inject({ method: 'GET', url: '/health' })).json<{ status: string; models: { cnn: { warmupMs: number }; vit: { available: boolean; reason: string } } }>();
      expect(health.models.cnn.warmupMs).toBeGreaterThan(0);
      expect(health.status).toBe('degraded');
      expect(health.models.vit).toMatchObject({ available: false });
      expect(health.models.vit.reason).toContain('vit.json is missing');
      const body: PredictBody = expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(2))), 2);
      expect(body.predictions[0].cnn).not.toBeNull();
      expect(body.predictions[0].vit).toBeNull();
      expect(body.predictions[0].agree).toBeNull();
      expect(body.models.vit).toBeNull();
      expect(body.timings.vitMs).toBeNull();
      expect(body.unavailable?.vit).toContain('not shipped');
      const explained = await app.inject({ method: 'POST', url: '/predict?explain=1', headers: { 'content-type': 'text/csv' }, payload: digitsCsv(testDigits(1)) });
      expect(explained.statusCode).toBe(200);
      expect(explained.json<{ predictions: Array<{ explanation?: { cnn: { kind: string } | null } }> }>().predictions[0].explanation?.cnn?.kind).toBe('saliency');
    } finally {
      await app.close();
    }
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx src/main.ts` with env; `during` gets the listening URL (once logged) and may signal the process. */
function runMain(env: Record<string, string>, during?: (url: string, kill: (signal: NodeJS.Signals) => void) => Promise<void>): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    // node itself with tsx's loader, not the tsx CLI: the CLI relays signals to a child process and,
    // when that child is busy predicting, killed it before its SIGTERM handler ran (exit 143 under load)
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: resolve(REPO_ROOT, 'apps/server'), env: { ...process.env, WARM: 'false', ...env } });
    let stdout = '';
    let stderr = '';
    let started = false;
    child.stdout.on('data', (data: Buffer) => {
      stdout += data.toString();
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
      if (match !== null && !started && during !== undefined) {
        started = true;
        during(match[1], (signal) => child.kill(signal)).catch(reject);
      }
    });
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

describe('main.ts as a process', () => {
  it('exits non-zero with a clear message when the weights are missing', async () => {
    const run = await runMain({ WEIGHTS_DIR: mkdtempSync(join(scratch, 'none-')), PORT: '0', HOST: '127.0.0.1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^digitlab server cannot start: no model could be loaded from/);
  });

  it('exits non-zero with a clear message on a bad setting', async () => {
    const run = await runMain({ BACKEND: 'cuda' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('BACKEND=cuda is not a gpu.js mode');
  });

  it('serves, then on SIGTERM finishes the request in flight and exits 0', async () => {
    let inFlight: Promise<Response> | undefined;
    const run = await runMain({ PORT: '0', HOST: '127.0.0.1', WEIGHTS_DIR }, async (url, kill) => {
      expect((await fetch(`${url}/health`)).status).toBe(200);
      inFlight = fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: digitsCsv(testDigits(20)) });
      await new Promise((r) => setTimeout(r, 50));
      kill('SIGTERM');
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SIGTERM');
    const response = await inFlight;
    expect(response?.status).toBe(200);
    expect(((await response?.json()) as PredictBody).count).toBe(20);
  });
});
