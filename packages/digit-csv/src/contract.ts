// The wire contract of the prediction server, defined once as JSON Schema (TypeBox): the server
// validates and documents with these schemas, and its clients (the web component) take their
// TypeScript types from them with `import type`, which costs them nothing at run time.
import Type, { type Static, type TSchema } from 'typebox';
import { ACCEPTED_JSON } from './pixels.js';
import { PIXELS } from './limits.js';

const nullable = <T extends TSchema>(schema: T, description: string) => Type.Union([schema, Type.Null()], { description });

/** Every 4xx/5xx answer of /predict: what was wrong and what is accepted. */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.String({ description: 'Machine-readable code, e.g. NOT_A_NUMBER, BODY_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, QUEUE_FULL.' }),
    message: Type.String({ description: 'For people: what was wrong (row, column, value) and what is accepted.' }),
    statusCode: Type.Integer(),
    row: Type.Optional(Type.Integer({ description: '1-based line of the CSV (or image of the JSON) where the problem is.' })),
    column: Type.Optional(Type.Integer({ description: '1-based column (field) of that row.' })),
    value: Type.Optional(Type.String({ description: 'The offending value, as sent (shortened).' })),
  },
  { description: 'Every 4xx/5xx answer: what was wrong and what is accepted.' },
);

/** One model's answer for one image. */
export const ModelAnswerSchema = Type.Object({
  digit: Type.Integer({ minimum: 0, maximum: 9 }),
  probabilities: Type.Array(Type.Number(), { minItems: 10, maxItems: 10, description: 'Probability of each digit 0-9; sums to 1.' }),
});

const modelName = Type.Union([Type.Literal('cnn'), Type.Literal('vit')]);
const answerOrNull = nullable(ModelAnswerSchema, "One model's answer; null when that model is unavailable (see `unavailable`).");

/** One model's map of one image, with ?explain=1. */
export const ExplanationMapSchema = Type.Object({
  kind: Type.Union([Type.Literal('saliency'), Type.Literal('attention')], {
    description:
      "saliency (CNN): |d winning logit / d pixel|, scaled by its 99th percentile; attention (ViT): the class token's last-layer attention to each patch (a block of pixels), mean over heads, strongest patch 1.",
  }),
  map: Type.Array(Type.Number({ minimum: 0, maximum: 1 }), { minItems: PIXELS, maxItems: PIXELS, description: '784 weights in [0, 1], row-major 28x28 like the pixels.' }),
});

const mapOrNull = nullable(ExplanationMapSchema, "One model's map of one image; null when that model is unavailable or cannot explain.");

/** One image's entry: in the JSON answer's `predictions`, and each line of an NDJSON answer. */
export const PredictionSchema = Type.Object({
  index: Type.Integer({ description: '0-based position of the image in the input.' }),
  cnn: answerOrNull,
  vit: answerOrNull,
  agree: nullable(Type.Boolean(), 'Whether both models chose the same digit; null when one is unavailable.'),
  uncertain: Type.Boolean({
    description:
      "Whether to distrust this answer: a model's calibrated top probability is under its threshold (the card's `uncertainty.threshold`, chosen on the validation images), or the two models disagree.",
  }),
  lowConfidence: Type.Array(modelName, { description: 'The models whose calibrated top probability is under their threshold.' }),
  label: nullable(Type.Integer(), 'The label column of the CSV, when it had one.'),
  explanation: Type.Optional(
    Type.Object({ cnn: mapOrNull, vit: mapOrNull }, { description: 'Only with ?explain=1: why each model answered as it did, as a map over the image.' }),
  ),
});

/** The JSON answer of POST /predict. */
export const PredictResponseSchema = Type.Object({
  predictions: Type.Array(PredictionSchema, { description: 'One entry per image, in input order.' }),
  count: Type.Integer(),
  input: Type.Object({
    layout: Type.Union([Type.Literal('rows'), Type.Literal('labelled-rows'), Type.Literal('grid')]),
    scale: Type.Union([Type.Literal('0-255'), Type.Literal('0-1')]),
  }),
  timings: Type.Object(
    {
      parseMs: Type.Number({ description: 'Reading and validating the input.' }),
      queueMs: Type.Number({ description: "Waiting in the model queues for a batch to start (summed over a file's batches)." }),
      cnnMs: nullable(Type.Number(), 'Compute time of the CNN batches this request ran in.'),
      vitMs: nullable(Type.Number(), 'Compute time of the ViT batches this request ran in.'),
      totalMs: Type.Number({ description: 'From the request arriving to the answer being ready.' }),
    },
    { description: 'Milliseconds spent on this request, server side.' },
  ),
  models: Type.Object(
    { cnn: nullable(Type.String(), 'Version of the CNN.'), vit: nullable(Type.String(), 'Version of the ViT.') },
    { description: 'Version of each model that answered (null when unavailable).' },
  ),
  unavailable: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Models that could not answer, and why. Absent when both answered.' })),
});

/** The JSON body of POST /predict: pixel arrays. */
export const PixelsBodySchema = Type.Object(
  {
    pixels: Type.Array(
      Type.Array(Type.Number(), { minItems: PIXELS, maxItems: PIXELS, description: 'One image: 784 intensities, row-major 28x28, 0-255 or 0-1.' }),
      { minItems: 1 },
    ),
  },
  { description: ACCEPTED_JSON },
);

/** An Open Inference Protocol v2 error answer. */
export const V2ErrorSchema = Type.Object({ error: Type.String() });

const parameters = Type.Optional(Type.Record(Type.String(), Type.Unknown()));

/** A tensor's description in v2 model metadata. */
export const V2TensorMetadataSchema = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });

/** GET /v2/models/{name}. */
export const V2ModelMetadataSchema = Type.Object({
  name: Type.String(),
  versions: Type.Optional(Type.Array(Type.String())),
  platform: Type.String(),
  inputs: Type.Array(V2TensorMetadataSchema),
  outputs: Type.Array(V2TensorMetadataSchema),
});

/** The body of POST /v2/models/{name}/infer: one input tensor of images. */
export const V2InferRequestSchema = Type.Object({
  id: Type.Optional(Type.String()),
  parameters,
  inputs: Type.Array(
    Type.Object({
      name: Type.String({ description: 'The input tensor; metadata calls it "images".' }),
      shape: Type.Array(Type.Integer({ minimum: 1 }), { description: '[N, 784] or [N, 1, 28, 28] (or [N, 28, 28]).' }),
      datatype: Type.String({ description: 'FP32 (0-1 intensities) or UINT8 (0-255).' }),
      parameters,
      data: Type.Array(Type.Unknown(), { description: 'The values, row-major: flat or nested as the shape.' }),
    }),
    { minItems: 1, maxItems: 1 },
  ),
  outputs: Type.Optional(
    Type.Array(Type.Object({ name: Type.Union([Type.Literal('probabilities'), Type.Literal('digit')]), parameters })),
  ),
});

/** The answer of POST /v2/models/{name}/infer. */
export const V2InferResponseSchema = Type.Object({
  model_name: Type.String(),
  model_version: Type.Optional(Type.String()),
  id: Type.Optional(Type.String()),
  parameters,
  outputs: Type.Array(Type.Object({ name: Type.String(), shape: Type.Array(Type.Integer()), datatype: Type.String(), data: Type.Array(Type.Number()) })),
});

export type ErrorBody = Static<typeof ErrorBodySchema>;
export type ModelAnswer = Static<typeof ModelAnswerSchema>;
export type Prediction = Static<typeof PredictionSchema>;
export type ExplanationMap = Static<typeof ExplanationMapSchema>;
export type PredictResponse = Static<typeof PredictResponseSchema>;
export type PixelsBody = Static<typeof PixelsBodySchema>;
export type V2ModelMetadata = Static<typeof V2ModelMetadataSchema>;
export type V2InferRequest = Static<typeof V2InferRequestSchema>;
export type V2InferResponse = Static<typeof V2InferResponseSchema>;
