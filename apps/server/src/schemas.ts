// JSON schemas of the routes: they validate input, shape (and speed up) output, and feed the OpenAPI docs.
import { ACCEPTED, ACCEPTED_JSON, PIXELS } from '@digitlab/digit-csv';

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  description: 'Every 4xx/5xx answer: what was wrong and what is accepted.',
  required: ['error', 'message', 'statusCode'],
  properties: {
    error: { type: 'string', description: 'Machine-readable code, e.g. NOT_A_NUMBER, BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE.' },
    message: { type: 'string', description: 'For people: what was wrong (row, column, value) and what is accepted.' },
    statusCode: { type: 'integer' },
    row: { type: 'integer', description: '1-based line of the CSV (or image of the JSON) where the problem is.' },
    column: { type: 'integer', description: '1-based column (field) of that row.' },
    value: { type: 'string', description: 'The offending value, as sent (shortened).' },
  },
} as const;

const probabilities = {
  type: 'array',
  items: { type: 'number' },
  minItems: 10,
  maxItems: 10,
  description: 'Probability of each digit 0-9; sums to 1.',
} as const;

const answer = {
  type: ['object', 'null'],
  description: "One model's answer; null when that model is unavailable (see `unavailable`).",
  required: ['digit', 'probabilities'],
  properties: { digit: { type: 'integer', minimum: 0, maximum: 9 }, probabilities },
} as const;

const explanationMap = {
  type: ['object', 'null'],
  description: "One model's map of one image; null when that model is unavailable.",
  required: ['kind', 'map'],
  properties: {
    kind: {
      type: 'string',
      enum: ['saliency', 'attention'],
      description: "saliency (CNN): |d winning logit / d pixel|, scaled by its 99th percentile; attention (ViT): the class token's last-layer attention to each patch (a block of pixels), mean over heads, strongest patch 1.",
    },
    map: { type: 'array', items: { type: 'number', minimum: 0, maximum: 1 }, minItems: PIXELS, maxItems: PIXELS, description: '784 weights in [0, 1], row-major 28x28 like the pixels.' },
  },
} as const;

/** One image's entry: in the JSON answer's `predictions`, and each line of an NDJSON answer. */
export const predictionSchema = {
  $id: 'Prediction',
  type: 'object',
  required: ['index', 'cnn', 'vit', 'agree', 'uncertain', 'lowConfidence', 'label'],
  properties: {
    index: { type: 'integer', description: '0-based position of the image in the input.' },
    cnn: answer,
    vit: answer,
    agree: { type: ['boolean', 'null'], description: 'Whether both models chose the same digit; null when one is unavailable.' },
    uncertain: {
      type: 'boolean',
      description: "Whether to distrust this answer: a model's calibrated top probability is under its threshold (the card's `uncertainty.threshold`, chosen on the validation images), or the two models disagree.",
    },
    lowConfidence: { type: 'array', items: { type: 'string', enum: ['cnn', 'vit'] }, description: 'The models whose calibrated top probability is under their threshold.' },
    label: { type: ['integer', 'null'], description: 'The label column of the CSV, when it had one.' },
    explanation: {
      type: 'object',
      description: 'Only with ?explain=1: why each model answered as it did, as a map over the image.',
      required: ['cnn', 'vit'],
      properties: { cnn: explanationMap, vit: explanationMap },
    },
  },
} as const;

export const predictResponseSchema = {
  $id: 'PredictResponse',
  type: 'object',
  required: ['predictions', 'count', 'timings', 'models', 'input'],
  properties: {
    predictions: { type: 'array', description: 'One entry per image, in input order.', items: { $ref: 'Prediction#' } },
    count: { type: 'integer' },
    input: {
      type: 'object',
      required: ['layout', 'scale'],
      properties: {
        layout: { type: 'string', enum: ['rows', 'labelled-rows', 'grid'] },
        scale: { type: 'string', enum: ['0-255', '0-1'] },
      },
    },
    timings: {
      type: 'object',
      description: 'Milliseconds spent on this request, server side.',
      required: ['parseMs', 'cnnMs', 'vitMs', 'totalMs'],
      properties: {
        parseMs: { type: 'number', description: 'Reading and validating the input.' },
        queueMs: { type: 'number', description: 'Waiting in the model queues for a batch to start (summed over a file\'s batches).' },
        cnnMs: { type: ['number', 'null'], description: 'Compute time of the CNN batches this request ran in.' },
        vitMs: { type: ['number', 'null'], description: 'Compute time of the ViT batches this request ran in.' },
        totalMs: { type: 'number', description: 'From the request arriving to the answer being ready.' },
      },
    },
    models: {
      type: 'object',
      description: 'Version of each model that answered (null when unavailable).',
      required: ['cnn', 'vit'],
      properties: { cnn: { type: ['string', 'null'] }, vit: { type: ['string', 'null'] } },
    },
    unavailable: {
      type: 'object',
      description: 'Models that could not answer, and why. Absent when both answered.',
      additionalProperties: { type: 'string' },
    },
  },
} as const;

export const pixelsBodySchema = {
  type: 'object',
  required: ['pixels'],
  description: ACCEPTED_JSON,
  properties: {
    pixels: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'array',
        minItems: PIXELS,
        maxItems: PIXELS,
        items: { type: 'number' },
        description: 'One image: 784 intensities, row-major 28x28, 0-255 or 0-1.',
      },
    },
  },
} as const;

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
