// Starts the server from the environment: PORT, HOST, WEIGHTS_DIR, BACKEND, BODY_LIMIT, MAX_IMAGES, CORS_ORIGIN, LOG_LEVEL.
import type { FastifyInstance } from 'fastify';
import { buildServer } from './app.js';
import { ConfigError, configFromEnv } from './config.js';
import { WeightsError } from './models.js';

async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const app: FastifyInstance = await buildServer(config);
  const { models, unavailable } = app.digitModels;
  for (const [name, model] of Object.entries(models)) {
    app.log.info(`${name} ${model.card.version} loaded (test accuracy ${model.card.metrics.test.accuracy})`);
  }
  for (const reason of Object.values(unavailable)) app.log.warn(`unavailable: ${reason}`);

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    app.log.info(`${signal}: closing (finishing requests in flight)`);
    const timer = setTimeout(() => {
      app.log.error('shutdown took over 30 s; exiting');
      process.exit(1);
    }, 30_000);
    timer.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error while closing');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  if (error instanceof WeightsError || error instanceof ConfigError) {
    process.stderr.write(`digitlab server cannot start: ${error.message}\n`);
  } else {
    process.stderr.write(`digitlab server cannot start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
