// A model's worker thread: loads one classifier (every batch bucket compiled at load with `warm`) and
// answers predict messages one at a time (with each image's explanation map when asked), so inference
// never runs on the HTTP thread's event loop. The server runs one per model for predictions and, from
// the first explained request on, another for explanations.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Backend, MNIST_PIXELS, explainImages, explanationKind, loadClassifier, type Classifier, type Mode } from '@digitlab/models';
import type { Explained, FromWorker, PredictMessage, WorkerSetup } from './messages.js';

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port === null) throw new Error('worker.ts runs only as a worker thread');

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

lowerPriority(setup.nice);

try {
  const started = performance.now();
  const classifier = await loadClassifier(setup.name, {
    weightsDir: setup.weightsDir,
    backend: setup.backend,
    warm: setup.warm,
    // each model's worker has a core of its own: a large batch stays on this thread
    threads: 1,
    ...(setup.poolSize === undefined ? {} : { poolSize: setup.poolSize }),
  });
  const loadMs = performance.now() - started - classifier.warmMs;
  const explain = explainer(classifier, setup.backend);
  let explainWarmMs = 0;
  if (setup.warm && setup.explains) {
    const t0 = performance.now();
    await explain(new Float32Array(MNIST_PIXELS), 1);
    explainWarmMs = performance.now() - t0;
  }
  // one batch at a time, timed from its own start: a batch waiting here behind another is not computing
  let previous: Promise<unknown> = Promise.resolve();
  port.on('message', (message: PredictMessage) => {
    previous = previous.then(async () => {
      const t0 = performance.now();
      const kernels = classifier.kernelsCompiled();
      try {
        const [probabilities, explained] = await Promise.all([
          classifier.predict(message.images, message.count),
          message.explain === true ? explain(message.images, message.count) : undefined,
        ]);
        send({ type: 'result', id: message.id, probabilities, ...(explained ? { explained } : {}), ms: performance.now() - t0, compiled: classifier.kernelsCompiled() !== kernels }, [
          probabilities.buffer as ArrayBuffer,
          ...(explained ? [explained.maps.buffer as ArrayBuffer] : []),
        ]);
      } catch (error) {
        send({ type: 'predict-error', id: message.id, message: error instanceof Error ? error.message : String(error) });
      }
    });
  });
  send({ type: 'ready', card: classifier.card, loadMs, warmMs: classifier.warmMs + explainWarmMs });
} catch (error) {
  send({ type: 'failed', errorName: error instanceof Error ? error.name : 'Error', message: error instanceof Error ? error.message : String(error) });
}

/**
 * The classifier's explanations, one request at a time on a backend of their own (the inference
 * plan's kernels keep their arguments in their own memory; the backward pass must not share them).
 * `async` explains on `webasm`: the passes run one image at a time, where async's thread pool adds
 * threads and nothing else. The backend and its kernels are made on the first request (the
 * explanation worker starts at the first explained request, which waits for both).
 */
function explainer(classifier: Classifier, mode: Mode): (images: Float32Array, count: number) => Promise<Explained> {
  let be: Backend | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  return (images, count) => {
    const job = queue.then(async () => {
      be ??= new Backend(mode === 'async' ? 'webasm' : mode);
      const maps = new Float32Array(count * MNIST_PIXELS);
      (await explainImages(be, classifier.model, images, count)).forEach((e, i) => maps.set(e.map, i * MNIST_PIXELS));
      return { kind: explanationKind(classifier.model), maps };
    });
    queue = job.catch(() => undefined);
    return job;
  };
}

/**
 * Gives this thread (and the backend's pool threads it starts, which inherit it) a higher nice
 * value than the HTTP thread, so that on a machine with fewer cores than busy threads the HTTP
 * thread gets the CPU as soon as it has requests to parse, answers or probes to send, and the
 * models take the rest. Linux keeps a nice value per thread; elsewhere the priority stays as it is.
 */
function lowerPriority(nice: number): void {
  if (nice === 0) return;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, Math.min(19, getNice() + nice));
  } catch {
    // no /proc/thread-self (not Linux): every thread keeps the process's priority
  }
}

function getNice(): number {
  try {
    return getPriority();
  } catch {
    return 0;
  }
}
