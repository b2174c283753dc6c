import { describe, expect, it } from 'vitest';
import { formatDigitCsv, parseDigitCsv, PIXELS } from '../src/index.js';
import { grid, header, imageBytes, row } from './helpers.js';

function expectImage(images: Float32Array, index: number, bytes: readonly number[]): void {
  const got = Array.from(images.subarray(index * PIXELS, (index + 1) * PIXELS));
  expect(got).toEqual(bytes.map((b) => Math.fround(b / 255)));
}

describe('parseDigitCsv: accepted shapes', () => {
  it('reads one image per row of 784 values', () => {
    const a = imageBytes(1);
    const b = imageBytes(2);
    const parsed = parseDigitCsv(`${row(a)}\n${row(b)}\n`);
    expect(parsed.count).toBe(2);
    expect(parsed.layout).toBe('rows');
    expect(parsed.scale).toBe('0-255');
    expect(parsed.labels).toEqual([null, null]);
    expect(parsed.images.length).toBe(2 * PIXELS);
    expectImage(parsed.images, 0, a);
    expectImage(parsed.images, 1, b);
  });

  it('reads rows of 785 values with a leading label', () => {
    const a = imageBytes(3);
    const b = imageBytes(4);
    const parsed = parseDigitCsv(`7,${row(a)}\n0,${row(b)}`);
    expect(parsed.layout).toBe('labelled-rows');
    expect(parsed.labels).toEqual([7, 0]);
    expectImage(parsed.images, 0, a);
    expectImage(parsed.images, 1, b);
  });

  it('reads a 28x28 grid as one image', () => {
    const a = imageBytes(5);
    const parsed = parseDigitCsv(grid(a));
    expect(parsed.layout).toBe('grid');
    expect(parsed.count).toBe(1);
    expect(parsed.labels).toEqual([null]);
    expectImage(parsed.images, 0, a);
  });

  it('skips a header row: label,pixel0,...,pixel783', () => {
    const a = imageBytes(6);
    const parsed = parseDigitCsv(`${header(true)}\n3,${row(a)}\n`);
    expect(parsed.count).toBe(1);
    expect(parsed.labels).toEqual([3]);
    expectImage(parsed.images, 0, a);
  });

  it('skips a header row without a label column: pixel0,...', () => {
    const parsed = parseDigitCsv(`${header(false)}\n${row(imageBytes(7))}`);
    expect(parsed.layout).toBe('rows');
    expect(parsed.count).toBe(1);
  });

  it('skips Kaggle-style headers (label,1x1,...,28x28)', () => {
    const names = ['label'];
    for (let y = 1; y <= 28; y++) for (let x = 1; x <= 28; x++) names.push(`${y}x${x}`);
    const parsed = parseDigitCsv(`${names.join(',')}\n9,${row(imageBytes(8))}`);
    expect(parsed.labels).toEqual([9]);
  });

  it('skips a header on a grid', () => {
    const names = Array.from({ length: 28 }, (_, i) => `c${i}`).join(',');
    const parsed = parseDigitCsv(`${names}\n${grid(imageBytes(9))}`);
    expect(parsed.layout).toBe('grid');
  });

  it('reads 0-1 floats as they are when every value is <= 1', () => {
    const floats = imageBytes(10).map((b) => b / 255);
    const parsed = parseDigitCsv(row(floats));
    expect(parsed.scale).toBe('0-1');
    expect(Array.from(parsed.images)).toEqual(floats.map((v) => Math.fround(v)));
  });

  it('decides the scale per file: one value above 1 makes the whole file 0-255', () => {
    const small = new Array<number>(PIXELS).fill(1);
    const big = new Array<number>(PIXELS).fill(0);
    big[0] = 2;
    const parsed = parseDigitCsv(`${row(small)}\n${row(big)}`);
    expect(parsed.scale).toBe('0-255');
    expect(parsed.images[0]).toBeCloseTo(1 / 255, 7);
    expect(parsed.images[PIXELS]).toBeCloseTo(2 / 255, 7);
  });

  it('reads an all-zero image (0-1 scale, all zeros)', () => {
    const parsed = parseDigitCsv(row(new Array<number>(PIXELS).fill(0)));
    expect(parsed.scale).toBe('0-1');
    expect(parsed.images.every((v) => v === 0)).toBe(true);
  });

  it('accepts decimals and exponents in 0-255 (e.g. 12.5, 1e2, +3)', () => {
    const values: (number | string)[] = new Array<number>(PIXELS).fill(0);
    values[0] = '12.5';
    values[1] = '1e2';
    values[2] = '+3';
    values[3] = '.5';
    values[4] = '255.0';
    const parsed = parseDigitCsv(row(values));
    expect(Array.from(parsed.images.subarray(0, 5))).toEqual([12.5, 100, 3, 0.5, 255].map((v) => Math.fround(v / 255)));
  });

  it('tolerates CRLF, a BOM, blank lines, spaces around values, quotes and a trailing comma', () => {
    const a = imageBytes(11);
    const spaced = a.map((v, i) => (i === 0 ? ` "${v}" ` : ` ${v}`)).join(',');
    const text = `\uFEFF\r\n${spaced},\r\n\r\n   \r\n${row(a)}\r\n`;
    const parsed = parseDigitCsv(text);
    expect(parsed.count).toBe(2);
    expectImage(parsed.images, 0, a);
    expectImage(parsed.images, 1, a);
  });

  it('reads tab- and semicolon-separated files', () => {
    const a = imageBytes(12);
    expectImage(parseDigitCsv(a.join('\t')).images, 0, a);
    expectImage(parseDigitCsv(`${a.join(';')}\n${a.join(';')}`).images, 1, a);
  });

  it('reads label 0-9 written as 7.0 and -0', () => {
    const a = row(imageBytes(13));
    const parsed = parseDigitCsv(`7.0,${a}\n-0,${a}`);
    expect(parsed.labels).toEqual([7, 0]);
    expect(Object.is(parsed.labels[1], 0)).toBe(true);
  });

  it('round-trips through formatDigitCsv, with and without labels and header', () => {
    const bytes = [imageBytes(20), imageBytes(21), imageBytes(22)];
    const images = new Float32Array(bytes.flat().map((b) => b / 255));
    for (const labels of [undefined, [1, 2, 3]]) {
      for (const headerRow of [false, true]) {
        const csv = formatDigitCsv(images, 3, labels, { header: headerRow });
        const parsed = parseDigitCsv(csv);
        expect(parsed.count).toBe(3);
        expect(parsed.labels).toEqual(labels ?? [null, null, null]);
        expect(Array.from(parsed.images)).toEqual(Array.from(images));
      }
    }
    const floats = parseDigitCsv(formatDigitCsv(images, 3, undefined, { scale: '0-1' }));
    expect(floats.scale).toBe('0-1');
    expect(Array.from(floats.images)).toEqual(Array.from(images));
  });

  it('formatDigitCsv refuses mismatched inputs', () => {
    const images = new Float32Array(PIXELS);
    expect(() => formatDigitCsv(images, 2)).toThrow(RangeError);
    expect(() => formatDigitCsv(images, 1, [1, 2])).toThrow(RangeError);
    expect(() => formatDigitCsv(new Float32Array(2 * PIXELS), 2, [1, null])).toThrow(RangeError);
    expect(formatDigitCsv(images, 1, [null]).split(',').length).toBe(PIXELS);
  });

  it('parses a 1000-image batch quickly', () => {
    const images = new Float32Array(1000 * PIXELS);
    for (let i = 0; i < images.length; i++) images[i] = ((i * 7919) % 256) / 255;
    const csv = formatDigitCsv(images, 1000);
    const t0 = performance.now();
    const parsed = parseDigitCsv(csv);
    const ms = performance.now() - t0;
    expect(parsed.count).toBe(1000);
    expect(ms).toBeLessThan(5000);
  });
});
