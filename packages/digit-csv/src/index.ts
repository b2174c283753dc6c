export {
  parseDigitCsv,
  SIDE,
  PIXELS,
  DEFAULT_MAX_IMAGES,
  DEFAULT_MAX_BYTES,
  type ParsedDigits,
  type ParseOptions,
  type Layout,
  type Scale,
} from './parse.js';
export { digitsFromPixels, ACCEPTED_JSON } from './pixels.js';
export { formatDigitCsv, type FormatOptions } from './format.js';
export { DigitCsvError, ACCEPTED, LIMIT_CODES, type DigitCsvErrorCode, type DigitCsvErrorDetails } from './errors.js';
