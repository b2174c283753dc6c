// GET /models/:name/weights: the safetensors file, its sha256 as the ETag, 304 on If-None-Match.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, loadClassifier, type Classifier } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesEtag } from '../src/routes/weights.js';
import { buildServer } from '../src/index.js';
import { expectError, shipped, WEIGHTS_DIR } from './helpers.js';

const loaded: Partial<Record<'cnn' | 'vit', Classifier>> = {};
const apps: FastifyInstance[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  for (const name of ['cnn', 'vit'] as const) {
    if (shipped(name)) loaded[name] = await loadClassifier(name, { weightsDir: WEIGHTS_DIR });
  }
  app = await buildServer({ weightsDir: WEIGHTS_DIR, classifiers: { ...loaded } });
  apps.push(app);
});
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const model of Object.values(loaded)) model?.close?.();
});

describe('GET /models/:name/weights', () => {
  for (const name of ['cnn', 'vit'] as const) {
    it.skipIf(!shipped(name))(`serves the ${name}'s safetensors with its card's sha256 as the ETag`, async () => {
      const card = (await app.inject({ method: 'GET', url: `/models/${name}` })).json<{ weights: { sha256: string; bytes: number } }>();
      const response = await app.inject({ method: 'GET', url: `/models/${name}/weights` });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/octet-stream');
      expect(response.headers.etag).toBe(`"${card.weights.sha256}"`);
      expect(response.headers['cache-control']).toContain('no-cache');
      const body = response.rawPayload;
      expect(body.byteLength).toBe(card.weights.bytes);
      expect(createHash('sha256').update(body).digest('hex')).toBe(card.weights.sha256);
      expect(body.equals(readFileSync(join(WEIGHTS_DIR, `${name}.safetensors`)))).toBe(true);
      // the bytes decode to the model's tensors
      expect(Object.keys(decodeSafetensors(new Uint8Array(body)).tensors).length).toBeGreaterThan(0);
    });
  }

  it.skipIf(!shipped('cnn'))('answers 304 with no body when If-None-Match names the current file, 200 otherwise', async () => {
    const first = await app.inject({ method: 'GET', url: '/models/cnn/weights' });
    const etag = first.headers.etag as string;
    const again = await app.inject({ method: 'GET', url: '/models/cnn/weights', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.byteLength).toBe(0);
    expect(again.headers.etag).toBe(etag);
    const listed = await app.inject({ method: 'GET', url: '/models/cnn/weights', headers: { 'if-none-match': `"0000", W/${etag}` } });
    expect(listed.statusCode).toBe(304);
    const stale = await app.inject({ method: 'GET', url: '/models/cnn/weights', headers: { 'if-none-match': '"0000"' } });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.byteLength).toBe(first.rawPayload.byteLength);
    const head = await app.inject({ method: 'HEAD', url: '/models/cnn/weights' });
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toBe(etag);
  });

  it('refuses an unknown model with 404 naming the models', async () => {
    const response = await app.inject({ method: 'GET', url: '/models/resnet/weights' });
    expectError(response, 404, 'MODEL_NOT_FOUND');
    expect(response.json<{ message: string }>().message).toContain('"cnn" and "vit"');
  });

  it.skipIf(!shipped('cnn'))('answers 404, not 500, when the model was given in memory and its file is not here', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'digitlab-weights-'));
    const other = await buildServer({ weightsDir: empty, classifiers: { cnn: loaded.cnn! } });
    apps.push(other);
    const response = await other.inject({ method: 'GET', url: '/models/cnn/weights' });
    expectError(response, 404, 'WEIGHTS_NOT_FOUND');
    const vit = await other.inject({ method: 'GET', url: '/models/vit/weights' });
    expectError(vit, 404, 'MODEL_NOT_FOUND');
  });
});

describe('matchesEtag', () => {
  it('reads lists, weak validators and *', () => {
    expect(matchesEtag(undefined, '"a"')).toBe(false);
    expect(matchesEtag('"a"', '"a"')).toBe(true);
    expect(matchesEtag('"b", "a"', '"a"')).toBe(true);
    expect(matchesEtag('W/"a"', '"a"')).toBe(true);
    expect(matchesEtag('*', '"a"')).toBe(true);
    expect(matchesEtag('"ab"', '"a"')).toBe(false);
  });
});
