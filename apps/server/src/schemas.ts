// The route schemas: the wire contract's (@digitlab/digit-csv/contract, shared with the web
// component) registered under the names the routes refer to, and the bodies only the OpenAPI
// page describes.
import { ACCEPTED } from '@digitlab/digit-csv';
import { ErrorBodySchema, PredictionSchema, PredictResponseSchema } from '@digitlab/digit-csv/contract';

export { PixelsBodySchema as pixelsBodySchema } from '@digitlab/digit-csv/contract';

export const errorSchema = { $id: 'Error', ...ErrorBodySchema };
/** One image's entry: in the JSON answer's `predictions`, and each line of an NDJSON answer. */
export const predictionSchema = { $id: 'Prediction', ...PredictionSchema };
export const predictResponseSchema = { $id: 'PredictResponse', ...PredictResponseSchema };

export const csvBodySchema = {
  type: 'string',
  description: ACCEPTED,
  examples: ['7,0,0,0,...(the label, then 784 pixel values)'],
} as const;

export const multipartBodySchema = {
  type: 'object',
  description: 'A CSV file uploaded in the form field `file` (same shapes as text/csv).',
  properties: { file: { type: 'string', format: 'binary' } },
} as const;
