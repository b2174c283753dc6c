import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkResponse, errorFromResponse, PredictError, pixelsJson, requestPrediction } from '../src/predict-client.ts';

const answer = (digit: number) => ({ digit, probabilities: Array.from({ length: 10 }, (_, d) => (d === digit ? 0.91 : 0.01)) });

describe('pixelsJson', () => {
  it('writes one array of 784 numbers per image, each the same float32 and as short as that allows', () => {
    const images = new Float32Array(2 * 784);
    images[0] = 1;
    images[784 + 5] = 0.123456;
    for (let k = 0; k < 256; k++) images[100 + k] = k / 255;
    const text = pixelsJson(images, 2);
    const body = JSON.parse(text) as { pixels: number[][] };
    expect(body.pixels).toHaveLength(2);
    expect(body.pixels[0]).toHaveLength(784);
    expect(body.pixels[0][0]).toBe(1);
    expect(body.pixels[1][5]).toBe(0.123456);
    const back = new Float32Array(body.pixels.flat());
    expect(back).toEqual(images);
    // float32 needs at most 9 significant digits; k/255 mostly fewer.
    expect(Math.max(...body.pixels[0].map((v) => String(v).replace(/^0\.0*/, '').length))).toBeLessThanOrEqual(9);
    expect(text).toMatch(/^\{"pixels":\[\[1,0,/);
  });
});

describe('checkResponse', () => {
  it('accepts the server shape and fills agree/index/label when missing', () => {
    const r = checkResponse({ predictions: [{ cnn: answer(3), vit: answer(5) }], count: 1 })!;
    expect(r.predictions[0]).toMatchObject({ index: 0, agree: false, label: null });
  });

  it('accepts a model the server does not have (null), but not both missing', () => {
    const r = checkResponse({ predictions: [{ index: 0, cnn: answer(3), vit: null, agree: null, label: 3 }], count: 1 })!;
    expect(r.predictions[0]).toMatchObject({ vit: null, agree: null, label: 3 });
    expect(checkResponse({ predictions: [{ cnn: null, vit: null }] })).toBeNull();
  });

  it('refuses anything else, or the wrong number of predictions', () => {
    expect(checkResponse(null)).toBeNull();
    expect(checkResponse({ predictions: [{ cnn: answer(3) }] })).toBeNull();
    expect(checkResponse({ predictions: [{ cnn: { digit: 11, probabilities: [] }, vit: answer(1) }] })).toBeNull();
    expect(checkResponse({ predictions: [{ cnn: answer(1), vit: answer(1) }] }, 2)).toBeNull();
  });
});

describe('errorFromResponse', () => {
  it("uses the server's message, and plain words where there is none", () => {
    expect(errorFromResponse(400, { error: 'WRONG_COLUMN_COUNT', message: 'Row 2: ...' })).toMatchObject({
      message: 'Row 2: ...',
      code: 'WRONG_COLUMN_COUNT',
      status: 400,
    });
    expect(errorFromResponse(413, undefined).message).toMatch(/more than the classifier accepts/);
    expect(errorFromResponse(503, { message: 'stack trace...' }).message).toMatch(/problem on its side \(HTTP 503\)/);
  });
});

describe('requestPrediction against a real socket', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ type: string | undefined; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ type: req.headers['content-type'], body });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/bad') {
          res.statusCode = 400;
          res.end(JSON.stringify({ error: 'NOT_A_NUMBER', message: 'Row 1, column 3: "x" is not a number.' }));
        } else if (req.url === '/junk') {
          res.end('<html>not json</html>');
        } else {
          res.end(JSON.stringify({ predictions: [{ index: 0, cnn: answer(7), vit: answer(7), agree: true, label: null }], count: 1 }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends drawings as JSON pixels and CSV as text/csv', async () => {
    const r = await requestPrediction(`${base}/predict`, { kind: 'pixels', images: new Float32Array(784), count: 1 });
    expect(r.predictions[0].cnn?.digit).toBe(7);
    await requestPrediction(`${base}/predict`, { kind: 'csv', text: '1,2,3\n' });
    expect(seen.at(-2)?.type).toBe('application/json');
    expect(seen.at(-1)).toEqual({ type: 'text/csv', body: '1,2,3\n' });
  });

  it('turns refusals, junk and unreachable servers into PredictErrors with plain messages', async () => {
    await expect(requestPrediction(`${base}/bad`, { kind: 'csv', text: 'x' })).rejects.toMatchObject({
      status: 400,
      code: 'NOT_A_NUMBER',
      message: 'Row 1, column 3: "x" is not a number.',
    });
    await expect(requestPrediction(`${base}/junk`, { kind: 'csv', text: 'x' })).rejects.toThrow(/does not understand/);
    const unreachable = requestPrediction('http://127.0.0.1:1/predict', { kind: 'csv', text: 'x' });
    await expect(unreachable).rejects.toBeInstanceOf(PredictError);
    await expect(unreachable).rejects.toMatchObject({ status: 0, message: expect.stringMatching(/Could not reach the classifier/) });
  });
});
