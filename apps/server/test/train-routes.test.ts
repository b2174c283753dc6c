// GET /train, the trainer bundles and the MNIST data endpoint /data/mnist/<file>.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MNIST_FILES, mnistDataDir } from '@digitlab/models';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import errors from '../src/errors.js';
import { buildServer } from '../src/index.js';
import { MNIST_DATA_FILES, MNIST_MAX_AGE_SECONDS, mnistDataRoutes } from '../src/routes/mnist-data.js';
import { TRAIN_PAGE_ATTRIBUTES, trainRoutes } from '../src/routes/train.js';
import { expectError, WEIGHTS_DIR } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'digitlab-train-routes-'));
const apps: FastifyInstance[] = [];

/** Only the routes under test, behind the server's own error plugin. */
async function bare(register: (app: FastifyInstance) => Promise<void>): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(errors, { bodyLimit: 1 << 20, maxImages: 10, fileBodyLimit: 1 << 20 });
  await register(app);
  await app.ready();
  apps.push(app);
  return app;
}

let app: FastifyInstance;
beforeAll(async () => {
  app = await bare(async (a) => {
    await a.register(mnistDataRoutes);
  });
});
afterAll(async () => {
  for (const a of apps) await a.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('GET /data/mnist/<file>', () => {
  it('serves the four IDX files byte for byte, gzip-encoded for clients that accept it, cacheable with a strong ETag', async () => {
    expect(MNIST_DATA_FILES).toEqual([MNIST_FILES.train.images, MNIST_FILES.train.labels, MNIST_FILES.test.images, MNIST_FILES.test.labels]);
    const file = MNIST_FILES.test.labels;
    const onDisk = readFileSync(join(mnistDataDir(), file));
    const plain = await app.inject({ url: `/data/mnist/${file}` });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers['content-type']).toBe('application/octet-stream');
    expect(plain.headers['cache-control']).toBe(`public, max-age=${MNIST_MAX_AGE_SECONDS}`);
    expect(plain.headers.vary).toBe('accept-encoding');
    expect(Buffer.compare(plain.rawPayload, onDisk)).toBe(0);

    const packed = await app.inject({ url: `/data/mnist/${file}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(packed.headers['content-encoding']).toBe('gzip');
    expect(packed.rawPayload.length).toBeLessThan(onDisk.length);
    expect(Buffer.compare(gunzipSync(packed.rawPayload), onDisk)).toBe(0);
    expect(packed.headers.etag).not.toBe(plain.headers.etag);

    const gz = await app.inject({ url: `/data/mnist/${file}.gz` });
    expect(gz.headers['content-type']).toBe('application/gzip');
    expect(Buffer.compare(gunzipSync(gz.rawPayload), onDisk)).toBe(0);

    const again = await app.inject({ url: `/data/mnist/${file}`, headers: { 'if-none-match': String(plain.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.rawPayload.length).toBe(0);
    const stale = await app.inject({ url: `/data/mnist/${file}`, headers: { 'if-none-match': '"something-else"' } });
    expect(stale.statusCode).toBe(200);
  });

  it('answers HEAD with the headers alone', async () => {
    const head = await app.inject({ method: 'HEAD', url: `/data/mnist/${MNIST_FILES.test.labels}` });
    expect(head.statusCode).toBe(200);
    expect(head.headers.etag).toMatch(/^"[0-9a-f]{32}"$/);
    expect(head.rawPayload.length).toBe(0);
  });

  it('refuses other names with a 404 naming the files it serves, paths included', async () => {
    for (const url of ['/data/mnist/nope', '/data/mnist/..%2Fpackage.json', '/data/mnist/train-images-idx3-ubyte.zip']) {
      const r = await app.inject({ url });
      const body = expectError(r, 404, 'MNIST_FILE_NOT_FOUND');
      expect(body.message).toContain('train-images-idx3-ubyte');
      expect(body.message).toContain('.gz');
    }
  });

  it('a missing file in the data folder is a 503 saying so, and is retried on the next request', async () => {
    const dir = join(scratch, 'data');
    mkdirSync(dir);
    const broken = await bare(async (a) => {
      await a.register(mnistDataRoutes, { dir });
    });
    const file = MNIST_FILES.test.labels;
    expectError(await broken.inject({ url: `/data/mnist/${file}` }), 503, 'MNIST_DATA_UNAVAILABLE');
    copyFileSync(join(mnistDataDir(), file), join(dir, file));
    expect((await broken.inject({ url: `/data/mnist/${file}` })).statusCode).toBe(200);
  });
});

describe('GET /train and the trainer bundles', () => {
  it('the page hosts <digit-trainer>, loads /trainer.js and passes only known query parameters on as attributes', async () => {
    const pages = await bare(async (a) => {
      await a.register(trainRoutes, { trainerDir: scratch });
    });
    const r = await pages.inject({ url: '/train' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.body).toContain('<digit-trainer></digit-trainer>');
    expect(r.body).toContain('src="/trainer.js"');
    for (const a of ['preset', 'epochs', 'batch-size', 'lr', 'backend', 'autostart']) expect(TRAIN_PAGE_ATTRIBUTES).toContain(a);
    expect(r.body).toContain(JSON.stringify(TRAIN_PAGE_ATTRIBUTES));
  });

  it('serves the bundles from the trainer folder, and says how to build them when they are missing', async () => {
    const dir = join(scratch, 'dist');
    mkdirSync(dir);
    const pages = await bare(async (a) => {
      await a.register(trainRoutes, { trainerDir: dir });
    });
    const missing = expectError(await pages.inject({ url: '/trainer-worker.js' }), 404, 'TRAINER_NOT_BUILT');
    expect(missing.message).toContain('pnpm --filter @digitlab/trainer build');
    writeFileSync(join(dir, 'trainer-worker.js'), 'self.onmessage = () => {};\n');
    const served = await pages.inject({ url: '/trainer-worker.js' });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toMatch(/javascript/);
    expect(served.body).toContain('self.onmessage');
  });

  it('the real server has them registered', async () => {
    const server = await buildServer({ weightsDir: WEIGHTS_DIR, logger: false, warm: false });
    apps.push(server);
    expect((await server.inject({ url: '/train' })).statusCode).toBe(200);
    expect((await server.inject({ method: 'HEAD', url: `/data/mnist/${MNIST_FILES.train.labels}` })).statusCode).toBe(200);
  });
});
