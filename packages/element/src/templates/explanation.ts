/** The explanation view: a heat layer over the preview, and the switch choosing whose map it shows. */
import { html, nothing, type TemplateResult } from 'lit';
import { chipTemplate } from './chip.ts';
import { EXPLANATION_VIEWS, describeMap, heatLayerUrl, type ExplanationView, type Explanations } from '../explanation-overlay.ts';

/** The selected model's map over the preview, or nothing when the view is off or there is no map. */
export function explanationLayerTemplate(explanations: Explanations | undefined, view: ExplanationView): TemplateResult | typeof nothing {
  const map = view === 'off' ? null : (explanations?.[view] ?? null);
  if (!map) return nothing;
  const what = map.kind === 'saliency' ? 'CNN saliency' : 'ViT attention';
  return html`<img class="explain-layer" part="explanation" data-view=${view} src=${heatLayerUrl(map)} alt="${what} over the image" />`;
}

/** What the switch shows and calls. */
export interface ExplanationSwitchView {
  view: ExplanationView;
  /** The selected image's maps, when they came with its answers. */
  explanations: Explanations | undefined;
  /** Whether an answer is shown at all (the switch waits for one). */
  answered: boolean;
  onView: (view: ExplanationView) => void;
}

/** "Why: Off · CNN saliency · ViT attention", with a line saying what the chosen map shows. */
export function explanationSwitchTemplate(v: ExplanationSwitchView): TemplateResult | typeof nothing {
  if (!v.answered) return nothing;
  const has = (view: ExplanationView) => view === 'off' || (v.explanations?.[view] ?? null) !== null;
  const caption = v.explanations ? describeMap(v.view) : 'Maps of why the models answered come with a drawing or a one-image file.';
  return html`
    <div class="explain" part="explain-switch">
      <div class="explain-choices" role="group" aria-label="Why they answered">
        <span class="explain-title">Why</span>
        ${EXPLANATION_VIEWS.map((c) =>
          chipTemplate(
            { part: 'explain-choice', className: `explain-chip explain-chip--${c.view}`, choice: { view: c.view }, pressed: v.view === c.view, disabled: !has(c.view), onClick: () => v.onView(c.view) },
            c.label,
          ),
        )}
      </div>
      <p class="explain-caption">${caption}</p>
    </div>
  `;
}
