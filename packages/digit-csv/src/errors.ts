/** What digit-csv accepts, quoted at the end of every error message. */
export const ACCEPTED =
  'Accepted: one image per row of 784 values; 785 values per row with a leading label 0-9; ' +
  'or one 28x28 grid (28 rows of 28 values); an optional header row (e.g. label,pixel0,...,pixel783); ' +
  'comma-separated intensities 0-255, or 0-1 floats.';

/** Every way an input can be refused. */
export type DigitCsvErrorCode =
  | 'EMPTY_INPUT'
  | 'BINARY_INPUT'
  | 'MALFORMED_CSV'
  | 'NO_DATA'
  | 'WRONG_COLUMN_COUNT'
  | 'RAGGED_ROWS'
  | 'GRID_ROWS'
  | 'HEADER_MISMATCH'
  | 'NOT_A_NUMBER'
  | 'NOT_FINITE'
  | 'NEGATIVE'
  | 'ABOVE_255'
  | 'BAD_LABEL'
  | 'MIXED_SCALE'
  | 'TOO_MANY_BYTES'
  | 'TOO_MANY_IMAGES';

/** Codes that mean "too large" rather than "malformed" (a server answers 413 for these). */
export const LIMIT_CODES: ReadonlySet<DigitCsvErrorCode> = new Set(['TOO_MANY_BYTES', 'TOO_MANY_IMAGES']);

export interface DigitCsvErrorDetails {
  /** 1-based line of the input, as a person counts lines. */
  readonly row?: number;
  /** 1-based column (field) within the row. */
  readonly column?: number;
  /** The offending value, as written in the input (shortened when long). */
  readonly value?: string;
  /** Where, in words, when rows and columns are not the input's terms (e.g. "pixels[2][17]"). */
  readonly location?: string;
}

/** A refused input: `message` says what was wrong, where, and what is accepted. */
export class DigitCsvError extends Error {
  readonly code: DigitCsvErrorCode;
  readonly row?: number;
  readonly column?: number;
  readonly value?: string;

  constructor(code: DigitCsvErrorCode, problem: string, details: DigitCsvErrorDetails = {}, accepted: string = ACCEPTED) {
    super(`${where(details)}${problem} ${accepted}`);
    this.name = 'DigitCsvError';
    this.code = code;
    if (details.row !== undefined) this.row = details.row;
    if (details.column !== undefined) this.column = details.column;
    if (details.value !== undefined) this.value = details.value;
  }

  /** True when the input was refused for its size (bytes or images), not its content. */
  get isLimit(): boolean {
    return LIMIT_CODES.has(this.code);
  }
}

function where({ row, column, location }: DigitCsvErrorDetails): string {
  if (location !== undefined) return `${location}: `;
  if (row !== undefined && column !== undefined) return `Row ${row}, column ${column}: `;
  if (row !== undefined) return `Row ${row}: `;
  return '';
}

/** Quotes a value for a message, shortened so an error never echoes a megabyte back. */
export function quote(value: string, max = 40): string {
  const shown = value.length > max ? `${value.slice(0, max)}...` : value;
  return JSON.stringify(shown);
}
