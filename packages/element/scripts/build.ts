/**
 * Bundles the element, Lit and digit-csv (with csv-parse's browser build) into ONE ES module,
 * dist/element.js, which the server serves at /element.js. Run: pnpm --filter @digitlab/element build
 * The end-to-end tests call `buildElement()` first, so they never test a stale bundle.
 */
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bundlePath = join(packageDir, 'dist', 'element.js');

export async function buildElement(): Promise<{ path: string; bytes: number }> {
  await build({
    entryPoints: [join(packageDir, 'src', 'index.ts')],
    outfile: bundlePath,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2021', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    sourcemap: 'linked', // dist/element.js.map, served beside the bundle
    tsconfig: join(packageDir, 'tsconfig.json'),
    logLevel: 'warning',
  });
  return { path: bundlePath, bytes: statSync(bundlePath).size };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { path, bytes } = await buildElement();
  console.log(`${relative(process.cwd(), path)}: ${(bytes / 1024).toFixed(1)} KiB`);
}
