// The runner behind the explanation queues: nothing starts before the first batch, one start serves
// every batch, a failed start is tried again, and close() stops a start under way.
import type { ModelCard } from '@digitlab/models';
import { describe, expect, it } from 'vitest';
import { lazyRunner } from '../src/inference/lazy-runner.js';
import type { Runner } from '../src/inference/runner.js';

const card = {} as ModelCard;

function fakeRunner(closed: string[]): Runner {
  return {
    name: 'cnn',
    card,
    predict: async (_images, count) => ({ probabilities: new Float32Array(count * 10), ms: 1 }),
    close: async () => {
      closed.push('runner');
    },
  };
}

describe('lazyRunner', () => {
  it('starts once, at the first batch, which alone reports compiled (its time measures the start; the queue times the next from its end)', async () => {
    let starts = 0;
    const closed: string[] = [];
    const runner = lazyRunner('cnn', card, async () => {
      starts++;
      return fakeRunner(closed);
    });
    expect(runner.started).toBe(false);
    expect(starts).toBe(0);
    const [first, second] = await Promise.all([runner.predict(new Float32Array(784), 1, true), runner.predict(new Float32Array(784), 1, true)]);
    expect(starts).toBe(1);
    expect(runner.started).toBe(true);
    expect(first.compiled).toBe(true);
    expect(second.compiled).toBeUndefined();
    expect((await runner.predict(new Float32Array(784), 1, true)).compiled).toBeUndefined();
    await runner.close();
    expect(closed).toEqual(['runner']);
    await expect(runner.predict(new Float32Array(784), 1, true)).rejects.toThrow(/stopped/);
  });

  it('prestart() starts it before any batch, once; the first batch after reports compiled and the next do not', async () => {
    let starts = 0;
    const runner = lazyRunner('cnn', card, async () => {
      starts++;
      return fakeRunner([]);
    });
    await runner.prestart();
    await runner.prestart();
    expect(starts).toBe(1);
    expect(runner.started).toBe(true);
    expect((await runner.predict(new Float32Array(784), 1, true)).compiled).toBe(true);
    expect((await runner.predict(new Float32Array(784), 1, true)).compiled).toBeUndefined();
    expect(starts).toBe(1);
  });

  it('a prestart that fails resolves, and the next batch starts it again', async () => {
    let starts = 0;
    const runner = lazyRunner('vit', card, async () => {
      starts++;
      if (starts === 1) throw new Error('no thread');
      return fakeRunner([]);
    });
    await runner.prestart();
    expect(runner.started).toBe(false);
    expect((await runner.predict(new Float32Array(784), 1)).probabilities).toHaveLength(10);
    expect(starts).toBe(2);
  });

  it('tries a failed start again at the next batch', async () => {
    let starts = 0;
    const runner = lazyRunner('vit', card, async () => {
      starts++;
      if (starts === 1) throw new Error('no thread');
      return fakeRunner([]);
    });
    await expect(runner.predict(new Float32Array(784), 1)).rejects.toThrow('no thread');
    expect(runner.started).toBe(false);
    expect((await runner.predict(new Float32Array(784), 1)).probabilities).toHaveLength(10);
    expect(starts).toBe(2);
  });

  it('close() during the start aborts it and resolves; the batch waiting for it fails', async () => {
    const runner = lazyRunner('cnn', card, (signal) => new Promise<Runner>((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('stopped before it started')))));
    const waiting = runner.predict(new Float32Array(784), 1, true);
    waiting.catch(() => undefined);
    await runner.close();
    await expect(waiting).rejects.toThrow('stopped before it started');
  });
});
