// The browser trainer: GET /train (the page) and the <digit-trainer> bundles it loads.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { REPO_ROOT } from '../config.js';
import { HttpError } from '../errors.js';

/** The bundles `pnpm --filter @digitlab/trainer build` writes, served at the site's root. */
export const TRAINER_FILES: readonly string[] = ['trainer.js', 'trainer.js.map', 'trainer-worker.js', 'trainer-worker.js.map'];

/** Query parameters of /train that become the element's attributes (a link can carry a ready-made run). */
export const TRAIN_PAGE_ATTRIBUTES: readonly string[] = ['preset', 'epochs', 'batch-size', 'lr', 'width', 'dropout', 'backend', 'autostart', 'train-images'];

export interface TrainRouteOptions {
  /** Folder of the trainer bundles; default packages/trainer/dist. */
  readonly trainerDir?: string;
}

const PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>digitlab · train a digit classifier in your browser</title>
    <style>
      body { margin: 0; padding: 24px 16px; background: #f1f5f9; font-family: system-ui, sans-serif; color: #0f172a; }
      main { max-width: 1080px; margin: 0 auto; display: grid; gap: 12px; }
      p { margin: 0; color: #475569; }
      a { color: #4f46e5; }
    </style>
    <script type="module" src="/trainer.js"></script>
  </head>
  <body>
    <main>
      <p>MNIST is fetched from this server once; training runs in a Web Worker on digitlab's engine. <a href="/">Classify digits</a> · <a href="/report/">report</a></p>
      <digit-trainer></digit-trainer>
      <script>
        // /train?preset=tiny-vit&epochs=2&autostart sets the trainer's starting values (before it upgrades)
        const allowed = ${JSON.stringify(TRAIN_PAGE_ATTRIBUTES)};
        const el = document.querySelector('digit-trainer');
        for (const [k, v] of new URLSearchParams(location.search)) if (allowed.includes(k)) el.setAttribute(k, v);
      </script>
    </main>
  </body>
</html>
`;

/** Registers GET /train and GET /trainer.js, /trainer-worker.js (+ source maps). */
export async function trainRoutes(fastify: FastifyInstance, options: TrainRouteOptions = {}): Promise<void> {
  const dir = options.trainerDir ?? join(REPO_ROOT, 'packages/trainer/dist');
  // reply.sendFile in this plugin's scope; the routes below decide what is served
  await fastify.register(fastifyStatic, { root: dir, serve: false });
  fastify.get('/train', { schema: { hide: true } }, async (_request, reply) => reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(PAGE));
  for (const file of TRAINER_FILES) {
    fastify.get(`/${file}`, { schema: { hide: true } }, async (_request, reply) => {
      const path = join(dir, file);
      if (!existsSync(path) || !statSync(path).isFile()) {
        throw new HttpError(404, 'TRAINER_NOT_BUILT', `The trainer bundle ${path} is not built yet: run \`pnpm --filter @digitlab/trainer build\`.`);
      }
      return reply.header('cache-control', 'no-cache').sendFile(file, dir);
    });
  }
}
