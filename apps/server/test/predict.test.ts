// POST /predict on the real weights: every accepted CSV shape, every content type, batches.
import { formatDigitCsv, PIXELS } from '@digitlab/digit-csv';
import { loadClassifier, readCard, uncertaintyThreshold } from '@digitlab/models';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesOf, digitsCsv, expectPredictions, post, shipped, startServer, testDigits, WEIGHTS_DIR, type PredictBody } from './helpers.js';

let app: FastifyInstance;
const digits = testDigits(64);
const one = testDigits(1, 0); // a clear 7

beforeAll(async () => {
  app = await startServer();
});
afterAll(async () => {
  await app.close();
});

/** The digits each model gave, per image (null where the model is unavailable). */
function answers(body: PredictBody): Array<[number | null, number | null]> {
  return body.predictions.map((p) => [p.cnn?.digit ?? null, p.vit?.digit ?? null]);
}

/** A multipart/form-data body holding `text` in `field` (as a file when filename is given). */
function multipart(field: string, text: string, filename?: string): { payload: Buffer; contentType: string } {
  const boundary = '----digitlab-test-boundary';
  const disposition = filename === undefined ? `form-data; name="${field}"` : `form-data; name="${field}"; filename="${filename}"`;
  const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${filename === undefined ? '' : 'Content-Type: text/csv\r\n'}\r\n`;
  return { payload: Buffer.from(`${head}${text}\r\n--${boundary}--\r\n`), contentType: `multipart/form-data; boundary=${boundary}` };
}

describe('POST /predict with the real weights', () => {
  it('answers one image per row of 784 values with both models (or says which is unavailable)', async () => {
    const body = expectPredictions(await post(app, 'text/csv', digitsCsv(one)), 1);
    expect(body.input).toEqual({ layout: 'rows', scale: '0-255' });
    const [p] = body.predictions;
    expect(p.label).toBeNull();
    expect(p.cnn?.digit).toBe(one.labels[0]);
    if (shipped('vit')) {
      expect(p.vit?.digit).toBe(one.labels[0]);
      expect(p.agree).toBe(true);
      expect(body.models.vit).toMatch(/\S/);
      expect(body.timings.vitMs).toBeGreaterThan(0);
      expect(body.unavailable).toBeUndefined();
    } else {
      expect(p.vit).toBeNull();
      expect(p.agree).toBeNull();
      expect(body.unavailable?.vit).toContain('vit');
    }
    expect(body.models.cnn).toMatch(/\S/);
    expect(body.timings.parseMs).toBeGreaterThanOrEqual(0);
    expect(body.timings.totalMs).toBeGreaterThanOrEqual(body.timings.parseMs);
    expect(body.timings.cnnMs).toBeGreaterThan(0);
  });

  it('marks an answer uncertain where a calibrated confidence is under its card threshold or the models disagree, and flags most mistakes', async () => {
    const digits = testDigits(1000);
    const body = expectPredictions(await post(app, 'text/csv', digitsCsv(digits, { labelled: true })), 1000);
    const names = (['cnn', 'vit'] as const).filter((name) => shipped(name));
    const thresholds = Object.fromEntries(names.map((name) => [name, uncertaintyThreshold(readCard(WEIGHTS_DIR, name))]));
    let wrong = 0;
    let wrongFlagged = 0;
    let flagged = 0;
    for (const p of body.predictions) {
      const low = names.filter((name) => Math.max(...p[name]!.probabilities) < thresholds[name]);
      expect(p.lowConfidence).toEqual(low);
      expect(p.uncertain).toBe(p.agree === false || low.length > 0);
      if (p.uncertain) flagged++;
      if (names.some((name) => p[name]!.digit !== p.label)) {
        wrong++;
        if (p.uncertain) wrongFlagged++;
      }
    }
    // the thresholds were chosen on the validation images to catch most errors while flagging few answers
    expect(wrong).toBeGreaterThan(0);
    expect(wrongFlagged / wrong).toBeGreaterThanOrEqual(0.5);
    expect(flagged / body.count).toBeLessThan(0.2);
  });

  it('answers exactly what each classifier itself answers', async () => {
    const body = expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(8))), 8);
    for (const name of ['cnn', 'vit'] as const) {
      if (!shipped(name)) continue;
      const model = await loadClassifier(name, { weightsDir: WEIGHTS_DIR, backend: 'webasm' });
      try {
        const direct = await model.predict(testDigits(8).images, 8);
        body.predictions.forEach((p, i) => {
          const answer = p[name];
          expect(answer).not.toBeNull();
          answer?.probabilities.forEach((prob, d) => expect(prob).toBeCloseTo(direct[i * 10 + d], 4));
        });
      } finally {
        model.close();
      }
    }
  });

  it('reads rows with a leading label and returns the labels; the models get nearly all of 64 test digits right', async () => {
    const body = expectPredictions(await post(app, 'text/csv', digitsCsv(digits, { labelled: true })), 64);
    expect(body.input.layout).toBe('labelled-rows');
    expect(body.predictions.map((p) => p.label)).toEqual(digits.labels);
    const cnnRight = body.predictions.filter((p) => p.cnn?.digit === p.label).length;
    // Loose bounds: the shipped models test at 96-99.6%; these only catch a broken pipeline.
    expect(cnnRight).toBeGreaterThanOrEqual(58);
    if (shipped('vit')) {
      const vitRight = body.predictions.filter((p) => p.vit?.digit === p.label).length;
      expect(vitRight).toBeGreaterThanOrEqual(56);
      for (const p of body.predictions) expect(p.agree).toBe(p.cnn?.digit === p.vit?.digit);
    }
  });

  it('reads a header row (label,pixel0,...,pixel783) and (pixel0,...)', async () => {
    const labelled = expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(3), { labelled: true, header: true })), 3);
    const plain = expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(3), { header: true })), 3);
    expect(answers(labelled)).toEqual(answers(plain));
    expect(labelled.predictions.map((p) => p.label)).toEqual(testDigits(3).labels);
  });

  it('reads a 28x28 grid as one image, with the same answer as the row form', async () => {
    const bytes = bytesOf(one, 0);
    const grid = Array.from({ length: 28 }, (_, y) => bytes.slice(y * 28, y * 28 + 28).join(',')).join('\n');
    const fromGrid = expectPredictions(await post(app, 'text/csv', grid), 1);
    const fromRow = expectPredictions(await post(app, 'text/csv', digitsCsv(one)), 1);
    expect(fromGrid.input.layout).toBe('grid');
    expect(fromGrid.predictions[0].cnn).toEqual(fromRow.predictions[0].cnn);
    expect(fromGrid.predictions[0].vit).toEqual(fromRow.predictions[0].vit);
  });

  it('reads 0-1 floats and gives the same digits as 0-255', async () => {
    const floats = formatDigitCsv(digits.images.subarray(0, 8 * PIXELS), 8, undefined, { scale: '0-1' });
    const body = expectPredictions(await post(app, 'text/csv', floats), 8);
    expect(body.input.scale).toBe('0-1');
    const bytes = expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(8))), 8);
    expect(answers(body)).toEqual(answers(bytes));
  });

  it('gives the same answers for every content type', async () => {
    const csv = digitsCsv(testDigits(4));
    const reference = answers(expectPredictions(await post(app, 'text/csv', csv), 4));
    const variants = [
      await post(app, 'text/csv; charset=utf-8', csv),
      await post(app, 'application/csv', csv),
      await post(app, 'text/plain', csv),
      await post(app, 'application/json', JSON.stringify({ pixels: [0, 1, 2, 3].map((i) => bytesOf(testDigits(4), i)) })),
      await post(app, 'application/json', JSON.stringify({ pixels: [0, 1, 2, 3].map((i) => Array.from(testDigits(4).images.subarray(i * PIXELS, (i + 1) * PIXELS))) })),
    ];
    for (const { payload, contentType } of [multipart('file', csv, 'digits.csv'), multipart('file', csv)]) {
      variants.push(await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload }));
    }
    for (const response of variants) expect(answers(expectPredictions(response, 4))).toEqual(reference);
  });

  it('ignores other multipart fields beside "file"', async () => {
    const boundary = 'b0undary';
    const payload = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\nContent-Type: text/csv\r\n\r\n${digitsCsv(one)}\r\n--${boundary}--\r\n`,
    );
    const response = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
    expectPredictions(response, 1);
  });

  it('keeps input order in a batch of 300 (more than one kernel batch of 256)', async () => {
    const batch = testDigits(300, 100);
    const body = expectPredictions(await post(app, 'text/csv', digitsCsv(batch, { labelled: true })), 300);
    expect(body.predictions.map((p) => p.label)).toEqual(batch.labels);
    const right = body.predictions.filter((p) => p.cnn?.digit === p.label).length;
    expect(right / 300).toBeGreaterThan(0.95);
    // The same image alone gets the same answer as inside the batch.
    const single = testDigits(1, 100 + 299);
    const alone = expectPredictions(await post(app, 'text/csv', digitsCsv(single)), 1);
    expect(alone.predictions[0].cnn?.digit).toBe(body.predictions[299].cnn?.digit);
    alone.predictions[0].cnn?.probabilities.forEach((p, d) => expect(p).toBeCloseTo(body.predictions[299].cnn?.probabilities[d] ?? -1, 4));
  });

  it('sends a Server-Timing header', async () => {
    const response = await post(app, 'text/csv', digitsCsv(one));
    expect(String(response.headers['server-timing'])).toMatch(/parse;dur=[\d.]+, cnn;dur=[\d.]+/);
  });
});
