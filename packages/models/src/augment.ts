import { SIDE } from '@digitlab/digit-csv';
import type { Rng } from '@digitlab/tensor';

/** Rotation and scaling pivot: the centre of the 28×28 grid (pixel centres at 0..27). */
const CENTRE = (SIDE - 1) / 2;

/**
 * Random affine augmentation of each training image: rotation by up to ±`rotate` degrees,
 * isotropic scale by a factor in [1 − scale, 1 + scale], shift by up to ±`shift` pixels on each
 * axis; bilinear sampling, zeros outside the source image.
 */
export interface AugmentConfig {
  readonly rotate: number;
  readonly scale: number;
  readonly shift: number;
}

/** One image's transform: output pixel p samples the source at centre + R(−angle)·(p − centre − (dx, dy)) / scale. */
export interface AffineParams {
  /** Counter-clockwise as the image is displayed (y grows downwards), in radians. */
  readonly angle: number;
  readonly scale: number;
  readonly dx: number;
  readonly dy: number;
}

/** The identity transform. */
export const IDENTITY: AffineParams = { angle: 0, scale: 1, dx: 0, dy: 0 };

/**
 * True when the config is the whole-pixel shift augmentation (no rotation, no scaling, an
 * integer shift): that case moves pixels without resampling and draws exactly two integers per
 * image, so presets written as `augmentShift` train exactly as they always have.
 */
export function isShiftOnly(a: AugmentConfig): boolean {
  return a.rotate === 0 && a.scale === 0 && Number.isInteger(a.shift);
}

/** Draws one image's transform from the run's generator (angle, scale, dx, dy in that order). */
export function drawAffine(a: AugmentConfig, rng: Rng): AffineParams {
  const angle = ((2 * rng.uniform() - 1) * a.rotate * Math.PI) / 180;
  const scale = 1 + (2 * rng.uniform() - 1) * a.scale;
  const dx = (2 * rng.uniform() - 1) * a.shift;
  const dy = (2 * rng.uniform() - 1) * a.shift;
  return { angle, scale, dx, dy };
}

/** Writes the 28×28 image `src` (at srcOffset) transformed by `p` into `dst` (at dstOffset), bilinear, zero fill. */
export function affineWarp(src: ArrayLike<number>, srcOffset: number, dst: Float32Array, dstOffset: number, p: AffineParams): void {
  // inverse map: rotate by −angle in display coordinates (x right, y down) and divide by the scale
  const c = Math.cos(p.angle) / p.scale;
  const s = Math.sin(p.angle) / p.scale;
  const at = (xx: number, yy: number): number => (xx >= 0 && xx < SIDE && yy >= 0 && yy < SIDE ? src[srcOffset + yy * SIDE + xx] : 0);
  for (let y = 0; y < SIDE; y++) {
    const ry = y - CENTRE - p.dy;
    for (let x = 0; x < SIDE; x++) {
      const rx = x - CENTRE - p.dx;
      // a counter-clockwise turn on screen is (x, y) -> (x cos + y sin, −x sin + y cos) with y down
      const sx = CENTRE + c * rx - s * ry;
      const sy = CENTRE + s * rx + c * ry;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      let v = 0;
      if (x0 >= -1 && x0 < SIDE && y0 >= -1 && y0 < SIDE) {
        v = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
      dst[dstOffset + y * SIDE + x] = v;
    }
  }
}

/** Moves the image by whole pixels (dx right, dy down), zeros filling in; dst must be zeroed. */
export function shiftImage(src: Float32Array, srcOffset: number, dst: Float32Array, dstOffset: number, dx: number, dy: number): void {
  for (let y = 0; y < SIDE; y++) {
    const sy = y - dy;
    if (sy < 0 || sy >= SIDE) continue;
    const x0 = Math.max(0, dx);
    const x1 = Math.min(SIDE, SIDE + dx);
    dst.set(src.subarray(srcOffset + sy * SIDE + x0 - dx, srcOffset + sy * SIDE + x1 - dx), dstOffset + y * SIDE + x0);
  }
}
