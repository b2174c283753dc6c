// Starts the server from the environment (PORT, HOST and the settings in the README), and on
// SIGTERM/SIGINT drains it: /health/ready answers 503, new predictions 503, queued work finishes.
import type { FastifyInstance } from 'fastify';
import { buildServer } from './app.js';
import { ConfigError, configFromEnv } from './config.js';
import { WeightsError } from './models.js';

async function main(): Promise<void> {
  const config = configFromEnv(process.env);
  const app: FastifyInstance = await buildServer(config);
  const { queues, unavailable, warmupMs } = app.digitModels;
  for (const queue of Object.values(queues)) {
    const { name, card } = queue.runner;
    app.log.info(`${name} ${card.version} loaded in its worker thread (test accuracy ${card.metrics.test.accuracy}; batch buckets compiled in ${Math.round(warmupMs[name] ?? 0)} ms)`);
  }
  for (const reason of Object.values(unavailable)) app.log.warn(`unavailable: ${reason}`);

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    app.log.info(`${signal}: draining (readiness 503, finishing queued work), closing in ${config.drainDelayMs} ms`);
    app.beginDrain();
    const timer = setTimeout(() => {
      app.log.error(`shutdown took over ${config.drainDelayMs + 30_000} ms; exiting`);
      process.exit(1);
    }, config.drainDelayMs + 30_000);
    timer.unref();
    const delay = new Promise((resolve) => setTimeout(resolve, config.drainDelayMs));
    delay.then(() => app.close()).then(
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
  if (app.digitHealthPort !== null) app.log.info(`probes answer on their own thread at ${config.host}:${app.digitHealthPort} (GET /health/live, /health/ready)`);
}

main().catch((error: unknown) => {
  if (error instanceof WeightsError || error instanceof ConfigError) {
    process.stderr.write(`digitlab server cannot start: ${error.message}\n`);
  } else {
    process.stderr.write(`digitlab server cannot start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(1);
});
