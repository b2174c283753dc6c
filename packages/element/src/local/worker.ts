/**
 * The engine worker: fetches both models' cards and weights, checks them, chooses the backend
 * by probe and answers predictions. When the backend in use fails mid-way, the next one that
 * passed its probe takes over (the models rebuilt on it) and the request is answered there; only
 * when none is left does a request fail, so the element can turn to the server.
 */
import { chooseBrowserBackend, NoBackendError, type BrowserMode } from './choose-backend.ts';
import { IntegrityError, LOCAL_MODELS, LocalModels, verifyWeights, type ModelFiles } from './engine.ts';
import type { EngineInfo, FromWorker, ModelUrls, ToWorker } from './protocol.ts';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = globalThis as unknown as WorkerScope;

let files: Partial<Record<'cnn' | 'vit', ModelFiles>> = {};
let engine: LocalModels | null = null;
/** Modes that passed their probe and have not failed since, best first. */
let remaining: BrowserMode[] = [];
/** One message at a time: a prediction waits for the load, a fallback for the one before it. */
let queue: Promise<unknown> = Promise.resolve();

async function fetchOk(url: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new Error(`could not fetch the ${what} from ${url}`);
  }
  if (!response.ok) throw new Error(`the ${what} at ${url} answered HTTP ${response.status}`);
  return response;
}

async function fetchFiles(urls: ModelUrls): Promise<Partial<Record<'cnn' | 'vit', ModelFiles>>> {
  const out: Partial<Record<'cnn' | 'vit', ModelFiles>> = {};
  await Promise.all(
    LOCAL_MODELS.map(async (name) => {
      const card = await (await fetchOk(urls[name].card, `${name}'s card`)).json();
      const weights = await (await fetchOk(urls[name].weights, `${name}'s weights`)).arrayBuffer();
      out[name] = { card, weights };
      // before any probe: weights that are not the card's end the load at once
      await verifyWeights(name, out[name]);
    }),
  );
  return out;
}

/** Loads the models on the first remaining mode that builds them; drops the ones that fail. */
async function startNext(): Promise<LocalModels> {
  const why: string[] = [];
  while (remaining.length > 0) {
    const mode = remaining[0];
    try {
      return await LocalModels.load(mode, files);
    } catch (e) {
      if (e instanceof IntegrityError) throw e;
      why.push(`${mode}: ${(e as Error).message.split('\n')[0]}`);
      remaining.shift();
    }
  }
  throw new Error(`no backend could run the models here (${why.join('; ')})`);
}

function info(e: LocalModels, trials: EngineInfo['trials'], loadMs: number): EngineInfo {
  return { backend: e.mode, kernelClass: e.kernels().classes.join(', '), trials, versions: e.versions, loadMs };
}

async function load(message: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  const started = performance.now();
  try {
    files = await fetchFiles(message.urls);
    const choice = await chooseBrowserBackend(message.force ? { force: message.force } : {});
    remaining = [...choice.passed];
    engine = await startNext();
    scope.postMessage({ type: 'ready', ...info(engine, choice.trials, performance.now() - started) });
  } catch (e) {
    const code = e instanceof IntegrityError ? 'INTEGRITY' : e instanceof NoBackendError ? 'NO_BACKEND' : 'LOAD_FAILED';
    scope.postMessage({ type: 'load-failed', message: (e as Error).message, code });
  }
}

async function predict(message: Extract<ToWorker, { type: 'predict' }>): Promise<void> {
  for (;;) {
    if (!engine) {
      scope.postMessage({ type: 'failed', id: message.id, message: 'the models are not loaded here' });
      return;
    }
    try {
      const a = await engine.predict(message.images, message.count, message.only);
      const explanations = message.explain === true ? await engine.explain(message.images, message.count) : undefined;
      const cnn = a.probabilities.cnn ?? null;
      const vit = a.probabilities.vit ?? null;
      const transfer = [cnn, vit].flatMap((p) => (p ? [p.buffer as ArrayBuffer] : []));
      scope.postMessage(
        { type: 'answer', id: message.id, cnn, vit, uncertain: a.uncertain, lowConfidence: a.lowConfidence, ms: a.ms, backend: engine.mode, kernelClass: engine.kernels().classes.join(', '), ...(explanations ? { explanations } : {}) },
        transfer,
      );
      return;
    } catch (e) {
      // this backend failed mid-way: the next one that passed its probe takes over
      console.warn(`digit-classifier: the ${engine.mode} backend failed (${(e as Error).message.split('\n')[0]}); trying the next`);
      engine.destroy();
      engine = null;
      remaining.shift();
      try {
        engine = await startNext();
      } catch (next) {
        scope.postMessage({ type: 'failed', id: message.id, message: (next as Error).message });
        return;
      }
    }
  }
}

scope.onmessage = (event) => {
  const message = event.data;
  queue = queue.then(() => (message.type === 'load' ? load(message) : predict(message)));
};
