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

/** POSTs the first `count` test digits, as a CSV file or as JSON pixel rows; returns the answer's image count. */
async function predict(count: number, as: 'csv' | 'json'): Promise<number> {
  const body =
    as === 'csv'
      ? digitsCsv({ images: digits.images.subarray(0, count * 784), labels: digits.labels.slice(0, count), count })
      : JSON.stringify({ pixels: Array.from({ length: count }, (_, i) => bytesOf(digits, i)) });
  const response = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': as === 'csv' ? 'text/csv' : 'application/json' }, body });
  expect(response.status).toBe(200);
  return ((await response.json()) as PredictBody).predictions.length;
}

/** Request sizes: every tenth the 1,000-image maximum, the rest spread over 1-100 (deterministic). */
const sizes = Array.from({ length: 100 }, (_, i) => (i % 10 === 9 ? 1000 : 1 + ((i * 37) % 100)));

describe('memory under a hundred requests of 1-1,000 images', () => {
  it('grows the resident set by at most 200 MB', async () => {
    // the first calls compile the models' plans and size the wasm memories: measured from after them
    await predict(1, 'csv');
    await predict(1000, 'json');
    await predict(1000, 'csv');
    const before = process.memoryUsage().rss;
    let images = 0;
    let peak = before;
    for (const [i, size] of sizes.entries()) {
      images += await predict(size, i % 2 === 0 ? 'csv' : 'json');
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    expect(images).toBe(sizes.reduce((a, b) => a + b, 0));
    const grown = (process.memoryUsage().rss - before) / MB;
    expect(grown, `RSS ${Math.round(before / MB)} MB before, peak ${Math.round(peak / MB)} MB, grew ${grown.toFixed(0)} MB`).toBeLessThanOrEqual(200);
  }, 600_000);
});
