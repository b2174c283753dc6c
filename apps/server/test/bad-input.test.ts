// A battery of bad inputs: each gets the right 4xx and a message naming what was wrong and what is
// accepted; none is a 500, and the server answers normally afterwards.
import { ACCEPTED, ACCEPTED_JSON } from '@digitlab/digit-csv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCEPTED_TYPES } from '../src/index.js';
import { bytesOf, digitsCsv, expectError, expectPredictions, post, startServer, testDigits } from './helpers.js';

let app: FastifyInstance;
const one = testDigits(1);
const good = bytesOf(one, 0);
const row = good.join(',');

/** The good row with field `index` (0-based) replaced. */
function rowWith(index: number, field: string): string {
  const fields = good.map(String);
  fields[index] = field;
  return fields.join(',');
}

beforeAll(async () => {
  app = await startServer({ maxImages: 50, bodyLimit: 512 * 1024, fileMaxRows: 50, fileBodyLimit: 512 * 1024 });
});
afterAll(async () => {
  await app.close();
});

describe('bad CSV input: 400 with row, column, value and what is accepted', () => {
  const cases: Array<{ name: string; body: string | Buffer; code: string; row?: number; column?: number; value?: string; says: string[] }> = [
    { name: 'empty body', body: '', code: 'EMPTY_INPUT', says: ['empty'] },
    { name: 'blank lines only', body: '\n \r\n\n', code: 'EMPTY_INPUT', says: ['empty'] },
    { name: 'too few values', body: good.slice(0, 500).join(','), code: 'WRONG_COLUMN_COUNT', row: 1, says: ['Found 500 values', 'expected 784'] },
    { name: 'too many values', body: `${row},1,2`, code: 'WRONG_COLUMN_COUNT', row: 1, says: ['Found 786 values'] },
    { name: 'a ragged row', body: `${row}\n${row}\n${good.slice(0, 783).join(',')}`, code: 'RAGGED_ROWS', row: 3, says: ['783 values', 'has 784'] },
    { name: 'a grid of 27 rows', body: Array.from({ length: 27 }, () => good.slice(0, 28).join(',')).join('\n'), code: 'GRID_ROWS', says: ['found 27'] },
    { name: 'a non-number', body: `${row}\n${rowWith(40, 'abc')}`, code: 'NOT_A_NUMBER', row: 2, column: 41, value: 'abc', says: ['"abc" is not a number'] },
    { name: 'an empty value', body: rowWith(3, ''), code: 'NOT_A_NUMBER', row: 1, column: 4, value: '', says: ['empty'] },
    { name: 'NaN', body: rowWith(100, 'NaN'), code: 'NOT_FINITE', row: 1, column: 101, value: 'NaN', says: ['not a finite number'] },
    { name: 'Infinity', body: rowWith(5, 'Infinity'), code: 'NOT_FINITE', row: 1, column: 6, value: 'Infinity', says: ['not a finite number'] },
    { name: 'a negative', body: rowWith(200, '-5'), code: 'NEGATIVE', row: 1, column: 201, value: '-5', says: ['negative'] },
    { name: 'a value above 255', body: rowWith(783, '256'), code: 'ABOVE_255', row: 1, column: 784, value: '256', says: ['above 255'] },
    { name: 'a label outside 0-9', body: `12,${row}`, code: 'BAD_LABEL', row: 1, column: 1, value: '12', says: ['integer 0-9'] },
    { name: 'a header and no data', body: `label,${good.map((_, i) => `pixel${i}`).join(',')}`, code: 'NO_DATA', row: 1, says: ['no data rows'] },
    { name: 'binary junk', body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 0xff, 0xd8]), code: 'BINARY_INPUT', row: 1, says: ['binary file'] },
    { name: 'a gzip file', body: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03]), code: 'BINARY_INPUT', row: 1, says: ['binary file'] },
    { name: 'broken quotes', body: `"1"2,${good.slice(1).join(',')}`, code: 'MALFORMED_CSV', row: 1, says: ['could not be read'] },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      const body = expectError(await post(app, 'text/csv', c.body), 400, c.code, ...c.says, ACCEPTED);
      if (c.row !== undefined) expect(body.row).toBe(c.row);
      if (c.column !== undefined) expect(body.column).toBe(c.column);
      if (c.value !== undefined) expect(body.value).toBe(c.value);
      if (c.row !== undefined) expect(body.message).toContain(`Row ${c.row}`);
    });
  }

  it('reports bad values in an uploaded file the same way', async () => {
    const boundary = 'xyz';
    const payload = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\nContent-Type: text/csv\r\n\r\n${rowWith(9, '-1')}\r\n--${boundary}--\r\n`,
    );
    const response = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
    expect(expectError(response, 400, 'NEGATIVE', 'Row 1, column 10')).toMatchObject({ row: 1, column: 10, value: '-1' });
  });
});

describe('bad JSON input: 400 naming the problem', () => {
  const image = (patch: (values: unknown[]) => void): string => {
    const values: unknown[] = [...good];
    patch(values);
    return JSON.stringify({ pixels: [good, values] });
  };
  const cases: Array<{ name: string; body: string; code: string; says: string[] }> = [
    { name: 'malformed JSON', body: '{"pixels": [[1, 2,', code: 'INVALID_JSON', says: ['not valid JSON'] },
    { name: 'an empty JSON body', body: '', code: 'EMPTY_INPUT', says: ['empty'] },
    { name: 'no "pixels"', body: '{"images": []}', code: 'INVALID_BODY', says: ["must have required property 'pixels'"] },
    { name: 'an array instead of an object', body: '[[1,2,3]]', code: 'INVALID_BODY', says: ['must be object'] },
    { name: 'no images', body: '{"pixels": []}', code: 'INVALID_BODY', says: ['must NOT have fewer than 1 items'] },
    { name: 'a short image', body: JSON.stringify({ pixels: [good.slice(0, 700)] }), code: 'INVALID_BODY', says: ['body/pixels/0', 'fewer than 784'] },
    { name: 'a string pixel', body: image((v) => (v[3] = '7')), code: 'INVALID_BODY', says: ['body/pixels/1/3 must be number'] },
    { name: 'a null pixel', body: image((v) => (v[3] = null)), code: 'INVALID_BODY', says: ['body/pixels/1/3 must be number'] },
    { name: 'a negative pixel', body: image((v) => (v[30] = -2)), code: 'NEGATIVE', says: ['pixels[1][30]', 'negative', ACCEPTED_JSON] },
    { name: 'a pixel above 255', body: image((v) => (v[31] = 999)), code: 'ABOVE_255', says: ['pixels[1][31]', 'above 255'] },
    { name: 'an overflowing number (1e999)', body: image((v) => (v[0] = 'HUGE')).replace('"HUGE"', '1e999'), code: 'INVALID_BODY', says: ['body/pixels/1/0 must be number'] },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      expectError(await post(app, 'application/json', c.body), 400, c.code, ...c.says);
    });
  }
});

describe('wrong content types: 415 naming what is accepted', () => {
  for (const type of ['application/xml', 'image/png', 'application/octet-stream', 'application/x-www-form-urlencoded']) {
    it(`refuses ${type}`, async () => {
      expectError(await post(app, type, row), 415, 'UNSUPPORTED_MEDIA_TYPE', `"${type}" is not accepted`, ACCEPTED_TYPES);
    });
  }
  it('refuses a body without a Content-Type', async () => {
    expectError(await post(app, undefined, row), 415, 'UNSUPPORTED_MEDIA_TYPE', 'no Content-Type');
  });
  it('tells curl users how to send the CSV', async () => {
    expectError(await post(app, 'application/x-www-form-urlencoded', row), 415, 'UNSUPPORTED_MEDIA_TYPE', "-H 'Content-Type: text/csv'");
  });
});

describe('multipart problems', () => {
  const send = (contentType: string, payload: string) => app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': contentType }, payload });
  it('refuses an upload without a "file" field, naming the fields found', async () => {
    const payload = `--b\r\nContent-Disposition: form-data; name="csv"; filename="d.csv"\r\n\r\n${row}\r\n--b--\r\n`;
    expectError(await send('multipart/form-data; boundary=b', payload), 400, 'MISSING_FILE', 'no field named "file"', '"csv"');
  });
  it('refuses a multipart body without a boundary', async () => {
    const response = await send('multipart/form-data', row);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(response.json<{ message: string }>().message).toMatch(/\S/);
  });
  it('refuses a truncated multipart body', async () => {
    const response = await send('multipart/form-data; boundary=b', `--b\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\n\r\n${row.slice(0, 100)}`);
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
  });
  it('refuses two files (one CSV per request)', async () => {
    const part = (name: string) => `--b\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.csv"\r\n\r\n${row}\r\n`;
    const response = await send('multipart/form-data; boundary=b', `${part('file')}${part('other')}--b--\r\n`);
    expectError(response, 413, 'TOO_MANY_PARTS', 'one CSV');
  });
});

describe('too large: 413', () => {
  it('refuses a body over BODY_LIMIT (text/csv)', async () => {
    const huge = `${row}\n`.repeat(800); // ~1.5 MB
    expectError(await post(app, 'text/csv', huge), 413, 'BODY_TOO_LARGE', '524288-byte limit');
  });
  it('refuses a body over BODY_LIMIT (JSON)', async () => {
    const pixels = Array.from({ length: 300 }, () => good);
    expectError(await post(app, 'application/json', JSON.stringify({ pixels })), 413, 'BODY_TOO_LARGE');
  });
  it('refuses an uploaded file over BODY_LIMIT', async () => {
    const payload = `--b\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\n\r\n${`${row}\n`.repeat(400)}\r\n--b--\r\n`;
    const response = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'multipart/form-data; boundary=b' }, payload });
    expectError(response, 413, 'BODY_TOO_LARGE');
  });
  it('refuses more than MAX_IMAGES images (CSV and JSON) with 413', async () => {
    const zeros = new Array<number>(784).fill(0).join(',');
    expectError(await post(app, 'text/csv', `${zeros}\n`.repeat(51)), 413, 'TOO_MANY_IMAGES', 'at most 50');
    expectError(await post(app, 'application/json', JSON.stringify({ pixels: Array.from({ length: 51 }, () => new Array<number>(784).fill(0)) })), 413, 'TOO_MANY_IMAGES', 'at most 50');
    expectPredictions(await post(app, 'text/csv', `${zeros}\n`.repeat(50)), 50);
  });
});

describe('other routes and methods', () => {
  it('answers unknown routes and wrong methods with a JSON 404 listing the routes', async () => {
    expectError(await app.inject({ method: 'GET', url: '/predict' }), 404, 'NOT_FOUND', 'POST /predict');
    expectError(await app.inject({ method: 'DELETE', url: '/models' }), 404, 'NOT_FOUND');
    expectError(await app.inject({ method: 'GET', url: '/models/resnet' }), 404, 'MODEL_NOT_FOUND');
  });
});

describe('after all that', () => {
  it('still answers, correctly', async () => {
    const body = expectPredictions(await post(app, 'text/csv', digitsCsv(testDigits(5), { labelled: true })), 5);
    expect(body.predictions.filter((p) => p.cnn?.digit === p.label).length).toBeGreaterThanOrEqual(4);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });
});
