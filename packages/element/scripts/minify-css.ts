/**
 * Minifies the CSS inside Lit's css`...` templates of the *.styles.ts files as esbuild loads them:
 * esbuild minifies the JavaScript around a template literal but never its text. Comments go, runs
 * of whitespace become one space, and the spaces beside `{`, `}`, `;`, `,` and after `:` go. A space
 * before `:` stays, because there it is a descendant combinator (`.pad :focus-visible`).
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** The CSS text with comments and needless whitespace removed (for templates without `${}`). */
export function minifyCss(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};,])\s*/g, '$1')
    .replace(/:\s+/g, ':')
    .replace(/;}/g, '}')
    .trim();
}

/** The source with every css`...` template's text minified; a template with `${}` is left as it is. */
export function minifyCssTemplates(source: string): string {
  return source.replace(/\bcss`([^`]*)`/g, (whole, body: string) => (body.includes('${') ? whole : `css\`${minifyCss(body)}\``));
}

/** The esbuild plugin: minify the css templates of files named *.styles.ts. */
export const minifyCssPlugin: Plugin = {
  name: 'minify-css-templates',
  setup(build) {
    build.onLoad({ filter: /\.styles\.ts$/ }, async (args) => ({ contents: minifyCssTemplates(await readFile(args.path, 'utf8')), loader: 'ts' }));
  },
};
