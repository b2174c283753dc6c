// The Prometheus metrics (prom-client), one registry per server so several servers in one process
// (tests) keep their counts apart. Served at GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatcherObserver } from './inference/batcher.js';

/** Powers of two up to the largest batch bucket: the batch sizes the engine compiles. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ServerMetrics extends BatcherObserver {
  readonly registry: Registry;
  /** One finished HTTP request: its route pattern (not its URL, to keep the label set small) and status. */
  request(method: string, route: string, status: number, seconds: number): void;
  /** One error answer, by its code (e.g. QUEUE_FULL, NOT_A_NUMBER). */
  error(code: string): void;
}

/** What a scrape reads of each model's queue. */
export interface QueueState {
  /** Images waiting. */
  readonly depth: number;
  /** Milliseconds a request arriving now would wait. */
  readonly expectedWaitMs: number;
}

/** Builds the registry; queues() is read at each scrape. */
export function createMetrics(queues: () => Record<string, QueueState>): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'digitlab_process_' });
  const duration = new Histogram({
    name: 'digitlab_http_request_duration_seconds',
    help: 'HTTP request duration, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: SECONDS,
    registers: [registry],
  });
  new Gauge({
    name: 'digitlab_queue_depth_images',
    help: 'Images waiting in each model queue (not yet in a running batch).',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      for (const [model, state] of Object.entries(queues())) this.set({ model }, state.depth);
    },
  });
  new Gauge({
    name: 'digitlab_queue_expected_wait_seconds',
    help: 'Wait a request arriving now is expected to have in each model queue (backlog x measured time per image): admission refuses past MAX_QUEUE_WAIT_MS.',
    labelNames: ['model'],
    registers: [registry],
    collect() {
      for (const [model, state] of Object.entries(queues())) this.set({ model }, state.expectedWaitMs / 1000);
    },
  });
  const shed = new Counter({
    name: 'digitlab_shed_requests_total',
    help: 'Requests refused with 503 before queueing, by model and reason (queue_limit: QUEUE_LIMIT images waiting; queue_wait: expected wait over MAX_QUEUE_WAIT_MS; deadline: cannot finish within the request deadline).',
    labelNames: ['model', 'reason'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'digitlab_queue_wait_seconds',
    help: 'Time a request waited in a model queue before its batch started.',
    labelNames: ['model'],
    buckets: SECONDS,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'digitlab_batch_size_images',
    help: 'Images per batch run on a model.',
    labelNames: ['model'],
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const inference = new Histogram({
    name: 'digitlab_inference_seconds',
    help: 'Compute time of one batch on a model (in its worker thread).',
    labelNames: ['model'],
    buckets: SECONDS,
    registers: [registry],
  });
  const images = new Counter({ name: 'digitlab_images_predicted_total', help: 'Images run through each model.', labelNames: ['model'], registers: [registry] });
  const errors = new Counter({ name: 'digitlab_errors_total', help: 'Error answers, by error code.', labelNames: ['code'], registers: [registry] });
  return {
    registry,
    request: (method, route, status, seconds) => duration.observe({ method, route, status_code: String(status) }, seconds),
    error: (code) => errors.inc({ code }),
    batch: (model, count, ms) => {
      images.inc({ model }, count);
      batchSize.observe({ model }, count);
      inference.observe({ model }, ms / 1000);
    },
    waited: (model, ms) => wait.observe({ model }, ms / 1000),
    shed: (model, reason) => shed.inc({ model, reason }),
  };
}
