// PlanOptions.shareMemory: the plan a page runs (one wasm memory per kernel spec, not per layer)
// computes what the default plan computes, bit for bit, and sees a training step's new weights.
import { join, resolve } from 'node:path';
import { Adam, Backend, Tensor, backward, softmaxCrossEntropy } from '@digitlab/tensor';
import { afterEach, describe, expect, it } from 'vitest';
import { buildModel } from '../src/build.js';
import { loadClassifier } from '../src/classifier.js';
import { loadMnist } from '../src/mnist.js';
import { loadPreset } from '../src/presets.js';
import { buildPlan, type InferencePlan } from '../src/plan.js';

const WEIGHTS = join(resolve(import.meta.dirname, '..', '..', '..'), 'weights');

/** Counts the wasm memories made while `build` runs (gpu.js's kernels and the plan's instances). */
function memoriesMadeBy<T>(build: () => T): { value: T; memories: number } {
  const Original = WebAssembly.Memory;
  let memories = 0;
  const Counting = function (this: unknown, descriptor: WebAssembly.MemoryDescriptor) {
    memories++;
    return new Original(descriptor);
  } as unknown as typeof WebAssembly.Memory;
  Counting.prototype = Original.prototype;
  WebAssembly.Memory = Counting;
  try {
    return { value: build(), memories };
  } finally {
    WebAssembly.Memory = Original;
  }
}

describe('an inference plan with shareMemory', () => {
  const plans: InferencePlan[] = [];
  const backends: Backend[] = [];
  afterEach(() => {
    for (const plan of plans.splice(0)) plan.destroy();
    for (const be of backends.splice(0)) be.destroy();
  });

  for (const name of ['cnn', 'vit'] as const) {
    it(`${name}: the logits of 1, 5 and 64 test images equal the default plan's exactly, from fewer wasm memories`, async () => {
      const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'cpu' });
      clf.close();
      const be = new Backend('webasm');
      const own = memoriesMadeBy(() => buildPlan(clf.model, be));
      const shared = memoriesMadeBy(() => buildPlan(clf.model, be, { shareMemory: true }));
      plans.push(own.value, shared.value);
      backends.push(be);
      // the ViT's layers of one shape share a memory: its 124 kernels run in a few dozen
      if (name === 'vit') expect(shared.memories).toBeLessThan(own.memories / 2);
      else expect(shared.memories).toBeLessThanOrEqual(own.memories);
      const images = loadMnist('test').images;
      for (const count of [1, 5, 64, 1]) {
        const want = own.value.run(images, count);
        const got = shared.value.run(images.subarray(784), count);
        const again = shared.value.run(images, count);
        expect(again).toEqual(want);
        expect(got).toEqual(own.value.run(images.subarray(784), count));
      }
    });
  }

  it("tiny-vit: a training step's new weights reach every layer's kernel", async () => {
    const model = buildModel(loadPreset('tiny-vit').model, 3);
    const be = new Backend('webasm');
    const plan = buildPlan(model, be, { shareMemory: true });
    const reference = buildPlan(model, be);
    plans.push(plan, reference);
    backends.push(be);
    const count = 5;
    const test = loadMnist('test');
    const images = test.images.slice(0, count * 784);
    const before = plan.run(images, count);
    expect(before).toEqual(reference.run(images, count));
    const opt = new Adam([...model.params.values()], { lr: 0.05 });
    const logits = await model.forward(be, new Tensor([count, 1, 28, 28], images), { training: false });
    await backward(await softmaxCrossEntropy(be, logits, test.labels.subarray(0, count)));
    opt.step();
    const after = plan.run(images, count);
    expect(after).not.toEqual(before);
    expect(after).toEqual(reference.run(images, count));
  });
});
