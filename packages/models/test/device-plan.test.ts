// The device pass's steps (deviceForward), replayed on webasm in Node: every gather's index
// table, every kernel's arguments and sizes as a DevicePlan records them, checked
// against the inference plan without a GPU. The run on the device itself is checked in Chromium
// (packages/element/test/local/device-pass.test.ts).
import { join, resolve } from 'node:path';
import { Backend, type DeviceArray, type DeviceSteps, type KernelSpec } from '@digitlab/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClassifier } from '../src/classifier.js';
import { deviceForward, indexTable } from '../src/device-plan.js';
import { loadMnist } from '../src/mnist.js';
import { buildPlan } from '../src/plan.js';

const WEIGHTS = join(resolve(import.meta.dirname, '..', '..', '..'), 'weights');
const BATCH = 16;

interface HostArray extends DeviceArray {
  values: Float32Array;
}

/** The steps a DevicePlan records, run at once on the host through Backend.run (whose outputs are the flat arrays a device buffer holds). */
class HostSteps implements DeviceSteps {
  readonly pending: Array<() => Promise<void>> = [];
  constructor(
    private readonly be: Backend,
    private readonly images: Float32Array,
  ) {}
  input(length: number): DeviceArray {
    expect(length).toBe(this.images.length);
    return { length, values: this.images } as HostArray;
  }
  constant(values: Float32Array): DeviceArray {
    return { length: values.length, values } as HostArray;
  }
  kernel(spec: KernelSpec, args: readonly DeviceArray[]): DeviceArray {
    const out: HostArray = { length: spec.output.reduce((a, b) => a * b, 1) * (spec.components ?? 1), values: new Float32Array(0) };
    this.pending.push(async () => {
      out.values = await this.be.run(spec, args.map((a) => (a as HostArray).values));
      expect(out.values.length, spec.name).toBe(out.length);
    });
    return out;
  }
  async result(a: DeviceArray): Promise<Float32Array> {
    for (const step of this.pending) await step();
    return (a as HostArray).values;
  }
}

describe('deviceForward, replayed on webasm', () => {
  const be = new Backend('webasm');
  afterAll(() => be.destroy());
  const images = loadMnist('test').images.slice(0, BATCH * 784);

  for (const name of ['cnn', 'vit'] as const) {
    it(`${name}: ${BATCH} test images' logits equal the inference plan's within 1e-4`, async () => {
      const clf = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm' });
      try {
        const want = buildPlan(clf.model, be).run(images, BATCH);
        const steps = new HostSteps(be, images);
        const logits = deviceForward(clf.model, be, BATCH)(steps, steps.input(images.length));
        const got = await steps.result(logits);
        expect(got).toHaveLength(BATCH * 10);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        expect(worst).toBeLessThanOrEqual(1e-4);
      } finally {
        clf.close();
      }
    });
  }

  it('refuses a batch the 4-row gemm tiles cannot hold, naming it', async () => {
    const clf = await loadClassifier('cnn', { weightsDir: WEIGHTS, backend: 'webasm' });
    try {
      const steps = new HostSteps(be, new Float32Array(6 * 784));
      expect(() => deviceForward(clf.model, be, 6)(steps, steps.input(6 * 784))).toThrow(/multiple of 4 images at a time, not 6/);
    } finally {
      clf.close();
    }
  });

  it('refuses index tables beyond float-exact indices', () => {
    expect(() => indexTable(2, (i) => i * (1 << 24))).toThrow(/2\^24/);
    expect(Array.from(indexTable(3, (i) => 2 * i))).toEqual([0, 2, 4]);
  });
});
