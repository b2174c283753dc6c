import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { learningRate, validatePreset } from '../src/config.js';
import { loadPreset } from '../src/presets.js';
import { train } from '../src/train.js';

const dirs: string[] = [];
function runDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'digitlab-train-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe('training on real MNIST', () => {
  it('a tiny CNN: a few hundred steps clearly reduce the loss', async () => {
    const preset = loadPreset('tiny-cnn');
    const res = await train({ preset, runDir: runDir(), backend: 'async', poolSize: 2, maxSteps: 200 });
    expect(res.losses.length).toBe(200);
    const first = mean(res.losses.slice(0, 20));
    const last = mean(res.losses.slice(-20));
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(first * 0.4);
  });

  it('a tiny ViT: a few hundred steps clearly reduce the loss', async () => {
    const preset = loadPreset('tiny-vit');
    const res = await train({ preset, runDir: runDir(), backend: 'async', poolSize: 2, maxSteps: 200 });
    const first = mean(res.losses.slice(0, 20));
    const last = mean(res.losses.slice(-20));
    expect(first).toBeGreaterThan(1.5);
    expect(last).toBeLessThan(first * 0.6);
  });

  it('a run interrupted and resumed from its checkpoint ends in the same state as an uninterrupted one', async () => {
    const base = loadPreset('tiny-cnn');
    const preset = { model: { ...base.model, dropout: 0.2 }, train: { ...base.train, epochs: 2, augmentShift: 1, validation: 200 } };
    const limitTrain = 320; // 10 steps per epoch of 32
    const straight = await train({ preset, runDir: runDir(), backend: 'webasm', limitTrain });
    const dir = runDir();
    const part = await train({ preset, runDir: dir, backend: 'webasm', limitTrain, maxSteps: 13 });
    expect(part.finished).toBe(false);
    const resumed = await train({ preset, runDir: dir, backend: 'webasm', limitTrain });
    expect(resumed.finished).toBe(true);
    for (const [name, t] of straight.model.params) expect(Array.from(resumed.model.params.get(name)!.data)).toEqual(Array.from(t.data));
    expect(resumed.history.map((h) => h.valAccuracy)).toEqual(straight.history.map((h) => h.valAccuracy));
    const log = readFileSync(join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number });
    expect(log.map((l) => l.epoch)).toEqual([1, 2]);
  });
});

describe('training with random affine augmentation and label smoothing', () => {
  it('a run interrupted and resumed mid-epoch is bit-identical to an uninterrupted one', async () => {
    const base = loadPreset('tiny-cnn');
    const { augmentShift: _, ...rest } = base.train;
    const preset = { model: base.model, train: { ...rest, epochs: 2, validation: 200, augment: { rotate: 10, scale: 0.1, shift: 2 }, labelSmoothing: 0.1 } };
    const limitTrain = 320;
    const straight = await train({ preset, runDir: runDir(), backend: 'webasm', limitTrain });
    const dir = runDir();
    await train({ preset, runDir: dir, backend: 'webasm', limitTrain, maxSteps: 7 });
    const resumed = await train({ preset, runDir: dir, backend: 'webasm', limitTrain });
    expect(resumed.finished).toBe(true);
    for (const [name, t] of straight.model.params) expect(Array.from(resumed.model.params.get(name)!.data)).toEqual(Array.from(t.data));
    expect(resumed.history.map((h) => h.trainLoss)).toEqual(straight.history.map((h) => h.trainLoss));
    // the smoothed loss cannot reach 0: its floor is the entropy of the smoothed target
    expect(Math.min(...straight.losses)).toBeGreaterThan(0.1);
  });
});

describe('resuming with another plan', () => {
  it('may change the planned epochs (the schedule is re-planned) but refuses another model', async () => {
    const base = loadPreset('tiny-cnn');
    const preset = { model: base.model, train: { ...base.train, epochs: 3, validation: 200 } };
    const dir = runDir();
    const lines: string[] = [];
    await train({ preset, runDir: dir, backend: 'webasm', limitTrain: 320, maxSteps: 12 });
    const shorter = await train({ preset: { ...preset, train: { ...preset.train, epochs: 2 } }, runDir: dir, backend: 'webasm', limitTrain: 320, log: (l) => lines.push(l) });
    expect(shorter.finished).toBe(true);
    expect(shorter.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(lines.join('\n')).toMatch(/re-planned from 3 to 2 epochs/);
    const other = { ...preset, model: { ...base.model, dense: [16] } };
    await expect(train({ preset: other, runDir: dir, backend: 'webasm', limitTrain: 320 })).rejects.toThrow(/written for another config/);
  });
});

describe('configs', () => {
  it('every shipped preset is valid and errors name the field', () => {
    for (const name of ['cnn', 'cnn-small', 'cnn-ref', 'cnn-ref-affine', 'vit', 'vit-affine', 'tiny-cnn', 'tiny-vit']) expect(loadPreset(name).model.kind).toMatch(/cnn|vit/);
    expect(() => validatePreset({ model: { kind: 'vit', patch: 5, dim: 8, heads: 1, headDim: 8, layers: 1, mlp: 8, dropout: 0 }, train: loadPreset('vit').train }, 'x.json')).toThrow(/patch 5 must divide 28/);
    expect(() => validatePreset({ model: loadPreset('cnn').model, train: { ...loadPreset('cnn').train, batchSize: 0 } }, 'y.json')).toThrow(/y.json: "batchSize"/);
  });

  it('cnn-ref is the reference recipe as measured in PyTorch: four 3x3 convs, dense 128 with dropout 0.3, 15 epochs of 2 px shifts', () => {
    const { model, train: t } = loadPreset('cnn-ref');
    if (model.kind !== 'cnn') throw new Error('cnn-ref is a CNN');
    expect(model.conv.map((c) => [c.filters, c.kernel, c.pool ?? 1])).toEqual([[32, 3, 1], [32, 3, 2], [64, 3, 1], [64, 3, 2]]);
    expect([model.dense, model.dropout]).toEqual([[128], 0.3]);
    expect([t.epochs, t.lr, t.weightDecay, t.augmentShift]).toEqual([15, 0.002, 0.0001, 2]);
  });

  it('learning rate warms up linearly and decays to zero by the last epoch', () => {
    const t = loadPreset('cnn').train;
    expect(learningRate(t, 0.5)).toBeCloseTo(t.lr * 0.5, 2);
    expect(learningRate(t, 1)).toBeCloseTo(t.lr, 6);
    expect(learningRate(t, t.epochs)).toBeCloseTo(0, 9);
  });
});
