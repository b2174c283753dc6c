/**
 * Bundles the element, Lit and digit-csv (with csv-parse's browser build) into ONE ES module,
 * dist/element.js, which the server serves at /element.js. Run: pnpm --filter @digitlab/element build
 * The browser tests build it first (or in memory), so they never test a stale bundle.
 */
import { build, type BuildOptions } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { buildLocal, localBundlePath } from './build-local.ts';
import { minifyCssPlugin } from './minify-css.ts';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bundlePath = join(packageDir, 'dist', 'element.js');

const options: BuildOptions = {
  entryPoints: [join(packageDir, 'src', 'index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2021', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'none',
  tsconfig: join(packageDir, 'tsconfig.json'),
  logLevel: 'warning',
  plugins: [minifyCssPlugin],
};

/** Writes dist/element.js and its source map, and the engine worker beside it (dist/element-local.js); returns the element bundle's path and size. */
export async function buildElement(): Promise<{ path: string; bytes: number }> {
  await build({ ...options, outfile: bundlePath, sourcemap: 'linked' }); // dist/element.js.map, served beside the bundle
  await buildLocal();
  return { path: bundlePath, bytes: statSync(bundlePath).size };
}

/** The same bundle as text, written nowhere (for fixture tests). */
export async function bundleElementText(): Promise<string> {
  const result = await build({ ...options, write: false, outfile: 'element.js' });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild wrote no bundle');
  return file.text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { path } = await buildElement();
  for (const file of [path, localBundlePath]) {
    const bytes = readFileSync(file);
    console.log(`${relative(process.cwd(), file)}: ${(bytes.byteLength / 1024).toFixed(1)} KiB, ${(gzipSync(bytes).byteLength / 1024).toFixed(1)} KiB gzipped`);
  }
}
