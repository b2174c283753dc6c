/**
 * 28x28 intensities -> a small PNG data URL, drawn light-on-dark like the MNIST pictures.
 * Shown scaled up with `image-rendering: pixelated`, so each of the 784 pixels stays visible.
 */
import { PIXELS, SIDE } from '@digitlab/digit-csv';

let scratch: HTMLCanvasElement | null = null;

/** RGB triples for the background (0) and full ink (1); values between are blended. */
export interface DigitPalette {
  background: [number, number, number];
  ink: [number, number, number];
}

export const MNIST_PALETTE: DigitPalette = { background: [15, 23, 42], ink: [255, 255, 255] };

/** A 28x28 PNG data URL of the RGBA pixels `paint` writes (4 bytes a pixel, row-major); '' where a canvas cannot draw. */
export function pixelsToPngUrl(paint: (rgba: Uint8ClampedArray) => void): string {
  scratch ??= document.createElement('canvas');
  scratch.width = SIDE;
  scratch.height = SIDE;
  const ctx = scratch.getContext('2d');
  if (!ctx) return '';
  const image = ctx.createImageData(SIDE, SIDE);
  paint(image.data);
  ctx.putImageData(image, 0, 0);
  return scratch.toDataURL('image/png');
}

/** Image `index` of `images` (784 intensities each, 0-1) as a PNG data URL in `palette`. */
export function digitImageUrl(images: Float32Array, index: number, palette: DigitPalette = MNIST_PALETTE): string {
  const { background: b, ink: k } = palette;
  return pixelsToPngUrl((data) => {
    for (let i = 0; i < PIXELS; i++) {
      const v = Math.min(1, Math.max(0, images[index * PIXELS + i]));
      data[4 * i] = b[0] + (k[0] - b[0]) * v;
      data[4 * i + 1] = b[1] + (k[1] - b[1]) * v;
      data[4 * i + 2] = b[2] + (k[2] - b[2]) * v;
      data[4 * i + 3] = 255;
    }
  });
}
