// Serving under load, against the real server on a real socket with the shipped models in their
// worker threads: batching (answers identical to unbatched), the bounded queue, deadlines,
// disconnected clients, metrics, probes that stay fast, the v2 protocol, files as streams, draining.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PIXELS } from '@digitlab/digit-csv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_NICE } from '../src/config.js';
import { bytesOf, digitsCsv, metricAt, startServer, testDigits, type PredictBody } from './helpers.js';

let app: FastifyInstance;
let base: string;
const QUEUE_LIMIT = 64;

beforeAll(async () => {
  // no shedding by expected wait here (overload.test.ts has it): these tests fill the queue to QUEUE_LIMIT
  app = await startServer({ maxBatch: 64, maxBatchWaitMs: 5, queueLimit: QUEUE_LIMIT, maxQueueWaitMs: 600_000, maxImages: 1000 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
});

const digits = testDigits(64);
const pixelsOf = (from: number, count: number): number[][] => Array.from({ length: count }, (_, i) => bytesOf(digits, from + i));
/** Resolves once check() holds (polled every 10 ms); rejects after 60 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + 60_000;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error('the server never reached the state the test waits for');
    await new Promise((r) => setTimeout(r, 10));
  }
}
/** Resolves once `more` further requests have been sent to the CNN (its queue-wait histogram counts one per request at dispatch). */
async function dispatched(more: number): Promise<() => Promise<void>> {
  const start = await metric('digitlab_queue_wait_seconds_count', { model: 'cnn' });
  return () => until(async () => (await metric('digitlab_queue_wait_seconds_count', { model: 'cnn' })) >= start + more);
}
/** 512 images: one batch that keeps a model busy for a few hundred milliseconds. */
const long = (): number[][] => Array.from({ length: 8 }, () => pixelsOf(0, 64)).flat();

async function predictJson(pixels: number[][], headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ pixels }) });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const metric = (name: string, labels: Record<string, string> = {}): Promise<number> => metricAt(base, name, labels);

describe('dynamic batching', () => {
  it('gathers concurrent single-image requests into batches, and each answer equals the unbatched one', async () => {
    const alone: PredictBody[] = [];
    for (let i = 0; i < 16; i++) alone.push((await predictJson(pixelsOf(i, 1))).body as PredictBody);
    const batchedBefore = await metric('digitlab_batch_size_images_count', { model: 'cnn' });
    const together = await Promise.all(Array.from({ length: 16 }, (_, i) => predictJson(pixelsOf(i, 1))));
    const batches = (await metric('digitlab_batch_size_images_count', { model: 'cnn' })) - batchedBefore;
    expect(batches).toBeLessThan(16); // some requests shared a batch
    together.forEach((response, i) => {
      expect(response.status).toBe(200);
      const body = response.body as PredictBody;
      expect(body.predictions[0].cnn).toEqual(alone[i].predictions[0].cnn);
      expect(body.predictions[0].vit).toEqual(alone[i].predictions[0].vit);
    });
    // and a request of 16 images answers as the 16 single ones did
    const whole = (await predictJson(pixelsOf(0, 16))).body as PredictBody;
    whole.predictions.forEach((p, i) => expect(p.cnn).toEqual(alone[i].predictions[0].cnn));
  });
});

describe('admission control', () => {
  it('answers a full queue at once with 503, Retry-After and the error JSON', async () => {
    // the first request runs, the second waits in the model's worker, the third in the queue (64
    // images = QUEUE_LIMIT), the fourth does not fit
    const bothSent = await dispatched(2);
    const running = predictJson(long());
    let runningAnswered = false;
    void running.then(() => (runningAnswered = true));
    const next = predictJson(long());
    await bothSent();
    const waiting = predictJson(pixelsOf(0, 64));
    // the later tests start from an empty queue whatever happens here
    const admitted = Promise.all([running, next, waiting]);
    try {
      await until(async () => (await metric('digitlab_queue_depth_images', { model: 'cnn' })) === 64);
      const refused = await predictJson(pixelsOf(0, 8));
      // at once: before even the batch that was running is answered
      expect(runningAnswered).toBe(false);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(refused.body).toMatchObject({ error: 'QUEUE_FULL', statusCode: 503 });
      expect((refused.body as { message: string }).message).toContain('QUEUE_LIMIT');
    } finally {
      await admitted;
    }
    for (const answer of await admitted) expect(answer.status).toBe(200);
    expect(await metric('digitlab_shed_requests_total', { model: 'cnn', reason: 'queue_limit' })).toBeGreaterThanOrEqual(1);
    expect(await metric('digitlab_errors_total', { code: 'QUEUE_FULL' })).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 DEADLINE_EXCEEDED when a request cannot be served within its deadline', async () => {
    const running = predictJson(pixelsOf(0, 64));
    try {
      await new Promise((r) => setTimeout(r, 10));
      const late = await predictJson(pixelsOf(0, 1), { 'request-timeout-ms': '1' });
      expect(late.status).toBe(503);
      expect(late.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(late.body).toMatchObject({ error: 'DEADLINE_EXCEEDED' });
    } finally {
      await running;
    }
    expect((await running).status).toBe(200);
    expect((await predictJson(pixelsOf(0, 1), { 'request-timeout-ms': 'soon' })).body).toMatchObject({ error: 'BAD_TIMEOUT' });
  });

  it('drops the queued work of a client that went away', async () => {
    const before = await metric('digitlab_images_predicted_total', { model: 'cnn' });
    const gone = await metric('digitlab_errors_total', { code: 'CLIENT_GONE' });
    // two long batches keep the model and its worker's next slot busy
    const bothSent = await dispatched(2);
    const running = Promise.all([predictJson(long()), predictJson(long())]);
    await bothSent();
    // 7 images queued behind them, then the socket is closed
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      req.on('error', () => resolve());
      req.end(JSON.stringify({ pixels: pixelsOf(0, 7) }), () => setTimeout(() => {
        req.destroy();
        resolve();
      }, 20));
    });
    expect((await running).map((answer) => answer.status)).toEqual([200, 200]);
    await new Promise((r) => setTimeout(r, 200));
    expect(await metric('digitlab_images_predicted_total', { model: 'cnn' })).toBe(before + 1024);
    expect(await metric('digitlab_errors_total', { code: 'CLIENT_GONE' })).toBe(gone + 1);
  });
});

describe('probes and metrics', () => {
  it('answers /health/live and /metrics within milliseconds while the models are busy', async () => {
    const busy = fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: digitsCsv(testDigits(600)) });
    await new Promise((r) => setTimeout(r, 50));
    const times: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const response = await fetch(`${base}/health/live`);
      times.push(performance.now() - t0);
      expect(response.status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    const t0 = performance.now();
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    times.push(performance.now() - t0);
    times.sort((a, b) => a - b);
    expect(times[Math.floor(times.length / 2)]).toBeLessThan(50);
    expect(times[times.length - 1]).toBeLessThan(500);
    expect((await busy).status).toBe(200);
  });

  it.runIf(existsSync('/proc/thread-self'))('runs the model workers WORKER_NICE steps below the HTTP thread, so it gets the CPU first', () => {
    // field 19 of /proc/<pid>/task/<tid>/stat is the thread's nice value (counted after the ")" closing its name)
    const niceOf = (tid: string): number => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16]);
    const main = niceOf(String(process.pid));
    const lowered = readdirSync('/proc/self/task').filter((tid) => niceOf(tid) === Math.min(19, main + DEFAULT_WORKER_NICE));
    // at least the two model workers' own threads (their backends' pool threads inherit it too)
    expect(lowered.length).toBeGreaterThanOrEqual(2);
  });

  it('exposes request durations, queue depth and wait, batch sizes, inference time, images and errors', async () => {
    await fetch(`${base}/nowhere`);
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/digitlab_http_request_duration_seconds_bucket\{le="[^"]+",method="POST",route="\/predict",status_code="200"\} \d+/);
    expect(text).toContain('route="unmatched",status_code="404"');
    expect(text).toMatch(/digitlab_queue_depth_images\{model="cnn",task="predict"\} \d+/);
    // the explanation queues are there before the first explained request, empty
    expect(text).toMatch(/digitlab_queue_depth_images\{model="vit",task="explain"\} 0/);
    expect(text).toMatch(/digitlab_queue_expected_wait_seconds\{model="vit",task="predict"\} [0-9.e-]+/);
    expect(text).toMatch(/digitlab_shed_requests_total\{model="cnn",task="predict",reason="queue_limit"\} [1-9]/);
    expect(text).toMatch(/digitlab_queue_wait_seconds_count\{model="vit",task="predict"\} [1-9]/);
    expect(text).toMatch(/digitlab_batch_size_images_bucket\{le="64",model="cnn",task="predict"\} [1-9]/);
    expect(text).toMatch(/digitlab_inference_seconds_sum\{model="vit",task="predict"\} [0-9.e-]+/);
    expect(text).toMatch(/digitlab_images_predicted_total\{model="cnn",task="predict"\} [1-9]/);
    expect(text).toMatch(/digitlab_errors_total\{code="NOT_FOUND"\} [1-9]/);
    expect(text).toContain('digitlab_process_nodejs_eventloop_lag_seconds');
  });
});

describe('Open Inference Protocol v2', () => {
  const v2 = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${base}${path}`, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>) };
  };
  const infer = (name: string, body: unknown) => v2(`/v2/models/${name}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers health, server and model metadata', async () => {
    expect((await v2('/v2/health/live')).status).toBe(200);
    expect((await v2('/v2/health/ready')).status).toBe(200);
    expect((await v2('/v2/models/cnn/ready')).status).toBe(200);
    expect((await v2('/v2')).body).toMatchObject({ name: 'digitlab', extensions: [] });
    const meta = await v2('/v2/models/vit');
    expect(meta.status).toBe(200);
    expect(meta.body).toMatchObject({
      name: 'vit',
      platform: expect.any(String),
      inputs: [{ name: 'images', datatype: 'FP32', shape: [-1, 784] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }, { name: 'digit', datatype: 'INT64', shape: [-1] }],
    });
    expect((meta.body as { versions: string[] }).versions).toHaveLength(1);
    expect(await v2('/v2/models/resnet')).toMatchObject({ status: 404, body: { error: expect.stringContaining('no model "resnet"') } });
  });

  it('infers FP32 [N,784] and [N,1,28,28] and UINT8, as /predict answers', async () => {
    const reference = (await predictJson(pixelsOf(0, 2))).body as PredictBody;
    const floats = Array.from(digits.images.subarray(0, 2 * PIXELS));
    const flat = await infer('cnn', { id: 'a1', inputs: [{ name: 'images', shape: [2, 784], datatype: 'FP32', data: floats }] });
    expect(flat.status).toBe(200);
    expect(flat.body).toMatchObject({ model_name: 'cnn', id: 'a1', model_version: expect.any(String) });
    const outputs = (flat.body as { outputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }> }).outputs;
    expect(outputs.map((o) => [o.name, o.shape, o.datatype])).toEqual([['probabilities', [2, 10], 'FP32'], ['digit', [2], 'INT64']]);
    expect(outputs[1].data).toEqual(reference.predictions.map((p) => p.cnn!.digit));
    outputs[0].data.slice(0, 10).forEach((v, d) => expect(v).toBeCloseTo(reference.predictions[0].cnn!.probabilities[d], 5));

    const nested = Array.from({ length: 2 }, (_, n) => [Array.from({ length: 28 }, (_, y) => floats.slice(n * PIXELS + y * 28, n * PIXELS + y * 28 + 28))]);
    const image = await infer('vit', { inputs: [{ name: 'images', shape: [2, 1, 28, 28], datatype: 'FP32', data: nested }], outputs: [{ name: 'digit' }] });
    expect((image.body as { outputs: Array<{ name: string; data: number[] }> }).outputs).toEqual([{ name: 'digit', shape: [2], datatype: 'INT64', data: reference.predictions.map((p) => p.vit!.digit) }]);

    const bytes = await infer('cnn', { inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: bytesOf(digits, 0) }] });
    expect((bytes.body as { outputs: Array<{ data: number[] }> }).outputs[1].data).toEqual([reference.predictions[0].cnn!.digit]);
  });

  it('refuses bad tensors with 400 and the protocol\'s {"error"}', async () => {
    const data = new Array<number>(784).fill(0);
    const cases: Array<[unknown, string]> = [
      [{ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP64', data }] }, 'datatype FP64'],
      [{ inputs: [{ name: 'images', shape: [1, 28], datatype: 'FP32', data }] }, 'shape [1,28]'],
      [{ inputs: [{ name: 'images', shape: [2, 784], datatype: 'FP32', data }] }, 'needs 1568'],
      [{ inputs: [{ name: 'images', shape: [1, 784], datatype: 'FP32', data: [...data.slice(1), 7] }] }, 'a number 0-1'],
      [{ inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: [...data.slice(1), 2.5] }] }, 'an integer 0-255'],
      [{ inputs: [] }, 'inputs'],
      [{ nothing: true }, 'inputs'],
    ];
    for (const [body, says] of cases) {
      const answer = await infer('cnn', body);
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(Object.keys(answer.body ?? {})).toEqual(['error']);
      expect(String(answer.body?.error)).toContain(says);
    }
  });
});

describe('whole files', () => {
  const file = testDigits(10_000);
  const labelled = digitsCsv(file, { labelled: true });

  it('answers a 10,000-row labelled mnist_test.csv in one JSON answer', async () => {
    const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: labelled });
    expect(response.status).toBe(200);
    const body = (await response.json()) as PredictBody;
    expect(body.count).toBe(10_000);
    expect(body.predictions.map((p) => p.index)).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    expect(body.predictions.map((p) => p.label)).toEqual(file.labels);
    const right = body.predictions.filter((p) => p.cnn?.digit === p.label).length;
    expect(right / 10_000).toBeGreaterThan(0.97);
  }, 600_000);

  it('streams it as NDJSON, one line per image, from an upload', async () => {
    const form = new FormData();
    form.append('file', new Blob([labelled], { type: 'text/csv' }), 'mnist_test.csv');
    const response = await fetch(`${base}/predict`, { method: 'POST', headers: { accept: 'application/x-ndjson' }, body: form });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    const reader = response.body!.getReader();
    let text = '';
    let firstLineAt = Number.NaN;
    const started = performance.now();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      if (Number.isNaN(firstLineAt) && text.includes('\n')) firstLineAt = performance.now() - started;
    }
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as PredictBody['predictions'][number]);
    expect(lines).toHaveLength(10_000);
    expect(lines[9_999]).toMatchObject({ index: 9_999, label: file.labels[9_999] });
    expect(lines.every((line) => line.cnn !== null && line.vit !== null)).toBe(true);
    // lines arrive as batches finish, not all at the end
    expect(firstLineAt).toBeLessThan(performance.now() - started);
  }, 600_000);

  it('reads a Kaggle-style test.csv (header pixel0..pixel783, no labels)', async () => {
    const kaggle = digitsCsv(testDigits(300), { header: true });
    expect(kaggle.startsWith('pixel0,pixel1,')).toBe(true);
    const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: kaggle });
    const body = (await response.json()) as PredictBody;
    expect(body.count).toBe(300);
    expect(body.input.layout).toBe('rows');
    expect(body.predictions.every((p) => p.label === null)).toBe(true);
  });

  it('ends an NDJSON answer with an error line when a later row is bad', async () => {
    const rows = digitsCsv(testDigits(300)).trimEnd().split('\n');
    rows[280] = rows[280].replace(/^\d+/, 'x');
    const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'text/csv', accept: 'application/x-ndjson' }, body: rows.join('\n') });
    expect(response.status).toBe(200);
    const lines = (await response.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(257);
    expect(lines[256]).toMatchObject({ error: 'NOT_A_NUMBER', statusCode: 400, row: 281, column: 1 });
  });
});

describe('graceful shutdown', () => {
  it('drains: /health/ready and /v2/health/ready answer 503, new predictions 503, the request in flight finishes', async () => {
    // in flight: wait until the models have it (a fixed pause may pass before a busy machine parsed it)
    const sent = await dispatched(1);
    const inFlight = predictJson(pixelsOf(0, 64));
    await sent();
    app.beginDrain();
    const ready = await fetch(`${base}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('1');
    expect(await ready.json()).toEqual({ status: 'draining' });
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(503);
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const late = await predictJson(pixelsOf(0, 1));
    expect(late.status).toBe(503);
    expect(late.headers.get('retry-after')).toBe('1');
    expect(late.body).toMatchObject({ error: 'SHUTTING_DOWN' });
    const v2 = await fetch(`${base}/v2/models/cnn/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'images', shape: [1, 784], datatype: 'UINT8', data: pixelsOf(0, 1)[0] }] }) });
    expect(v2.status).toBe(503);
    const closing = app.close();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect((answer.body as PredictBody).count).toBe(64);
    await closing;
  });
});
