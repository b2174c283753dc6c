// The probe listener (HEALTH_PORT): /health/live and /health/ready on a port of their own, answered
// on a thread no request shares. Readiness waits for the main port and goes 503 while draining;
// liveness answers while the HTTP thread is busy, and fails once that thread's loop stands still
// past the stall limit; close() closes its port.
import { once } from 'node:events';
import { connect } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shipped, startServer } from './helpers.js';

/** Stall limit of the server under test: short, so a blocked HTTP thread shows within the test. */
const STALL_MS = 500;
/** How long the test blocks the HTTP thread: several stall limits, so the stall shows however late the probes come. */
const BLOCK_MS = 4_000;

interface Probed {
  readonly at: number;
  readonly status: number;
  readonly body: string;
}

/**
 * A client on a thread of its own, so it probes while this thread is blocked: it probes `url` every
 * 50 ms from 'go' until 'stop', then posts what it got (Date.now() times: one clock for both threads).
 */
function probingThread(url: string): { started: Promise<void>; go(): void; stop(): Promise<Probed[]>; close(): Promise<number> } {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const answers = []; let running = true; let told = false;
     parentPort.on('message', async (m) => {
       if (m === 'stop') { running = false; return; }
       while (running) {
         try {
           const response = await fetch(workerData, { headers: { connection: 'close' } });
           answers.push({ at: Date.now(), status: response.status, body: await response.text() });
           if (!told) { told = true; parentPort.postMessage('started'); }
         } catch (error) { answers.push({ at: Date.now(), status: 0, body: String(error) }); }
         await new Promise((r) => setTimeout(r, 50));
       }
       parentPort.postMessage(answers);
     });`,
    { eval: true, workerData: url },
  );
  const messages: unknown[] = [];
  let waiting: ((m: unknown) => void) | undefined;
  worker.on('message', (m: unknown) => (waiting ? (waiting(m), (waiting = undefined)) : messages.push(m)));
  const next = (): Promise<unknown> => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((r) => (waiting = r)));
  let started!: Promise<void>;
  return {
    get started() {
      return started;
    },
    go() {
      started = next().then(() => undefined);
      worker.postMessage('go');
    },
    async stop() {
      worker.postMessage('stop');
      return (await next()) as Probed[];
    },
    close: () => worker.terminate(),
  };
}

function block(ms: number): { from: number; to: number } {
  const from = Date.now();
  // a synchronous spin: this thread's event loop does not turn until it ends
  while (Date.now() - from < ms);
  return { from, to: Date.now() };
}

describe.runIf(shipped('cnn') && shipped('vit'))('the probe listener (HEALTH_PORT)', () => {
  let app: FastifyInstance;
  let probeUrl: string;
  beforeAll(async () => {
    app = await startServer({ healthPort: 0, healthHost: '127.0.0.1', healthStallMs: STALL_MS });
    probeUrl = `http://127.0.0.1:${app.digitHealthPort}`;
  }, 300_000);
  afterAll(async () => {
    await app?.close();
  });

  it('answers liveness at once, and readiness 503 "starting" until the main port listens, then 200', async () => {
    expect(app.digitHealthPort).toBeGreaterThan(0);
    const live = await fetch(`${probeUrl}/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'live' });
    const starting = await fetch(`${probeUrl}/health/ready`);
    expect(starting.status).toBe(503);
    expect(starting.headers.get('retry-after')).toBe('1');
    expect(await starting.json()).toEqual({ status: 'starting' });

    await app.listen({ port: 0, host: '127.0.0.1' });
    const ready = await fetch(`${probeUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('refuses other paths with 404 and other methods with 405, each naming what it answers', async () => {
    const other = await fetch(`${probeUrl}/predict`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: 'NOT_FOUND', message: expect.stringContaining('GET /health/live and GET /health/ready') });
    const post = await fetch(`${probeUrl}/health/live`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.json()).toMatchObject({ error: 'METHOD_NOT_ALLOWED' });
  });

  it('answers while the HTTP thread is blocked, 503 "stalled" once it has stood still past the stall limit, and live again after', async () => {
    const client = probingThread(`${probeUrl}/health/live`);
    try {
      client.go();
      await client.started;
      const blocked = block(BLOCK_MS);
      // the heartbeat moves again once this thread's loop turns
      await new Promise((r) => setTimeout(r, 4 * STALL_MS));
      const answers = await client.stop();
      const during = answers.filter((a) => a.at > blocked.from && a.at < blocked.to);
      expect(during.length).toBeGreaterThan(0);
      expect(during.filter((a) => a.status === 503).map((a) => JSON.parse(a.body))).toContainEqual({ status: 'stalled' });
      const last = answers[answers.length - 1];
      expect(last.at).toBeGreaterThan(blocked.to);
      expect(last.status).toBe(200);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('refuses to start a second server on the same HEALTH_PORT, naming it', async () => {
    await expect(startServer({ healthPort: app.digitHealthPort!, healthHost: '127.0.0.1' })).rejects.toThrow(/HEALTH_PORT=\d+.*could not start.*EADDRINUSE/);
  }, 300_000);

  it('answers readiness 503 "draining" while draining (liveness still 200), and closes its port with the server', async () => {
    app.beginDrain();
    const draining = await fetch(`${probeUrl}/health/ready`);
    expect(draining.status).toBe(503);
    expect(draining.headers.get('retry-after')).toBe('1');
    expect(await draining.json()).toEqual({ status: 'draining' });
    expect((await fetch(`${probeUrl}/health/live`)).status).toBe(200);

    await app.close();
    const socket = connect(app.digitHealthPort!, '127.0.0.1');
    const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    expect(error.code).toBe('ECONNREFUSED');
  });
});
