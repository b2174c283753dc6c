import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Mode } from '@digitlab/tensor';
import { type ModelName, loadClassifier, loadMnist, sliceImages } from '@digitlab/models';
import { type ReportData, type ReportModel, collectReport, shippedLog } from './collect.js';
import { renderReport } from './html.js';

/** The repository root. */
export const REPO = resolve(import.meta.dirname, '..', '..', '..');

/** Options of buildReport. */
export interface BuildOptions {
  /** Folder with <name>.safetensors, <name>.json and <name>.log.jsonl (default <repo>/weights). */
  readonly weightsDir?: string;
  /** Where the HTML goes (default <repo>/reports/report.html); null writes nothing. */
  readonly out?: string | null;
  readonly models?: readonly ModelName[];
  /** Only the first n test images (development; the shipped report uses all 10,000). */
  readonly limit?: number;
  readonly backend?: Mode;
  readonly poolSize?: number;
  readonly explainCount?: number;
  readonly log?: (line: string) => void;
}

/** Loads the shipped models, evaluates them on the test set and writes the HTML report. */
export async function buildReport(options: BuildOptions = {}): Promise<{ data: ReportData; html: string; out: string | null }> {
  const weightsDir = options.weightsDir ?? join(REPO, 'weights');
  const models: ReportModel[] = [];
  for (const name of options.models ?? (['cnn', 'vit'] as const)) {
    // loadClassifier checks the weights against the card's sha256; the report runs the model on its own backend
    const clf = await loadClassifier(name, { weightsDir, backend: 'cpu' });
    clf.close();
    models.push({ name, card: clf.card, model: clf.model, log: shippedLog(weightsDir, name) });
  }
  const test = loadMnist('test');
  const n = Math.min(options.limit ?? test.count, test.count);
  const data = n === test.count ? test : sliceImages(test, 0, n);
  const report = await collectReport({
    models,
    data,
    dataName: n === test.count ? 'test set' : `test set (first ${n} images only)`,
    backend: options.backend,
    poolSize: options.poolSize,
    explainCount: options.explainCount,
    log: options.log,
  });
  const html = renderReport(report);
  const out = options.out === null ? null : (options.out ?? join(REPO, 'reports', 'report.html'));
  if (out) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, html);
  }
  return { data: report, html, out };
}
