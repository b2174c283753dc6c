// The sizes and default limits of digit inputs: one definition for the parsers, the server and the component.

/** Side of an MNIST image. */
export const SIDE = 28;
/** Pixels in one image (28 x 28). */
export const PIXELS = SIDE * SIDE;
/** Default cap on images per in-memory input (parseDigitCsv, digitsFromPixels). */
export const DEFAULT_MAX_IMAGES = 10_000;
/** Default cap on an in-memory input's size in UTF-8 bytes (32 MiB). */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
/** Default cap on data rows of a streamed file: takes MNIST's 60,000-image training set whole. */
export const DEFAULT_STREAM_MAX_ROWS = 100_000;
/** Default cap on a streamed file's size in bytes (256 MiB; MNIST's training set as CSV is ~110 MB). */
export const DEFAULT_STREAM_MAX_BYTES = 256 * 1024 * 1024;
/** Default images per batch a streamed file is cut into. */
export const DEFAULT_STREAM_BATCH = 256;
