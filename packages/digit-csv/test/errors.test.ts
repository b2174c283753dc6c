import { describe, expect, it } from 'vitest';
import { ACCEPTED, DigitCsvError, parseDigitCsv, PIXELS } from '../src/index.js';
import { grid, header, imageBytes, row, rowWith } from './helpers.js';

/** Runs parseDigitCsv expecting a DigitCsvError and returns it. */
function refuse(text: string, options?: { maxImages?: number; maxBytes?: number }): DigitCsvError {
  try {
    parseDigitCsv(text, options);
  } catch (error) {
    expect(error).toBeInstanceOf(DigitCsvError);
    if (error instanceof DigitCsvError) {
      expect(error.message).toContain(ACCEPTED);
      return error;
    }
  }
  throw new Error('expected parseDigitCsv to throw');
}

const good = imageBytes(1);

describe('parseDigitCsv: refused inputs name the row, column, value and what is accepted', () => {
  it('empty input', () => {
    for (const text of ['', '   ', '\n\n\r\n', '\uFEFF']) {
      const error = refuse(text);
      expect(error.code).toBe('EMPTY_INPUT');
      expect(error.message).toMatch(/^The input is empty\./);
    }
  });

  it('only delimiters', () => {
    expect(refuse(',,,\n,,').code).toBe('EMPTY_INPUT');
  });

  it('a header and no data', () => {
    const error = refuse(`${header(true)}\n`);
    expect(error.code).toBe('NO_DATA');
    expect(error.row).toBe(1);
  });

  it('binary junk (NUL and control bytes)', () => {
    const error = refuse(`${row(good)}\n12,\u0000\u0001\u0002PNG`);
    expect(error.code).toBe('BINARY_INPUT');
    expect(error.row).toBe(2);
    expect(error.message).toContain('0x00');
    expect(error.message).toContain('binary file');
  });

  it('undecodable bytes (a binary file decoded as UTF-8)', () => {
    const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe]);
    const error = refuse(new TextDecoder().decode(bytes));
    expect(error.code).toBe('BINARY_INPUT');
    expect(error.row).toBe(1);
  });

  it('wrong column count names the count found and the counts accepted', () => {
    const error = refuse(`${good.slice(0, 100).join(',')}\n`);
    expect(error.code).toBe('WRONG_COLUMN_COUNT');
    expect(error.row).toBe(1);
    expect(error.message).toContain('Found 100 values');
    expect(error.message).toContain('expected 784');
    expect(refuse('1,2,3').message).toContain('Found 3 values');
    expect(refuse('5').message).toContain('Found 1 value in');
  });

  it('a single column (one value per line) is refused', () => {
    expect(refuse(good.join('\n'))).toMatchObject({ code: 'WRONG_COLUMN_COUNT', row: 1 });
  });

  it('ragged rows name the row and both counts', () => {
    const text = `${row(good)}\n${row(good)}\n\n${good.slice(0, 783).join(',')}\n`;
    const error = refuse(text);
    expect(error.code).toBe('RAGGED_ROWS');
    expect(error.row).toBe(4);
    expect(error.message).toContain('783 values');
    expect(error.message).toContain('(row 1) has 784');
  });

  it('a grid with the wrong number of rows', () => {
    const lines = grid(good).split('\n');
    const error = refuse(lines.slice(0, 27).join('\n'));
    expect(error.code).toBe('GRID_ROWS');
    expect(error.message).toContain('found 27');
    expect(refuse(`${grid(good)}\n${grid(good)}`).message).toContain('found 56');
  });

  it('a ragged grid', () => {
    const lines = grid(good).split('\n');
    lines[5] = lines[5].split(',').slice(0, 20).join(',');
    const error = refuse(lines.join('\n'));
    expect(error.code).toBe('RAGGED_ROWS');
    expect(error.row).toBe(6);
  });

  it('a header whose length does not match the data', () => {
    const error = refuse(`${header(true)}\n${row(good)}`);
    expect(error.code).toBe('HEADER_MISMATCH');
    expect(error.message).toContain('785 names');
    expect(error.message).toContain('784 values');
  });

  it('non-numbers', () => {
    const error = refuse(`${row(good)}\n${rowWith(good, 16, 'abc')}`);
    expect(error).toMatchObject({ code: 'NOT_A_NUMBER', row: 2, column: 17, value: 'abc' });
    expect(error.message).toMatch(/^Row 2, column 17: "abc" is not a number/);
    for (const junk of ['0x10', '1,5'.replace(',', '_'), '12px', '--1', '1e', '.', 'true']) {
      expect(refuse(rowWith(good, 3, junk))).toMatchObject({ code: 'NOT_A_NUMBER', column: 4, value: junk });
    }
  });

  it('a non-numeric first row that is not a header (numbers mixed with words)', () => {
    expect(refuse(rowWith(good, 0, 'seven'))).toMatchObject({ code: 'NOT_A_NUMBER', row: 1, column: 1 });
  });

  it('empty values', () => {
    const error = refuse(rowWith(good, 10, ''));
    expect(error).toMatchObject({ code: 'NOT_A_NUMBER', row: 1, column: 11, value: '' });
    expect(error.message).toContain('The value is empty');
  });

  it('NaN and Infinity', () => {
    for (const word of ['NaN', 'nan', 'Infinity', '-Infinity', 'inf']) {
      expect(refuse(rowWith(good, 700, word))).toMatchObject({ code: 'NOT_FINITE', row: 1, column: 701, value: word });
    }
    expect(refuse(rowWith(good, 0, '1e999'))).toMatchObject({ code: 'NOT_FINITE', column: 1 });
    const allNaN = new Array<string>(PIXELS).fill('NaN').join(',');
    expect(refuse(allNaN)).toMatchObject({ code: 'NOT_FINITE', row: 1, column: 1 });
  });

  it('negatives', () => {
    const error = refuse(`${row(good)}\n${row(good)}\n${rowWith(good, 99, '-3')}`);
    expect(error).toMatchObject({ code: 'NEGATIVE', row: 3, column: 100, value: '-3' });
    expect(error.message).toContain('cannot be below 0');
    expect(refuse(rowWith(good, 0, '-0.001')).code).toBe('NEGATIVE');
  });

  it('values above 255', () => {
    const error = refuse(rowWith(good, 783, '256'));
    expect(error).toMatchObject({ code: 'ABOVE_255', row: 1, column: 784, value: '256' });
    expect(refuse(rowWith(good, 0, '255.01')).code).toBe('ABOVE_255');
  });

  it('positions in labelled rows count the label as column 1', () => {
    expect(refuse(`3,${rowWith(good, 0, 'x')}`)).toMatchObject({ code: 'NOT_A_NUMBER', column: 2 });
  });

  it('positions in a grid are the grid row and column', () => {
    const lines = grid(good).split('\n');
    const fields = lines[9].split(',');
    fields[4] = '300';
    lines[9] = fields.join(',');
    expect(refuse(lines.join('\n'))).toMatchObject({ code: 'ABOVE_255', row: 10, column: 5, value: '300' });
  });

  it('rows after a header are counted as lines of the file', () => {
    expect(refuse(`${header(false)}\n${row(good)}\n${rowWith(good, 1, '-1')}`)).toMatchObject({ row: 3, column: 2 });
  });

  it('labels outside 0-9', () => {
    for (const label of ['10', '-1', '3.5', 'x', '', 'NaN']) {
      const error = refuse(`${label},${row(good)}`);
      expect(error).toMatchObject({ code: 'BAD_LABEL', row: 1, column: 1, value: label });
      expect(error.message).toContain('integer 0-9');
    }
  });

  it('malformed quoting', () => {
    const error = refuse(`${row(good)}\n"12"x,${good.slice(1).join(',')}`);
    expect(error.code).toBe('MALFORMED_CSV');
    expect(error.row).toBe(2);
  });

  it('too many bytes (a distinct, limit code)', () => {
    const text = `${row(good)}\n`.repeat(10);
    const error = refuse(text, { maxBytes: 1000 });
    expect(error.code).toBe('TOO_MANY_BYTES');
    expect(error.isLimit).toBe(true);
    expect(error.message).toContain('1000-byte limit');
    expect(parseDigitCsv(text, { maxBytes: text.length }).count).toBe(10);
  });

  it('counts bytes in UTF-8, not characters', () => {
    const text = 'é'.repeat(600);
    expect(refuse(text, { maxBytes: 1000 }).code).toBe('TOO_MANY_BYTES');
    expect(refuse(text, { maxBytes: 1200 }).code).not.toBe('TOO_MANY_BYTES');
  });

  it('too many images (a distinct, limit code), checked before parsing values', () => {
    const text = `${row(good)}\n`.repeat(5);
    const error = refuse(text, { maxImages: 4 });
    expect(error.code).toBe('TOO_MANY_IMAGES');
    expect(error.isLimit).toBe(true);
    expect(parseDigitCsv(text, { maxImages: 5 }).count).toBe(5);
    expect(parseDigitCsv(`${header(false)}\n${text}`, { maxImages: 5 }).count).toBe(5);
    // The limit is enforced before values are read: junk after the limit is never reached.
    expect(refuse(`${text}junk\n`, { maxImages: 4 }).code).toBe('TOO_MANY_IMAGES');
    // One grid is one image, whatever maxImages says.
    expect(parseDigitCsv(grid(good), { maxImages: 1 }).count).toBe(1);
  });

  it('long offending values are shortened in the message and the error', () => {
    const long = 'z'.repeat(5000);
    const error = refuse(rowWith(good, 2, long));
    expect(error.message.length).toBeLessThan(1000);
    expect(error.value?.length).toBe(100);
  });

  it('other errors are not limit errors', () => {
    expect(refuse('').isLimit).toBe(false);
  });
});
