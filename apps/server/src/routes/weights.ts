// GET /models/:name/weights: a model's safetensors file, for clients that run the model themselves
// (<digit-classifier mode="local">). The ETag is the file's sha256, the one its card states, so a
// client checks what it got against the card and a browser revalidates with If-None-Match (304).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelName } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { MODEL_NAMES } from '../config.js';
import { HttpError } from '../errors.js';
import { runnerOf, type ModelSet } from '../models.js';

export interface WeightsRouteOptions {
  readonly models: ModelSet;
  /** Where <name>.safetensors lives (the cards name the file). */
  readonly weightsDir: string;
}

/** A weights file read once and checked against its card. */
interface Served {
  readonly bytes: Buffer;
  readonly etag: string;
}

/** The ETag of a file with this sha256 (hex): strong, quoted. */
export function weightsEtag(sha256: string): string {
  return `"${sha256}"`;
}

/** Whether an If-None-Match header names this ETag (or is `*`); weak validators match too, as RFC 9110 has for GET. */
export function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === bare;
  });
}

/** Registers GET (and HEAD) /models/:name/weights. */
export async function weightsRoutes(fastify: FastifyInstance, options: WeightsRouteOptions): Promise<void> {
  const { models, weightsDir } = options;
  const served = new Map<ModelName, Promise<Served>>();

  const load = async (name: ModelName): Promise<Served> => {
    const card = runnerOf(models, name)!.card;
    const path = join(weightsDir, card.weights?.file ?? `${name}.safetensors`);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      throw new HttpError(404, 'WEIGHTS_NOT_FOUND', `The ${name}'s weights file is not on this server (${card.weights?.file ?? `${name}.safetensors`}); it answers /predict with a model given to it in memory.`);
    }
    const digest = createHash('sha256').update(bytes).digest('hex');
    if (digest !== card.weights?.sha256) {
      throw new HttpError(404, 'WEIGHTS_NOT_FOUND', `The ${name}'s weights file here has sha256 ${digest}, not the ${card.weights?.sha256 ?? 'unstated'} its card states: it is not the file this model was loaded from.`);
    }
    return { bytes, etag: weightsEtag(digest) };
  };

  fastify.get<{ Params: { name: string } }>(
    '/models/:name/weights',
    {
      schema: {
        summary: "One model's weights (safetensors)",
        description:
          'The safetensors file the model runs on: float32 tensors named as in the model card\'s config. The ETag is the file\'s sha256, ' +
          'the one the card (GET /models/{name}) states under weights.sha256: check the bytes against it. Send If-None-Match to get 304 when unchanged.',
        tags: ['info'],
        params: { type: 'object', required: ['name'], properties: { name: { type: 'string', description: 'cnn or vit' } } },
        response: {
          200: { type: 'string', format: 'binary', description: 'application/octet-stream: the safetensors file.' },
          304: { type: 'null', description: 'Not modified: the copy named in If-None-Match is current.' },
          404: { $ref: 'Error#' },
        },
      },
    },
    async (request, reply) => {
      const name = request.params.name;
      const known = MODEL_NAMES.includes(name as ModelName);
      if (!known || runnerOf(models, name as ModelName) === undefined) {
        const why = known ? (models.unavailable[name as ModelName] ?? 'not loaded') : 'the models are "cnn" and "vit"';
        throw new HttpError(404, 'MODEL_NOT_FOUND', `There is no model "${name}" here: ${why}.`);
      }
      const model = name as ModelName;
      let pending = served.get(model);
      if (pending === undefined) {
        pending = load(model);
        served.set(model, pending);
        // a failure is not kept: the file may be put right while the server runs
        pending.catch(() => served.delete(model));
      }
      const file = await pending;
      // the URL is not content-addressed (a new model replaces the file): keep it, but ask each time
      reply.header('etag', file.etag).header('cache-control', 'public, no-cache');
      if (matchesEtag(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `inline; filename="${name}.safetensors"`)
        .send(file.bytes);
    },
  );
}
