/**
 * Turns a drawing into a 28x28 image the way the MNIST digits were made (LeCun et al.):
 * crop to the ink, scale the longer side to 20 px keeping the aspect ratio (with
 * anti-aliasing), then place it in a 28x28 field so that its centre of mass sits on the centre
 * pixel (14, 14).
 *
 * Pure functions, no DOM: they run in Node tests and in the browser alike.
 */
import { SIDE } from '@digitlab/digit-csv';

/** A greyscale raster: `data[y * width + x]` is the ink at (x, y), 0 (none) to 1 (full). */
export interface InkImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** What `ImageData` looks like: RGBA bytes, row-major. */
export interface ImageDataLike {
  readonly data: Uint8ClampedArray | Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface MnistPreprocessOptions {
  /** Side of the output image (MNIST: 28). */
  size?: number;
  /** Side of the box the longer side of the ink is scaled to (MNIST: 20). */
  box?: number;
  /** Ink at or below this level counts as background when finding the bounding box. */
  threshold?: number;
  /** Scale the result so that its brightest pixel is 1 (MNIST digits nearly all reach 255). */
  normalize?: boolean;
}

/** Side of the image the models take (digit-csv's `SIDE`). */
export const MNIST_SIZE = SIDE;
export const MNIST_BOX = 20;

/**
 * Reads the ink of an RGBA raster. `alpha` suits a canvas drawn with an opaque pen on a
 * transparent background; `luminance-inverted` suits dark ink on a white background.
 */
export function inkFromImageData(
  image: ImageDataLike,
  mode: 'alpha' | 'luminance-inverted' = 'alpha',
): InkImage {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) {
    throw new RangeError(`expected ${width * height * 4} RGBA bytes for ${width}x${height}, got ${data.length}`);
  }
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) {
    const r = data[4 * i], g = data[4 * i + 1], b = data[4 * i + 2], a = data[4 * i + 3];
    if (mode === 'alpha') {
      ink[i] = a / 255;
    } else {
      const luminance = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
      ink[i] = (1 - luminance) * (a / 255);
    }
  }
  return { data: ink, width, height };
}

/** The smallest rectangle holding every pixel with ink above `threshold`, or null if there is none. */
export function inkBounds(
  image: InkImage,
  threshold = 0,
): { x: number; y: number; width: number; height: number } | null {
  const { data, width, height } = image;
  let minX = width, minY = height, maxX = -1, maxY = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (data[row + x] > threshold) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return null;
  return { x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1 };
}

/**
 * Resamples the `src` rectangle of `image` to `outWidth` x `outHeight` by area averaging:
 * each output pixel is the mean of the source area it covers, counting partly covered pixels
 * by their covered fraction. That anti-aliases when shrinking and is a box filter when growing.
 */
export function resampleArea(
  image: InkImage,
  src: { x: number; y: number; width: number; height: number },
  outWidth: number,
  outHeight: number,
): Float32Array {
  const out = new Float32Array(outWidth * outHeight);
  const sx = src.width / outWidth;
  const sy = src.height / outHeight;
  const xEnd = src.x + src.width, yEnd = src.y + src.height; // never read outside `src`
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = src.y + oy * sy, y1 = y0 + sy;
    for (let ox = 0; ox < outWidth; ox++) {
      const x0 = src.x + ox * sx, x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), yEnd); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        if (wy <= 0) continue;
        const row = y * image.width;
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), xEnd); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          if (wx <= 0) continue;
          sum += image.data[row + x] * wx * wy;
        }
      }
      out[oy * outWidth + ox] = sum / (sx * sy);
    }
  }
  return out;
}

/** Centre of mass (x, y) of a `width`-wide raster, in pixel units with pixel centres at +0.5. */
export function centreOfMass(data: Float32Array, width: number): { x: number; y: number } | null {
  let total = 0, sx = 0, sy = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === 0) continue;
    const x = i % width, y = (i - x) / width;
    total += v;
    sx += v * (x + 0.5);
    sy += v * (y + 0.5);
  }
  return total > 0 ? { x: sx / total, y: sy / total } : null;
}

/**
 * The MNIST recipe. Returns `size * size` values in [0, 1], row-major, or null when the input
 * has no ink at all.
 *
 * The shift that centres the mass is rounded to whole pixels, and clamped so the scaled digit
 * stays inside the field (MNIST's own digits never needed the clamp; a lopsided drawing might).
 */
export function mnistPreprocess(image: InkImage, options: MnistPreprocessOptions = {}): Float32Array | null {
  const size = options.size ?? MNIST_SIZE;
  const box = options.box ?? MNIST_BOX;
  const threshold = options.threshold ?? 0;
  const normalize = options.normalize ?? true;
  if (image.data.length !== image.width * image.height) {
    throw new RangeError(`expected ${image.width * image.height} values for ${image.width}x${image.height}, got ${image.data.length}`);
  }
  if (!(box > 0 && box <= size)) throw new RangeError(`box (${box}) must be in 1..size (${size})`);

  const bounds = inkBounds(image, threshold);
  if (!bounds) return null;

  // 1. Scale the longer side to `box`, keeping the aspect ratio.
  const scale = box / Math.max(bounds.width, bounds.height);
  const w = Math.max(1, Math.min(box, Math.round(bounds.width * scale)));
  const h = Math.max(1, Math.min(box, Math.round(bounds.height * scale)));
  const digit = resampleArea(image, bounds, w, h);

  // 2. Put its centre of mass on the centre pixel, (14, 14) for MNIST. In the coordinates of
  //    `centreOfMass` that pixel's middle is at 14.5; MNIST's own test digits average there.
  const com = centreOfMass(digit, w) ?? { x: w / 2, y: h / 2 };
  const target = Math.floor(size / 2) + 0.5;
  const left = clamp(Math.round(target - com.x), 0, size - w);
  const top = clamp(Math.round(target - com.y), 0, size - h);
  const out = new Float32Array(size * size);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      out[(top + y) * size + left + x] = digit[y * w + x];
    }
  }

  // 3. Clean up: clip rounding noise into [0, 1] and (optionally) stretch to full intensity.
  let max = 0;
  for (let i = 0; i < out.length; i++) {
    const v = Math.min(1, Math.max(0, out[i]));
    out[i] = v;
    if (v > max) max = v;
  }
  if (normalize && max > 0 && max < 1) {
    for (let i = 0; i < out.length; i++) out[i] /= max;
  }
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
