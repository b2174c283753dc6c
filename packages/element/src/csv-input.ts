/**
 * Reads a chosen or dropped CSV file and checks it with `@digitlab/digit-csv` before anything is
 * sent, so a bad file is explained at once, in the same words the server would use.
 */
import { DigitCsvError, parseDigitCsv, type ParsedDigits } from '@digitlab/digit-csv';

export interface CsvLimits {
  maxImages: number;
  maxBytes: number;
}

/** A file that can be sent: its text (sent as is) and its images (for the previews). */
export interface ReadCsv extends ParsedDigits {
  text: string;
  name: string;
}

/** A refused file: `message` says what is wrong, `hint` what would be accepted. */
export class CsvProblem extends Error {
  readonly hint: string | undefined;
  readonly code: string;

  constructor(message: string, code: string, hint?: string) {
    super(message);
    this.name = 'CsvProblem';
    this.code = code;
    this.hint = hint;
  }
}

/** Anything with a name, a size and text: a `File`, or a stand-in in tests. */
export interface TextSource {
  readonly name: string;
  readonly size: number;
  text(): Promise<string>;
}

export async function readCsvFile(file: TextSource, limits: CsvLimits): Promise<ReadCsv> {
  if (file.size > limits.maxBytes) {
    throw new CsvProblem(
      `"${file.name}" is ${formatBytes(file.size)}; this page accepts files up to ${formatBytes(limits.maxBytes)}.`,
      'TOO_MANY_BYTES',
      'Split the file into smaller ones, or send it to the server directly.',
    );
  }
  let text: string;
  try {
    text = await file.text();
  } catch {
    throw new CsvProblem(`"${file.name}" could not be read. Was it moved or deleted?`, 'UNREADABLE');
  }
  return { ...checkCsvText(text, limits), text, name: file.name };
}

/** Parses CSV text with digit-csv, turning its errors into a message and a hint. */
export function checkCsvText(text: string, limits: CsvLimits): ParsedDigits {
  try {
    return parseDigitCsv(text, { maxImages: limits.maxImages, maxBytes: limits.maxBytes });
  } catch (error) {
    if (error instanceof DigitCsvError) {
      const { message, hint } = splitAccepted(error.message);
      throw new CsvProblem(message, error.code, hint);
    }
    throw error;
  }
}

/** digit-csv ends its messages with "Accepted: ..."; show that part apart, as a hint. */
export function splitAccepted(message: string): { message: string; hint: string | undefined } {
  const at = message.indexOf(' Accepted:');
  if (at < 0) return { message, hint: undefined };
  return { message: message.slice(0, at).trim(), hint: message.slice(at + 1).trim() };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
