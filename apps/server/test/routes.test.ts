// GET routes: health, model cards, OpenAPI docs, demo page, component bundle, report; CORS.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClassifier, type Classifier } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type ServerConfig } from '../src/index.js';
import { expectError, shipped, WEIGHTS_DIR } from './helpers.js';

const loaded: Partial<Record<'cnn' | 'vit', Classifier>> = {};
const apps: FastifyInstance[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'digitlab-routes-'));

/** A server on the real models, loaded once for this file and shared. */
async function serve(config: ServerConfig = {}): Promise<FastifyInstance> {
  const app = await buildServer({ weightsDir: WEIGHTS_DIR, classifiers: { ...loaded }, ...config });
  apps.push(app);
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  for (const name of ['cnn', 'vit'] as const) {
    if (shipped(name)) loaded[name] = await loadClassifier(name, { weightsDir: WEIGHTS_DIR });
  }
  app = await serve();
});
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const model of Object.values(loaded)) model?.close?.();
});

describe('GET /health and /models', () => {
  it('health says which models answer', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ status: string; models: Record<string, { available: boolean; version?: string; reason?: string }>; backend: string }>();
    expect(body.status).toBe(shipped('vit') ? 'ok' : 'degraded');
    expect(body.models.cnn).toMatchObject({ available: true });
    expect(body.models.cnn.version).toMatch(/\S/);
    expect(body.models.vit.available).toBe(shipped('vit'));
    expect(body.backend).toBe('async');
  });

  it('liveness and readiness answer on their own paths', async () => {
    const own = await serve();
    expect((await own.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'live' });
    const ready = await own.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    await own.close();
  });

  it('models gives the model cards: config, params, test accuracy, confusion matrix, sha256', async () => {
    const response = await app.inject({ method: 'GET', url: '/models' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ models: Record<string, Record<string, unknown> | null> }>();
    const cnn = body.models.cnn as { params: number; config: object; weights: { sha256: string }; metrics: { test: { accuracy: number; confusion: number[][] } } };
    expect(cnn.params).toBeGreaterThan(1000);
    expect(cnn.config).toBeTypeOf('object');
    expect(cnn.weights.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(cnn.metrics.test.accuracy).toBeGreaterThan(0.9);
    expect(cnn.metrics.test.confusion).toHaveLength(10);
    if (!shipped('vit')) expect(body.models.vit).toBeNull();
    const one = await app.inject({ method: 'GET', url: '/models/cnn' });
    expect(one.json()).toEqual(body.models.cnn);
  });
});

describe('GET /docs', () => {
  it('serves the Swagger UI and an OpenAPI document describing POST /predict', async () => {
    const ui = await app.inject({ method: 'GET', url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.body).toContain('Swagger UI');
    const bundle = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> }; responses: Record<string, unknown> }>>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    const predict = doc.paths['/predict'].post;
    expect(Object.keys(predict.requestBody?.content ?? {})).toEqual(['text/csv', 'application/json', 'multipart/form-data']);
    expect(Object.keys(predict.responses)).toEqual(['200', '400', '413', '415', '503']);
    expect(Object.keys((predict.responses['200'] as { content: Record<string, unknown> }).content)).toEqual(['application/json', 'application/x-ndjson']);
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2/models/{name}', '/v2/models/{name}/infer', '/metrics', '/health/live', '/health/ready']) {
      expect(doc.paths[path], path).toBeDefined();
    }
    expect(Object.keys(doc.paths['/v2/models/{name}/infer'].post.responses)).toEqual(['200', '400', '404', '413', '503']);
    expect(doc.paths['/health']).toBeDefined();
    expect(doc.paths['/models']).toBeDefined();
    expect(doc.paths['/element.js']).toBeUndefined();
  });
});

describe('the demo page, the component bundle and the report', () => {
  it('serves the demo page at / with the component', async () => {
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('<digit-classifier endpoint="/predict">');
    expect(response.body).toContain('src="/element.js"');
  });

  it('serves the component bundle at /element.js when it is built, and a clear 404 when not', async () => {
    const bundle = join(scratch, 'element.js');
    writeFileSync(bundle, 'customElements.define("x-y", class extends HTMLElement {});\n');
    const built = await serve({ elementBundle: bundle });
    const response = await built.inject({ method: 'GET', url: '/element.js' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/javascript/);
    expect(response.body).toContain('customElements.define');
    expectError(await built.inject({ method: 'GET', url: '/element.js.map' }), 404, 'ELEMENT_NOT_BUILT');

    const missing = await serve({ elementBundle: join(scratch, 'nope', 'element.js') });
    expectError(await missing.inject({ method: 'GET', url: '/element.js' }), 404, 'ELEMENT_NOT_BUILT', 'pnpm --filter @digitlab/element build');
  });

  it('serves the report at /report/ once it is written, with its files, and nothing outside it', async () => {
    const reports = mkdtempSync(join(scratch, 'reports-'));
    const withReport = await serve({ reportsDir: reports });
    expectError(await withReport.inject({ method: 'GET', url: '/report/' }), 404, 'REPORT_NOT_FOUND', 'pnpm report');
    writeFileSync(join(reports, 'report.html'), '<h1>report</h1><img src="confusion.svg">');
    writeFileSync(join(reports, 'confusion.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const redirect = await withReport.inject({ method: 'GET', url: '/report' });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/report/');
    const page = await withReport.inject({ method: 'GET', url: '/report/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>report</h1>');
    expect((await withReport.inject({ method: 'GET', url: '/report/confusion.svg' })).headers['content-type']).toMatch(/svg/);
    expectError(await withReport.inject({ method: 'GET', url: '/report/missing.png' }), 404, 'REPORT_NOT_FOUND', 'missing.png');
    for (const url of ['/report/..%2f..%2fpackage.json', '/report/%2e%2e/%2e%2e/package.json', '/report/../../etc/passwd']) {
      const response = await withReport.inject({ method: 'GET', url });
      expect(response.statusCode).toBe(404);
      expect(response.body).not.toContain('"name"');
    }
  });
});

describe('CORS', () => {
  const preflight = (a: FastifyInstance, origin: string) =>
    a.inject({ method: 'OPTIONS', url: '/predict', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });

  it('allows any origin by default, so the component can be embedded anywhere', async () => {
    const response = await preflight(app, 'https://blog.example');
    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(String(response.headers['access-control-allow-methods'])).toContain('POST');
  });

  it('allows only the listed origins when configured', async () => {
    const strict = await serve({ corsOrigin: ['https://a.example'] });
    expect((await preflight(strict, 'https://a.example')).headers['access-control-allow-origin']).toBe('https://a.example');
    expect((await preflight(strict, 'https://b.example')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends no CORS headers when disabled', async () => {
    const none = await serve({ corsOrigin: false });
    const response = await none.inject({ method: 'GET', url: '/health', headers: { origin: 'https://a.example' } });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });
});
