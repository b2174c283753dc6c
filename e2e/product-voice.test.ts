/**
 * The product's files (READMEs, docs/, sources and tests, scripts, model cards, the generated
 * report) say what the product is and does, never how or by whom it was built, and their links
 * stay inside the repository. A failure names the file, the line and the phrase.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findBadLinks, findBuildWords, formatFinding, headingAnchor, productFiles, ROOT } from './product-voice.ts';

/** The scanner and its test name the phrases they look for, so they are the two files left out. */
const SCANNER = new Set(['e2e/product-voice.ts', 'e2e/product-voice.test.ts']);
const files = productFiles().filter((f) => !SCANNER.has(f));
const markdown = files.filter((f) => f.endsWith('.md'));

/** The word for a stretch of work, spelled so that this file does not hold it. */
const SITTING = ['ses', 'sion'].join('');

describe('the scanner', () => {
  it('catches words about how the product was built', () => {
    // Each sample is joined from its words here, so that no file of the product holds the
    // sentences this check forbids, the check's own test included.
    const lines = [
      ['Measured this', SITTING, 'on the', 'lent', '16-core VM.'],
      ['It beats', 'the', 'seed', 'on accuracy.'],
      ["Both confuse the pairs the", "seed's models did."],
      ['| | CNN |', 'seed (Keras): CNN |'],
      ['The', 'seed', "project's", 'write-up named 3/5.'],
      ['just short of', 'the', "issue's", '99% aim'],
      ['measured with the', 'interim', 'weights while', 'other', 'engineers', 'ran tests'],
      ['Where we departed from ../', 'shared/DESIGN.md'],
      [SITTING, '3 had 65 req/s'],
    ].map((words) => words.join(' ').replace('../ ', '../'));
    const found = findBuildWords('x.md', lines.join('\n'));
    expect(new Set(found.map((f) => f.line))).toEqual(new Set(lines.map((_, i) => i + 1)));
    expect(found[0]).toMatchObject({ file: 'x.md', line: 1, rule: 'work sitting' });
  });

  it("leaves the training's random seed and ordinary words alone", () => {
    const lines = [
      'AdamW, batch 128, seed 0; --seed sets another.',
      'holds out 6,000 images for validation (seeded split, seed 0)',
      'backward() needs a scalar loss or an explicit seed gradient',
      'the same seed draws the same mask',
      'const cdp = await page.context().newCDPSession(page);',
      'a silent fallback is an excellent reason to fail',
    ];
    expect(findBuildWords('x.ts', lines.join('\n'))).toEqual([]);
  });

  it('finds links that leave the repository or point at nothing', () => {
    const text = [
      '# Title',
      '## Quick start',
      '[design](../shared/DESIGN.md) [abs](/etc/passwd) [web](https://www.npmjs.com/package/gpu.js)',
      '[here](#quick-start) [missing heading](#why-tensors-live-on-the-host) [server](apps/server/README.md)',
      '[no such file](apps/nothing.md) [element](packages/element/README.md#api)',
    ].join('\n');
    const found = findBadLinks('README.md', text).map((f) => `${f.line} ${f.rule} ${f.text}`);
    expect(found).toEqual([
      '3 a link outside the repository ../shared/DESIGN.md',
      '3 a link outside the repository /etc/passwd',
      '4 a link to a heading that does not exist #why-tensors-live-on-the-host',
      '5 a link to a file that does not exist apps/nothing.md',
    ]);
  });

  it("makes GitHub's heading anchors", () => {
    expect(headingAnchor('In the browser (`pnpm bench:browser`)')).toBe('in-the-browser-pnpm-benchbrowser');
    expect(headingAnchor('For API users: `POST /predict`')).toBe('for-api-users-post-predict');
  });

  it('sees the READMEs, sources, model cards and the report', () => {
    for (const f of ['README.md', 'apps/server/README.md', 'packages/tensor/src/index.ts', 'weights/cnn.json', 'reports/report.html']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.includes('node_modules') || f.startsWith('bench/results/'))).toBe(false);
  });
});

describe("the product's files speak of the product only", () => {
  it.each(files)('%s', (file) => {
    const found = findBuildWords(file, readFileSync(join(ROOT, file), 'utf8'));
    expect(found.map(formatFinding)).toEqual([]);
  });
});

describe('README and doc links stay inside the repository and lead somewhere', () => {
  it.each(markdown)('%s', (file) => {
    const found = findBadLinks(file, readFileSync(join(ROOT, file), 'utf8'));
    expect(found.map(formatFinding)).toEqual([]);
  });
});
