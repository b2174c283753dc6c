// Pixel arrays (as sent in JSON: {"pixels": [[784 numbers], ...]}) -> the same validated images
// and the same scale rule as CSV input.
import { DigitCsvError, quote } from './errors.js';
import { DEFAULT_MAX_IMAGES, PIXELS } from './limits.js';
import type { ParsedDigits, Scale } from './parse.js';

/** What JSON input accepts, quoted at the end of its error messages. */
export const ACCEPTED_JSON =
  'Accepted: {"pixels": [[784 numbers], ...]}: one array of 784 intensities (a row-major 28x28 image) per image, ' +
  'values 0-255, or 0-1 floats.';

/** Validates arrays of 784 intensities (0-255, or 0-1 when every value is <= 1) into images in [0, 1]. */
export function digitsFromPixels(pixels: unknown, options: { maxImages?: number } = {}): ParsedDigits {
  const maxImages = options.maxImages ?? DEFAULT_MAX_IMAGES;
  const fail = (code: ConstructorParameters<typeof DigitCsvError>[0], problem: string, location?: string): never => {
    throw new DigitCsvError(code, problem, location === undefined ? {} : { location }, ACCEPTED_JSON);
  };
  if (!Array.isArray(pixels)) return fail('NO_DATA', '"pixels" must be an array of images.');
  if (pixels.length === 0) return fail('EMPTY_INPUT', '"pixels" holds no images.');
  if (pixels.length > maxImages) {
    return fail('TOO_MANY_IMAGES', `"pixels" holds ${pixels.length} images; at most ${maxImages} are accepted per request.`);
  }
  const count = pixels.length;
  const images = new Float32Array(count * PIXELS);
  let max = 0;
  for (let i = 0; i < count; i++) {
    const image: unknown = pixels[i];
    if (!Array.isArray(image)) return fail('WRONG_COLUMN_COUNT', 'Each image must be an array of 784 numbers.', `pixels[${i}]`);
    if (image.length !== PIXELS) {
      return fail('WRONG_COLUMN_COUNT', `This image has ${image.length} values; expected 784.`, `pixels[${i}]`);
    }
    for (let j = 0; j < PIXELS; j++) {
      const value: unknown = image[j];
      const at = `pixels[${i}][${j}]`;
      if (typeof value !== 'number') {
        const shown = quote(JSON.stringify(value) ?? String(value));
        return fail('NOT_A_NUMBER', `${shown} is not a number; pixel intensities must be numbers.`, at);
      }
      if (!Number.isFinite(value)) return fail('NOT_FINITE', `${value} is not a finite number.`, at);
      if (value < 0) return fail('NEGATIVE', `${value} is negative; intensities cannot be below 0.`, at);
      if (value > 255) return fail('ABOVE_255', `${value} is above 255, the largest intensity.`, at);
      if (value > max) max = value;
      images[i * PIXELS + j] = value;
    }
  }
  const scale: Scale = max <= 1 ? '0-1' : '0-255';
  if (scale === '0-255') for (let k = 0; k < images.length; k++) images[k] /= 255;
  return { images, count, labels: new Array<number | null>(count).fill(null), layout: 'rows', scale };
}
