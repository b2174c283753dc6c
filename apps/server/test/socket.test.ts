// The real server on a real socket (127.0.0.1), spoken to with fetch and node:http like any client.
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, digitsCsv, shipped, startServer, testDigits, type ErrorBody, type PredictBody } from './helpers.js';

let app: FastifyInstance;
let base: string;
const bodyLimit = 1024 * 1024;

beforeAll(async () => {
  app = await startServer({ bodyLimit, fileBodyLimit: bodyLimit, maxImages: 200 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
});

async function predict(init: RequestInit): Promise<{ status: number; json: unknown; headers: Headers }> {
  const response = await fetch(`${base}/predict`, { method: 'POST', ...init });
  return { status: response.status, json: await response.json(), headers: response.headers };
}

/** Sends a body in chunks without a Content-Length, the way a streaming client does. */
function sendChunked(contentType: string, chunk: string, times: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/predict`, { method: 'POST', headers: { 'content-type': contentType, 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (data: string) => (body += data));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    let sent = 0;
    const write = (): void => {
      while (sent < times) {
        sent++;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe('over a real socket', () => {
  const digits = testDigits(10, 20);

  it('answers text/csv', async () => {
    const { status, json, headers } = await predict({ headers: { 'content-type': 'text/csv' }, body: digitsCsv(digits, { labelled: true }) });
    expect(status).toBe(200);
    const body = json as PredictBody;
    expect(body.count).toBe(10);
    expect(body.predictions.map((p) => p.label)).toEqual(digits.labels);
    expect(body.predictions.filter((p) => p.cnn?.digit === p.label).length).toBeGreaterThanOrEqual(9);
    expect(body.predictions[0].vit === null).toBe(!shipped('vit'));
    expect(headers.get('server-timing')).toMatch(/cnn;dur=/);
    expect(headers.get('access-control-allow-origin')).toBe('*');
  });

  it('answers a multipart upload made with FormData', async () => {
    const form = new FormData();
    form.append('file', new Blob([digitsCsv(digits)], { type: 'text/csv' }), 'digits.csv');
    const { status, json } = await predict({ body: form });
    expect(status).toBe(200);
    expect((json as PredictBody).count).toBe(10);
  });

  it('answers JSON, the same as the CSV of the same images', async () => {
    const pixels = [0, 1, 2].map((i) => bytesOf(digits, i));
    const { status, json } = await predict({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pixels }) });
    expect(status).toBe(200);
    const csv = await predict({ headers: { 'content-type': 'text/csv' }, body: digitsCsv(testDigits(3, 20)) });
    const digitsOf = (body: unknown) => (body as PredictBody).predictions.map((p) => [p.cnn?.digit, p.vit?.digit]);
    expect(digitsOf(json)).toEqual(digitsOf(csv.json));
  });

  it('refuses bad input with 4xx JSON', async () => {
    const bad = await predict({ headers: { 'content-type': 'text/csv' }, body: 'hello,world\n1,2' });
    expect(bad.status).toBe(400);
    expect((bad.json as ErrorBody).error).toBe('WRONG_COLUMN_COUNT');
    const type = await predict({ headers: { 'content-type': 'image/png' }, body: new Uint8Array([0x89, 0x50]) });
    expect(type.status).toBe(415);
  });

  it('refuses a declared body over the limit with 413', async () => {
    const huge = 'x'.repeat(bodyLimit + 10);
    const { status, json } = await predict({ headers: { 'content-type': 'text/csv' }, body: huge });
    expect(status).toBe(413);
    expect((json as ErrorBody).error).toBe('BODY_TOO_LARGE');
  });

  it('refuses a streamed (chunked) body once it passes the limit with 413', async () => {
    const { status, body } = await sendChunked('text/csv', `${'0,'.repeat(783)}0\n`, 2000);
    expect(status).toBe(413);
    expect((JSON.parse(body) as ErrorBody).error).toBe('BODY_TOO_LARGE');
  });

  it('answers 20 concurrent requests, each with its own images', async () => {
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const one = testDigits(1, 500 + i);
        return predict({ headers: { 'content-type': 'text/csv' }, body: digitsCsv(one, { labelled: true }) });
      }),
    );
    responses.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect((r.json as PredictBody).predictions[0].label).toBe(testDigits(1, 500 + i).labels[0]);
    });
    const right = responses.filter((r) => {
      const p = (r.json as PredictBody).predictions[0];
      return p.cnn?.digit === p.label;
    }).length;
    expect(right).toBeGreaterThanOrEqual(18);
  });

  it('still answers /health after all that', async () => {
    const response = await fetch(`${base}/health`);
    expect(response.status).toBe(200);
  });
});
