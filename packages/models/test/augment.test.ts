import { Rng } from '@digitlab/tensor';
import { describe, expect, it } from 'vitest';
import { IDENTITY, affineWarp, drawAffine } from '../src/augment.js';
import { augmentOf, validatePreset } from '../src/config.js';
import { loadPreset } from '../src/presets.js';
import { fillBatch } from '../src/data.js';
import { loadMnist } from '../src/mnist.js';
import { sha256 } from '../src/files.js';

const at = (img: Float32Array, x: number, y: number): number => img[y * 28 + x];
const onePixel = (x: number, y: number): Float32Array => {
  const img = new Float32Array(784);
  img[y * 28 + x] = 1;
  return img;
};

describe('affineWarp', () => {
  const data = loadMnist('test');
  const digit = data.images.slice(0, 784);

  it('the identity gives the image back exactly', () => {
    const out = new Float32Array(784);
    affineWarp(digit, 0, out, 0, IDENTITY);
    expect(Array.from(out)).toEqual(Array.from(digit));
  });

  it('a 90° turn (counter-clockwise on screen) about the centre moves a known pixel to a known place', () => {
    const out = new Float32Array(784);
    // (20, 10) is 6.5 right of and 3.5 above the centre (13.5, 13.5): a quarter turn puts it 3.5 left of and 6.5 above
    affineWarp(onePixel(20, 10), 0, out, 0, { angle: Math.PI / 2, scale: 1, dx: 0, dy: 0 });
    expect(at(out, 10, 7)).toBeCloseTo(1, 6);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
  });

  it('shifts move pixels right and down; a half-pixel shift splits a pixel between two (bilinear)', () => {
    const out = new Float32Array(784);
    affineWarp(onePixel(5, 9), 0, out, 0, { angle: 0, scale: 1, dx: 3, dy: -2 });
    expect(at(out, 8, 7)).toBeCloseTo(1, 6);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    affineWarp(onePixel(5, 9), 0, out, 0, { angle: 0, scale: 1, dx: 0.5, dy: 0 });
    expect(at(out, 5, 9)).toBeCloseTo(0.5, 6);
    expect(at(out, 6, 9)).toBeCloseTo(0.5, 6);
  });

  it('scaling about the centre moves a pixel away from it in proportion; zeros fill in from outside', () => {
    const out = new Float32Array(784);
    // 4.5 right of the centre, doubled: 9 right, a half-pixel mix of x = 22 and 23
    affineWarp(onePixel(18, 13), 0, out, 0, { angle: 0, scale: 2, dx: 0, dy: 0 });
    expect(at(out, 22, 13) + at(out, 23, 13)).toBeGreaterThan(0.4);
    const full = new Float32Array(784).fill(1);
    affineWarp(full, 0, out, 0, { angle: 0, scale: 0.5, dx: 0, dy: 0 });
    expect(at(out, 0, 0)).toBe(0);
    expect(at(out, 13, 13)).toBeCloseTo(1, 6);
  });

  it('draws angles, scales and shifts within the configured ranges', () => {
    const rng = new Rng(3);
    for (let i = 0; i < 500; i++) {
      const p = drawAffine({ rotate: 10, scale: 0.1, shift: 2 }, rng);
      expect(Math.abs(p.angle)).toBeLessThanOrEqual((10 * Math.PI) / 180);
      expect(Math.abs(p.scale - 1)).toBeLessThanOrEqual(0.1);
      expect(Math.max(Math.abs(p.dx), Math.abs(p.dy))).toBeLessThanOrEqual(2);
    }
  });
});

describe('fillBatch', () => {
  const train = loadMnist('train');
  const idx = Int32Array.from({ length: 64 }, (_, i) => (i * 937) % 60000);
  const batch = (augment: { rotate: number; scale: number; shift: number }, seed: number): Float32Array => {
    const out = new Float32Array(64 * 784);
    fillBatch(train, idx, out, new Uint8Array(64), augment, new Rng(seed));
    return out;
  };
  const hash = (a: Float32Array): string => sha256(new Uint8Array(a.buffer));

  it('shift-only augmentation produces exactly the batches of the whole-pixel shift it has always used', () => {
    // sha256 of the batches the whole-pixel shift implementation produced before the affine warp existed
    expect(hash(batch({ rotate: 0, scale: 0, shift: 0 }, 7))).toBe('e764bd1dad7be2d3ac9aad128848a1384b7c7bf8021f7a9c689be56d5b8d77a4');
    expect(hash(batch({ rotate: 0, scale: 0, shift: 1 }, 7))).toBe('d60b070bfa354af5861d0d8fee3a4285bd3583aef92c778f53cf9c27f6104521');
    expect(hash(batch({ rotate: 0, scale: 0, shift: 2 }, 7))).toBe('93eed0d8fd367eb46ce0cdb26c680c6067a4976ad560591afe7d4fcbaea5d9bb');
  });

  it('random affine batches are determined by the random seed', () => {
    const a = { rotate: 10, scale: 0.1, shift: 2 };
    expect(hash(batch(a, 11))).toBe(hash(batch(a, 11)));
    expect(hash(batch(a, 11))).not.toBe(hash(batch(a, 12)));
    expect(hash(batch(a, 11))).not.toBe(hash(batch({ rotate: 0, scale: 0, shift: 2 }, 11)));
  });
});

describe('augmentation and smoothing in presets', () => {
  it('augmentShift is the shift-only case of augment; both at once, or bad values, are refused', () => {
    const t = loadPreset('cnn').train;
    expect(augmentOf(t)).toEqual({ rotate: 0, scale: 0, shift: 2 });
    const { augmentShift: _, ...rest } = t;
    const model = loadPreset('cnn').model;
    expect(augmentOf(validatePreset({ model, train: { ...rest, augment: { rotate: 10, scale: 0.1, shift: 2 } } }, 'a.json').train)).toEqual({ rotate: 10, scale: 0.1, shift: 2 });
    expect(() => validatePreset({ model, train: { ...t, augment: { rotate: 10, scale: 0.1, shift: 2 } } }, 'b.json')).toThrow(/either train.augmentShift or train.augment/);
    expect(() => validatePreset({ model, train: { ...rest, augment: { rotate: 10, shift: 2 } } }, 'c.json')).toThrow(/c.json train.augment: "scale"/);
    expect(() => validatePreset({ model, train: { ...t, labelSmoothing: 1 } }, 'd.json')).toThrow(/labelSmoothing/);
  });
});
