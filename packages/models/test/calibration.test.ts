import { Rng } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { calibrate, chooseThreshold, eceAt, expectedCalibrationError, fitTemperature, reliabilityBins, temperatureNll } from '../src/calibration.js';
import { softmaxRows } from '../src/data.js';
import { judgeAnswers, uncertaintyThreshold } from '../src/uncertainty.js';

/** Logits whose softmax at temperature 1/sharpen is exactly calibrated: labels drawn from softmax(base). */
function synthetic(count: number, sharpen: number, seed: number): { logits: Float32Array; labels: Uint8Array; count: number } {
  const rng = new Rng(seed);
  const base = new Float32Array(count * 10);
  for (let i = 0; i < base.length; i++) base[i] = 3 * rng.normal();
  const p = softmaxRows(base, count);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    let u = rng.uniform();
    let c = 0;
    while (c < 9 && u >= p[i * 10 + c]) u -= p[i * 10 + c++];
    labels[i] = c;
  }
  // an overconfident model: the true logits times `sharpen`
  return { logits: base.map((v) => v * sharpen), labels, count };
}

describe('temperature scaling', () => {
  it('recovers the temperature that undoes an overconfident model, and it minimises the NLL', () => {
    const d = synthetic(20000, 2.5, 1);
    const t = fitTemperature(d);
    expect(t).toBeGreaterThan(2.3);
    expect(t).toBeLessThan(2.7);
    const best = temperatureNll(d, t);
    for (const f of [0.97, 1.03]) expect(temperatureNll(d, t * f)).toBeGreaterThan(best);
    expect(eceAt(d, t)).toBeLessThan(0.015);
    expect(eceAt(d, 1)).toBeGreaterThan(0.1);
  });

  it('fits on one set and reports ECE and loss on another before and after', () => {
    const c = calibrate(synthetic(8000, 0.5, 2), synthetic(8000, 0.5, 3), 'synthetic');
    expect(c.temperature).toBeGreaterThan(0.4);
    expect(c.temperature).toBeLessThan(0.6);
    expect(c.ece.after).toBeLessThan(c.ece.before);
    expect(c.loss.after).toBeLessThan(c.loss.before);
    expect(c.bins).toBe(15);
  });
});

describe('reliability bins and ECE', () => {
  it('bins by top probability, 1 in the last bin, and ECE is the count-weighted |accuracy − confidence|', () => {
    // rows: top probability 0.95 right, 0.95 wrong, 1.0 right, 0.5 right
    const probs = new Float32Array(40);
    const row = (i: number, top: number, at: number) => {
      probs[i * 10 + at] = top;
      for (let c = 0; c < 10; c++) if (c !== at) probs[i * 10 + c] = (1 - top) / 9;
    };
    row(0, 0.95, 1);
    row(1, 0.95, 2);
    row(2, 1, 3);
    row(3, 0.5, 4);
    const bins = reliabilityBins(probs, [1, 7, 3, 4], 4, 10);
    expect(bins.map((b) => b.count)).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 3]);
    expect(bins[9].accuracy).toBeCloseTo(2 / 3, 12);
    expect(bins[9].confidence).toBeCloseTo((0.95 + 0.95 + 1) / 3, 6);
    expect(expectedCalibrationError(bins)).toBeCloseTo((3 / 4) * Math.abs(2 / 3 - 2.9 / 3) + (1 / 4) * 0.5, 6);
  });
});

describe('uncertainty', () => {
  it('the threshold keeps the most confident answers right at least the target fraction of the time', () => {
    const d = synthetic(5000, 1, 4);
    const probs = softmaxRows(d.logits, d.count);
    const rule = chooseThreshold(probs, d.labels, d.count, 0.99);
    let kept = 0;
    let right = 0;
    for (let i = 0; i < d.count; i++) {
      let top = 0;
      for (let c = 1; c < 10; c++) if (probs[i * 10 + c] > probs[i * 10 + top]) top = c;
      if (probs[i * 10 + top] >= rule.threshold) {
        kept++;
        if (top === d.labels[i]) right++;
      }
    }
    expect(right / kept).toBeGreaterThanOrEqual(0.99);
    expect(rule.validationFlagged).toBeCloseTo(1 - kept / d.count, 12);
    expect(rule.validationErrorsFlagged).toBeGreaterThan(0.5);
  });

  it('flags an image when a model is under its threshold or the models disagree', () => {
    const one = (digit: number, p: number) => {
      const r = new Float32Array(10).fill((1 - p) / 9);
      r[digit] = p;
      return r;
    };
    const cat = (...rows: Float32Array[]) => Float32Array.from(rows.flatMap((r) => Array.from(r)));
    const cnn = { name: 'cnn', threshold: 0.9, probabilities: cat(one(3, 0.99), one(3, 0.6), one(5, 0.99)) };
    const vit = { name: 'vit', threshold: 0.8, probabilities: cat(one(3, 0.95), one(3, 0.95), one(6, 0.99)) };
    const d = judgeAnswers([cnn, vit], 3);
    expect(d.map((x) => x.uncertain)).toEqual([false, true, true]);
    expect(d[1]).toEqual({ uncertain: true, lowConfidence: ['cnn'], disagree: false });
    expect(d[2]).toEqual({ uncertain: true, lowConfidence: [], disagree: true });
    expect(judgeAnswers([{ ...cnn, threshold: 0.5 }], 3).map((x) => x.uncertain)).toEqual([false, false, false]);
    expect(uncertaintyThreshold({ uncertainty: { threshold: 0.7, validationAccuracyAbove: 0.999, validationFlagged: 0, validationErrorsFlagged: 0 } })).toBe(0.7);
    expect(uncertaintyThreshold({}, 0.4)).toBe(0.4);
    expect(() => uncertaintyThreshold({}, 1.5)).toThrow(/in \[0, 1\]/);
    expect(() => judgeAnswers([cnn], 4)).toThrow(/4 images need 40/);
  });
});
