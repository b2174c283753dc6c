import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExplanations, heatOf } from '../src/explanation-overlay.ts';
import { checkResponse, requestPrediction } from '../src/predict-client.ts';

const answer = (digit: number) => ({ digit, probabilities: Array.from({ length: 10 }, (_, d) => (d === digit ? 0.91 : 0.01)) });
const map = (kind: 'saliency' | 'attention', value = 0.5) => ({ kind, map: Array.from({ length: 784 }, (_, i) => (i % 7 === 0 ? 1 : value)) });

describe('checkExplanations', () => {
  it("takes both models' 784-weight maps, or one with the other null", () => {
    expect(checkExplanations({ cnn: map('saliency'), vit: map('attention') })).toEqual({ cnn: map('saliency'), vit: map('attention') });
    expect(checkExplanations({ cnn: null, vit: map('attention') })).toEqual({ cnn: null, vit: map('attention') });
  });

  it('refuses maps of another size, weights outside [0, 1], unknown kinds, or no map at all', () => {
    expect(checkExplanations({ cnn: { kind: 'saliency', map: [0.5] }, vit: null })).toBeNull();
    expect(checkExplanations({ cnn: map('saliency', 1.5), vit: map('attention') })).toBeNull();
    expect(checkExplanations({ cnn: map('saliency', Number.NaN), vit: null })).toBeNull();
    expect(checkExplanations({ cnn: { ...map('saliency'), kind: 'gradcam' }, vit: null })).toBeNull();
    expect(checkExplanations({ cnn: null, vit: null })).toBeNull();
    expect(checkExplanations(undefined)).toBeNull();
  });
});

describe('checkResponse with maps', () => {
  it('keeps well-formed maps on their prediction and drops malformed ones, keeping the answers', () => {
    const good = checkResponse({ predictions: [{ cnn: answer(7), vit: answer(7), explanation: { cnn: map('saliency'), vit: map('attention') } }] })!;
    expect(good.predictions[0].explanation?.vit?.kind).toBe('attention');
    const bad = checkResponse({ predictions: [{ cnn: answer(7), vit: answer(7), explanation: { cnn: { kind: 'saliency', map: [] }, vit: null } }] })!;
    expect(bad.predictions[0].cnn?.digit).toBe(7);
    expect(bad.predictions[0]).not.toHaveProperty('explanation');
  });
});

describe('heatOf', () => {
  it('is clear at 0, more opaque (never less) as the weight grows, and short of opaque at 1', () => {
    expect(heatOf(0)[3]).toBe(0);
    let last = -1;
    for (let k = 0; k <= 100; k++) {
      const alpha = heatOf(k / 100)[3];
      expect(alpha).toBeGreaterThanOrEqual(last);
      last = alpha;
    }
    expect(last).toBeGreaterThan(200);
    expect(last).toBeLessThan(255);
    for (const v of heatOf(0.37).slice(0, 3)) expect(v >= 0 && v <= 255).toBe(true);
  });
});

describe('requestPrediction with explain', () => {
  let server: Server;
  let base: string;
  const urls: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      urls.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ predictions: [{ cnn: answer(1), vit: answer(1), explanation: { cnn: map('saliency'), vit: map('attention') } }], count: 1 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('asks for ?explain=1 (after any query the endpoint has) only when told, and returns the maps', async () => {
    const image = new Float32Array(784);
    const r = await requestPrediction(`${base}/predict`, { kind: 'pixels', images: image, count: 1, explain: true });
    await requestPrediction(`${base}/predict?tenant=a`, { kind: 'csv', text: '1\n', explain: true });
    await requestPrediction(`${base}/predict`, { kind: 'pixels', images: image, count: 1 });
    expect(urls).toEqual(['/predict?explain=1', '/predict?tenant=a&explain=1', '/predict']);
    expect(r.predictions[0].explanation?.cnn?.map).toHaveLength(784);
  });
});
