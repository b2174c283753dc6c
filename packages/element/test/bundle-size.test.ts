import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bundleElementText } from '../scripts/build.ts';
import { minifyCss, minifyCssTemplates } from '../scripts/minify-css.ts';

describe('the server-mode bundle', () => {
  it('stays within 40 KiB gzipped: the engine is in element-local.js, loaded only in local or auto mode', async () => {
    const text = await bundleElementText();
    expect(gzipSync(Buffer.from(text)).byteLength).toBeLessThanOrEqual(40 * 1024);
    // the engine's kernels never reach this bundle
    expect(text).not.toContain('WebAssembly.Memory');
  }, 60_000);
});

describe('minifyCss', () => {
  it('drops comments and needless whitespace but keeps a descendant combinator before a pseudo-class', () => {
    const css = `/* the pad */\n  .pad :focus-visible ,\n  .b > .c {\n    color : red ;\n    font: 12px 'Segoe UI', sans-serif;\n  }\n`;
    expect(minifyCss(css)).toBe(".pad :focus-visible,.b > .c{color :red;font:12px 'Segoe UI',sans-serif}");
  });

  it('leaves a template with interpolations as written', () => {
    const source = 'const a = css`  .x { color: red; }  `;\nconst b = css`.y { width: ${w}px; }`;';
    expect(minifyCssTemplates(source)).toBe('const a = css`.x{color:red}`;\nconst b = css`.y { width: ${w}px; }`;');
  });
});
