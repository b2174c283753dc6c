import { describe, expect, it } from 'vitest';
import {
  centreOfMass,
  inkBounds,
  inkFromImageData,
  mnistPreprocess,
  resampleArea,
  type InkImage,
} from '../src/mnist-preprocess.ts';
import { mnistTestSamples } from '../src/testing/mnist-test-images.ts';

/** A blank `width` x `height` raster with the given rectangles filled with full ink. */
function raster(width: number, height: number, rects: Array<[x: number, y: number, w: number, h: number]>): InkImage {
  const data = new Float32Array(width * height);
  for (const [x0, y0, w, h] of rects) {
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data[y * width + x] = 1;
  }
  return { data, width, height };
}

/** Bounding box and centre of mass of a 28x28 result. */
function describe28(img: Float32Array) {
  return { bounds: inkBounds({ data: img, width: 28, height: 28 }, 0.01), com: centreOfMass(img, 28) };
}

describe('mnistPreprocess', () => {
  it('returns null when there is no ink', () => {
    expect(mnistPreprocess(raster(50, 50, []))).toBeNull();
  });

  it('gives 784 values in [0, 1] reaching 1', () => {
    const out = mnistPreprocess(raster(280, 280, [[40, 60, 30, 150], [40, 60, 120, 30]]))!;
    expect(out).toHaveLength(784);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...out)).toBe(1);
  });

  it('scales the longer side to 20 px and keeps the aspect ratio', () => {
    // A tall bar 40 x 200: becomes 4 x 20.
    const tall = describe28(mnistPreprocess(raster(300, 300, [[100, 50, 40, 200]]))!);
    expect(tall.bounds).toMatchObject({ width: 4, height: 20 });
    // A wide bar 150 x 50: becomes 20 x 7 (6.67 rounded).
    const wide = describe28(mnistPreprocess(raster(300, 300, [[10, 200, 150, 50]]))!);
    expect(wide.bounds).toMatchObject({ width: 20, height: 7 });
  });

  it('puts the centre of mass at the centre, not the bounding box', () => {
    // An L: a heavy vertical bar on the left and a thin foot. Its box centre is not its mass centre.
    const out = mnistPreprocess(raster(200, 200, [[20, 20, 40, 160], [60, 150, 100, 30]]))!;
    const { bounds, com } = describe28(out);
    // Pixel (14, 14) spans 14..15 in these coordinates.
    expect(Math.abs(com!.x - 14.5)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(com!.y - 14.5)).toBeLessThanOrEqual(0.5);
    // The box itself sits off-centre (shifted right, since the mass is on the left).
    expect(bounds!.x + bounds!.width / 2).toBeGreaterThan(15);
  });

  it('does not depend on where or how large the digit was drawn', () => {
    const small = mnistPreprocess(raster(400, 400, [[10, 10, 20, 100], [30, 90, 60, 20]]))!;
    const moved = mnistPreprocess(raster(400, 400, [[250, 200, 20, 100], [270, 280, 60, 20]]))!;
    const large = mnistPreprocess(raster(400, 400, [[50, 50, 60, 300], [110, 290, 180, 60]]))!;
    expect(Array.from(moved)).toEqual(Array.from(small));
    const diff = large.reduce((s, v, i) => s + Math.abs(v - small[i]), 0);
    expect(diff / 784).toBeLessThan(0.01);
  });

  it('anti-aliases: a stroke thinner than an output pixel becomes grey, not dropped or widened', () => {
    // A 100 x 100 box (set by a 1 px top line) with a 3 px vertical line: each output pixel
    // covers 5 x 5 source pixels, so the line becomes a column at 3/5 = 0.6.
    const out = mnistPreprocess(raster(200, 200, [[20, 20, 100, 1], [70, 20, 3, 100]]), { normalize: false })!;
    const column = Array.from(out).filter((v) => Math.abs(v - 0.6) < 1e-4);
    expect(column.length).toBeGreaterThanOrEqual(18);
    expect(Math.max(...out)).toBeLessThanOrEqual(1);
    // Normalized (the default), the brightest pixel is stretched to 1.
    expect(Math.max(...mnistPreprocess(raster(200, 200, [[20, 20, 100, 1], [70, 20, 3, 100]]))!)).toBe(1);
  });

  it('recovers real MNIST digits from a 10x enlargement', () => {
    // MNIST digits are already made by this recipe, so enlarging one (as if drawn on a 280 px
    // pad) and preprocessing it should give the digit back, and it does, to float rounding.
    for (const { pixels } of mnistTestSamples(200)) {
      const big = new Float32Array(280 * 280);
      for (let y = 0; y < 280; y++) for (let x = 0; x < 280; x++) big[y * 280 + x] = pixels[Math.floor(y / 10) * 28 + Math.floor(x / 10)] / 255;
      const out = mnistPreprocess({ data: big, width: 280, height: 280 }, { threshold: 0 })!;
      const original = Float32Array.from(pixels, (v) => v / 255);
      expect(correlation(out, original)).toBeGreaterThan(0.999);
      const a = centreOfMass(out, 28)!;
      expect(Math.hypot(a.x - 14.5, a.y - 14.5)).toBeLessThanOrEqual(0.75);
    }
  });

  it('rejects a raster whose data does not match its size', () => {
    expect(() => mnistPreprocess({ data: new Float32Array(10), width: 4, height: 4 })).toThrow(RangeError);
  });
});

describe('inkFromImageData', () => {
  it('reads alpha, or inverted luminance for dark ink on white', () => {
    const rgba = new Uint8ClampedArray([
      0, 0, 0, 255, // opaque black
      255, 255, 255, 255, // opaque white
      0, 0, 0, 0, // transparent
    ]);
    expect(Array.from(inkFromImageData({ data: rgba, width: 3, height: 1 }).data)).toEqual([1, 1, 0]);
    expect(Array.from(inkFromImageData({ data: rgba, width: 3, height: 1 }, 'luminance-inverted').data)).toEqual([1, 0, 0]);
  });
});

describe('resampleArea', () => {
  it('averages areas: halving a checkerboard gives flat grey, and the mean is kept', () => {
    const data = new Float32Array(16).map((_, i) => ((i % 4) + Math.floor(i / 4)) % 2);
    const out = resampleArea({ data, width: 4, height: 4 }, { x: 0, y: 0, width: 4, height: 4 }, 2, 2);
    expect(Array.from(out)).toEqual([0.5, 0.5, 0.5, 0.5]);
    const odd = resampleArea({ data, width: 4, height: 4 }, { x: 0, y: 0, width: 4, height: 4 }, 3, 3);
    expect(odd.reduce((s, v) => s + v, 0) / 9).toBeCloseTo(0.5, 6);
  });

  it('never reads outside the source rectangle', () => {
    const data = new Float32Array(9).fill(1);
    data[4] = 0; // centre pixel only inside the rectangle we do not ask for
    const out = resampleArea({ data, width: 3, height: 3 }, { x: 0, y: 0, width: 1, height: 3 }, 1, 7);
    expect(out.every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
  });
});

function correlation(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}
