/**
 * The templates' markup is well formed: every element they open, they close, in order. (The
 * browser repairs an unclosed tag silently, so the DOM alone would not show it.)
 */
import { describe, expect, it } from 'vitest';
import type { TemplateResult } from 'lit';
import { modelTemplate, MODELS, previewTemplate, problemTemplate, verdictTemplate } from '../../src/templates/answers.ts';
import { chipTemplate } from '../../src/templates/chip.ts';
import { drawTemplate, uploadTemplate, type InputView } from '../../src/templates/input.ts';

const VOID = new Set(['img', 'input', 'br', 'hr', 'meta', 'link', 'source', 'path', 'circle']);

/** Tags of a template's static markup left open at its end, or closed out of order. */
function unbalanced(template: TemplateResult): string[] {
  const markup = template.strings.join('"x"');
  const open: string[] = [];
  const problems: string[] = [];
  for (const m of markup.matchAll(/<(\/?)([a-z][a-z0-9-]*)\b[^>]*?(\/?)>/g)) {
    const [, closing, tag, selfClosing] = m;
    if (VOID.has(tag) || selfClosing) continue;
    if (!closing) open.push(tag);
    else if (open.at(-1) === tag) open.pop();
    else problems.push(`</${tag}> while <${open.at(-1) ?? 'nothing'}> is open`);
  }
  return [...problems, ...open.map((t) => `<${t}> never closed`)];
}

const view: InputView = {
  hasInk: false,
  pen: { x: 0.5, y: 0.5, down: false },
  padFocused: true,
  canClear: true,
  onPadKey: () => {},
  onPadFocus: () => {},
  onPadBlur: () => {},
  onClear: () => {},
  onChooseFile: () => {},
  onFileChosen: () => {},
};

describe('templates', () => {
  it('open and close every element in order', () => {
    const templates: Record<string, TemplateResult> = {
      draw: drawTemplate(view),
      upload: uploadTemplate(view),
      preview: previewTemplate('', 0, 1),
      verdict: verdictTemplate(undefined, null, 'Draw a digit'),
      model: modelTemplate(MODELS[0], null, false),
      problem: problemTemplate({ title: 'No.', message: 'Because.' }),
      chip: chipTemplate({ part: 'filter', choice: { filter: 'all' }, pressed: true, onClick: () => {} }, 'All'),
    };
    for (const [name, template] of Object.entries(templates)) expect({ name, problems: unbalanced(template) }).toEqual({ name, problems: [] });
  });

  it('would catch an unclosed element', () => {
    const strings = Object.assign(['<section><div class="pad-bar"><button>Clear</button></section>'], { raw: [] as string[] });
    expect(unbalanced({ strings } as unknown as TemplateResult)).toEqual(['</section> while <div> is open', '<section> never closed', '<div> never closed']);
  });
});
