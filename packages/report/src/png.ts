import { deflateSync } from 'node:zlib';
import { PIXELS, SIDE } from '@digitlab/digit-csv';

/**
 * A minimal PNG encoder (8-bit grayscale or RGB, no interlace, filter 0 on every row), enough
 * for 28×28 digits and heat maps inlined as data URLs: the report needs no image library.
 */

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309) as PNG chunks use it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes width × height pixels: `channels` 1 (gray) or 3 (RGB) bytes per pixel, row-major.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Uint8Array {
  if (pixels.length !== width * height * channels) throw new RangeError(`encodePng: ${width}×${height}×${channels} needs ${width * height * channels} bytes, got ${pixels.length}`);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = channels === 1 ? 0 : 2; // color type: gray or truecolor
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const parts = [SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A PNG as a data: URL for an <img src>. */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** A 28×28 digit (values in [0, 1]) as a grayscale PNG data URL, white strokes on black as in MNIST. */
export function digitPng(image: Float32Array): string {
  const px = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) px[i] = Math.round(Math.min(1, Math.max(0, image[i])) * 255);
  return pngDataUrl(encodePng(px, SIDE, SIDE, 1));
}

/** Colour ramp for heat (0 → transparent-ish dark violet, 1 → pale yellow), as [r, g, b] in 0–255. */
const RAMP: ReadonlyArray<readonly [number, number, number]> = [
  [20, 11, 52],
  [120, 28, 109],
  [203, 70, 71],
  [246, 140, 30],
  [252, 255, 164],
];

/** The ramp's colour at t in [0, 1]. */
export function heatColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i];
  const b = RAMP[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/**
 * The digit (dimmed gray) with a heat map (28×28, values in [0, 1]) blended over it, as an RGB
 * PNG data URL: strong heat replaces the pixel by the ramp colour, weak heat lets the digit show.
 */
export function overlayPng(image: Float32Array, heat: Float32Array): string {
  const px = new Uint8Array(PIXELS * 3);
  for (let i = 0; i < PIXELS; i++) {
    const g = Math.min(1, Math.max(0, image[i])) * 150;
    const h = Math.min(1, Math.max(0, heat[i]));
    const [r, gg, b] = heatColor(h);
    const a = 0.15 + 0.8 * h;
    px[i * 3] = Math.round(g * (1 - a) + r * a);
    px[i * 3 + 1] = Math.round(g * (1 - a) + gg * a);
    px[i * 3 + 2] = Math.round(g * (1 - a) + b * a);
  }
  return pngDataUrl(encodePng(px, SIDE, SIDE, 3));
}
