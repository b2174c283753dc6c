// The open-loop load generator of bench:server against a local HTTP server: it offers the rate
// whatever the server does, counts latency from each arrival (a queue at the client counts), and
// reports timeouts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openLoop, uniformSequence } from '../open-loop.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A server answering every request after delayMs (never, with null). */
async function serve(delayMs: number | null): Promise<string> {
  server = createServer((request, response) => {
    request.resume();
    if (delayMs !== null) setTimeout(() => response.end('ok'), delayMs);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('openLoop', () => {
  it('offers Poisson arrivals at the mean rate, the same ones for the same sequence, each answered once', async () => {
    const url = await serve(0);
    const run = () => openLoop({ url, method: 'POST', body: 'x', rate: 200, seconds: 1, connections: 8, timeoutMs: 10_000, random: uniformSequence(1) });
    const first = await run();
    // 200 expected; a Poisson count of mean 200 lies within +-40 (about 3 standard deviations)
    expect(first.arrivals).toBeGreaterThan(160);
    expect(first.arrivals).toBeLessThan(240);
    expect(first.status).toEqual({ '200': first.arrivals });
    expect(first.latencies).toHaveLength(first.arrivals);
    expect(first.timeouts + first.errors).toBe(0);
    expect((await run()).arrivals).toBe(first.arrivals);
  });

  it('counts latency from the arrival, so requests waiting for a busy connection are charged for it', async () => {
    const url = await serve(100);
    const result = await openLoop({ url, method: 'GET', rate: 40, seconds: 0.5, connections: 1, timeoutMs: 30_000, random: uniformSequence(2) });
    // ~20 arrivals within 0.5 s on one connection at 100 ms or more each: the last one is answered
    // at least 100 ms x arrivals after the first arrived, so it waited that less the 0.5 s between them
    expect(result.arrivals).toBeGreaterThan(10);
    expect(Math.max(...result.latencies)).toBeGreaterThanOrEqual(100 * result.arrivals - 500);
  });

  it('counts a request unanswered within timeoutMs as a timeout', async () => {
    const url = await serve(null);
    const result = await openLoop({ url, method: 'GET', rate: 20, seconds: 0.3, connections: 4, timeoutMs: 200, random: uniformSequence(3) });
    expect(result.arrivals).toBeGreaterThan(0);
    expect(result.timeouts).toBe(result.arrivals);
    expect(result.latencies).toHaveLength(0);
  });
});
