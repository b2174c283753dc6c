import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadClassifier } from '../src/classifier.js';
import type { ModelCard } from '../src/card.js';
import { loadPreset } from '../src/presets.js';
import { ship } from '../src/ship.js';
import { train } from '../src/train.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'digitlab-ship-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('ship', () => {
  it('writes a card with the calibration and uncertainty threshold that loads with its weights', async () => {
    const base = loadPreset('tiny-cnn');
    const preset = { model: base.model, train: { ...base.train, epochs: 1, validation: 500 } };
    const runDir = tmp();
    const weightsDir = tmp();
    await train({ preset, runDir, backend: 'async', poolSize: 2, limitTrain: 640 });
    const card = await ship('cnn', runDir, weightsDir, 'async');
    const written = JSON.parse(readFileSync(join(weightsDir, 'cnn.json'), 'utf8')) as ModelCard;
    expect(written.calibration).toEqual(card.calibration);
    const c = card.calibration!;
    expect(c.bins).toBe(15);
    expect(c.fittedOn).toMatch(/500 validation images/);
    // a barely trained model is far from calibrated; the fitted temperature must not make test NLL much worse
    expect(c.loss.after).toBeLessThan(c.loss.before * 1.05);
    expect(Math.abs(c.loss.before - card.metrics.test.loss)).toBeLessThan(1e-4);
    expect(card.uncertainty!.threshold).toBeGreaterThan(0);
    expect(card.uncertainty!.threshold).toBeLessThanOrEqual(1);

    // the card describes exactly the weights written beside it
    const clf = await loadClassifier('cnn', { weightsDir, backend: 'webasm' });
    clf.close();
    expect(clf.card.calibration).toEqual(c);
  });
});
