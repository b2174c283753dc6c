/** The answers for the selected image: its preview, the verdict, each model's panel; and a problem. */
import { html, nothing, type TemplateResult } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { styleMap } from 'lit/directives/style-map.js';
import type { Problem, Source } from '../classifier-controller.ts';
import { percent, plural, topProbability } from '../format.ts';
import { checkIcon, errorIcon, warningIcon } from '../icons.ts';
import type { ImagePrediction, ModelAnswer } from '../predict-client.ts';

export const MODELS = [
  { key: 'cnn', name: 'CNN', kind: 'convolutional network' },
  { key: 'vit', name: 'ViT', kind: 'vision transformer' },
] as const;

export type ModelInfo = (typeof MODELS)[number];

/** The enlarged 28x28 image the models see, with `overlay` (a map) laid over it; `url` is empty before there is one. */
export function previewTemplate(url: string, selected: number, count: number, overlay: TemplateResult | typeof nothing = nothing): TemplateResult {
  return html`
    <figure class="preview" part="preview">
      ${url
        ? html`<span class="preview-frame"
            ><img src=${url} alt=${count > 1 ? `Image ${selected + 1} of ${count}, 28 by 28 pixels` : 'The 28 by 28 image the models see'} />${overlay}</span
          >`
        : html`<div class="preview-empty" aria-hidden="true">28×28</div>`}
      <figcaption>${count > 1 ? `Image ${(selected + 1).toLocaleString('en')} of ${count.toLocaleString('en')}` : 'What the models see'}</figcaption>
    </figure>
  `;
}

/** Where the images came from, with the server's time once answered. */
export function sourceTemplate(source: Source, count: number, totalMs: number | null, busy: boolean): TemplateResult | typeof nothing {
  const timing = totalMs !== null && !busy ? ` · answered in ${totalMs < 10 ? totalMs.toFixed(1) : Math.round(totalMs).toLocaleString('en')} ms` : '';
  if (source.kind === 'csv') {
    const layout = source.layout === 'grid' ? 'one 28×28 grid' : source.layout === 'labelled-rows' ? 'rows with labels' : 'rows of 784 values';
    return html`<p class="source">${source.name} · ${plural(count, 'image')} · ${layout}, ${source.scale}${timing}</p>`;
  }
  if (source.kind === 'drawing') return html`<p class="source">Your drawing${timing}</p>`;
  return nothing;
}

/** Whether the models agree on the selected image, and its label when the file has one. */
export function verdictTemplate(p: ImagePrediction | undefined, label: number | null, placeholder: string): TemplateResult {
  if (!p) return html`<p class="placeholder">${placeholder}</p>`;
  const { cnn, vit } = p;
  let verdict: TemplateResult;
  if (cnn && vit && cnn.digit === vit.digit && p.uncertain) {
    verdict = html`<p class="disagreement" part="uncertain" role="note">
      ${warningIcon}<span>Both models read ${cnn.digit}, but not surely enough to trust: check this one.</span>
    </p>`;
  } else if (cnn && vit && cnn.digit === vit.digit) {
    verdict = html`<p class="agreement" part="agreement">${checkIcon}Both models read ${cnn.digit}</p>`;
  } else if (cnn && vit) {
    verdict = html`<p class="disagreement" part="disagreement" role="note">
      ${warningIcon}<span>The models disagree: the CNN reads ${cnn.digit}, the ViT reads ${vit.digit}.</span>
    </p>`;
  } else {
    const only = cnn ? { name: 'CNN', answer: cnn, missing: 'ViT' } : { name: 'ViT', answer: vit, missing: 'CNN' };
    verdict = html`<p class="placeholder">The ${only.name} reads ${only.answer?.digit}; the ${only.missing} is not available on this server.</p>`;
  }
  return html`
    ${verdict}
    ${label === null
      ? nothing
      : html`<p class="label-note">
          Label in the file: <strong>${label}</strong>
          ${cnn && cnn.digit !== label ? html` · <span class="wrong">CNN wrong</span>` : nothing}
          ${vit && vit.digit !== label ? html` · <span class="wrong">ViT wrong</span>` : nothing}
        </p>`}
  `;
}

/** One model's panel; `answered` with no answer means the server lacks this model. */
export function modelTemplate(model: ModelInfo, answer: ModelAnswer | null | undefined, answered: boolean): TemplateResult {
  const probabilities = answer?.probabilities ?? new Array<number>(10).fill(0);
  return html`
    <section class="model model--${model.key}" part="model ${model.key}" aria-label=${model.name}>
      <div class="model-head"><span class="model-name">${model.name}</span><span class="model-kind">${model.kind}</span></div>
      <div class="model-answer">
        <span class="digit ${answer ? '' : 'digit--none'}" part="${model.key}-digit">${answer ? answer.digit : '–'}</span>
        ${answer
          ? html`<span class="confidence">${percent(topProbability(answer))}<span class="sure"> sure</span></span>`
          : answered
            ? html`<span class="confidence">not available on this server</span>`
            : nothing}
      </div>
      <ol class="bars" part="bars" aria-label="${model.name} probability per digit">
        ${probabilities.map(
          (p, digit) => html`
            <li class=${classMap({ bar: true, 'bar--top': answer?.digit === digit })} part="bar" aria-label="${digit}: ${percent(p)}">
              <span class="bar-track"><span class="bar-fill" style=${styleMap({ height: `${Math.min(1, Math.max(0, p)) * 100}%` })}></span></span>
              <span class="bar-digit" aria-hidden="true">${digit}</span>
            </li>
          `,
        )}
      </ol>
    </section>
  `;
}

/** A problem in place, with "Try again" when it may pass. */
export function problemTemplate(problem: Problem): TemplateResult {
  return html`
    <div class="error" part="error" role="alert">
      ${errorIcon}
      <div class="error-text">
        <strong class="error-title">${problem.title}</strong>
        ${problem.message ? html`<span class="error-message">${problem.message}</span>` : nothing}
        ${problem.hint ? html`<span class="error-hint">${problem.hint}</span>` : nothing}
        ${problem.retry
          ? html`<span><button class="button retry" part="retry-button" type="button" @click=${problem.retry}>Try again</button></span>`
          : nothing}
      </div>
    </div>
  `;
}
