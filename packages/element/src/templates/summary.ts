/**
 * A file's summary (how many images, how often the models agree, how often each is right) and
 * the paged grid of its images with both models' digits.
 */
import { html, nothing, type TemplateResult } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { disagrees, labelOf, wrong, type BatchStats, type GridFilter } from '../batch-stats.ts';
import { plural, share, thousands } from '../format.ts';
import { chipTemplate } from './chip.ts';
import type { ImagePrediction } from '../predict-client.ts';

/** What the summary and the grid show, and the handlers they call. */
export interface SummaryView {
  stats: BatchStats;
  /** "Classified 3,000 of 10,000 images…" while a file goes in batches, else ''. */
  progress: string;
  predictions: readonly ImagePrediction[];
  labels: readonly (number | null)[];
  filter: GridFilter;
  /** The images the filter keeps, in input order. */
  shown: readonly number[];
  /** How many images each filter keeps. */
  filterCounts: Record<GridFilter, number>;
  page: number;
  pageSize: number;
  selected: number;
  thumbnail: (index: number) => string;
  onSelect: (index: number) => void;
  onFilter: (filter: GridFilter) => void;
  onPage: (page: number) => void;
  onGridKey: (event: KeyboardEvent) => void;
}

/** "98.73%" in large type, "9,873 of 10,000" below it. */
function ratio(part: number, whole: number): TemplateResult {
  return html`<span class="stat-value">${share(part, whole)}</span> <span class="stat-detail">${thousands(part)} of ${thousands(whole)}</span>`;
}

/** The file's figures: count, agreement, accuracy per model when labelled. */
export function summaryTemplate(view: SummaryView): TemplateResult {
  const { stats, progress } = view;
  const correct = (name: string, key: 'cnn' | 'vit') => {
    const right = stats.correct[key];
    return html`<div class="stat" part="stat ${key}-accuracy">
      <dt>${name} correct</dt>
      <dd>${right === null ? 'not available' : ratio(right, stats.labelled)}</dd>
    </div>`;
  };
  return html`
    <div class="batch-head" part="summary">
      <strong>${plural(stats.total, 'image')}</strong>
      ${progress ? html`<span class="batch-progress" role="status">${progress}</span>` : nothing}
    </div>
    ${stats.answered > 0
      ? html`<dl class="stats">
          <div class="stat" part="stat agreement-rate">
            <dt>Models agree</dt>
            <dd>${stats.compared > 0 ? ratio(stats.agree, stats.compared) : 'one model only'}</dd>
          </div>
          ${stats.labelled > 0 ? html`${correct('CNN', 'cnn')} ${correct('ViT', 'vit')}` : nothing}
        </dl>`
      : nothing}
  `;
}

const FILTERS: ReadonlyArray<{ key: GridFilter; name: string }> = [
  { key: 'all', name: 'All' },
  { key: 'disagree', name: 'Disagree' },
  { key: 'wrong', name: 'Wrong' },
];

/** Filter buttons, the legend, one page of thumbnails and the pager. */
export function gridTemplate(view: SummaryView): TemplateResult {
  const { shown, page, pageSize, stats } = view;
  const pages = Math.max(1, Math.ceil(shown.length / pageSize));
  const first = page * pageSize;
  const items = shown.slice(first, first + pageSize);
  const filters = FILTERS.filter((f) => f.key !== 'wrong' || stats.labelled > 0);
  return html`
    ${stats.answered > 0
      ? html`<div class="filters" role="group" aria-label="Show">
          ${filters.map((f) =>
            chipTemplate(
              { part: 'filter', choice: { filter: f.key }, pressed: view.filter === f.key, onClick: () => view.onFilter(f.key) },
              html`${f.name} <span class="chip-count">${thousands(view.filterCounts[f.key])}</span>`,
            ),
          )}
        </div>`
      : nothing}
    <div class="legend" aria-hidden="true">
      <span><span class="swatch" style="background: var(--digit-cnn-color)"></span>CNN</span>
      <span><span class="swatch" style="background: var(--digit-vit-color)"></span>ViT</span>
      <span><span class="swatch" style="background: var(--digit-warning-border)"></span>disagree</span>
      ${stats.labelled > 0 ? html`<span><span class="swatch" style="background: var(--digit-danger-text); border-radius: 50%"></span>wrong vs label</span>` : nothing}
    </div>
    ${items.length === 0
      ? html`<p class="placeholder">No images here.</p>`
      : html`<div class="grid" part="grid" role="group" aria-label="Images in the file" @keydown=${view.onGridKey}>
          ${items.map((i) => thumbTemplate(view, i, items.includes(view.selected) ? view.selected : items[0]))}
        </div>`}
    ${pages > 1
      ? html`<nav class="pager" part="pager" aria-label="Pages of images">
          <button class="button" part="page-prev" type="button" ?disabled=${page === 0} @click=${() => view.onPage(page - 1)}>‹ Previous</button>
          <span class="pager-where">${thousands(first + 1)}–${thousands(first + items.length)} of ${thousands(shown.length)} · page ${thousands(page + 1)} of ${thousands(pages)}</span>
          <button class="button" part="page-next" type="button" ?disabled=${page >= pages - 1} @click=${() => view.onPage(page + 1)}>Next ›</button>
        </nav>`
      : nothing}
  `;
}

/** One image of the grid; `focusable` is the one image Tab reaches (the selection, when on this page). */
function thumbTemplate(view: SummaryView, i: number, focusable: number | undefined): TemplateResult {
  const p = view.predictions[i];
  const label = labelOf(view.predictions, view.labels, i);
  const name = p
    ? `Image ${i + 1}: CNN ${p.cnn?.digit ?? 'not available'}, ViT ${p.vit?.digit ?? 'not available'}${label !== null ? `, label ${label}` : ''}`
    : `Image ${i + 1}`;
  return html`
    <button
      class=${classMap({ thumb: true, 'thumb--disagree': p !== undefined && disagrees(p), 'thumb--wrong': p !== undefined && wrong(p, label) })}
      part="thumbnail"
      type="button"
      data-index=${i}
      tabindex=${i === focusable ? 0 : -1}
      aria-pressed=${i === view.selected ? 'true' : 'false'}
      aria-label=${name}
      @click=${() => view.onSelect(i)}
    >
      <img src=${view.thumbnail(i)} alt="" width="28" height="28" />
      <span class="thumb-answers" aria-hidden="true">
        ${p ? html`<span class="thumb-cnn">${p.cnn?.digit ?? '–'}</span><span class="thumb-vit">${p.vit?.digit ?? '–'}</span>` : html`<span>…</span>`}
      </span>
    </button>
  `;
}
