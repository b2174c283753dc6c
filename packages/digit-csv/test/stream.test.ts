import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DigitCsvError, formatDigitCsv, parseDigitCsv, PIXELS } from '../src/index.js';
import { parseDigitCsvStream, type DigitBatch } from '../src/stream.js';
import { grid, header, imageBytes, row, rowWith } from './helpers.js';

/** The text cut into chunks of `size` bytes, as a socket delivers it. */
function chunks(text: string, size = 1000): Readable {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

async function collect(text: string, options = {}, size?: number): Promise<DigitBatch[]> {
  const batches: DigitBatch[] = [];
  for await (const batch of parseDigitCsvStream(chunks(text, size), options)) batches.push({ ...batch, images: batch.images.slice() });
  return batches;
}

async function failure(text: string, options = {}): Promise<DigitCsvError> {
  try {
    await collect(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DigitCsvError);
    return error as DigitCsvError;
  }
  throw new Error('the stream was accepted');
}

const images = new Float32Array(700 * PIXELS);
for (let n = 0; n < 700; n++) imageBytes(n).forEach((b, i) => (images[n * PIXELS + i] = b / 255));
const labels = Array.from({ length: 700 }, (_, n) => n % 10);

describe('parseDigitCsvStream', () => {
  it('yields batches that together equal parseDigitCsv of the whole file (labels, header, chunk boundaries inside rows)', async () => {
    const csv = formatDigitCsv(images, 700, labels, { header: true });
    const whole = parseDigitCsv(csv);
    const batches = await collect(csv, { batchSize: 256 }, 777);
    expect(batches.map((b) => [b.start, b.count])).toEqual([[0, 256], [256, 256], [512, 188]]);
    const joined = new Float32Array(700 * PIXELS);
    batches.forEach((b) => joined.set(b.images, b.start * PIXELS));
    expect(joined).toEqual(whole.images);
    expect(batches.flatMap((b) => b.labels)).toEqual(whole.labels);
    expect(batches.every((b) => b.layout === 'labelled-rows' && b.scale === '0-255')).toBe(true);
  });

  it('reads a Kaggle-style header without labels, a grid, 0-1 floats, tabs and CRLF', async () => {
    const kaggle = await collect(`${header(false)}\r\n${row(imageBytes(1))}\r\n${row(imageBytes(2))}\r\n`);
    expect(kaggle[0]).toMatchObject({ count: 2, layout: 'rows', labels: [null, null] });
    const one = await collect(grid(imageBytes(5)));
    expect(one[0]).toMatchObject({ count: 1, layout: 'grid' });
    expect(one[0].images).toEqual(parseDigitCsv(grid(imageBytes(5))).images);
    const floats = imageBytes(3).map((b) => b / 255);
    expect((await collect(floats.join('\t')))[0].scale).toBe('0-1');
  });

  it('refuses bad rows naming row, column and value, as parseDigitCsv does', async () => {
    const good = imageBytes(1);
    const bad = await failure(`${row(good)}\n${rowWith(good, 40, 'abc')}`);
    expect(bad).toMatchObject({ code: 'NOT_A_NUMBER', row: 2, column: 41, value: 'abc' });
    expect((await failure(`${row(good)}\n${good.slice(0, 783).join(',')}`)).code).toBe('RAGGED_ROWS');
    expect((await failure('')).code).toBe('EMPTY_INPUT');
    expect((await failure(header(true))).code).toBe('NO_DATA');
    expect((await failure('1,2,3')).code).toBe('WRONG_COLUMN_COUNT');
    expect((await failure(`"1"2,${good.slice(1).join(',')}`)).code).toBe('MALFORMED_CSV');
  });

  it('refuses binary input and files over the row and byte limits', async () => {
    const png = Readable.from([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0])]);
    await expect(async () => {
      for await (const _ of parseDigitCsvStream(png)) void _;
    }).rejects.toMatchObject({ code: 'BINARY_INPUT' });
    const csv = formatDigitCsv(images, 20);
    expect((await failure(csv, { maxRows: 19 })).code).toBe('TOO_MANY_IMAGES');
    expect((await failure(csv, { maxBytes: 10_000 })).code).toBe('TOO_MANY_BYTES');
    expect((await failure(csv, { maxBytes: 10_000 })).isLimit).toBe(true);
  });

  it('refuses a value above 1 after a first batch read as 0-1', async () => {
    const floats = row(imageBytes(3).map((b) => b / 255));
    const error = await failure(`${floats}\n${floats}\n${row(imageBytes(4))}`, { batchSize: 2 });
    expect(error.code).toBe('MIXED_SCALE');
    expect(error.row).toBe(3);
  });

  it('leaves the source readable to its end when it stops early', async () => {
    const source = new PassThrough();
    source.write('1,2,3\n4,5,6\n');
    await expect(async () => {
      for await (const _ of parseDigitCsvStream(source)) void _;
    }).rejects.toMatchObject({ code: 'WRONG_COLUMN_COUNT' });
    expect(source.destroyed).toBe(false);
    source.end(formatDigitCsv(images, 50));
    await new Promise((resolve) => source.once('end', resolve));
  });
});
