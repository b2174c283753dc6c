// The Prometheus metrics (prom-client), one registry per server so several servers in one process
// (tests) keep their counts apart. Served at GET /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatcherObserver, QueueTask } from './inference/batcher.js';

/** Powers of two up to the largest batch bucket: the batch sizes the engine compiles. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface ServerMetrics {
  readonly registry: Registry;
  /** What the queues of one task report to (their series carry that task label). */
  observer(task: QueueTask): BatcherObserver;
  /** One finished HTTP request: its route pattern (not its URL, to keep the label set small) and status. */
  request(method: string, route: string, status: number, seconds: number): void;
  /** One error answer, by its code (e.g. QUEUE_FULL, NOT_A_NUMBER). */
  error(code: string): void;
}

/** What a scrape reads of each queue: one per model and task. */
export interface QueueState {
  readonly model: string;
  readonly task: QueueTask;
  /** Images waiting. */
  readonly depth: number;
  /** Milliseconds a request arriving now would wait. */
  readonly expectedWaitMs: number;
}

/** Builds the registry; queues() is read at each scrape. */
export function createMetrics(queues: () => readonly QueueState[]): ServerMetrics {
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
    help: 'Images waiting in each model queue (not yet in a running batch), by task (predict, or explain: the queue of ?explain=1 requests).',
    labelNames: ['model', 'task'],
    registers: [registry],
    collect() {
      for (const { model, task, depth } of queues()) this.set({ model, task }, depth);
    },
  });
  new Gauge({
    name: 'digitlab_queue_expected_wait_seconds',
    help: 'Wait a request arriving now is expected to have in each model queue (backlog x measured time per image): admission refuses past MAX_QUEUE_WAIT_MS (EXPLAIN_MAX_QUEUE_WAIT_MS for task explain).',
    labelNames: ['model', 'task'],
    registers: [registry],
    collect() {
      for (const { model, task, expectedWaitMs } of queues()) this.set({ model, task }, expectedWaitMs / 1000);
    },
  });
  const shed = new Counter({
    name: 'digitlab_shed_requests_total',
    help: 'Requests refused with 503 before queueing, by model, task and reason (queue_limit: QUEUE_LIMIT or EXPLAIN_QUEUE_LIMIT images waiting; queue_wait: expected wait over MAX_QUEUE_WAIT_MS or EXPLAIN_MAX_QUEUE_WAIT_MS; deadline: cannot finish within the request deadline).',
    labelNames: ['model', 'task', 'reason'],
    registers: [registry],
  });
  const wait = new Histogram({
    name: 'digitlab_queue_wait_seconds',
    help: 'Time a request waited in a model queue before its batch started, by task.',
    labelNames: ['model', 'task'],
    buckets: SECONDS,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'digitlab_batch_size_images',
    help: 'Images per batch run on a model, by task.',
    labelNames: ['model', 'task'],
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const inference = new Histogram({
    name: 'digitlab_inference_seconds',
    help: 'Compute time of one batch on a model (in its worker thread), by task (explain: the answers and their maps).',
    labelNames: ['model', 'task'],
    buckets: SECONDS,
    registers: [registry],
  });
  const images = new Counter({ name: 'digitlab_images_predicted_total', help: 'Images run through each model, by task.', labelNames: ['model', 'task'], registers: [registry] });
  const errors = new Counter({ name: 'digitlab_errors_total', help: 'Error answers, by error code.', labelNames: ['code'], registers: [registry] });
  return {
    registry,
    request: (method, route, status, seconds) => duration.observe({ method, route, status_code: String(status) }, seconds),
    error: (code) => errors.inc({ code }),
    observer: (task) => ({
      batch: (model, count, ms) => {
        images.inc({ model, task }, count);
        batchSize.observe({ model, task }, count);
        inference.observe({ model, task }, ms / 1000);
      },
      waited: (model, ms) => wait.observe({ model, task }, ms / 1000),
      shed: (model, reason) => shed.inc({ model, task, reason }),
    }),
  };
}
