// A plan worker thread (plan-threads.ts): builds the model's inference plan from the weights it was
// started with and the modules the calling thread compiled, says it is ready, then runs its share of every round until the threads stop.
import { parentPort, workerData } from 'node:worker_threads';
import { Backend } from '@digitlab/tensor';
import { buildModel } from './build.js';
import { buildPlan } from './plan.js';
import { type PlanWorkerMessage, type PlanWorkerModules, type PlanWorkerSetup, awaitRound, reportCompiled, roundOf, sharedViews, workerRound } from './plan-worker-rounds.js';
import { loadParams } from './state.js';

const setup = workerData as PlanWorkerSetup;
const port = parentPort;
if (port === null) throw new Error('plan-worker.ts runs only as a worker thread');

const send = (m: PlanWorkerMessage): void => port.postMessage(m);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const shared = sharedViews(setup);

let be: Backend | null = null;
let started = false;
try {
  // the calling thread posts its plan's modules once it has built them (while this thread loads)
  const { modules } = await new Promise<PlanWorkerModules>((resolve) => port.once('message', resolve));
  // the weights are the caller's, copied in: the seed only fills parameters loadParams overwrites
  const model = buildModel(setup.config, 0);
  loadParams(model, setup.params);
  const backend = new Backend(setup.mode, { fusedMultiplyAdd: setup.fusedMultiplyAdd });
  be = backend;
  const plan = buildPlan(model, backend, { modules });
  reportCompiled(shared.control, setup.index, backend.compiled);
  let seen = roundOf(shared.control);
  send({ type: 'ready' });
  started = true;
  while (awaitRound(shared.control, seen)) {
    seen = roundOf(shared.control);
    workerRound(plan, shared, setup.index, () => backend.compiled, (e) => send({ type: 'round-failed', message: messageOf(e) }));
  }
  plan.destroy();
} catch (e) {
  // before ready the caller waits for a message; after it, a throw ends the thread and its exit is the error
  if (!started) send({ type: 'failed', message: messageOf(e) });
  else throw e;
} finally {
  be?.destroy();
}
