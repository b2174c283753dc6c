/**
 * The trainer's run without a browser: in Node on webasm, on a few hundred MNIST images. A run
 * resumed from its epoch-1 checkpoint ends exactly where an uninterrupted run ends; pause holds
 * the steps; stop ends early with a tested model; the weights and card load in loadClassifier.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Backend } from '@digitlab/tensor';
import { type MnistData, type Preset, loadClassifier, loadMnist, loadPreset, summarize, calibrateModel } from '@digitlab/models';
import { afterAll, describe, expect, it } from 'vitest';
import { type Checkpoint, type CheckpointStore, TrainingRun, runKey } from '../src/run.ts';

const base = loadPreset('tiny-cnn');
const preset: Preset = { model: base.model, train: { ...base.train, epochs: 2, batchSize: 32, validation: 500 } };
const TRAIN_IMAGES = 256;
const train = loadMnist('train');
const fullTest = loadMnist('test');
const test: MnistData = { ...fullTest, count: 500, images: fullTest.images.subarray(0, 500 * 784), labels: fullTest.labels.subarray(0, 500) };

/** An in-memory store that also keeps every checkpoint it was given. */
function memoryStore(): CheckpointStore & { saved: Checkpoint[]; map: Map<string, Checkpoint> } {
  const map = new Map<string, Checkpoint>();
  const saved: Checkpoint[] = [];
  return {
    map,
    saved,
    load: async (k) => map.get(k) ?? null,
    save: async (c) => {
      map.set(c.key, structuredClone(c));
      saved.push(structuredClone(c));
    },
    remove: async (k) => void map.delete(k),
  };
}

const backends: Backend[] = [];
function run(store: CheckpointStore, resume: boolean, events = {}, p = preset): TrainingRun {
  const be = new Backend('webasm');
  backends.push(be);
  return new TrainingRun({ preset: p, train, test, backend: be, backendName: 'webasm', machine: 'test', trainImages: TRAIN_IMAGES, store, resume }, events);
}

afterAll(() => backends.forEach((b) => b.destroy()));

describe('TrainingRun', () => {
  it('resumed from its epoch-1 checkpoint, ends exactly where an uninterrupted run ends', async () => {
    const whole = memoryStore();
    const epochs: number[] = [];
    const a = await run(whole, false, { onEpoch: (l: { epoch: number }) => epochs.push(l.epoch) }).run();
    expect(epochs).toEqual([1, 2]);
    expect(whole.saved.map((c) => c.epoch)).toEqual([1, 2]);
    expect(whole.map.size).toBe(0); // a finished run leaves nothing to resume

    const resumed = memoryStore();
    await resumed.save(whole.saved[0]);
    let resumedAt = -1;
    const later: number[] = [];
    const b = await run(resumed, true, { onResumed: (c: Checkpoint) => (resumedAt = c.epoch), onEpoch: (l: { epoch: number }) => later.push(l.epoch) }).run();
    expect(resumedAt).toBe(1);
    expect(later).toEqual([2]);
    expect(b.card.weights.sha256).toBe(a.card.weights.sha256);
    expect(b.test.accuracy).toBe(a.test.accuracy);
    expect(b.card.metrics.validation).toEqual(a.card.metrics.validation);
    // tiny-cnn on 2 × 256 images: far above chance, far from done
    expect(a.test.accuracy).toBeGreaterThan(0.3);
  });

  it('holds while paused, and stop ends training early with a tested model', async () => {
    const store = memoryStore();
    let r: TrainingRun | null = null;
    const steps: number[] = [];
    let pausedAt = 0;
    r = run(store, false, {
      onBatch: (p: { step: number; epoch: number }) => {
        steps.push(performance.now());
        if (p.epoch === 1 && p.step === 2) {
          r!.pause();
          pausedAt = performance.now();
          setTimeout(() => r!.resume(), 400);
        }
        if (p.epoch === 1 && p.step === 5) r!.stop();
      },
    });
    const result = await r.run();
    expect(steps.length).toBe(5);
    expect(steps[2] - pausedAt).toBeGreaterThanOrEqual(390);
    expect(result.stoppedEarly).toBe(true);
    expect(result.card.training.epochs).toBe(1);
    expect(result.test.count).toBe(500);
    expect(store.map.size).toBe(0);
  });

  it('hands back weights and a card that loadClassifier accepts and that measure the same', async () => {
    const r = await run(memoryStore(), false).run();
    const dir = mkdtempSync(join(tmpdir(), 'trainer-card-'));
    try {
      writeFileSync(join(dir, 'cnn.safetensors'), r.weights);
      writeFileSync(join(dir, 'cnn.json'), JSON.stringify(r.card));
      const clf = await loadClassifier('cnn', { weightsDir: dir, backend: 'webasm' });
      clf.close();
      const be = new Backend('webasm');
      backends.push(be);
      const measured = await calibrateModel(be, clf.model, preset.train, test, undefined);
      expect(summarize(measured.test, test.labels).accuracy).toBe(r.test.accuracy);
      expect(measured.calibration.temperature).toBeCloseTo(r.card.calibration!.temperature, 4);
      expect(r.card.training.data).toContain(`only the first ${TRAIN_IMAGES}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keys a run by its preset and data, so an edited form starts afresh', () => {
    expect(runKey(preset, 256)).not.toBe(runKey({ ...preset, train: { ...preset.train, lr: 0.01 } }, 256));
    expect(runKey(preset, 256)).not.toBe(runKey(preset));
  });
});
