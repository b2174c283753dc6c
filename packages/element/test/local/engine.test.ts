// The local engine in Node on webasm: the same weights, checked, give the server's classifier's answers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { explainImages, loadClassifier, loadMnist, readCard, type Classifier } from '@digitlab/models';
import { Backend } from '@digitlab/tensor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseBrowserBackend, NoBackendError } from '../../src/local/choose-backend.ts';
import { IntegrityError, LocalModels, sha256Hex, type ModelFiles } from '../../src/local/engine.ts';
import { describeProvenance, modelUrls } from '../../src/local/local-client.ts';

const WEIGHTS = join(import.meta.dirname, '..', '..', '..', '..', 'weights');
const COUNT = 20;

function files(name: 'cnn' | 'vit'): ModelFiles {
  const bytes = readFileSync(join(WEIGHTS, `${name}.safetensors`));
  return { card: readCard(WEIGHTS, name), weights: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer };
}

describe('LocalModels', () => {
  const reference: Partial<Record<'cnn' | 'vit', Classifier>> = {};
  let local: LocalModels;
  beforeAll(async () => {
    for (const name of ['cnn', 'vit'] as const) reference[name] = await loadClassifier(name, { weightsDir: WEIGHTS, backend: 'webasm' });
    local = await LocalModels.load('webasm', { cnn: files('cnn'), vit: files('vit') });
  });
  afterAll(() => {
    local?.destroy();
    for (const c of Object.values(reference)) c?.close();
  });

  it('answers as the server\'s classifier does, on the kernel class webasm promises', async () => {
    const mnist = loadMnist('test');
    const images = mnist.images.slice(0, COUNT * 784);
    const answer = await local.predict(images, COUNT);
    for (const name of ['cnn', 'vit'] as const) {
      const want = await reference[name]!.predict(images, COUNT);
      const got = answer.probabilities[name]!;
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
      expect(worst, name).toBeLessThanOrEqual(1e-5);
    }
    expect(answer.uncertain).toHaveLength(COUNT);
    expect(local.kernels()).toEqual({ classes: ['WebAssemblyKernel'], expected: true });
  });

  it("explains each image as the server's ?explain=1 does: explainImages on the same weights, rounded to 3 decimals", async () => {
    const images = loadMnist('test').images.slice(0, 2 * 784);
    const got = await local.explain(images, 2);
    expect(got).toHaveLength(2);
    const be = new Backend('webasm');
    try {
      for (const [name, kind] of [['cnn', 'saliency'], ['vit', 'attention']] as const) {
        const want = await explainImages(be, reference[name]!.model, images, 2);
        want.forEach((w, i) => {
          const map = got[i][name]!;
          expect(map.kind, name).toBe(kind);
          expect(map.map).toHaveLength(784);
          let worst = 0;
          for (let p = 0; p < 784; p++) worst = Math.max(worst, Math.abs(map.map[p] - w.map[p]));
          expect(worst, `${name} image ${i}`).toBeLessThanOrEqual(5e-4 + 1e-5);
          expect(Math.max(...map.map), `${name} image ${i}`).toBe(1);
        });
      }
    } finally {
      be.destroy();
    }
  });

  it('refuses weights whose sha256 is not the card\'s, naming both', async () => {
    const tampered = files('cnn');
    new Uint8Array(tampered.weights)[tampered.weights.byteLength - 1] ^= 1;
    await expect(LocalModels.load('webasm', { cnn: tampered })).rejects.toThrow(IntegrityError);
    await expect(LocalModels.load('webasm', { cnn: tampered })).rejects.toThrow(/sha256 [0-9a-f]{64}, but its card states [0-9a-f]{64}/);
  });

  it('hashes as sha256 does', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc').buffer as ArrayBuffer)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('chooseBrowserBackend', () => {
  it('keeps a mode that computes its probe right, and names why the others failed', async () => {
    const choice = await chooseBrowserBackend({ candidates: ['webgpu', 'webasm'], repeats: 1 });
    expect(choice.mode).toBe('webasm');
    expect(choice.passed).toEqual(['webasm']);
    expect(choice.trials.find((t) => t.mode === 'webgpu')?.error).toBeTruthy();
  });

  it('refuses a forced mode that does not work here', async () => {
    await expect(chooseBrowserBackend({ force: 'webgl2', repeats: 1 })).rejects.toThrow(NoBackendError);
  });
});

describe('modelUrls and describeProvenance', () => {
  it('finds the cards and weights beside the endpoint', () => {
    expect(modelUrls('/predict', 'https://example.test/demo/page.html')).toEqual({
      cnn: { card: 'https://example.test/models/cnn', weights: 'https://example.test/models/cnn/weights' },
      vit: { card: 'https://example.test/models/vit', weights: 'https://example.test/models/vit/weights' },
    });
    expect(modelUrls('https://api.test/v1/predict', 'https://example.test/').cnn.weights).toBe('https://api.test/v1/models/cnn/weights');
  });

  it('says where an answer ran', () => {
    expect(describeProvenance({ where: 'local', backend: 'webgpu', kernelClass: 'WebGPUKernel', checked: true })).toBe('ran in this browser on WebGPU, checked');
    expect(describeProvenance({ where: 'local', backend: 'webasm', kernelClass: 'WebAssemblyKernel', checked: true })).toBe('ran in this browser on WebAssembly, checked');
    expect(describeProvenance({ where: 'server', backend: null, kernelClass: null, checked: true })).toBe('answered by the server');
  });
});
