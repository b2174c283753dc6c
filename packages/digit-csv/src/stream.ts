// A CSV file of any length -> validated 28x28 images in batches, read as a stream (csv-parse's
// streaming API) so memory stays bounded by the batch, not the file. The same shapes, rules and
// errors as parseDigitCsv, with one difference forced by streaming: the scale (0-255 or 0-1) is
// decided on the first batch, and a later value above 1 in a file read as 0-1 is refused.
// Node only (node:stream); the web component uses parseDigitCsv.
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { DigitCsvError } from './errors.js';
import { DEFAULT_STREAM_BATCH, DEFAULT_STREAM_MAX_BYTES, DEFAULT_STREAM_MAX_ROWS, PIXELS, SIDE } from './limits.js';
import { isHeader, layoutOf, readIntensity, readLabel, type Layout, type Scale } from './parse.js';

export interface StreamOptions {
  /** Refuse files with more data rows (images) than this (code TOO_MANY_IMAGES). */
  readonly maxRows?: number;
  /** Refuse files longer than this many bytes (code TOO_MANY_BYTES). */
  readonly maxBytes?: number;
  /** Images per yielded batch. */
  readonly batchSize?: number;
}

/** One batch of a streamed file. */
export interface DigitBatch {
  /** count x 784 intensities in [0, 1]. */
  readonly images: Float32Array;
  readonly count: number;
  /** Index in the file of the batch's first image (0-based). */
  readonly start: number;
  readonly labels: (number | null)[];
  readonly layout: Layout;
  readonly scale: Scale;
}

/** Reads a CSV byte stream batch by batch; throws DigitCsvError (naming row, column, value) where the file goes wrong. */
export async function* parseDigitCsvStream(source: Readable, options: StreamOptions = {}): AsyncGenerator<DigitBatch> {
  const maxRows = options.maxRows ?? DEFAULT_STREAM_MAX_ROWS;
  const batchSize = options.batchSize ?? DEFAULT_STREAM_BATCH;
  const parser = parse({
    delimiter: [',', '\t', ';'],
    trim: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    relax_column_count: true,
    info: true,
  });
  const text = textCheck(options.maxBytes ?? DEFAULT_STREAM_MAX_BYTES);
  let failure: unknown;
  // The source is read by its iterator without destroy-on-return: stopping early must leave it (an
  // HTTP request) open, so that the answer can still be sent; the rest of it is read and dropped.
  const piping = pipeline(text, parser).catch((error: unknown) => {
    failure = error;
  });
  let stopped = false;
  let wake: (() => void) | undefined;
  const pumping = (async () => {
    try {
      for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer | string>) {
        if (stopped) break;
        if (!text.write(chunk)) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            text.once('drain', resolve);
          });
          wake = undefined;
        }
      }
      if (!stopped) text.end();
    } catch (error) {
      text.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  })();

  let header: string[] | undefined;
  let headerLine = 0;
  let columns = 0;
  let firstLine = 0;
  let layout: Layout | undefined;
  let scale: Scale | undefined;
  let rows = 0;
  let images = new Float32Array(batchSize * PIXELS);
  let labels: (number | null)[] = [];
  let inBatch = 0;
  let start = 0;
  let max = 0;
  /** Where the first value above 1 of this batch is, in case the file is being read as 0-1. */
  let aboveOne: { row: number; column: number; value: string } | undefined;
  let records = 0;

  const flush = (): DigitBatch => {
    if (scale === undefined) scale = max <= 1 ? '0-1' : '0-255';
    else if (scale === '0-1' && aboveOne !== undefined) {
      throw new DigitCsvError(
        'MIXED_SCALE',
        `${JSON.stringify(aboveOne.value)} is above 1, but the file's first ${batchSize} images were all 0-1 and it is read as 0-1 floats; use one scale for the whole file.`,
        aboveOne,
      );
    }
    const out = images.subarray(0, inBatch * PIXELS);
    if (scale === '0-255') for (let i = 0; i < out.length; i++) out[i] /= 255;
    const batch: DigitBatch = { images: out, count: inBatch, start, labels, layout: layout!, scale };
    start += inBatch;
    images = new Float32Array(batchSize * PIXELS);
    labels = [];
    inBatch = 0;
    max = 0;
    aboveOne = undefined;
    return batch;
  };

  try {
    for await (const item of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const record = item.record;
      const line = item.info.lines;
      if (record.length > 1 && record[record.length - 1] === '') record.pop();
      records++;
      if (layout === undefined) {
        if (header === undefined && records === 1 && isHeader(record)) {
          header = record;
          headerLine = line;
          continue;
        }
        columns = record.length;
        firstLine = line;
        layout = layoutOf(columns, line);
        if (header !== undefined && header.length !== columns) {
          throw new DigitCsvError('HEADER_MISMATCH', `The header has ${header.length} names but the first data row (row ${line}) has ${columns} values.`, { row: headerLine });
        }
      } else if (record.length !== columns) {
        throw new DigitCsvError(
          'RAGGED_ROWS',
          `This row has ${record.length} values but the first data row (row ${firstLine}) has ${columns}; every row needs the same number.`,
          { row: line },
        );
      }
      rows++;
      if (layout === 'grid') {
        if (rows > SIDE) {
          throw new DigitCsvError('GRID_ROWS', `Rows of 28 values form one 28x28 grid, which needs exactly 28 rows; found more. For several images send one row of 784 values per image.`, { row: line });
        }
        for (let c = 0; c < SIDE; c++) store((rows - 1) * SIDE + c, record[c], line, c + 1);
        if (rows === SIDE) {
          labels.push(null);
          inBatch = 1;
        }
        continue;
      }
      if (rows > maxRows) {
        throw new DigitCsvError('TOO_MANY_IMAGES', `The file has more than ${maxRows} rows; at most ${maxRows} images (one per row, plus a header) are accepted per request.`);
      }
      const first = layout === 'labelled-rows' ? 1 : 0;
      labels.push(first === 1 ? readLabel(record[0], line) : null);
      const base = inBatch * PIXELS - first;
      for (let c = first; c < columns; c++) store(base + c, record[c], line, c + 1);
      inBatch++;
      if (inBatch === batchSize) yield flush();
    }
    await piping;
    if (failure !== undefined) throw failure;
    if (layout === undefined) {
      if (header !== undefined) throw new DigitCsvError('NO_DATA', 'The input has a header row but no data rows.', { row: headerLine });
      throw new DigitCsvError('EMPTY_INPUT', 'The input is empty.');
    }
    if (layout === 'grid' && rows !== SIDE) {
      throw new DigitCsvError('GRID_ROWS', `Rows of 28 values form one 28x28 grid, which needs exactly 28 rows; found ${rows}. For several images send one row of 784 values per image.`);
    }
    if (inBatch > 0) yield flush();
  } catch (error) {
    stop();
    await piping;
    throw failure instanceof DigitCsvError ? failure : csvError(error);
  } finally {
    stop();
    // the pump leaves at its next chunk; what remains of the source is then read and dropped
    void pumping.then(() => {
      if (!source.readableEnded) source.resume();
    });
  }

  function stop(): void {
    if (stopped) return;
    stopped = true;
    wake?.();
    parser.destroy();
    text.destroy();
  }

  function store(at: number, field: string, row: number, column: number): void {
    const value = readIntensity(field, row, column);
    if (value > max) max = value;
    if (value > 1 && aboveOne === undefined) aboveOne = { row, column, value: field };
    images[at] = value;
  }
}

/** csv-parse's own errors (bad quotes) as MALFORMED_CSV; ours pass through. */
function csvError(error: unknown): unknown {
  if (error instanceof DigitCsvError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('CSV_')) {
    const lines = (error as { lines?: unknown }).lines;
    const reason = error instanceof Error ? error.message.replace(/^Invalid /, 'invalid ') : String(error);
    return new DigitCsvError('MALFORMED_CSV', `The CSV could not be read (${reason}).`, typeof lines === 'number' ? { row: lines } : {});
  }
  return error;
}

/** Bytes -> text, refusing a file over maxBytes and the signs of a binary file (control bytes, invalid UTF-8). */
function textCheck(maxBytes: number): Transform {
  const decoder = new TextDecoder('utf-8');
  let bytes = 0;
  let line = 1;
  const check = (chunk: string): string => {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) line++;
      else if ((c < 32 && c !== 9 && c !== 13) || c === 0x7f || c === 0xfffd) {
        const shown = c === 0xfffd ? 'an undecodable byte (not UTF-8 text)' : `the control byte 0x${c.toString(16).padStart(2, '0')}`;
        throw new DigitCsvError('BINARY_INPUT', `The input contains ${shown}; it looks like a binary file, not CSV text.`, { row: line });
      }
    }
    return chunk;
  };
  return new Transform({
    decodeStrings: true,
    readableObjectMode: false,
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (bytes > maxBytes) return done(new DigitCsvError('TOO_MANY_BYTES', `The input is larger than the ${maxBytes}-byte limit.`));
      try {
        done(null, check(decoder.decode(chunk, { stream: true })));
      } catch (error) {
        done(error as Error);
      }
    },
    flush(done) {
      try {
        done(null, check(decoder.decode()));
      } catch (error) {
        done(error as Error);
      }
    },
  });
}
