import { describe, expect, it } from 'vitest';
import { ACCEPTED_JSON, DigitCsvError, digitsFromPixels, PIXELS } from '../src/index.js';
import { imageBytes } from './helpers.js';

function refuse(pixels: unknown, maxImages?: number): DigitCsvError {
  try {
    digitsFromPixels(pixels, maxImages === undefined ? {} : { maxImages });
  } catch (error) {
    if (error instanceof DigitCsvError) {
      expect(error.message).toContain(ACCEPTED_JSON);
      return error;
    }
    throw error;
  }
  throw new Error('expected digitsFromPixels to throw');
}

describe('digitsFromPixels (JSON input)', () => {
  it('reads 0-255 arrays, scaled to [0, 1]', () => {
    const a = imageBytes(1);
    const b = imageBytes(2);
    const parsed = digitsFromPixels([a, b]);
    expect(parsed).toMatchObject({ count: 2, scale: '0-255', layout: 'rows', labels: [null, null] });
    expect(parsed.images[PIXELS + 300]).toBeCloseTo(b[300] / 255, 7);
  });

  it('reads 0-1 arrays as they are', () => {
    const a = imageBytes(3).map((v) => v / 255);
    const parsed = digitsFromPixels([a]);
    expect(parsed.scale).toBe('0-1');
    expect(Array.from(parsed.images)).toEqual(a.map((v) => Math.fround(v)));
  });

  it('refuses wrong shapes, with the JSON path of the problem', () => {
    expect(refuse('abc').code).toBe('NO_DATA');
    expect(refuse([]).code).toBe('EMPTY_INPUT');
    expect(refuse([5]).message).toMatch(/^pixels\[0\]: Each image must be an array/);
    const short = refuse([imageBytes(1), [1, 2, 3]]);
    expect(short.code).toBe('WRONG_COLUMN_COUNT');
    expect(short.message).toMatch(/^pixels\[1\]: This image has 3 values; expected 784\./);
  });

  it('refuses non-numbers, non-finite, negative and > 255 values', () => {
    const cases: Array<[unknown, string]> = [
      ['7', 'NOT_A_NUMBER'],
      [null, 'NOT_A_NUMBER'],
      [Number.POSITIVE_INFINITY, 'NOT_FINITE'],
      [Number.NaN, 'NOT_FINITE'],
      [-1, 'NEGATIVE'],
      [256, 'ABOVE_255'],
    ];
    for (const [value, code] of cases) {
      const image: unknown[] = imageBytes(4);
      image[17] = value;
      const error = refuse([imageBytes(5), image]);
      expect(error.code).toBe(code);
      expect(error.message.startsWith('pixels[1][17]: ')).toBe(true);
    }
  });

  it('refuses too many images with a limit code', () => {
    const error = refuse([imageBytes(1), imageBytes(2), imageBytes(3)], 2);
    expect(error.code).toBe('TOO_MANY_IMAGES');
    expect(error.isLimit).toBe(true);
  });
});
