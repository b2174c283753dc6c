// buildServer: the whole service as a Fastify instance, ready to inject() or listen().
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { chooseMode, describeChoice, type AutoChoice } from '@digitlab/tensor';
import Fastify, { type FastifyInstance } from 'fastify';
import { resolveConfig, type ServerConfig } from './config.js';
import errors from './errors.js';
import { loadModels, type ModelSet } from './models.js';
import { infoRoutes } from './routes/info.js';
import { pageRoutes } from './routes/pages.js';
import { predictRoutes } from './routes/predict.js';
import { errorSchema, predictResponseSchema } from './schemas.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The models this server answers with, and why any is missing. */
    digitModels: ModelSet;
  }
}

/** Loads the models (sha256-checked) and builds the Fastify app; throws WeightsError when the weights are missing or corrupt. */
export async function buildServer(config: ServerConfig = {}): Promise<FastifyInstance> {
  const configured = resolveConfig(config);
  // 'auto' is decided once, before the models load, on an inference-sized probe
  const choice: AutoChoice | undefined = configured.backend === 'auto' ? await chooseMode({ workload: 'inference' }) : undefined;
  const resolved = choice ? { ...configured, backend: choice.mode } : configured;
  const models = await loadModels(resolved);
  const logger = resolved.logger === false ? false : resolved.logger === true ? { level: 'info' } : { level: resolved.logger };
  const app = Fastify({
    logger,
    bodyLimit: resolved.bodyLimit,
    // Never coerce types: "7" or null in a pixel array is an error, not a pixel.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    return503OnClosing: true,
  });
  app.decorate('digitModels', models);
  if (choice) app.log.info({ backend: choice.mode, trials: choice.trials }, `BACKEND=auto chose ${choice.mode}: ${describeChoice(choice)}`);
  // Graceful close: requests in flight finish, and their keep-alive connections close after the
  // answer instead of holding the server open until they time out.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onClose', async () => {
    for (const model of Object.values(models.models)) {
      // Only close what this server loaded; injected models belong to the caller.
      if (model !== undefined && config.classifiers?.[model.name] === undefined) model.close?.();
    }
  });

  await app.register(errors, { bodyLimit: resolved.bodyLimit, maxImages: resolved.maxImages });
  app.addSchema(errorSchema);
  app.addSchema(predictResponseSchema);
  if (resolved.corsOrigin !== false) {
    await app.register(cors, {
      origin: resolved.corsOrigin === '*' ? '*' : [...resolved.corsOrigin],
      methods: ['GET', 'POST', 'HEAD', 'OPTIONS'],
      exposedHeaders: ['server-timing'],
      maxAge: 600,
    });
  }
  await app.register(multipart, {
    limits: { fileSize: resolved.bodyLimit, fieldSize: resolved.bodyLimit, files: 1, fields: 8, parts: 10 },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'digitlab',
        description:
          'Classify 28x28 handwritten digits with two models trained here, a CNN and a Vision Transformer. ' +
          'POST a CSV of pixel intensities (or JSON pixel arrays) to /predict.',
        version: '0.1.0',
      },
      tags: [
        { name: 'predict', description: 'Classify digits' },
        { name: 'info', description: 'Health and model cards' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(predictRoutes, { models, maxImages: resolved.maxImages, bodyLimit: resolved.bodyLimit });
  await app.register(infoRoutes, { models, backend: resolved.backend, isClosing: () => closing, ...(choice && { backendChoice: choice }) });
  await app.register(pageRoutes, {
    publicDir: resolved.publicDir,
    elementBundle: resolved.elementBundle,
    reportsDir: resolved.reportsDir,
  });
  await app.ready();
  return app;
}
