/**
 * Bundles entry.ts (the engine, the case table, the references and the sampler) into one ES module
 * for the page, in memory: nothing is written to disk, so a run never times a stale bundle.
 * gpu.js resolves to its browser build (`dist/gpu-browser.js`, the package's "browser" field).
 */
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The page's script and its size. */
export interface Bundle {
  readonly code: string;
  readonly bytes: number;
}

/** Builds the page's script (about a second). */
export async function buildBundle(): Promise<Bundle> {
  const result = await build({
    entryPoints: [join(HERE, 'entry.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120'],
    // readable stack traces in the page's errors matter more than bytes on loopback
    minify: false,
    // the suite checks which gpu.js kernel class ran by its constructor's name: without this, a
    // class whose name another binding of the bundle takes is renamed (WebAssemblyKernel2)
    keepNames: true,
    tsconfig: resolve(HERE, '..', '..', 'tsconfig.json'),
    logLevel: 'warning',
  });
  const file = result.outputFiles[0];
  if (!file) throw new Error('esbuild produced no output');
  return { code: file.text, bytes: file.contents.byteLength };
}
