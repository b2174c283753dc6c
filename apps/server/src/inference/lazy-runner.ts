// A runner whose worker starts at its first batch, or when asked beforehand: the explanation queues
// run on one, so a server that is not warm and never explains starts no thread, loads no second
// copy of a model and compiles no backward pass.
import type { ModelCard, ModelName } from '@digitlab/models';
import type { Runner } from './runner.js';

/** What a lazy runner starts: a runner that can be stopped, made when first needed (`signal` aborts the start). */
export type RunnerStart = (signal: AbortSignal) => Promise<Runner>;

/** A Runner that says whether its own has been started. */
export interface LazyRunner extends Runner {
  /** True from the first predict() or prestart() on (until a failed start). */
  readonly started: boolean;
  /** Starts its own now if not started yet; resolves once that start has settled (a failure is tried again by the next batch). */
  prestart(): Promise<void>;
}

/**
 * A Runner that starts its own on the first predict() (or at prestart()) and hands every batch to it.
 * The first batch after a start reports `compiled` (its time may hold the start, not the model); a
 * start that failed is tried again by the next batch. close() stops a start under way as well as a
 * started one.
 */
export function lazyRunner(name: ModelName, card: ModelCard, start: RunnerStart): LazyRunner {
  let started: Promise<Runner> | undefined;
  let stopping: AbortController | undefined;
  let closed = false;
  // set by each start, taken by the one batch that reports it
  let fresh = false;
  const begin = (): Promise<Runner> => {
    if (started === undefined) {
      stopping = new AbortController();
      const starting = start(stopping.signal);
      started = starting;
      fresh = true;
      starting.catch(() => {
        if (started === starting) started = undefined;
      });
    }
    return started;
  };
  return {
    name,
    card,
    get started() {
      return started !== undefined;
    },
    async prestart() {
      if (!closed) await begin().then(() => undefined, () => undefined);
    },
    async predict(images, count, explain) {
      if (closed) throw new Error(`the ${name} ${explain === true ? 'explanation ' : ''}worker is stopped`);
      const starting = begin();
      const first = fresh;
      fresh = false;
      const runner = await starting;
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
