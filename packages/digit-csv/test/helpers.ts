// Small builders for CSV inputs used across the digit-csv tests.
import { PIXELS } from '../src/index.js';

/** A deterministic 0-255 image: a bar whose position depends on seed, the rest zeros. */
export function imageBytes(seed: number): number[] {
  const pixels = new Array<number>(PIXELS).fill(0);
  for (let y = 4; y < 24; y++) {
    for (let x = 10 + (seed % 5); x < 14 + (seed % 5); x++) pixels[y * 28 + x] = (37 * (seed + 1) + y * 7 + x) % 256;
  }
  pixels[seed % PIXELS] = 255; // at least one value above 1, so the file reads as 0-255
  return pixels;
}

/** One CSV row of an image's values. */
export function row(values: readonly (number | string)[]): string {
  return values.join(',');
}

/** A CSV row with one field replaced. */
export function rowWith(values: readonly number[], index: number, field: string): string {
  const fields: string[] = values.map(String);
  fields[index] = field;
  return fields.join(',');
}

/** The header row label,pixel0,...,pixel783 (or without label). */
export function header(labelled: boolean): string {
  const names = Array.from({ length: PIXELS }, (_, i) => `pixel${i}`);
  return (labelled ? ['label', ...names] : names).join(',');
}

/** An image as 28 CSV rows of 28 values. */
export function grid(values: readonly number[]): string {
  const lines: string[] = [];
  for (let y = 0; y < 28; y++) lines.push(values.slice(y * 28, y * 28 + 28).join(','));
  return lines.join('\n');
}
