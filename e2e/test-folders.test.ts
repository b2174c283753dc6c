/**
 * One test-folder convention: a package's or app's tests live in its test/ folder, mirroring the
 * path of what they test under src/. A test under src/ would still run, but nowhere else says so.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from './product-voice.ts';

describe('test folders', () => {
  it('no package or app keeps a test under src/', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'packages', 'apps'], { cwd: ROOT, encoding: 'utf8' }).split('\n');
    expect(files.filter((f) => /^(?:packages|apps)\/[^/]+\/src\/.*\.test\.ts$/.test(f))).toEqual([]);
  });
});
