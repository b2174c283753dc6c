import { Backend, Tensor, noGrad } from '@digitlab/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModel } from '../src/build.js';
import { loadPreset } from '../src/presets.js';
import { classTokenAttention, explainImages, inputSaliency, normalizeMap, patchMapToPixels } from '../src/explain.js';
import { loadMnist } from '../src/mnist.js';

const be = new Backend('webasm');
afterAll(() => be.destroy());

const test = loadMnist('test');
const N = 3;
const images = test.images.slice(0, N * 784);

describe('saliency', () => {
  it('matches central finite differences of the winning logit on a tiny CNN', async () => {
    const model = buildModel(loadPreset('tiny-cnn').model, 3);
    // a noise image: on MNIST's flat black background max-pool windows tie, and there the gradient
    // is one of several one-sided derivatives, which central differences average
    const image = Float32Array.from({ length: 784 }, (_, i) => 0.5 + 0.5 * ((Math.sin(i * 12.9898) * 43758.5453) % 1));
    const be = new Backend('webasm');
    try {
      const [sal] = await inputSaliency(be, model, image, 1);
      for (const p of model.params.values()) expect(p.grad).toBeNull();
      const logitsOf = async (img: Float32Array) => (await noGrad(() => model.forward(be, new Tensor([1, 1, 28, 28], img), { training: false }))).data;
      const base = await logitsOf(image);
      const winner = base.indexOf(Math.max(...base));
      const pixels = [...sal.keys()].sort((a, b) => sal[b] - sal[a]).slice(0, 5);
      const eps = 1e-3;
      for (const px of pixels) {
        const up = image.slice();
        const down = image.slice();
        up[px] += eps;
        down[px] -= eps;
        const fd = ((await logitsOf(up))[winner] - (await logitsOf(down))[winner]) / (2 * eps);
        expect(Math.abs(Math.abs(fd) - sal[px]), `pixel ${px}`).toBeLessThan(0.03 * sal[pixels[0]] + 1e-3);
      }
    } finally {
      be.destroy();
    }
  });
});

describe('explainImages', () => {
  it('gives a CNN one saliency map per image: the batched gradient of each image, scaled to [0, 1]', async () => {
    const model = buildModel(loadPreset('tiny-cnn').model, 5);
    const maps = await explainImages(be, model, images, N);
    const batched = await inputSaliency(be, model, images, N);
    expect(maps).toHaveLength(N);
    maps.forEach((m, i) => {
      expect(m.kind).toBe('saliency');
      expect(m.map).toHaveLength(784);
      expect(m.map.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(Math.max(...m.map)).toBe(1);
      const expected = normalizeMap(batched[i]);
      for (let p = 0; p < 784; p++) expect(m.map[p], `image ${i} pixel ${p}`).toBeCloseTo(expected[p], 4);
    });
    // different digits are explained differently
    expect(maps[0].map).not.toEqual(maps[1].map);
  });

  it("gives a ViT the class token's last-layer attention, one constant block per patch, strongest patch 1", async () => {
    const preset = loadPreset('tiny-vit').model;
    const model = buildModel(preset, 5);
    const maps = await explainImages(be, model, images, N);
    const batched = await classTokenAttention(be, model, images, N);
    const patch = (preset as { patch: number }).patch;
    expect(maps).toHaveLength(N);
    maps.forEach((m, i) => {
      expect(m.kind).toBe('attention');
      expect(m.map).toHaveLength(784);
      expect(Math.max(...m.map)).toBeCloseTo(1, 6);
      const last = batched[i].layers[batched[i].layers.length - 1];
      const expected = patchMapToPixels(last, batched[i].grid, patch);
      for (let p = 0; p < 784; p++) expect(m.map[p], `image ${i} pixel ${p}`).toBeCloseTo(expected[p], 4);
      // every pixel of a patch carries that patch's weight
      for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
        const corner = Math.floor(y / patch) * patch * 28 + Math.floor(x / patch) * patch;
        expect(m.map[y * 28 + x]).toBe(m.map[corner]);
      }
    });
  });

  it('refuses fewer values than the images need', async () => {
    const model = buildModel(loadPreset('tiny-cnn').model, 5);
    await expect(explainImages(be, model, images.subarray(0, 700), 1)).rejects.toThrow(/1 images need 784 values, got 700/);
  });
});
