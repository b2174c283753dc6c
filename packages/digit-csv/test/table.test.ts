// The fast split path must read every unquoted input exactly as csv-parse does.
import { describe, expect, it } from 'vitest';
import { readTable } from '../src/table.js';
import { grid, header, imageBytes, row } from './helpers.js';

const a = imageBytes(1);
const inputs: Record<string, string> = {
  'rows': `${row(a)}\n${row(a)}\n`,
  'no final newline': `${row(a)}\n${row(a)}`,
  'CRLF': `${row(a)}\r\n${row(a)}\r\n`,
  'CR only': `${row(a)}\r${row(a)}\r`,
  'BOM and header': `\uFEFF${header(true)}\n7,${row(a)}\n`,
  'blank and whitespace lines': `\n\n${row(a)}\n   \n\t\n${row(a)}\n\n`,
  'delimiter-only lines': `${row(a)}\n,,,,\n${row(a)}`,
  'spaces around values': a.map((v) => ` ${v} `).join(','),
  'trailing delimiter': `${row(a)},\n${row(a)},\n`,
  'tabs': `${a.join('\t')}\n${a.join('\t')}`,
  'semicolons': `${a.join(';')}\n${a.join(';')}`,
  'a grid': grid(a),
  'ragged and odd fields': `1,2,3\n4,,6\nx, y ,z\n1e3,-4,NaN\n`,
};

describe('readTable: split and csv-parse agree on unquoted input', () => {
  for (const [name, text] of Object.entries(inputs)) {
    it(name, () => {
      const split = readTable(text, 'split');
      const csv = readTable(text, 'csv-parse');
      expect(split.lines).toEqual(csv.lines);
      expect(split.records).toEqual(csv.records);
      expect(readTable(text).records).toEqual(csv.records);
    });
  }

  it('uses csv-parse for quoted input', () => {
    const table = readTable('"1","2",3\n"4, 5",6\n');
    expect(table.records).toEqual([['1', '2', '3'], ['4, 5', '6']]);
  });
});
