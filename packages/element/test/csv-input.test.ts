import { describe, expect, it } from 'vitest';
import { CsvProblem, readCsvFile, splitAccepted } from '../src/csv-input.ts';

const file = (text: string, name = 'digits.csv') => ({ name, size: new TextEncoder().encode(text).length, text: async () => text });
const limits = { maxImages: 3, maxBytes: 100_000 };
const row = (v: number) => Array.from({ length: 784 }, () => v).join(',');

describe('readCsvFile', () => {
  it('reads images through digit-csv and keeps the text to send', async () => {
    const text = `${row(0)}\n${row(255)}\n`;
    const read = await readCsvFile(file(text), limits);
    expect(read).toMatchObject({ count: 2, name: 'digits.csv', text, layout: 'rows', scale: '0-255' });
    expect(read.images[784]).toBe(1);
  });

  it("explains refusals with digit-csv's words, the accepted shapes split off as a hint", async () => {
    const problem = await readCsvFile(file('1,2,3\n'), limits).catch((e: unknown) => e);
    expect(problem).toBeInstanceOf(CsvProblem);
    expect((problem as CsvProblem).message).toMatch(/^Row 1/);
    expect((problem as CsvProblem).message).not.toMatch(/Accepted:/);
    expect((problem as CsvProblem).hint).toMatch(/^Accepted:/);
  });

  it('refuses too many images, and files over max-bytes before reading them', async () => {
    await expect(readCsvFile(file(`${row(1)}\n`.repeat(4)), limits)).rejects.toMatchObject({ code: 'TOO_MANY_IMAGES' });
    const huge = { name: 'huge.csv', size: 5e9, text: () => Promise.reject(new Error('must not be read')) };
    await expect(readCsvFile(huge, limits)).rejects.toMatchObject({ code: 'TOO_MANY_BYTES', message: expect.stringMatching(/4768\.4 MB.*97\.7 KB/) });
  });
});

describe('splitAccepted', () => {
  it('leaves messages without the suffix alone', () => {
    expect(splitAccepted('Nope.')).toEqual({ message: 'Nope.', hint: undefined });
  });
});
