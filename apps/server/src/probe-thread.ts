// The probe listener's thread: answers GET /health/live and /health/ready on a port of its own, on
// an event loop that no prediction request shares, so a probe never waits behind the requests the
// HTTP thread is reading, refusing or answering. Liveness still speaks for the HTTP thread: it fails
// once that thread's heartbeat (probe-state.ts) has stood still for the stall limit.
import { createServer, type ServerResponse } from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { PROBE_SLOTS, type ProbeSetup, type ProbeStarted } from './probe-state.js';

const setup = workerData as ProbeSetup;
const port = parentPort;
if (port === null) throw new Error('probe-thread.ts runs only as a worker thread');
const state = new Int32Array(setup.state);

let seenBeat = Atomics.load(state, PROBE_SLOTS.beat);
let seenAt = performance.now();

/** Whether the HTTP thread's heartbeat has moved within the stall limit (checked when asked: no timer of its own). */
function httpThreadTurns(): boolean {
  const beat = Atomics.load(state, PROBE_SLOTS.beat);
  const now = performance.now();
  if (beat !== seenBeat) {
    seenBeat = beat;
    seenAt = now;
  }
  return now - seenAt <= setup.stallMs;
}

function send(reply: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  reply.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  reply.end(text);
}

const server = createServer((request, reply) => {
  // a probe has no body; anything sent is read and dropped so the connection stays usable
  request.resume();
  const path = (request.url ?? '/').split('?')[0];
  const known = path === '/health/live' || path === '/health/ready';
  if (!known) {
    send(reply, 404, { error: 'NOT_FOUND', message: `There is no ${request.method} ${path} on the probe port; it answers GET /health/live and GET /health/ready.`, statusCode: 404 });
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(reply, 405, { error: 'METHOD_NOT_ALLOWED', message: `${path} answers GET (and HEAD), not ${request.method}.`, statusCode: 405 }, { allow: 'GET, HEAD' });
    return;
  }
  const turns = httpThreadTurns();
  if (path === '/health/live') {
    send(reply, turns ? 200 : 503, { status: turns ? 'live' : 'stalled' });
    return;
  }
  if (!turns) send(reply, 503, { status: 'stalled' });
  else if (Atomics.load(state, PROBE_SLOTS.draining) === 1) send(reply, 503, { status: 'draining' }, { 'retry-after': '1' });
  else if (Atomics.load(state, PROBE_SLOTS.listening) === 0) send(reply, 503, { status: 'starting' }, { 'retry-after': '1' });
  else send(reply, 200, { status: 'ready' });
});

server.once('error', (error) => port.postMessage({ type: 'failed', message: error.message } satisfies ProbeStarted));
server.listen({ port: setup.port, host: setup.host }, () => {
  const address = server.address();
  port.postMessage({ type: 'listening', port: typeof address === 'object' && address !== null ? address.port : setup.port } satisfies ProbeStarted);
});
