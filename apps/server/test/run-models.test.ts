// runModels on its own, over two queues with runners the test controls: a client that goes away
// drops the request from both queues, a model that fails drops it from the other, and a run leaves
// no listener on the client's signal and ties no signals together (AbortSignal.any's weakly linked
// signals live until a full collection, which a busy server then pays for in long pauses).
import { getEventListeners } from 'node:events';
import { PIXELS } from '@digitlab/digit-csv';
import type { ModelCard, ModelName } from '@digitlab/models';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClientGoneError } from '../src/errors.js';
import { Batcher } from '../src/inference/batcher.js';
import { runModels } from '../src/inference/predict.js';
import type { Runner, RunnerResult } from '../src/inference/runner.js';
import type { ModelSet } from '../src/models.js';

/** A runner whose batches wait until the test settles them. */
function heldRunner(name: ModelName) {
  const held: Array<{ resolve(result: RunnerResult): void; reject(error: Error): void; count: number }> = [];
  const runner: Runner = {
    name,
    // runModels reads the card's validation threshold; an absent one means the default
    card: { version: 'test', metrics: {} } as unknown as ModelCard,
    predict: (_images, count) => new Promise((resolve, reject) => held.push({ resolve, reject, count })),
    close: async () => undefined,
  };
  const answer = (): void => {
    for (const batch of held.splice(0)) batch.resolve({ probabilities: new Float32Array(batch.count * 10).fill(0.1), ms: 1 });
  };
  return { runner, held, answer };
}

function modelSet() {
  const cnn = heldRunner('cnn');
  const vit = heldRunner('vit');
  const options = { maxBatch: 64, maxWaitMs: 0, maxQueue: 10_000, maxQueueWaitMs: 60_000 };
  const models: ModelSet = {
    queues: { cnn: new Batcher(cnn.runner, options), vit: new Batcher(vit.runner, options) },
    explainQueues: {},
    unavailable: {},
    loadMs: {},
    warmupMs: {},
    close: async () => undefined,
  };
  return { models, cnn, vit };
}

const image = new Float32Array(PIXELS);
const far = (): number => performance.now() + 60_000;
/** Lets the queues' zero-wait timers send what is queued. */
const sent = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runModels', () => {
  it('answers from both models, ties no signals together and leaves no listener on the client signal', async () => {
    const any = vi.spyOn(AbortSignal, 'any');
    const { models, cnn, vit } = modelSet();
    const client = new AbortController();
    const run = runModels(models, image, 1, { deadline: far(), signal: client.signal });
    await sent();
    expect(getEventListeners(client.signal, 'abort')).toHaveLength(1);
    cnn.answer();
    vit.answer();
    const outputs = await run;
    expect(outputs.probabilities.cnn).toHaveLength(10);
    expect(outputs.probabilities.vit).toHaveLength(10);
    expect(getEventListeners(client.signal, 'abort')).toHaveLength(0);
    expect(any).not.toHaveBeenCalled();
  });

  it('drops the request from both queues when the client goes away', async () => {
    const { models, cnn, vit } = modelSet();
    // two requests fill both queues' flights (MAX_IN_FLIGHT), so a third waits in both queues
    const first = Promise.all([runModels(models, image, 1, { deadline: far() }), runModels(models, image, 1, { deadline: far() })]);
    await sent();
    await sent();
    const client = new AbortController();
    const second = runModels(models, image, 1, { deadline: far(), signal: client.signal });
    second.catch(() => undefined);
    await sent();
    expect(models.queues.cnn!.depth).toBe(1);
    expect(models.queues.vit!.depth).toBe(1);
    client.abort();
    await expect(second).rejects.toBeInstanceOf(ClientGoneError);
    expect(models.queues.cnn!.depth).toBe(0);
    expect(models.queues.vit!.depth).toBe(0);
    cnn.answer();
    vit.answer();
    await first;
    expect(getEventListeners(client.signal, 'abort')).toHaveLength(0);
  });

  it('drops the request from the other queue when one model fails', async () => {
    const { models, cnn, vit } = modelSet();
    const first = runModels(models, image, 1, { deadline: far() });
    await sent();
    const second = runModels(models, image, 1, { deadline: far() });
    second.catch(() => undefined);
    await sent();
    // the CNN fails the first request: its queue sends the second, which fails too; the ViT queue drops it
    cnn.held.shift()!.reject(new Error('the cnn failed to predict'));
    await expect(first).rejects.toThrow('the cnn failed to predict');
    await sent();
    cnn.held.shift()?.reject(new Error('the cnn failed again'));
    await expect(second).rejects.toThrow();
    expect(models.queues.vit!.depth).toBe(0);
    vit.answer();
  });

  it('does not queue a request whose client is already gone', async () => {
    const { models, cnn, vit } = modelSet();
    const client = new AbortController();
    client.abort();
    await expect(runModels(models, image, 1, { deadline: far(), signal: client.signal })).rejects.toBeInstanceOf(ClientGoneError);
    await sent();
    expect(cnn.held.length + vit.held.length).toBe(0);
  });
});
