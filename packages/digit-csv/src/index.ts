export { SIDE, PIXELS, DEFAULT_MAX_IMAGES, DEFAULT_MAX_BYTES, DEFAULT_STREAM_MAX_ROWS, DEFAULT_STREAM_MAX_BYTES, DEFAULT_STREAM_BATCH } from './limits.js';
export { parseDigitCsv, type ParsedDigits, type ParseOptions, type Layout, type Scale } from './parse.js';
export { digitsFromPixels, ACCEPTED_JSON } from './pixels.js';
export { formatDigitCsv, type FormatOptions } from './format.js';
export { DigitCsvError, ACCEPTED, LIMIT_CODES, type DigitCsvErrorCode, type DigitCsvErrorDetails } from './errors.js';
