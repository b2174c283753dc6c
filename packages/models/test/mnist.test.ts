import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  IdxError,
  MNIST_FILES,
  loadMnist,
  mnistDataDir,
  parseIdxImages,
  parseIdxLabels,
  splitValidation,
  type MnistData,
} from '../src/index.js';

// The published per-digit counts of the official MNIST splits.
const TRAIN_HISTOGRAM = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function histogram(labels: Uint8Array): number[] {
  const h = new Array<number>(10).fill(0);
  for (const l of labels) h[l]++;
  return h;
}

function idxImages(count: number, opts: { magic?: number; rows?: number; cols?: number; dataBytes?: number } = {}): Uint8Array {
  const rows = opts.rows ?? 28;
  const cols = opts.cols ?? 28;
  const dataBytes = opts.dataBytes ?? count * rows * cols;
  const buf = new Uint8Array(16 + dataBytes);
  const view = new DataView(buf.buffer);
  view.setUint32(0, opts.magic ?? 2051, false);
  view.setUint32(4, count, false);
  view.setUint32(8, rows, false);
  view.setUint32(12, cols, false);
  for (let i = 16; i < buf.length; i++) buf[i] = (i * 7) & 0xff;
  return buf;
}

function idxLabels(labels: number[], opts: { magic?: number; count?: number; dataBytes?: number } = {}): Uint8Array {
  const dataBytes = opts.dataBytes ?? labels.length;
  const buf = new Uint8Array(8 + dataBytes);
  const view = new DataView(buf.buffer);
  view.setUint32(0, opts.magic ?? 2049, false);
  view.setUint32(4, opts.count ?? labels.length, false);
  buf.set(labels.slice(0, dataBytes), 8);
  return buf;
}

function idxErrorOf(fn: () => unknown): IdxError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IdxError);
    return err as IdxError;
  }
  throw new Error('expected an IdxError');
}

describe('real MNIST files', () => {
  it('are the original, uncompressed IDX files', () => {
    const dir = mnistDataDir();
    const digest = (name: string): string => createHash('sha256').update(readFileSync(join(dir, name))).digest('hex');
    expect(digest(MNIST_FILES.train.images)).toBe('ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db');
    expect(digest(MNIST_FILES.train.labels)).toBe('65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5');
    expect(digest(MNIST_FILES.test.images)).toBe('0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7');
    expect(digest(MNIST_FILES.test.labels)).toBe('ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2');
  });

  it('loads the training split: 60000 images in [0, 1] with the known label histogram', () => {
    const train = loadMnist('train');
    expect(train.split).toBe('train');
    expect(train.count).toBe(60000);
    expect(train.images.length).toBe(60000 * 784);
    expect(train.labels.length).toBe(60000);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of train.images) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    // The well-known MNIST mean pixel (0.1307) shows the scaling is /255 and the orientation irrelevant.
    expect(sum / train.images.length).toBeCloseTo(0.1307, 4);
    expect(histogram(train.labels)).toEqual(TRAIN_HISTOGRAM);
    expect(Array.from(train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  });

  it('loads the test split: 10000 images, first label 7', () => {
    const test = loadMnist('test');
    expect(test.split).toBe('test');
    expect(test.count).toBe(10000);
    expect(test.images.length).toBe(10000 * 784);
    expect(test.labels[0]).toBe(7);
    expect(histogram(test.labels)).toEqual(TEST_HISTOGRAM);
    expect(test.images.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  it('stores images row-major: the first test image (a 7) has a long horizontal bar and no long vertical run', () => {
    const img = loadMnist('test').images.subarray(0, 784);
    let widestRow = 0;
    let tallestCol = 0;
    for (let a = 0; a < 28; a++) {
      let inRow = 0;
      let inCol = 0;
      for (let b = 0; b < 28; b++) {
        if (img[a * 28 + b] > 0.5) inRow++;
        if (img[b * 28 + a] > 0.5) inCol++;
      }
      widestRow = Math.max(widestRow, inRow);
      tallestCol = Math.max(tallestCol, inCol);
    }
    // The 7's top bar spans ~15 columns; its slanted stem never covers more than a few rows of one column.
    expect(widestRow).toBeGreaterThanOrEqual(12);
    expect(tallestCol).toBeLessThan(10);
  });

  it('caches each split per process', () => {
    expect(loadMnist('train')).toBe(loadMnist('train'));
    expect(loadMnist('test')).toBe(loadMnist('test'));
  });
});

describe('parseIdxImages', () => {
  it('parses a well-formed file, also when it sits at an odd offset of a larger buffer', () => {
    const bytes = idxImages(2);
    const parsed = parseIdxImages(bytes, 'mini');
    expect(parsed.count).toBe(2);
    expect([parsed.rows, parsed.cols]).toEqual([28, 28]);
    expect(Array.from(parsed.pixels)).toEqual(Array.from(bytes.subarray(16)));
    // Node hands out small files as views into a shared pool, at arbitrary offsets.
    const shifted = new Uint8Array(new ArrayBuffer(bytes.length + 8), 3, bytes.length);
    shifted.set(bytes);
    const again = parseIdxImages(shifted, 'shifted');
    expect(again.count).toBe(2);
    expect(Array.from(again.pixels)).toEqual(Array.from(parsed.pixels));
  });

  it('accepts an empty set of images', () => {
    expect(parseIdxImages(idxImages(0), 'none').count).toBe(0);
  });

  it('rejects an empty file', () => {
    const err = idxErrorOf(() => parseIdxImages(new Uint8Array(0), 'train-images-idx3-ubyte'));
    expect(err.message).toMatch(/^train-images-idx3-ubyte: /);
    expect(err.message).toMatch(/empty/);
    expect(err.message).toMatch(/2051/);
    expect(err.what).toBe('train-images-idx3-ubyte');
  });

  it('rejects a wrong magic number and says what it looks like', () => {
    const err = idxErrorOf(() => parseIdxImages(idxImages(1, { magic: 2049 }), 'imgs'));
    expect(err.message).toMatch(/bad magic number 2049/);
    expect(err.message).toMatch(/label file/);
    expect(err.message).toMatch(/expected 2051/);
    expect(idxErrorOf(() => parseIdxImages(idxImages(1, { magic: 0x12345678 }), 'imgs')).message).toMatch(
      /bad magic number 305419896; expected 2051/,
    );
  });

  it('recognises a still-gzipped download', () => {
    const gz = new Uint8Array([0x1f, 0x8b, 0x08, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(idxErrorOf(() => parseIdxImages(gz, 'imgs.gz')).message).toMatch(/gzip-compressed/);
  });

  it('rejects a file shorter than its header', () => {
    const err = idxErrorOf(() => parseIdxImages(idxImages(1).subarray(0, 10), 'imgs'));
    expect(err.message).toMatch(/truncated: 10 bytes, shorter than the 16-byte/);
  });

  it('rejects truncated pixel data, naming the sizes', () => {
    const err = idxErrorOf(() => parseIdxImages(idxImages(3, { dataBytes: 784 * 2 + 100 }), 't10k-images'));
    expect(err.message).toMatch(/^t10k-images: file is truncated/);
    expect(err.message).toMatch(/hold 2 whole images/);
    expect(err.message).toMatch(/expected 2368 bytes for the 3 images/);
  });

  it('rejects trailing bytes that the header does not account for', () => {
    const err = idxErrorOf(() => parseIdxImages(idxImages(2, { dataBytes: 784 * 3 }), 'imgs'));
    expect(err.message).toMatch(/784 bytes after the 2 images/);
  });

  it('rejects images that are not 28x28', () => {
    const err = idxErrorOf(() => parseIdxImages(idxImages(2, { rows: 32, cols: 32 }), 'imgs'));
    expect(err.message).toMatch(/32×32; expected 28×28/);
    expect(() => parseIdxImages(idxImages(2, { rows: 28, cols: 27 }), 'imgs')).toThrow(IdxError);
  });
});

describe('parseIdxLabels', () => {
  it('parses labels into a copy that does not alias the input', () => {
    const raw = idxLabels([7, 2, 1, 0, 9]);
    const bytes = new Uint8Array(new ArrayBuffer(raw.length + 8), 5, raw.length);
    bytes.set(raw);
    const labels = parseIdxLabels(bytes, 'labels');
    expect(Array.from(labels)).toEqual([7, 2, 1, 0, 9]);
    bytes[8] = 3;
    expect(labels[0]).toBe(7);
    expect(labels.buffer).not.toBe(bytes.buffer);
    // Buffer#slice returns a view, which would keep (and expose) the whole file buffer.
    const buf = Buffer.from(raw);
    const fromBuffer = parseIdxLabels(buf, 'buffer');
    expect(fromBuffer).not.toBeInstanceOf(Buffer);
    expect(fromBuffer.buffer.byteLength).toBe(5);
    expect(Array.from(fromBuffer)).toEqual([7, 2, 1, 0, 9]);
  });

  it('rejects an empty file', () => {
    expect(idxErrorOf(() => parseIdxLabels(new Uint8Array(0), 'lbl')).message).toMatch(/lbl: file is empty.*2049/);
  });

  it('rejects an image file passed as labels', () => {
    const err = idxErrorOf(() => parseIdxLabels(idxImages(1), 'train-labels-idx1-ubyte'));
    expect(err.message).toMatch(/^train-labels-idx1-ubyte: bad magic number 2051 \(that is an image file\); expected 2049/);
  });

  it('rejects truncated labels', () => {
    expect(idxErrorOf(() => parseIdxLabels(idxLabels([1, 2, 3], { count: 10 }), 'lbl')).message).toMatch(
      /truncated: 11 bytes hold 3 whole labels; expected 18 bytes for the 10 labels/,
    );
    expect(idxErrorOf(() => parseIdxLabels(new Uint8Array([0, 0, 8, 1]), 'lbl')).message).toMatch(/shorter than the 8-byte/);
  });

  it('rejects labels that are not digits', () => {
    expect(idxErrorOf(() => parseIdxLabels(idxLabels([1, 2, 10]), 'lbl')).message).toMatch(/label 2 is 10; expected a digit 0–9/);
  });
});

describe('splitValidation', () => {
  const train = loadMnist('train');

  function checkRows(subset: MnistData & { indices: Int32Array }, source: MnistData): void {
    for (let k = 0; k < subset.count; k++) {
      const i = subset.indices[k];
      if (subset.labels[k] !== source.labels[i]) throw new Error(`label mismatch at ${k}`);
      for (let p = 0; p < 784; p++) {
        if (subset.images[k * 784 + p] !== source.images[i * 784 + p]) throw new Error(`pixel mismatch at ${k}/${p}`);
      }
    }
  }

  it('is disjoint, sized, covers every training index exactly once, and copies the right rows', () => {
    const before = createHash('sha256').update(train.images).digest('hex');
    const { train: tr, validation: va } = splitValidation(train, 5000, 42);
    expect(va.count).toBe(5000);
    expect(tr.count).toBe(55000);
    expect(va.split).toBe('validation');
    expect(tr.split).toBe('train');
    expect(va.images.length).toBe(5000 * 784);
    expect(tr.labels.length).toBe(55000);
    const seen = new Uint8Array(60000);
    for (const i of tr.indices) seen[i]++;
    for (const i of va.indices) seen[i]++;
    expect(seen.every((n) => n === 1)).toBe(true);
    // Ascending order means the subsets follow the source order.
    for (let k = 1; k < va.count; k++) expect(va.indices[k]).toBeGreaterThan(va.indices[k - 1]);
    checkRows(tr, train);
    checkRows(va, train);
    // Every digit appears in validation in roughly its share of the training set.
    const h = histogram(va.labels);
    for (let d = 0; d < 10; d++) expect(Math.abs(h[d] / 5000 - TRAIN_HISTOGRAM[d] / 60000)).toBeLessThan(0.02);
    expect(createHash('sha256').update(train.images).digest('hex')).toBe(before);
  });

  it('is reproducible for a seed and differs across seeds', () => {
    const a = splitValidation(train, 1000, 7).validation.indices;
    const b = splitValidation(train, 1000, 7).validation.indices;
    const c = splitValidation(train, 1000, 8).validation.indices;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('never touches the test split', () => {
    expect(() => splitValidation(loadMnist('test'), 1000, 1)).toThrow(/test set/);
  });

  it('rejects validation sizes that leave no training data or are not counts', () => {
    const small: MnistData = { split: 'train', images: new Float32Array(4 * 784), labels: new Uint8Array([0, 1, 2, 3]), count: 4 };
    expect(splitValidation(small, 0, 1).train.count).toBe(4);
    expect(splitValidation(small, 3, 1).validation.count).toBe(3);
    expect(() => splitValidation(small, 4, 1)).toThrow(RangeError);
    expect(() => splitValidation(small, -1, 1)).toThrow(RangeError);
    expect(() => splitValidation(small, 1.5, 1)).toThrow(RangeError);
  });
});
