// Memory stays bounded: a hundred /predict requests of 1 to 1,000 images, as CSV files and as JSON,
// against the real server (both models in their worker threads, which share this process's RSS).
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, digitsCsv, startServer, testDigits, type PredictBody } from './helpers.js';

let app: FastifyInstance;
let base: string;
const digits = testDigits(1000);
const MB = 1024 * 1024;

beforeAll(async () => {
  app = await startServer({ maxImages: 1000 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
});

/** The body of a POST of the first `count` test digits, as a CSV file or as JSON pixel rows. */
function bodyOf(count: number, as: 'csv' | 'json'): { body: string; type: string } {
  return as === 'csv'
    ? { body: digitsCsv({ images: digits.images.subarray(0, count * 784), labels: digits.labels.slice(0, count), count }), type: 'text/csv' }
    : { body: JSON.stringify({ pixels: Array.from({ length: count }, (_, i) => bytesOf(digits, i)) }), type: 'application/json' };
}

/** POSTs a body built by bodyOf; returns the answer's image count. */
async function predict({ body, type }: { body: string; type: string }): Promise<number> {
  const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': type }, body });
  expect(response.status).toBe(200);
  return ((await response.json()) as PredictBody).predictions.length;
}

/** Request sizes: every tenth the 1,000-image maximum, the rest spread over 1-100 (deterministic). */
const sizes = Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? 1000 : 1 + ((i * 37) % 100)));

describe('memory under a hundred requests of 1-1,000 images', () => {
  it('grows the resident set by at most 200 MB', async () => {
    // the first calls compile the models' plans and size the wasm memories: measured from after them
    await predict(bodyOf(1, 'csv'));
    await predict(bodyOf(1000, 'json'));
    await predict(bodyOf(1000, 'csv'));
    // the client lives in this process too: its request bodies are built before measuring, so the
    // growth is the server's (parsing, queues, answers), not the test's own strings
    const bodies = sizes.map((size, i) => bodyOf(size, i % 2 === 0 ? 'csv' : 'json'));
    const before = process.memoryUsage().rss;
    let images = 0;
    let peak = before;
    for (const body of bodies) {
      images += await predict(body);
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(images).toBe(sizes.reduce((a, b) => a + b, 0));
    const grown = (process.memoryUsage().rss - before) / MB;
    expect(grown, `RSS ${Math.round(before / MB)} MB before, peak ${Math.round(peak / MB)} MB, grew ${grown.toFixed(0)} MB`).toBeLessThanOrEqual(200);
  }, 600_000);
});
