/** A chip: a toggle button in a row of choices (the grid's filters, the Why view's maps). */
import { html, nothing, type TemplateResult } from 'lit';

/** One chip: which choice it is, whether it is the current one, and what a click does. */
export interface ChipView {
  readonly part: string;
  /** Classes beside `chip`. */
  readonly className?: string;
  /** The data attribute naming the chip's choice (data-filter or data-view), which pages and tests select by. */
  readonly choice: { readonly filter: string } | { readonly view: string };
  readonly pressed: boolean;
  readonly disabled?: boolean;
  readonly onClick: () => void;
}

/** `<button class="chip">` with aria-pressed saying whether its choice is the current one. */
export function chipTemplate(c: ChipView, content: unknown): TemplateResult {
  return html`<button
    class="chip ${c.className ?? ''}"
    part=${c.part}
    type="button"
    data-filter=${'filter' in c.choice ? c.choice.filter : nothing}
    data-view=${'view' in c.choice ? c.choice.view : nothing}
    aria-pressed=${c.pressed ? 'true' : 'false'}
    ?disabled=${c.disabled ?? false}
    @click=${c.onClick}
  >
    ${content}
  </button>`;
}
