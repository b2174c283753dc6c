// Images -> CSV text that parseDigitCsv reads back: for tests, tools and the benchmarks.
import { PIXELS } from './limits.js';
import type { Scale } from './parse.js';

export interface FormatOptions {
  /** Write a header row (label,pixel0,...,pixel783). Default false. */
  readonly header?: boolean;
  /** '0-255' writes rounded integers (default); '0-1' writes the floats as they are. */
  readonly scale?: Scale;
}

/** Writes count images (count x 784 in [0, 1]) as CSV, one row each, with a leading label column when labels are given (and not all null). */
export function formatDigitCsv(
  images: Float32Array | readonly number[],
  count: number,
  labels?: readonly (number | null)[],
  options: FormatOptions = {},
): string {
  if (images.length < count * PIXELS) {
    throw new RangeError(`formatDigitCsv: ${count} images need ${count * PIXELS} values; got ${images.length}.`);
  }
  if (labels !== undefined && labels.length !== count) {
    throw new RangeError(`formatDigitCsv: ${count} images but ${labels.length} labels.`);
  }
  // All labels null (as parseDigitCsv returns for unlabelled input) means no label column.
  const labelled = labels !== undefined && labels.some((label) => label !== null);
  if (labelled && labels.some((label) => label === null)) {
    throw new RangeError('formatDigitCsv: either every image has a label or none has.');
  }
  const scale = options.scale ?? '0-255';
  const lines: string[] = [];
  if (options.header === true) {
    const names = Array.from({ length: PIXELS }, (_, i) => `pixel${i}`);
    lines.push((labelled ? ['label', ...names] : names).join(','));
  }
  const fields = new Array<string>(PIXELS);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < PIXELS; i++) {
      const v = Math.min(1, Math.max(0, images[n * PIXELS + i]));
      fields[i] = scale === '0-255' ? String(Math.round(v * 255)) : String(v);
    }
    const row = fields.join(',');
    lines.push(labelled ? `${labels[n]},${row}` : row);
  }
  return `${lines.join('\n')}\n`;
}
