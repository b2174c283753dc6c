/**
 * The training worker: picks and checks a backend, fetches MNIST, runs a TrainingRun and posts
 * its progress; after the run it answers predictions from the trained model. One run per worker.
 */
import { Tensor, noGrad } from '@digitlab/tensor';
import { buildModel, validatePreset } from '@digitlab/models';
import { chooseBrowserBackend } from './backend-choice.ts';
import { idbStore } from './idb-store.ts';
import { fetchMnist } from './mnist-fetch.ts';
import type { FromWorker, RunRequest, ToWorker } from './protocol.ts';
import { TrainingRun } from './run.ts';

const post = (m: FromWorker, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

let current: TrainingRun | null = null;

function machine(): string {
  const nav = self.navigator as Navigator & { userAgentData?: { brands?: Array<{ brand: string; version: string }> } };
  const brand = nav.userAgentData?.brands?.find((b) => !/Not.A.Brand/i.test(b.brand));
  return `${nav.hardwareConcurrency} cores, ${brand ? `${brand.brand} ${brand.version}` : nav.userAgent}`;
}

async function start(req: RunRequest): Promise<void> {
  const preset = validatePreset(req.preset, 'the trainer form');
  post({ type: 'status', text: 'choosing a backend' });
  // a candidate must also run this model's forward pass at the training batch size
  const { backend, mode, trials } = await chooseBrowserBackend(req.backend, async (be) => {
    const model = buildModel(preset.model, preset.train.seed);
    const x = new Tensor([preset.train.batchSize, 1, 28, 28], new Float32Array(preset.train.batchSize * 784).fill(0.5));
    const logits = await noGrad(() => model.forward(be, x, { training: false }));
    if (!logits.data.every(Number.isFinite)) throw new Error('the model gave non-finite logits');
  });
  post({ type: 'backend', mode, trials });
  post({ type: 'status', text: 'loading MNIST' });
  const [train, test] = await Promise.all([fetchMnist(req.dataUrl, 'train'), fetchMnist(req.dataUrl, 'test')]);
  const run = new TrainingRun(
    { preset, train, test, backend, backendName: mode, machine: machine(), trainImages: req.trainImages, store: idbStore, resume: req.resume },
    {
      onStatus: (text) => post({ type: 'status', text }),
      onResumed: (c) => post({ type: 'resumed', epoch: c.epoch, step: 0, history: c.history, curve: c.curve }),
      onBatch: (progress) => post({ type: 'batch', progress }),
      onEpoch: (log) => post({ type: 'epoch', log }),
    },
  );
  current = run;
  post({ type: 'status', text: 'training' });
  const result = await run.run();
  post({ type: 'done', result }, [result.weights.buffer as ArrayBuffer]);
}

self.onmessage = (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  const fail = (err: unknown): void => post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  switch (m.type) {
    case 'start':
      if (current) return fail(new Error('this worker already runs a training'));
      start(m.run).catch(fail);
      return;
    case 'pause':
      current?.pause();
      post({ type: 'paused' });
      return;
    case 'resume':
      current?.resume();
      post({ type: 'running' });
      return;
    case 'stop':
      current?.stop();
      return;
    case 'predict':
      if (!current) return fail(new Error('no trained model yet'));
      current.predict(m.image).then((probabilities) => post({ type: 'prediction', id: m.id, probabilities }), fail);
      return;
  }
};
