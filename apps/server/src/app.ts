// buildServer: the whole service as a Fastify instance, ready to inject() or listen().
import { setTimeout as delay } from 'node:timers/promises';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { chooseMode, describeChoice, type AutoChoice } from '@digitlab/models';
import Fastify, { type FastifyInstance } from 'fastify';
import { resolveConfig, type ServerConfig } from './config.js';
import { drainConnections } from './connection-drain.js';
import errors from './errors.js';
import { createMetrics, type QueueState, type ServerMetrics } from './metrics.js';
import { allQueues, loadModels, type ModelSet } from './models.js';
import { ProbeListener } from './probe-listener.js';
import { infoRoutes } from './routes/info.js';
import { metricsRoutes } from './routes/metrics.js';
import { mnistDataRoutes } from './routes/mnist-data.js';
import { pageRoutes } from './routes/pages.js';
import { predictRoutes } from './routes/predict.js';
import { trainRoutes } from './routes/train.js';
import { v2Routes } from './routes/v2.js';
import { weightsRoutes } from './routes/weights.js';
import { errorSchema, predictionSchema, predictResponseSchema } from './schemas.js';

/** Longest a closing server waits for the answers under way, and the queued and running predictions, before it ends their connections and stops the model workers. */
const DRAIN_TIMEOUT_MS = 30_000;

declare module 'fastify' {
  interface FastifyInstance {
    /** The models this server answers with, and why any is missing. */
    digitModels: ModelSet;
    /** The Prometheus registry and the server's metrics. */
    digitMetrics: ServerMetrics;
    /** The probe listener's port (HEALTH_PORT; the free one picked for 0), or null without one. */
    digitHealthPort: number | null;
    /** Starts draining while still listening: readiness answers 503, new predictions 503 SHUTTING_DOWN, queued work finishes. close() drains too. */
    beginDrain(): void;
  }
}

/** Starts the model workers (weights sha256-checked, every batch bucket compiled) and builds the Fastify app; throws WeightsError when the weights are missing or corrupt. */
export async function buildServer(config: ServerConfig = {}): Promise<FastifyInstance> {
  const configured = resolveConfig(config);
  // 'auto' is decided once, before the models load, on an inference-sized probe
  const choice: AutoChoice | undefined = configured.backend === 'auto' ? await chooseMode({ workload: 'inference' }) : undefined;
  const resolved = { ...configured, backend: choice?.mode ?? (configured.backend === 'auto' ? 'async' : configured.backend) };
  let models: ModelSet | undefined;
  const metrics = createMetrics((): QueueState[] =>
    models === undefined ? [] : allQueues(models).map(({ task, queue }) => ({ model: queue.runner.name, task, depth: queue.depth, expectedWaitMs: queue.expectedWaitMs() })),
  );
  models = await loadModels(resolved, metrics.observer);
  const loaded = models;
  const logger = resolved.logger === false ? false : resolved.logger === true ? { level: 'info' } : { level: resolved.logger };
  const app = Fastify({
    logger,
    bodyLimit: resolved.bodyLimit,
    // Never coerce types: "7" or null in a pixel array is an error, not a pixel.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // While closing, our own routes answer: /health/ready 503 "draining", /predict 503 SHUTTING_DOWN
    // with Retry-After, /health/live 200; requests already queued finish.
    return503OnClosing: false,
  });
  app.decorate('digitModels', loaded);
  app.decorate('digitMetrics', metrics);
  if (choice) app.log.info({ backend: choice.mode, trials: choice.trials }, `BACKEND=auto chose ${choice.mode}: ${describeChoice(choice)}`);
  // Graceful close: requests in flight finish, and their keep-alive connections close after the
  // answer instead of holding the server open until they time out; so do connections that never
  // sent a request (see connection-drain.ts). The drain has one deadline, for connections and queues.
  let closing = false;
  let drainEnds = Number.POSITIVE_INFINITY;
  const connections = drainConnections(app.server);
  // the probe listener answers on a thread of its own; it starts last (below) and stops after the drain
  let probes: ProbeListener | undefined;
  app.decorate('digitHealthPort', null);
  app.decorate('beginDrain', () => {
    closing = true;
    probes?.draining();
  });
  app.addHook('onListen', (done) => {
    probes?.listening();
    done();
  });
  app.addHook('preClose', async () => {
    closing = true;
    probes?.draining();
    drainEnds = performance.now() + DRAIN_TIMEOUT_MS;
    connections.closing(DRAIN_TIMEOUT_MS);
  });
  // every request passes these two: callback hooks, not async ones, so they allocate no promise
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  // Drain: what is queued or running finishes, then the worker threads stop (injected models stay open: they are the caller's).
  app.addHook('onClose', async () => {
    // a drain is bounded: work that has not finished by then is dropped with its worker, so a
    // stuck batch can never keep the server from stopping
    const left = Math.max(0, Math.min(DRAIN_TIMEOUT_MS, drainEnds - performance.now()));
    await Promise.race([Promise.all(allQueues(loaded).map(({ queue }) => queue.idle())), delay(left, undefined, { ref: false })]);
    await Promise.all([loaded.close(), probes?.close()]);
  });

  await app.register(errors, { bodyLimit: resolved.bodyLimit, maxImages: resolved.maxImages, fileBodyLimit: resolved.fileBodyLimit, onError: metrics.error });
  app.addSchema(errorSchema);
  app.addSchema(predictionSchema);
  app.addSchema(predictResponseSchema);
  if (resolved.corsOrigin !== false) {
    await app.register(cors, {
      origin: resolved.corsOrigin === '*' ? '*' : [...resolved.corsOrigin],
      methods: ['GET', 'POST', 'HEAD', 'OPTIONS'],
      exposedHeaders: ['server-timing', 'retry-after', 'etag'],
      maxAge: 600,
    });
  }
  await app.register(multipart, {
    // one byte over FILE_BODY_LIMIT reaches the CSV reader, which refuses it with the limit named
    limits: { fileSize: resolved.fileBodyLimit + 1, fieldSize: resolved.bodyLimit, files: 1, fields: 8, parts: 10 },
  });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'digitlab',
        description:
          'Classify 28x28 handwritten digits with two models trained here, a CNN and a Vision Transformer. ' +
          'POST a CSV of pixel intensities (or JSON pixel arrays) to /predict, or use the Open Inference Protocol v2 at /v2.',
        version: '0.1.0',
      },
      tags: [
        { name: 'predict', description: 'Classify digits' },
        { name: 'info', description: 'Health, metrics and model cards' },
        { name: 'v2', description: 'Open Inference Protocol v2 (KServe, Triton clients)' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const isClosing = (): boolean => closing;
  await app.register(predictRoutes, { ...resolved, models: loaded, isClosing });
  await app.register(v2Routes, { models: loaded, isClosing, maxImages: resolved.maxImages, requestTimeoutMs: resolved.requestTimeoutMs });
  await app.register(infoRoutes, { models: loaded, backend: resolved.backend, isClosing, ...(choice && { backendChoice: choice }) });
  await app.register(weightsRoutes, { models: loaded, weightsDir: resolved.weightsDir });
  await app.register(metricsRoutes, { metrics });
  await app.register(pageRoutes, {
    publicDir: resolved.publicDir,
    elementBundle: resolved.elementBundle,
    reportsDir: resolved.reportsDir,
  });
  await app.register(trainRoutes);
  await app.register(mnistDataRoutes);
  await app.ready();
  if (resolved.healthPort !== undefined) {
    try {
      probes = await ProbeListener.start({
        port: resolved.healthPort,
        host: resolved.healthHost,
        stallMs: resolved.healthStallMs,
        onError: (error) => app.log.error({ err: error }, 'the probe listener failed; its port is closed'),
      });
    } catch (error) {
      await app.close();
      throw error;
    }
    app.digitHealthPort = probes.port;
  }
  return app;
}
