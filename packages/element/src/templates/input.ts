/** The two ways in: the drawing pad with its bar, and the file chooser. */
import { html, nothing, type TemplateResult } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { styleMap } from 'lit/directives/style-map.js';
import { eraserIcon, pencilIcon, uploadIcon } from '../icons.ts';

/** What the input templates show, and the handlers they call. */
export interface InputView {
  hasInk: boolean;
  /** The keyboard pen, shown while the pad has keyboard focus. */
  pen: { x: number; y: number; down: boolean } | null;
  padFocused: boolean;
  canClear: boolean;
  onPadKey: (event: KeyboardEvent) => void;
  onPadFocus: (event: FocusEvent) => void;
  onPadBlur: () => void;
  onClear: () => void;
  onChooseFile: () => void;
  onFileChosen: (event: Event) => void;
}

/** The pad, its hint and keyboard pen, and the bar below it (keys, Clear). */
export function drawTemplate(view: InputView): TemplateResult {
  return html`
    <section class="draw" part="draw" aria-label="Draw a digit">
      <div class="pad" part="pad">
        <canvas
          part="canvas"
          tabindex="0"
          role="application"
          aria-roledescription="drawing pad"
          aria-label="Drawing pad: draw one digit"
          aria-describedby="pad-keys"
          @keydown=${view.onPadKey}
          @focus=${view.onPadFocus}
          @blur=${view.onPadBlur}
        ></canvas>
        ${view.hasInk ? nothing : html`<div class="pad-hint" aria-hidden="true">${pencilIcon}<span>Draw a digit here</span></div>`}
        ${view.padFocused && view.pen
          ? html`<span
              class=${classMap({ pen: true, 'pen--down': view.pen.down })}
              style=${styleMap({ left: `${view.pen.x * 100}%`, top: `${view.pen.y * 100}%` })}
              aria-hidden="true"
            ></span>`
          : nothing}
      </div>
      <div class="pad-bar">
        <span class="keys" id="pad-keys">
          ${view.padFocused ? html`<kbd>←↑→↓</kbd> move · <kbd>Space</kbd> pen down/up · <kbd>Del</kbd> clear` : html`Mouse, touch or pen`}
        </span>
        <button class="button" part="clear-button" type="button" ?disabled=${!view.canClear} @click=${view.onClear}>${eraserIcon}Clear</button>
      </div>
    </section>
  `;
}

/** The file chooser; a file can also be dropped anywhere on the element. */
export function uploadTemplate(view: InputView): TemplateResult {
  return html`
    <section class="upload" part="upload" aria-label="Upload a CSV file">
      <div class="or" aria-hidden="true">or</div>
      <div class="dropzone" part="dropzone">
        <input class="file-input" type="file" accept=".csv,text/csv,text/plain" tabindex="-1" aria-hidden="true" @change=${view.onFileChosen} />
        <button class="button button--primary" part="file-button" type="button" @click=${view.onChooseFile}>${uploadIcon}Choose a CSV file</button>
        <p>or drop one here · 784 values per image (0–255 or 0–1), optional label column and header · a whole test set is fine</p>
      </div>
    </section>
  `;
}
