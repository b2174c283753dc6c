// CSV text -> validated 28x28 images. table.ts splits the text into fields; everything about
// digits (layout, header, numbers, ranges, scale, limits) is decided here.
import { DigitCsvError, quote } from './errors.js';
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_IMAGES, PIXELS, SIDE } from './limits.js';
import { readTable } from './table.js';

export type Layout = 'rows' | 'labelled-rows' | 'grid';
export type Scale = '0-255' | '0-1';

export interface ParseOptions {
  /** Refuse inputs holding more images than this (code TOO_MANY_IMAGES). */
  readonly maxImages?: number;
  /** Refuse inputs longer than this many UTF-8 bytes (code TOO_MANY_BYTES). */
  readonly maxBytes?: number;
}

export interface ParsedDigits {
  /** count x 784 intensities in [0, 1], row-major 28x28 per image. */
  readonly images: Float32Array;
  readonly count: number;
  /** The label column's value per image, or null where the input had none. */
  readonly labels: (number | null)[];
  readonly layout: Layout;
  /** The scale the input was read in: all values <= 1 means 0-1, otherwise 0-255. */
  readonly scale: Scale;
}

/** A strict decimal number: no hex, no empty string, no NaN/Infinity words. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NOT_FINITE_WORD = /^[+-]?(?:nan|inf|infinity)$/i;
const LETTER = /[A-Za-z]/;

/** Parses CSV text into validated 28x28 images in [0, 1]; throws DigitCsvError naming row, column and value. */
export function parseDigitCsv(text: string, options: ParseOptions = {}): ParsedDigits {
  const maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  checkBytes(text, maxBytes);
  if (text.trim() === '' || text.replace(/^\uFEFF/, '').trim() === '') {
    throw new DigitCsvError('EMPTY_INPUT', 'The input is empty.');
  }
  checkText(text);
  checkLineCount(text, maxImages);

  const { records, lines } = readTable(text);
  if (records.length === 0) throw new DigitCsvError('EMPTY_INPUT', 'The input holds no values.');

  const start = isHeader(records[0]) ? 1 : 0;
  if (start === records.length) {
    throw new DigitCsvError('NO_DATA', 'The input has a header row but no data rows.', { row: lines[0] });
  }
  const columns = records[start].length;
  const layout = layoutOf(columns, lines[start]);
  if (start === 1 && records[0].length !== columns) {
    throw new DigitCsvError(
      'HEADER_MISMATCH',
      `The header has ${records[0].length} names but the first data row (row ${lines[start]}) has ${columns} values.`,
      { row: lines[0] },
    );
  }
  const dataRows = records.length - start;
  const count = layout === 'grid' ? 1 : dataRows;
  if (count > maxImages) {
    throw new DigitCsvError('TOO_MANY_IMAGES', `The input holds ${count} images; at most ${maxImages} are accepted per request.`);
  }
  for (let r = start + 1; r < records.length; r++) {
    if (records[r].length !== columns) {
      throw new DigitCsvError(
        'RAGGED_ROWS',
        `This row has ${records[r].length} values but the first data row (row ${lines[start]}) has ${columns}; every row needs the same number.`,
        { row: lines[r] },
      );
    }
  }
  if (layout === 'grid' && dataRows !== SIDE) {
    throw new DigitCsvError(
      'GRID_ROWS',
      `Rows of 28 values form one 28x28 grid, which needs exactly 28 rows; found ${dataRows}. For several images send one row of 784 values per image.`,
      { row: lines[records.length - 1] },
    );
  }

  const images = new Float32Array(count * PIXELS);
  const labels: (number | null)[] = new Array<number | null>(count).fill(null);
  const first = layout === 'labelled-rows' ? 1 : 0;
  let max = 0;
  let out = 0;
  for (let r = start; r < records.length; r++) {
    const record = records[r];
    const row = lines[r];
    if (layout === 'labelled-rows') labels[r - start] = readLabel(record[0], row);
    for (let c = first; c < columns; c++) {
      const value = readIntensity(record[c], row, c + 1);
      if (value > max) max = value;
      images[out++] = value;
    }
  }
  const scale: Scale = max <= 1 ? '0-1' : '0-255';
  if (scale === '0-255') for (let i = 0; i < images.length; i++) images[i] /= 255;
  return { images, count, labels, layout, scale };
}

/** Refuses inputs over maxBytes UTF-8 bytes, counting only as far as needed. */
function checkBytes(text: string, maxBytes: number): void {
  // A UTF-8 encoding is at least as long as its UTF-16 length and at most three times it.
  const tooLong = text.length > maxBytes || (text.length * 3 > maxBytes && utf8Length(text) > maxBytes);
  if (tooLong) {
    throw new DigitCsvError('TOO_MANY_BYTES', `The input is larger than the ${maxBytes}-byte limit.`);
  }
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Refuses control characters and undecodable bytes: the signs of a binary file. */
function checkText(text: string): void {
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line++;
    else if ((c < 32 && c !== 9 && c !== 13) || c === 0x7f || c === 0xfffd) {
      const shown = c === 0xfffd ? 'an undecodable byte (not UTF-8 text)' : `the control byte 0x${c.toString(16).padStart(2, '0')}`;
      throw new DigitCsvError('BINARY_INPUT', `The input contains ${shown}; it looks like a binary file, not CSV text.`, {
        row: line,
      });
    }
  }
}

/**
 * Refuses, before any parsing, inputs with more non-blank lines than maxImages images can take:
 * maxImages rows (or one 28-row grid) plus a header.
 */
function checkLineCount(text: string, maxImages: number): void {
  const allowed = Math.max(maxImages, SIDE) + 1;
  let lines = 0;
  let blank = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      if (!blank) lines++;
      blank = true;
    } else if (c !== 32 && c !== 9 && c !== 13) blank = false;
  }
  if (!blank) lines++;
  if (lines > allowed) {
    throw new DigitCsvError(
      'TOO_MANY_IMAGES',
      `The input has ${lines} rows; at most ${maxImages} images (one per row, plus a header) are accepted per request.`,
    );
  }
}

/** A first row is a header when none of its fields is a number and some field is a name. */
export function isHeader(record: string[]): boolean {
  let named = false;
  for (const field of record) {
    if (NUMBER.test(field) || NOT_FINITE_WORD.test(field)) return false;
    if (LETTER.test(field)) named = true;
  }
  return named;
}

/** The layout a data row of `columns` values implies; throws WRONG_COLUMN_COUNT otherwise. */
export function layoutOf(columns: number, row: number): Layout {
  if (columns === PIXELS) return 'rows';
  if (columns === PIXELS + 1) return 'labelled-rows';
  if (columns === SIDE) return 'grid';
  throw new DigitCsvError(
    'WRONG_COLUMN_COUNT',
    `Found ${columns} value${columns === 1 ? '' : 's'} in this row; expected 784 (one image), 785 (a label then 784 pixels) or 28 (a row of a 28x28 grid).`,
    { row },
  );
}

/** One pixel field as a number 0-255 (still unscaled); throws naming row, column and value. */
export function readIntensity(field: string, row: number, column: number): number {
  if (!NUMBER.test(field)) {
    if (NOT_FINITE_WORD.test(field)) {
      throw new DigitCsvError('NOT_FINITE', `${quote(field)} is not a finite number.`, { row, column, value: clip(field) });
    }
    const what = field === '' ? 'The value is empty' : `${quote(field)} is not a number`;
    throw new DigitCsvError('NOT_A_NUMBER', `${what}; pixel intensities must be numbers.`, { row, column, value: clip(field) });
  }
  const value = Number(field);
  if (!Number.isFinite(value)) {
    throw new DigitCsvError('NOT_FINITE', `${quote(field)} is not a finite number.`, { row, column, value: clip(field) });
  }
  if (value < 0) {
    throw new DigitCsvError('NEGATIVE', `${quote(field)} is negative; intensities cannot be below 0.`, { row, column, value: clip(field) });
  }
  if (value > 255) {
    throw new DigitCsvError('ABOVE_255', `${quote(field)} is above 255, the largest intensity.`, { row, column, value: clip(field) });
  }
  return value;
}

/** The label field of a labelled row: an integer 0-9. */
export function readLabel(field: string, row: number): number {
  const value = NUMBER.test(field) ? Number(field) : Number.NaN;
  if (!Number.isInteger(value) || value < 0 || value > 9) {
    throw new DigitCsvError(
      'BAD_LABEL',
      `The label ${quote(field)} is not a digit; in rows of 785 values the first is the label, an integer 0-9.`,
      { row, column: 1, value: clip(field) },
    );
  }
  return value + 0; // "-0" reads as 0
}

/** The offending value kept on an error, at most 100 characters. */
function clip(field: string): string {
  return field.length > 100 ? field.slice(0, 100) : field;
}
