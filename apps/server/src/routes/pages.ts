// The human-facing files: the demo page (/), the web component bundle (/element.js) and the report (/report).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { HttpError } from '../errors.js';

export interface PageRouteOptions {
  readonly publicDir: string;
  readonly elementBundle: string;
  readonly reportsDir: string;
}

/** Registers GET / (the demo page), GET /element.js (+ its source map and its engine worker) and GET /report (+ its files). */
export async function pageRoutes(fastify: FastifyInstance, options: PageRouteOptions): Promise<void> {
  const { publicDir, elementBundle, reportsDir } = options;
  await fastify.register(fastifyStatic, { root: publicDir, prefix: '/', index: ['index.html'], schemaHide: true });

  const bundleDir = dirname(elementBundle);
  // element-local.js: the engine worker that <digit-classifier mode="local"> loads from beside its own bundle
  for (const file of [basename(elementBundle), `${basename(elementBundle)}.map`, 'element-local.js']) {
    fastify.get(`/${file}`, { schema: { hide: true } }, async (_request, reply) => {
      if (!isFile(join(bundleDir, file))) {
        throw new HttpError(
          404,
          'ELEMENT_NOT_BUILT',
          `The web component bundle ${elementBundle} is not built yet: run \`pnpm --filter @digitlab/element build\`.`,
        );
      }
      return reply.header('cache-control', 'no-cache').sendFile(file, bundleDir);
    });
  }

  fastify.get('/report', { schema: { hide: true } }, async (_request, reply) => reply.redirect('/report/'));
  fastify.get<{ Params: { '*': string } }>('/report/*', { schema: { hide: true } }, async (request, reply) => {
    const wanted = request.params['*'] === '' ? 'report.html' : request.params['*'];
    const path = resolve(reportsDir, wanted);
    const inside = relative(reportsDir, path);
    if (inside.startsWith('..') || inside.startsWith(sep) || !isFile(path)) {
      const what = wanted === 'report.html' ? 'The report is not written yet: run `pnpm report`.' : `The report has no file "${wanted}".`;
      throw new HttpError(404, 'REPORT_NOT_FOUND', `${what} (looked in ${reportsDir})`);
    }
    return reply.header('cache-control', 'no-cache').sendFile(inside, reportsDir);
  });
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}
