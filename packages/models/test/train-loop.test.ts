import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Backend } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/mnist.js';
import { loadPreset } from '../src/presets.js';
import { decodeSafetensors } from '../src/safetensors.js';
import { type Checkpoint, type EpochLog, decodeCheckpoint, encodeCheckpoint, encodeWeights } from '../src/state.js';
import { type BestSummary, type LoopOptions, type RunStore, type TrainingRun, resumeRun, runLoop, splitTraining, startRun } from '../src/train-loop.js';

/** A RunStore in memory, as a browser worker would keep one. */
function memoryStore(): RunStore & { checkpoint?: Uint8Array; best?: BestSummary; log: EpochLog[] } {
  const store: RunStore & { checkpoint?: Uint8Array; best?: BestSummary; log: EpochLog[] } = {
    where: 'memory',
    log: [],
    readCheckpoint: () => store.checkpoint,
    writeCheckpoint: async (bytes) => {
      store.checkpoint = bytes;
    },
    writeBest: (_weights, summary) => {
      store.best = summary;
    },
    appendEpoch: (entry) => {
      store.log.push(entry);
    },
  };
  return store;
}

const base = loadPreset('tiny-cnn');
const preset = { model: { ...base.model, dropout: 0.2 }, train: { ...base.train, epochs: 2, augmentShift: 1, validation: 200 } };

async function loop(run: TrainingRun, store: RunStore, opts: LoopOptions = {}) {
  const be = new Backend('webasm');
  try {
    return await runLoop(run, be, store, opts);
  } finally {
    be.destroy();
  }
}

describe('the training loop without files', () => {
  it('stops on an abort, checkpoints into its store, and resumes from it to the state of an uninterrupted run', async () => {
    const data = splitTraining(loadMnist('train'), preset.train, 320);
    expect(data.stepsPerEpoch).toBe(10);
    const straight = startRun(preset, data, 'webasm');
    const straightStore = memoryStore();
    const done = await loop(straight, straightStore);
    expect(done.finished).toBe(true);
    expect(straightStore.log.map((e) => e.epoch)).toEqual([1, 2]);
    expect(straightStore.best?.epoch).toBe(done.history.find((h) => h.best && h.valAccuracy === done.bestValAccuracy)?.epoch);

    const store = memoryStore();
    const abort = new AbortController();
    const first = startRun(preset, data, 'webasm');
    const part = await loop(first, store, { signal: abort.signal, onProgress: (p) => p.epoch === 2 && p.step === 3 && abort.abort() });
    expect(part).toMatchObject({ finished: false, epoch: 1, step: 3 });

    const resumed = startRun(preset, data, 'webasm');
    const lines: string[] = [];
    resumeRun(resumed, decodeCheckpoint((await store.readCheckpoint())!), store.where, (l) => lines.push(l));
    expect(lines).toEqual(['resumed memory: epoch 2, step 3/10']);
    const end = await loop(resumed, store);
    expect(end.finished).toBe(true);
    for (const [name, t] of straight.model.params) expect(Array.from(resumed.model.params.get(name)!.data)).toEqual(Array.from(t.data));
    expect(end.history.map((h) => h.trainLoss)).toEqual(done.history.map((h) => h.trainLoss));
    expect(store.log.map((e) => e.valAccuracy)).toEqual(straightStore.log.map((e) => e.valAccuracy));
  });

  it('awaits beforeStep before every step, and with endWithPartialEpoch records a stopped epoch instead of checkpointing it', async () => {
    const data = splitTraining(loadMnist('train'), preset.train, 320);
    const store = memoryStore();
    const abort = new AbortController();
    let held = 0;
    const steps: number[] = [];
    const end = await loop(startRun(preset, data, 'webasm'), store, {
      signal: abort.signal,
      endWithPartialEpoch: true,
      beforeStep: async () => {
        held++;
        await new Promise((r) => setTimeout(r, 1));
      },
      onProgress: (p) => {
        steps.push(p.step);
        expect(p.stepAccuracy).toBeGreaterThanOrEqual(0);
        if (p.epoch === 1 && p.step === 4) abort.abort();
      },
    });
    expect(held).toBe(4);
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(end).toMatchObject({ finished: false, epoch: 1, step: 0 });
    expect(store.log.map((e) => e.epoch)).toEqual([1]);
    expect(store.best?.epoch).toBe(1);
    expect(store.checkpoint).toBeUndefined();
  });
});

describe('checkpoints', () => {
  it('keep the layout runs already on disk were written in, and decode to what was encoded', () => {
    const data = splitTraining(loadMnist('train'), preset.train, 64);
    const run = startRun(preset, data, 'webasm');
    run.state.epoch = 1;
    run.state.stepInEpoch = 1;
    run.state.optimizerStep = 3;
    const bytes = encodeCheckpoint(run.model, run.optimizer.state(), run.perm, preset, run.state);
    const { tensors, metadata } = decodeSafetensors(bytes);
    const names = [...run.model.params.keys()];
    expect(Object.keys(tensors).sort()).toEqual(
      [...names.map((n) => `param/${n}`), ...names.flatMap((_, i) => [`adam.m/${i}`, `adam.v/${i}`]), 'perm'].sort(),
    );
    expect(Object.keys(metadata).sort()).toEqual(['config', 'state']);
    const ck: Checkpoint = decodeCheckpoint(bytes);
    expect(ck.preset).toEqual(preset);
    expect(ck.state).toEqual(run.state);
    expect(ck.optimizer.step).toBe(3);
    expect(ck.optimizer.slots.map((s) => s.length)).toEqual([names.length, names.length]);
    expect(Array.from(ck.perm)).toEqual(Array.from(run.perm));
    expect(Object.keys(ck.params).sort()).toEqual([...names].sort());
    expect(() => decodeCheckpoint(encodeWeights(run.model, { config: '{}' }))).toThrow(/not a training checkpoint/);
  });

  it('a run refuses a checkpoint of another model and names where it came from', () => {
    const data = splitTraining(loadMnist('train'), preset.train, 64);
    const run = startRun(preset, data, 'webasm');
    const ck = decodeCheckpoint(encodeCheckpoint(run.model, run.optimizer.state(), run.perm, preset, run.state));
    const other = { ...preset, model: { ...preset.model, dense: [16] } };
    expect(() => resumeRun(startRun(other, data, 'webasm'), ck, 'saved.safetensors')).toThrow(/saved\.safetensors was written for another config/);
  });
});

describe('the loop module', () => {
  it("imports nothing of Node's, so a browser worker can run it", () => {
    const seen = new Set<string>();
    const nodeImports: string[] = [];
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      // type-only imports vanish from the emitted code
      for (const m of text.matchAll(/^import\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
        const [, typeOnly, spec] = m;
        if (typeOnly) continue;
        if (spec.startsWith('node:') || ['fs', 'path', 'os', 'crypto', 'module', 'url'].includes(spec)) nodeImports.push(`${file}: ${spec}`);
        else if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      }
    };
    walk(join(import.meta.dirname, '..', 'src', 'train-loop.ts'));
    expect(seen.size).toBeGreaterThan(8);
    expect(nodeImports).toEqual([]);
  });
});
