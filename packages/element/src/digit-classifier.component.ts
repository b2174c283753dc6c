import { html, LitElement, nothing, svg, type PropertyDeclarations, type PropertyValues, type TemplateResult } from 'lit';
import { classMap } from 'lit/directives/class-map.js';
import { styleMap } from 'lit/directives/style-map.js';
import styles from './digit-classifier.styles.ts';
import { CsvProblem, readCsvFile, checkCsvText, type TextSource } from './csv-input.ts';
import { digitImageUrl } from './digit-image.ts';
import { DrawingPad } from './drawing-pad.ts';
import { mnistPreprocess } from './mnist-preprocess.ts';
import {
  PredictError,
  requestPrediction,
  type ImagePrediction,
  type ModelAnswer,
  type PredictBody,
  type PredictResponse,
} from './predict-client.ts';

/** What the element is showing. */
type Source =
  | { kind: 'none' }
  | { kind: 'drawing' }
  | { kind: 'csv'; name: string; layout: string; scale: string };

/** A problem shown in place: what went wrong, and (optionally) what would work. */
interface Problem {
  /** One short sentence, shown in bold. */
  title: string;
  /** The details (where in the file, which value). */
  message?: string | undefined;
  /** What would be accepted instead. */
  hint?: string | undefined;
  /** Sends the same request again (offered when the failure may pass: network, 5xx). */
  retry?: (() => void) | undefined;
}

/** Detail of the `error` event. */
export interface DigitClassifierErrorDetail {
  message: string;
  /** digit-csv's code for a refused file, the server's `error` field, or `NETWORK`. */
  code?: string | undefined;
  /** HTTP status, when the server answered. */
  status?: number | undefined;
}

const DEFAULT_MAX_IMAGES = 1000;
// The server's defaults (apps/server: 1000 images, 10 MiB bodies), so the element refuses what the server would.
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
/** Pause after a stroke before asking the models, so a two-stroke 4 or 7 is sent once. */
const STROKE_PAUSE_MS = 250;

const MODELS = [
  { key: 'cnn', name: 'CNN', kind: 'convolutional network' },
  { key: 'vit', name: 'ViT', kind: 'vision transformer' },
] as const;

/**
 * @summary Draw a digit or upload a CSV of 28x28 images, and see what digitlab's CNN and ViT predict.
 *
 * @event prediction - The server answered. `detail` is the `/predict` response:
 *   `{ predictions: [{ index, cnn: { digit, probabilities }, vit: {...}, agree, label }], count, timings, models }`.
 *   Bubbles and crosses shadow roots.
 * @event error - A file was refused or a request failed. `detail` is `{ message, code?, status? }`; `message`
 *   is the sentence shown in place. Does not bubble (like the native `error` event).
 *
 * @csspart base - The card around everything.
 * @csspart header - Title and subtitle.
 * @csspart draw - The drawing pad with its buttons.
 * @csspart upload - The file chooser.
 * @csspart pad - The frame around the drawing surface.
 * @csspart canvas - The drawing surface.
 * @csspart clear-button - The button that clears the pad and the results.
 * @csspart dropzone - The file chooser area (files can be dropped anywhere on the element).
 * @csspart file-button - The "Choose a CSV file" button.
 * @csspart results - The column holding preview, answers, notices and the batch grid.
 * @csspart preview - The 28x28 image the models see, enlarged.
 * @csspart agreement - The note that both models agree.
 * @csspart disagreement - The notice that the models disagree.
 * @csspart model - Each model's panel (also `cnn` or `vit`).
 * @csspart cnn-digit - The CNN's predicted digit.
 * @csspart vit-digit - The ViT's predicted digit.
 * @csspart bars - Each model's ten probability bars.
 * @csspart bar - One probability bar.
 * @csspart error - The error message shown in place.
 * @csspart retry-button - "Try again", offered in the error when the server could not be reached or failed.
 * @csspart grid - The grid of thumbnails for a batch.
 * @csspart thumbnail - One image of a batch (a button selecting it).
 *
 * @cssproperty --digit-font - Font family.
 * @cssproperty --digit-background - Card background.
 * @cssproperty --digit-surface - Background of panels inside the card.
 * @cssproperty --digit-text - Main text colour.
 * @cssproperty --digit-muted - Secondary text colour.
 * @cssproperty --digit-border - Border colour.
 * @cssproperty --digit-accent - Buttons, focus rings, selection.
 * @cssproperty --digit-cnn-color - The CNN's colour (digit and bars).
 * @cssproperty --digit-vit-color - The ViT's colour (digit and bars).
 * @cssproperty --digit-ink - Colour of the pen on the drawing pad.
 * @cssproperty --digit-pad-background - Drawing pad background.
 * @cssproperty --digit-preview-background - Background of the 28x28 previews.
 * @cssproperty --digit-agree-color - The "both agree" note.
 * @cssproperty --digit-warning-text - Disagreement notice text (also `--digit-warning-background`, `--digit-warning-border`).
 * @cssproperty --digit-danger-text - Error text (also `--digit-danger-background`, `--digit-danger-border`).
 * @cssproperty --digit-radius - Corner radius of the card.
 * @cssproperty --digit-shadow - Shadow of the card.
 */
export class DigitClassifier extends LitElement {
  static override styles = styles;

  static override properties: PropertyDeclarations = {
    endpoint: { type: String },
    maxImages: { type: Number, attribute: 'max-images' },
    maxBytes: { type: Number, attribute: 'max-bytes' },
    heading: { type: String },
    source: { state: true },
    images: { state: true },
    labels: { state: true },
    thumbnails: { state: true },
    response: { state: true },
    selected: { state: true },
    busy: { state: true },
    problem: { state: true },
    dragging: { state: true },
    hasInk: { state: true },
    padFocused: { state: true },
    announcement: { state: true },
  };

  /** Where to POST images: the server's `/predict` (any origin the server's CORS allows). */
  declare endpoint: string;
  /** The most images a CSV may hold (attribute `max-images`); more is refused before sending. */
  declare maxImages: number;
  /** The largest CSV file accepted, in bytes (attribute `max-bytes`). */
  declare maxBytes: number;
  /** The title shown at the top. */
  declare heading: string;

  declare private source: Source;
  /** count x 784 intensities in [0, 1] of what is shown, or null. */
  declare private images: Float32Array | null;
  declare private labels: (number | null)[];
  declare private thumbnails: string[];
  declare private response: PredictResponse | null;
  declare private selected: number;
  declare private busy: boolean;
  declare private problem: Problem | null;
  declare private dragging: boolean;
  declare private hasInk: boolean;
  declare private padFocused: boolean;
  declare private announcement: string;

  private pad: DrawingPad | null = null;
  private strokeTimer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: AbortController | null = null;
  private requestId = 0;
  private dragDepth = 0;

  constructor() {
    super();
    this.endpoint = '/predict';
    this.maxImages = DEFAULT_MAX_IMAGES;
    this.maxBytes = DEFAULT_MAX_BYTES;
    this.heading = 'What digit is this?';
    this.source = { kind: 'none' };
    this.images = null;
    this.labels = [];
    this.thumbnails = [];
    this.response = null;
    this.selected = 0;
    this.busy = false;
    this.problem = null;
    this.dragging = false;
    this.hasInk = false;
    this.padFocused = false;
    this.announcement = '';
    this.addEventListener('dragenter', this.onDragEnter);
    this.addEventListener('dragover', this.onDragOver);
    this.addEventListener('dragleave', this.onDragLeave);
    this.addEventListener('drop', this.onDrop);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.strokeTimer);
    this.inFlight?.abort();
    this.inFlight = null;
    this.busy = false;
  }

  protected override firstUpdated(changed: PropertyValues): void {
    super.firstUpdated(changed);
    const canvas = this.renderRoot.querySelector<HTMLCanvasElement>('canvas');
    if (!canvas) return;
    this.pad = new DrawingPad(canvas, {
      onStrokeEnd: () => this.scheduleDrawingPrediction(),
      onChange: () => {
        this.hasInk = this.pad?.hasInk ?? false;
        this.requestUpdate();
      },
      inkColor: () => getComputedStyle(this).getPropertyValue('--digit-ink').trim(),
    });
  }

  // ---- public methods ----

  /** Clears the drawing, the results and any error. */
  clear(): void {
    clearTimeout(this.strokeTimer);
    this.forgetInput();
    this.busy = false;
    this.problem = null;
    this.announcement = 'Cleared.';
  }

  /** Checks a CSV file (a `File`, e.g. from an input or a drop) and asks the models about it. */
  async classifyFile(file: TextSource): Promise<PredictResponse | null> {
    let read;
    try {
      read = await readCsvFile(file, this.limits());
    } catch (error) {
      this.refuseFile(error, file.name);
      return null;
    }
    const sent = this.showAndSend({ kind: 'csv', name: read.name, layout: read.layout, scale: read.scale }, read, {
      kind: 'csv',
      text: read.text,
    });
    this.revealResults();
    return sent;
  }

  /** Like `classifyFile`, for CSV text at hand (`name` is shown as its source). */
  async classifyCsv(text: string, name?: string): Promise<PredictResponse | null> {
    let parsed;
    try {
      parsed = checkCsvText(text, this.limits());
    } catch (error) {
      this.refuseFile(error, name);
      return null;
    }
    return this.showAndSend({ kind: 'csv', name: name ?? 'CSV', layout: parsed.layout, scale: parsed.scale }, parsed, { kind: 'csv', text });
  }

  // ---- flow ----

  private limits() {
    return { maxImages: positive(this.maxImages, DEFAULT_MAX_IMAGES), maxBytes: positive(this.maxBytes, DEFAULT_MAX_BYTES) };
  }

  /** Cancels any request in flight and drops the drawing, the images and the answers. */
  private forgetInput(): void {
    this.inFlight?.abort();
    this.inFlight = null;
    this.requestId++;
    this.pad?.clear();
    this.source = { kind: 'none' };
    this.images = null;
    this.labels = [];
    this.thumbnails = [];
    this.response = null;
    this.selected = 0;
  }

  private refuseFile(error: unknown, name?: string): void {
    // Whatever was shown belonged to another input: clear it, so the error stands alone.
    this.forgetInput();
    if (error instanceof CsvProblem) {
      const what = name ? `"${name}"` : 'This file';
      this.showProblem({ title: `${what} can't be used.`, message: error.message, hint: error.hint }, error.code);
    } else {
      this.showProblem({ title: 'This file could not be read.' }, 'UNREADABLE');
    }
    this.revealResults();
  }

  /**
   * On a phone the file chooser sits below the answers: after choosing a file, bring the
   * answers (or the error) into view, unless they are already in view.
   */
  private revealResults(): void {
    void this.updateComplete.then(() => {
      const output = this.renderRoot.querySelector<HTMLElement>('.output');
      if (!output) return;
      const box = output.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight - 120) {
        const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
        output.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
      }
    });
  }

  private scheduleDrawingPrediction(): void {
    clearTimeout(this.strokeTimer);
    this.strokeTimer = setTimeout(() => void this.classifyDrawing(), STROKE_PAUSE_MS);
  }

  private async classifyDrawing(): Promise<void> {
    if (!this.pad?.hasInk) return;
    const image = mnistPreprocess(this.pad.ink(), { threshold: 0.05 });
    if (!image) return;
    await this.showAndSend({ kind: 'drawing' }, { images: image, count: 1, labels: [null] }, { kind: 'pixels', images: image, count: 1 });
  }

  private async showAndSend(
    source: Source,
    shown: { images: Float32Array; count: number; labels: (number | null)[] },
    body: PredictBody,
  ): Promise<PredictResponse | null> {
    const sameBatch = source.kind === 'drawing' && this.source.kind === 'drawing';
    this.inFlight?.abort();
    const controller = new AbortController();
    this.inFlight = controller;
    const id = ++this.requestId;

    if (source.kind === 'csv') this.pad?.clear();
    this.source = source;
    this.images = shown.images;
    this.labels = shown.labels;
    this.thumbnails = Array.from({ length: shown.count }, (_, i) => digitImageUrl(shown.images, i));
    // While a drawing grows stroke by stroke, keep the last answer up until the next arrives.
    if (!sameBatch) this.response = null;
    this.selected = 0;
    this.problem = null;
    this.busy = true;
    this.announcement = source.kind === 'csv' ? `Asking both models about ${plural(shown.count, 'image')}…` : '';

    try {
      const response = await requestPrediction(this.endpoint, body, controller.signal);
      if (id !== this.requestId) return null;
      this.response = response;
      this.announcement = this.describe(response);
      this.dispatchEvent(new CustomEvent<PredictResponse>('prediction', { detail: response, bubbles: true, composed: true }));
      return response;
    } catch (error) {
      if (id !== this.requestId || controller.signal.aborted) return null;
      this.response = null;
      if (error instanceof PredictError) {
        const transient = error.status === 0 || error.status >= 500;
        if (!transient && source.kind === 'csv') {
          // The server refused this file: its images get no answers, so do not leave them up.
          this.source = { kind: 'none' };
          this.images = null;
          this.labels = [];
          this.thumbnails = [];
        }
        const problem = this.explain(error);
        if (transient) problem.retry = () => void this.showAndSend(source, shown, body);
        this.showProblem(problem, error.code ?? (error.status === 0 ? 'NETWORK' : undefined), error.status || undefined);
      } else {
        this.showProblem({ title: 'Something went wrong while asking the classifier.', message: 'Please try again.' });
      }
      return null;
    } finally {
      if (id === this.requestId) {
        this.busy = false;
        this.inFlight = null;
      }
    }
  }

  /** A failed request as a title (what happened) and a message (details, or what to do). */
  private explain(error: PredictError): Problem {
    const { status } = error;
    if (status === 0) {
      return { title: 'Could not reach the classifier.', message: `Check that the server at ${this.endpoint} is running and reachable.` };
    }
    if (status >= 500) {
      return { title: 'The classifier had a problem.', message: `It answered HTTP ${status}. Please try again in a moment.` };
    }
    if (status === 404) {
      return { title: 'There is no classifier at this address.', message: `${this.endpoint} answered HTTP 404; check the endpoint attribute.` };
    }
    // The server's own words, with digit-csv's list of accepted shapes split off as a hint.
    const at = error.message.indexOf(' Accepted:');
    const message = at < 0 ? error.message : error.message.slice(0, at);
    const hint = at < 0 ? undefined : error.message.slice(at + 1);
    if (status === 413) return { title: 'Too much for the classifier at once.', message, hint };
    return { title: 'The classifier refused this input.', message, hint };
  }

  private showProblem(problem: Problem, code?: string, status?: number): void {
    this.problem = problem;
    this.busy = false;
    const message = problem.message ? `${problem.title} ${problem.message}` : problem.title;
    const detail: DigitClassifierErrorDetail = { message, code, status };
    this.dispatchEvent(new CustomEvent<DigitClassifierErrorDetail>('error', { detail }));
  }

  /** The sentence announced to screen readers when an answer arrives. */
  private describe(response: PredictResponse): string {
    const predictions = response.predictions;
    if (predictions.length === 1) {
      const [p] = predictions;
      const say = (name: string, a: ModelAnswer | null) =>
        a ? `${name} reads ${a.digit}, ${percent(top(a))} sure.` : `${name} is not available.`;
      const both = `${say('CNN', p.cnn)} ${say('ViT', p.vit)}`;
      if (p.cnn && p.vit) return p.cnn.digit === p.vit.digit ? `${both} The models agree.` : `${both} The models disagree.`;
      return both;
    }
    const agree = predictions.filter((p) => bothRead(p) && p.cnn?.digit === p.vit?.digit).length;
    const compared = predictions.filter(bothRead).length;
    return compared > 0
      ? `${plural(predictions.length, 'image')} classified. The models agree on ${agree} of ${compared}.`
      : `${plural(predictions.length, 'image')} classified.`;
  }

  // ---- events ----

  private onFileChosen(event: Event): void {
    const input = event.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (file) void this.classifyFile(file);
  }

  private readonly onDragEnter = (event: DragEvent): void => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    this.dragDepth++;
    this.dragging = true;
  };

  private readonly onDragOver = (event: DragEvent): void => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
  };

  private readonly onDragLeave = (): void => {
    this.dragDepth = Math.max(0, this.dragDepth - 1);
    if (this.dragDepth === 0) this.dragging = false;
  };

  private readonly onDrop = (event: DragEvent): void => {
    event.preventDefault();
    this.dragDepth = 0;
    this.dragging = false;
    const files = event.dataTransfer?.files;
    if (files && files.length > 0) void this.classifyFile(files[0]);
  };

  private onPadKey(event: KeyboardEvent): void {
    if (event.key === 'Escape' || event.key === 'Delete' || event.key === 'Backspace') {
      if (this.hasInk || this.response) {
        event.preventDefault();
        this.clear();
      }
      return;
    }
    if (this.pad?.handleKey(event)) {
      event.preventDefault();
      this.padFocused = true;
      this.requestUpdate();
    }
  }

  private onThumbKey(event: KeyboardEvent): void {
    const count = this.response?.predictions.length ?? 0;
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -1, ArrowDown: 1, Home: -Infinity, End: Infinity };
    const move = moves[event.key];
    if (move === undefined || count === 0) return;
    event.preventDefault();
    const next = Math.min(count - 1, Math.max(0, Number.isFinite(move) ? this.selected + move : move < 0 ? 0 : count - 1));
    this.selected = next;
    void this.updateComplete.then(() => {
      this.renderRoot.querySelector<HTMLButtonElement>(`.thumb[data-index="${next}"]`)?.focus();
    });
  }

  // ---- rendering ----

  protected override render(): TemplateResult {
    return html`
      <div class="base" part="base">
        ${this.dragging ? html`<div class="drop-overlay" aria-hidden="true">Drop the CSV file to classify it</div>` : nothing}
        <header class="header" part="header">
          <h2 class="title">${this.heading}</h2>
          <p class="subtitle">Draw a digit or upload a CSV of 28×28 images. Two models answer: a CNN and a Vision Transformer.</p>
        </header>
        <div class="layout">
          ${this.renderInput()} ${this.renderOutput()}
        </div>
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">${this.announcement}</div>
      </div>
    `;
  }

  private renderInput(): TemplateResult {
    const pen = this.pad?.cursor;
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
            @keydown=${this.onPadKey}
            @focus=${(e: FocusEvent) => (this.padFocused = (e.target as HTMLElement).matches(':focus-visible'))}
            @blur=${() => (this.padFocused = false)}
          ></canvas>
          ${this.hasInk
            ? nothing
            : html`<div class="pad-hint" aria-hidden="true">${pencilIcon}<span>Draw a digit here</span></div>`}
          ${this.padFocused && pen
            ? html`<span
                class=${classMap({ pen: true, 'pen--down': this.pad?.penDown ?? false })}
                style=${styleMap({ left: `${pen.x * 100}%`, top: `${pen.y * 100}%` })}
                aria-hidden="true"
              ></span>`
            : nothing}
        </div>
        <div class="pad-bar">
          <span class="keys" id="pad-keys">
            ${this.padFocused
              ? html`<kbd>←↑→↓</kbd> move · <kbd>Space</kbd> pen down/up · <kbd>Del</kbd> clear`
              : html`Mouse, touch or pen`}
          </span>
          <button
            class="button"
            part="clear-button"
            type="button"
            ?disabled=${!this.hasInk && !this.response && !this.problem && this.source.kind === 'none'}
            @click=${() => this.clear()}
          >
            ${eraserIcon}Clear
          </button>
      </section>
      <section class="upload" part="upload" aria-label="Upload a CSV file">
        <div class="or" aria-hidden="true">or</div>
        <div class="dropzone" part="dropzone">
          <input
            class="file-input"
            type="file"
            accept=".csv,text/csv,text/plain"
            tabindex="-1"
            aria-hidden="true"
            @change=${this.onFileChosen}
          />
          <button
            class="button button--primary"
            part="file-button"
            type="button"
            @click=${() => this.renderRoot.querySelector<HTMLInputElement>('.file-input')?.click()}
          >
            ${uploadIcon}Choose a CSV file
          </button>
          <p>or drop one here · 784 values per image (0–255 or 0–1), optional label column and header</p>
        </div>
      </section>
    `;
  }

  private renderOutput(): TemplateResult {
    const predictions = this.response?.predictions ?? [];
    const current: ImagePrediction | undefined = predictions[this.selected];
    const count = this.thumbnails.length;
    return html`
      <section class="output" part="results" aria-label="Results" aria-busy=${this.busy ? 'true' : 'false'}>
        ${this.busy ? html`<div class="progress" role="progressbar" aria-label="Asking the models"></div>` : nothing}
        <div class="summary">
          <figure class="preview" part="preview">
            ${this.thumbnails[this.selected]
              ? html`<img
                  src=${this.thumbnails[this.selected]}
                  alt=${count > 1 ? `Image ${this.selected + 1} of ${count}, 28 by 28 pixels` : 'The 28 by 28 image the models see'}
                />`
              : html`<div class="preview-empty" aria-hidden="true">28×28</div>`}
            <figcaption>${count > 1 ? `Image ${this.selected + 1} of ${count}` : 'What the models see'}</figcaption>
          </figure>
          <div class="verdict">${this.renderVerdict(current)}</div>
        </div>
        ${this.problem ? this.renderProblem(this.problem) : nothing}
        <div class="models">${MODELS.map((m) => this.renderModel(m, current?.[m.key], current !== undefined))}</div>
        ${count > 1 ? this.renderBatch(predictions) : nothing}
      </section>
    `;
  }

  private renderVerdict(p: ImagePrediction | undefined): TemplateResult {
    const source = this.sourceLine();
    if (!p) {
      return html`
        ${source}
        <p class="placeholder">
          ${this.busy ? 'Asking both models…' : this.source.kind === 'none' ? 'Draw a digit or choose a CSV file; both models answer here.' : ''}
        </p>
      `;
    }
    const label = p.label ?? this.labels[p.index] ?? this.labels[this.selected] ?? null;
    const { cnn, vit } = p;
    let verdict: TemplateResult;
    if (cnn && vit && cnn.digit === vit.digit) {
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
      ${source} ${verdict}
      ${label === null
        ? nothing
        : html`<p class="label-note">
            Label in the file: <strong>${label}</strong>
            ${cnn && cnn.digit !== label ? html` · <span class="wrong">CNN wrong</span>` : nothing}
            ${vit && vit.digit !== label ? html` · <span class="wrong">ViT wrong</span>` : nothing}
          </p>`}
    `;
  }

  private sourceLine(): TemplateResult | typeof nothing {
    const s = this.source;
    const ms = this.response?.timings?.totalMs;
    const timing = typeof ms === 'number' && !this.busy ? ` · answered in ${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms` : '';
    if (s.kind === 'csv') {
      const layout = s.layout === 'grid' ? 'one 28×28 grid' : s.layout === 'labelled-rows' ? 'rows with labels' : 'rows of 784 values';
      return html`<p class="source">${s.name} · ${plural(this.thumbnails.length, 'image')} · ${layout}, ${s.scale}${timing}</p>`;
    }
    if (s.kind === 'drawing') return html`<p class="source">Your drawing${timing}</p>`;
    return nothing;
  }

  private renderProblem(problem: Problem): TemplateResult {
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

  /** One model's panel; `answered` with no answer means the server lacks this model. */
  private renderModel(model: (typeof MODELS)[number], answer: ModelAnswer | null | undefined, answered: boolean): TemplateResult {
    const probabilities = answer?.probabilities ?? new Array<number>(10).fill(0);
    return html`
      <section class="model model--${model.key}" part="model ${model.key}" aria-label=${model.name}>
        <div class="model-head">
          <span class="model-name">${model.name}</span><span class="model-kind">${model.kind}</span>
        </div>
        <div class="model-answer">
          <span class="digit ${answer ? '' : 'digit--none'}" part="${model.key}-digit">${answer ? answer.digit : '–'}</span>
          ${answer
            ? html`<span class="confidence">${percent(top(answer))}<span class="sure"> sure</span></span>`
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

  private renderBatch(predictions: ImagePrediction[]): TemplateResult {
    const total = this.thumbnails.length;
    const answered = predictions.length;
    const compared = predictions.filter(bothRead).length;
    const agree = predictions.filter((p) => bothRead(p) && p.cnn?.digit === p.vit?.digit).length;
    const labelOf = (i: number): number | null => predictions[i]?.label ?? this.labels[i] ?? null;
    const labelled = predictions.filter((_, i) => labelOf(i) !== null).length;
    const right = (key: 'cnn' | 'vit') => {
      if (!predictions.some((p) => p[key])) return '–';
      return `${predictions.filter((p, i) => p[key]?.digit === labelOf(i)).length}/${labelled}`;
    };
    return html`
      <div class="batch">
        <div class="batch-head">
          <strong>${plural(total, 'image')}</strong>
          ${answered > 0
            ? html`<span class="batch-stats">
                ${compared > 0 ? `agree on ${agree}/${compared}` : `${answered} answered`}${labelled > 0 ? ` · correct: CNN ${right('cnn')}, ViT ${right('vit')}` : ''}
              </span>`
            : nothing}
        </div>
        <div class="legend" aria-hidden="true">
          <span><span class="swatch" style="background: var(--digit-cnn-color)"></span>CNN</span>
          <span><span class="swatch" style="background: var(--digit-vit-color)"></span>ViT</span>
          <span><span class="swatch" style="background: var(--digit-warning-border)"></span>disagree</span>
          ${labelled > 0 ? html`<span><span class="swatch" style="background: var(--digit-danger-text); border-radius: 50%"></span>wrong vs label</span>` : nothing}
        </div>
        <div class="grid" part="grid" role="group" aria-label="Images in the file" @keydown=${this.onThumbKey}>
          ${this.thumbnails.map((url, i) => {
            const p = predictions[i];
            const label = labelOf(i);
            const disagree = p !== undefined && bothRead(p) && p.cnn?.digit !== p.vit?.digit;
            const wrong = p !== undefined && label !== null && [p.cnn, p.vit].some((a) => a && a.digit !== label);
            const name = p
              ? `Image ${i + 1}: CNN ${p.cnn?.digit ?? 'not available'}, ViT ${p.vit?.digit ?? 'not available'}${label !== null ? `, label ${label}` : ''}`
              : `Image ${i + 1}`;
            return html`
              <button
                class=${classMap({ thumb: true, 'thumb--disagree': disagree, 'thumb--wrong': wrong })}
                part="thumbnail"
                type="button"
                data-index=${i}
                tabindex=${i === this.selected ? 0 : -1}
                aria-pressed=${i === this.selected ? 'true' : 'false'}
                aria-label=${name}
                @click=${() => (this.selected = i)}
              >
                <img src=${url} alt="" width="28" height="28" />
                <span class="thumb-answers" aria-hidden="true">
                  ${p
                    ? html`<span class="thumb-cnn">${p.cnn?.digit ?? '–'}</span><span class="thumb-vit">${p.vit?.digit ?? '–'}</span>`
                    : html`<span>…</span>`}
                </span>
              </button>
            `;
          })}
        </div>
      </div>
    `;
  }
}

function bothRead(p: ImagePrediction): boolean {
  return p.cnn !== null && p.vit !== null;
}

function top(answer: ModelAnswer): number {
  return answer.probabilities[answer.digit] ?? 0;
}

function percent(p: number): string {
  const v = Math.min(1, Math.max(0, p)) * 100;
  if (v >= 99.95) return '>99.9%'; // a softmax is never exactly 1
  return v >= 10 ? `${v.toFixed(1)}%` : v >= 0.1 ? `${v.toFixed(1)}%` : v > 0 ? '<0.1%' : '0%';
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;
}

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function hasFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}

// Small inline icons (24x24 strokes), decorative only.
const icon = (body: TemplateResult) =>
  html`<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;
const pencilIcon = icon(svg`<path d="M12 20h9"/><path d="M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4Z"/>`);
const eraserIcon = icon(svg`<path d="m7 21-4.3-4.3a1 1 0 0 1 0-1.4l10-10a1 1 0 0 1 1.4 0l5.6 5.6a1 1 0 0 1 0 1.4L13 19"/><path d="M22 21H7"/><path d="m5 11 9 9"/>`);
const uploadIcon = icon(svg`<path d="M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4"/><path d="m17 8-5-5-5 5"/><path d="M12 3v12"/>`);
const checkIcon = icon(svg`<circle cx="12" cy="12" r="10"/><path d="m9 12 2 2 4-4"/>`);
const warningIcon = icon(svg`<path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0Z"/><path d="M12 9v4"/><path d="M12 17h.01"/>`);
const errorIcon = icon(svg`<circle cx="12" cy="12" r="10"/><path d="M12 8v4"/><path d="M12 16h.01"/>`);
