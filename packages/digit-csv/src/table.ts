// Text -> records of trimmed fields, each with its 1-based input line. Quoted CSV goes through
// csv-parse (its browser ESM build, which runs in Node too, so one import serves server and
// element). Text without a single quote character, which is what digit files are, takes a plain
// split that reads the same records without the parser's per-character state machine;
// test/table.test.ts holds the two to the same answers.
import { parse } from 'csv-parse/browser/esm/sync';
import { DigitCsvError } from './errors.js';

export interface Table {
  /** Fields per record, trimmed; a trailing empty field (from a trailing delimiter) dropped. */
  readonly records: string[][];
  /** 1-based input line of each record. */
  readonly lines: number[];
}

export type Engine = 'auto' | 'csv-parse' | 'split';

/** Splits text into records; blank records are skipped. 'auto' uses split unless the text has quotes. */
export function readTable(text: string, engine: Engine = 'auto'): Table {
  const delimiter = delimiterOf(text);
  const useCsvParse = engine === 'csv-parse' || (engine === 'auto' && text.includes('"'));
  const table = useCsvParse ? withCsvParse(text, delimiter) : withSplit(text, delimiter);
  for (const record of table.records) {
    if (record.length > 1 && record[record.length - 1] === '') record.pop();
  }
  return table;
}

function withCsvParse(text: string, delimiter: string): Table {
  const lines: number[] = [];
  try {
    const records = parse(text, {
      delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      relax_column_count: true,
      on_record: (record: string[], context: { lines: number }) => {
        lines.push(context.lines);
        return record;
      },
    });
    return { records, lines };
  } catch (error) {
    const line = lineOf(error);
    const reason = error instanceof Error ? error.message.replace(/^Invalid /, 'invalid ') : String(error);
    throw new DigitCsvError('MALFORMED_CSV', `The CSV could not be read (${reason}).`, line === undefined ? {} : { row: line });
  }
}

function withSplit(text: string, delimiter: string): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const rawLines = body.split(/\r\n|\n|\r/);
  const records: string[][] = [];
  const lines: number[] = [];
  for (let i = 0; i < rawLines.length; i++) {
    const fields = rawLines[i].split(delimiter);
    let empty = true;
    for (let f = 0; f < fields.length; f++) {
      fields[f] = fields[f].trim();
      if (fields[f] !== '') empty = false;
    }
    if (empty) continue;
    records.push(fields);
    lines.push(i + 1);
  }
  return { records, lines };
}

function lineOf(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'lines' in error && typeof error.lines === 'number') return error.lines;
  return undefined;
}

/** The delimiter of the first non-blank line: comma, else tab, else semicolon. */
export function delimiterOf(text: string): string {
  const match = /[^\s][^\n]*/.exec(text);
  const firstLine = match === null ? '' : match[0];
  if (firstLine.includes(',')) return ',';
  if (firstLine.includes('\t')) return '\t';
  if (firstLine.includes(';')) return ';';
  return ',';
}
