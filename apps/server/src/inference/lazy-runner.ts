// A runner whose worker starts at its first batch: the explanation queues run on one, so a server
// that never explains starts no thread, loads no second copy of a model and compiles no backward pass.
import type { ModelCard, ModelName } from '@digitlab/models';
import type { Runner } from './runner.js';

/** What a lazy runner starts: a runner that can be stopped, made when first needed (`signal` aborts the start). */
export type RunnerStart = (signal: AbortSignal) => Promise<Runner>;

/** A Runner that says whether its own has been started. */
export interface LazyRunner extends Runner {
  /** True from the first predict() on (until a failed start). */
  readonly started: boolean;
}

/**
 * A Runner that starts its own on the first predict() and hands every batch to it. The batch that
 * waited for the start reports `compiled` (its time measures the start, not the model); a start that
 * failed is tried again by the next batch. close() stops a start under way as well as a started one.
 */
export function lazyRunner(name: ModelName, card: ModelCard, start: RunnerStart): LazyRunner {
  let started: Promise<Runner> | undefined;
  let stopping: AbortController | undefined;
  let closed = false;
  return {
    name,
    card,
    get started() {
      return started !== undefined;
    },
    async predict(images, count, explain) {
      if (closed) throw new Error(`the ${name} ${explain === true ? 'explanation ' : ''}worker is stopped`);
      const first = started === undefined;
      if (started === undefined) {
        stopping = new AbortController();
        started = start(stopping.signal);
        started.catch(() => {
          started = undefined;
        });
      }
      const runner = await started;
      const result = await runner.predict(images, count, explain);
      return first ? { ...result, compiled: true } : result;
    },
    async close() {
      closed = true;
      stopping?.abort();
      const runner = await started?.catch(() => undefined);
      await runner?.close();
    },
  };
}
