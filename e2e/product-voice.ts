/**
 * The product's files speak of the product: what it is, how to use it, what it measures. This
 * finds words about how it was built (the work's own sittings, the ticket it came from, borrowed machines,
 * the people who built it, the project it started from) and README links that leave the
 * repository or point at nothing.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (e2e/ -> ..). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** One phrase found: where, which rule, and the line as written. */
export interface Finding {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/**
 * Words about how the product was built. "seed" alone is the training's random seed and stays;
 * only the phrases that use it for the project the code started from are caught.
 */
export const BUILD_WORDS: ReadonlyArray<{ rule: string; pattern: RegExp }> = [
  { rule: 'work sitting', pattern: /\bses{2}ions?\b(?!\s*(?:cookies?|tokens?|storage|ids?)\b)/i },
  { rule: 'the ticket', pattern: /\bthe is{2}ue\b|\bis{2}ue's\b|\bis{2}ues?\s+#?\d+\b/i },
  { rule: 'a borrowed machine', pattern: /\bl[e]nt\b/i },
  { rule: 'the people who built it', pattern: /\bother engine{2}rs?'?s?\b|\bengine{2}rs'\s+tests\b/i },
  { rule: 'interim weights', pattern: /\binterim weights\b/i },
  {
    rule: 'the origin project',
    pattern:
      /\bthe se{2}d's\b|\bbeats? the se{2}d\b|\bse{2}d \(Keras\)|\bse{2}d project\b|\b(?:than|vs\.?|against|of|from) the se{2}d\b(?!\s+(?:gradient|value|of)\b)|\bthe se{2}d (?:models?|networks?|repo(?:sitory)?|code)\b/i,
  },
  { rule: 'notes outside the repository', pattern: /\.\.\/shared\b|\/work\/shared\b|\b(?:DESIGN|TOOLCHAIN|STYLE|BRIEF)\.md\b/ },
];

/** Folders never scanned: installed packages, build output, runs, generated results. */
const SKIPPED_DIRS = new Set(['node_modules', 'dist', '.git', '.runs', '.tools', '.ci', 'coverage', 'results', 'fixtures', 'screenshots']);
const TEXT_EXTENSIONS = new Set(['.md', '.ts', '.js', '.mjs', '.json', '.html', '.css', '.sh', '.yaml', '.yml']);

/**
 * The product's files, relative to the root: every README, docs/, the sources and tests of every
 * package, app, the bench and e2e/, the scripts, the model cards and the generated report.
 */
export function productFiles(root: string = ROOT): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith('.')) walk(path);
      } else if (entry.isFile() && isProductFile(path)) {
        files.push(path);
      }
    }
  };
  walk('');
  return files.sort();
}

function isProductFile(path: string): boolean {
  if (path.endsWith('README.md')) return true;
  const ext = extname(path);
  if (!TEXT_EXTENSIONS.has(ext)) return false;
  if (path === 'pnpm-lock.yaml' || path.endsWith('package.json') || path.endsWith('tsconfig.json')) return false;
  if (path === 'reports/report.html') return true;
  if (path.startsWith('weights/')) return ext === '.json';
  return /^(?:docs|packages|apps|bench|e2e|scripts)\//.test(path);
}

/** Every phrase of BUILD_WORDS in `text`, with its 1-based line. */
export function findBuildWords(file: string, text: string): Finding[] {
  const findings: Finding[] = [];
  text.split('\n').forEach((line, i) => {
    for (const { rule, pattern } of BUILD_WORDS) {
      if (pattern.test(line)) findings.push({ file, line: i + 1, rule, text: line.trim().slice(0, 160) });
    }
  });
  return findings;
}

/** Markdown and HTML link targets of a line: `[text](target)`, `<a href="target">`, `![alt](target)`. */
function linkTargets(line: string): string[] {
  const targets: string[] = [];
  for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(m[1]);
  for (const m of line.matchAll(/\b(?:href|src)="([^"]+)"/g)) targets.push(m[1]);
  return targets;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_~]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = headingAnchor(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/**
 * Links in a README or doc that leave the repository (a path above the root, an absolute or
 * file: path) or point at a file or heading that does not exist. Web addresses are left alone.
 */
export function findBadLinks(file: string, text: string, root: string = ROOT): Finding[] {
  const findings: Finding[] = [];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) return;
    for (const target of linkTargets(line)) {
      const problem = linkProblem(file, target, text, root);
      if (problem) findings.push({ file, line: i + 1, rule: problem, text: target });
    }
  });
  return findings;
}

function linkProblem(file: string, target: string, text: string, root: string): string | null {
  if (/^(?:https?:|mailto:)/i.test(target)) return null;
  if (/^(?:file:|\/)/i.test(target)) return 'a link outside the repository';
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const absolute = pathPart === '' ? join(root, file) : resolve(root, dirname(file), decodeURIComponent(pathPart));
  const inside = relative(root, absolute);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return 'a link outside the repository';
  if (!existsSync(absolute)) return 'a link to a file that does not exist';
  if (anchor && statSync(absolute).isFile() && absolute.endsWith('.md')) {
    const markdown = pathPart === '' ? text : readFileSync(absolute, 'utf8');
    if (!anchorsOf(markdown).has(anchor.toLowerCase())) return 'a link to a heading that does not exist';
  }
  return null;
}

/** A finding as `file:line: rule: text`, the way the test prints it. */
export function formatFinding(f: Finding): string {
  return `${f.file}:${f.line}: ${f.rule}: ${f.text}`;
}
