// A model's worker thread: loads one classifier (every batch bucket compiled at load) and answers
// predict messages one at a time, so inference never runs on the HTTP thread's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { loadClassifier } from '@digitlab/models';
import type { FromWorker, PredictMessage, WorkerSetup } from './messages.js';

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port === null) throw new Error('worker.ts runs only as a worker thread');

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

try {
  const started = performance.now();
  const classifier = await loadClassifier(setup.name, {
    weightsDir: setup.weightsDir,
    backend: setup.backend,
    warm: setup.warm,
    ...(setup.poolSize === undefined ? {} : { poolSize: setup.poolSize }),
  });
  const loadMs = performance.now() - started - classifier.warmMs;
  // one batch at a time, timed from its own start: a batch waiting here behind another is not computing
  let previous: Promise<unknown> = Promise.resolve();
  port.on('message', (message: PredictMessage) => {
    previous = previous.then(async () => {
      const t0 = performance.now();
      const kernels = classifier.kernelsCompiled();
      try {
        const probabilities = await classifier.predict(message.images, message.count);
        send({ type: 'result', id: message.id, probabilities, ms: performance.now() - t0, compiled: classifier.kernelsCompiled() !== kernels }, [probabilities.buffer as ArrayBuffer]);
      } catch (error) {
        send({ type: 'predict-error', id: message.id, message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  send({ type: 'ready', card: classifier.card, loadMs, warmMs: classifier.warmMs });
} catch (error) {
  send({ type: 'failed', errorName: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) });
}
