import { html, LitElement, nothing, type PropertyDeclarations, type PropertyValues, type TemplateResult } from 'lit';
import { batchStats, filteredIndices, labelOf, type GridFilter } from './batch-stats.ts';
import { ClassifierController, type ClassifierHost } from './classifier-controller.ts';
import { checkCsvText, readCsvFile, type TextSource } from './csv-input.ts';
import { digitImageUrl } from './digit-image.ts';
import styles from './digit-classifier.styles.ts';
import type { ExplanationView } from './explanation-overlay.ts';
import explanationStyles from './explanation-overlay.styles.ts';
import { DrawingPad } from './drawing-pad.ts';
import { positive } from './format.ts';
import { mnistPreprocess } from './mnist-preprocess.ts';
import type { PredictResponse } from './predict-client.ts';
import { isBrowserMode, type BrowserMode } from './local/modes.ts';
import { PREDICT_MODES, type PredictMode } from './local/predictor.ts';
import { MODELS, modelTemplate, previewTemplate, problemTemplate, sourceTemplate, verdictTemplate } from './templates/answers.ts';
import { explanationLayerTemplate, explanationSwitchTemplate } from './templates/explanation.ts';
import { drawTemplate, uploadTemplate, type InputView } from './templates/input.ts';
import { gridTemplate, summaryTemplate, type SummaryView } from './templates/summary.ts';

export type { DigitClassifierErrorDetail } from './classifier-controller.ts';

/** Most images in a file: a whole MNIST training set (60,000 rows). */
const DEFAULT_MAX_IMAGES = 60_000;
/** Largest file: the 60,000-row MNIST training set as CSV is about 110 MB. */
const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** Images per request; a server's default `MAX_IMAGES` takes this many. */
const DEFAULT_BATCH_SIZE = 1000;
/** Thumbnails per page of the grid. */
const DEFAULT_PAGE_SIZE = 48;
/** Pause after a stroke before asking the models, so a two-stroke 4 or 7 is sent once. */
const STROKE_PAUSE_MS = 250;

/**
 * @summary Draw a digit or upload a CSV of 28x28 images, and see what digitlab's CNN and ViT predict.
 *
 * @event prediction - The models answered. `detail` is shaped as the `/predict` response:
 *   `{ predictions: [{ index, cnn: { digit, probabilities }, vit: {...}, agree, label, explanation? }], count, timings, models }`
 *   (for a file sent in batches, every batch's answers in input order; `explanation`, each model's 28x28 map, for a
 *   drawing or a one-image file, wherever it ran), with where it ran:
 *   `{ where: 'local' | 'server', backend: 'webgpu' | 'webgl2' | 'webasm' | null, kernelClass, checked }`.
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
 * @csspart results - The column holding preview, answers, notices and a file's summary and grid.
 * @csspart preview - The 28x28 image the models see, enlarged.
 * @csspart explanation - The map laid over the preview (the chosen model's saliency or attention).
 * @csspart explain-switch - The "Why" switch under the preview, with its caption.
 * @csspart explain-choice - One of its buttons (Off, CNN saliency, ViT attention).
 * @csspart agreement - The note that both models agree.
 * @csspart disagreement - The notice that the models disagree.
 * @csspart model - Each model's panel (also `cnn` or `vit`).
 * @csspart cnn-digit - The CNN's predicted digit.
 * @csspart vit-digit - The ViT's predicted digit.
 * @csspart bars - Each model's ten probability bars.
 * @csspart bar - One probability bar.
 * @csspart provenance - Where the answers shown ran ("ran in this browser on WebGPU, checked").
 * @csspart error - The error message shown in place.
 * @csspart retry-button - "Try again", offered in the error when the server could not be reached or failed.
 * @csspart summary - A file's image count and progress.
 * @csspart stat - One figure of a file (also `agreement-rate`, `cnn-accuracy`, `vit-accuracy`).
 * @csspart filter - A button choosing which images the grid shows (all, disagreements, wrong).
 * @csspart grid - The grid of thumbnails for a file.
 * @csspart thumbnail - One image of a file (a button selecting it).
 * @csspart pager - The grid's page buttons (also `page-prev`, `page-next`).
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
export class DigitClassifier extends LitElement implements ClassifierHost {
  static override styles = [styles, explanationStyles];

  static override properties: PropertyDeclarations = {
    endpoint: { type: String },
    maxImages: { type: Number, attribute: 'max-images' },
    maxBytes: { type: Number, attribute: 'max-bytes' },
    batchSize: { type: Number, attribute: 'batch-size' },
    pageSize: { type: Number, attribute: 'page-size' },
    heading: { type: String },
    mode: { type: String, reflect: true },
    backend: { type: String },
    dragging: { state: true },
    hasInk: { state: true },
    padFocused: { state: true },
    explanationView: { state: true },
  };

  /** Where to POST images: the server's `/predict` (any origin the server's CORS allows). */
  declare endpoint: string;
  /** The most images a CSV may hold (attribute `max-images`); more is refused before sending. */
  declare maxImages: number;
  /** The largest CSV file accepted, in bytes (attribute `max-bytes`). */
  declare maxBytes: number;
  /** Most images per request (attribute `batch-size`); a larger file is sent in several. At most the server's `MAX_IMAGES`. */
  declare batchSize: number;
  /** Thumbnails per page of a file's grid (attribute `page-size`). */
  declare pageSize: number;
  /** The title shown at the top. */
  declare heading: string;
  /**
   * Where the models run: `server` (POST to `endpoint`), `local` (in this browser, on the
   * server's weights, checked against their sha256), or `auto` (default: local once the models
   * are loaded and checked here, the server until then and whenever local cannot run).
   */
  declare mode: string;
  /** The browser backend local mode must use (`webgpu`, `webgl2`, `webasm`); unset: the fastest that passes its probe. */
  declare backend: string | null;

  declare private dragging: boolean;
  declare private hasInk: boolean;
  declare private padFocused: boolean;
  /** Whose map the preview shows (the "Why" switch). */
  declare private explanationView: ExplanationView;

  private readonly classifier = new ClassifierController(this);
  private pad: DrawingPad | null = null;
  private strokeTimer: ReturnType<typeof setTimeout> | undefined;
  private dragDepth = 0;
  /** Thumbnails drawn so far, for the images they were drawn from. */
  private thumbnails = { of: null as Float32Array | null, urls: new Map<number, string>() };

  constructor() {
    super();
    this.endpoint = '/predict';
    this.maxImages = DEFAULT_MAX_IMAGES;
    this.maxBytes = DEFAULT_MAX_BYTES;
    this.batchSize = DEFAULT_BATCH_SIZE;
    this.pageSize = DEFAULT_PAGE_SIZE;
    this.heading = 'What digit is this?';
    this.mode = 'auto';
    this.backend = null;
    this.dragging = false;
    this.hasInk = false;
    this.padFocused = false;
    this.explanationView = 'off';
    this.addEventListener('dragenter', this.onDragEnter);
    this.addEventListener('dragover', this.onDragOver);
    this.addEventListener('dragleave', this.onDragLeave);
    this.addEventListener('drop', this.onDrop);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.strokeTimer);
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

  /** `batchSize` as a whole number of images, >= 1. */
  get imagesPerRequest(): number {
    return Math.max(1, Math.floor(positive(this.batchSize, DEFAULT_BATCH_SIZE)));
  }

  /** `pageSize` as a whole number of images, >= 1. */
  get imagesPerPage(): number {
    return Math.max(1, Math.floor(positive(this.pageSize, DEFAULT_PAGE_SIZE)));
  }

  /** `mode` as one of server, local, auto (anything else reads as auto). */
  get predictMode(): PredictMode {
    return (PREDICT_MODES as readonly string[]).includes(this.mode) ? (this.mode as PredictMode) : 'auto';
  }

  /** `backend` when it names a browser backend, else null (choose by probe). */
  get forcedBackend(): BrowserMode | null {
    return isBrowserMode(this.backend) ? this.backend : null;
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    // the engine loads as soon as local answers are wanted, not at the first drawing
    if (changed.has('mode') || changed.has('backend') || changed.has('endpoint')) this.classifier.prepareLocal();
  }

  // ---- public methods ----

  /** Clears the drawing, the results and any error. */
  clear(): void {
    clearTimeout(this.strokeTimer);
    this.pad?.clear();
    this.classifier.reset('Cleared.');
  }

  /** Checks a CSV file (a `File`, e.g. from an input or a drop) and asks the models about it. */
  async classifyFile(file: TextSource): Promise<PredictResponse | null> {
    let read;
    try {
      // Checking a whole file holds the page for a moment: show that it is being read first.
      this.classifier.reading(file.name);
      await this.updateComplete;
      await new Promise((resolve) => setTimeout(resolve, 20));
      read = await readCsvFile(file, this.limits());
    } catch (error) {
      this.refuseFile(error, file.name);
      return null;
    }
    this.pad?.clear();
    const sent = this.classifier.classifyFile(read);
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
    this.pad?.clear();
    return this.classifier.classifyFile({ ...parsed, text, name: name ?? 'CSV' });
  }

  // ---- flow ----

  private limits() {
    return { maxImages: positive(this.maxImages, DEFAULT_MAX_IMAGES), maxBytes: positive(this.maxBytes, DEFAULT_MAX_BYTES) };
  }

  private refuseFile(error: unknown, name?: string): void {
    this.pad?.clear();
    this.classifier.refuseFile(error, name);
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
    this.strokeTimer = setTimeout(() => {
      if (!this.pad?.hasInk) return;
      const image = mnistPreprocess(this.pad.ink(), { threshold: 0.05 });
      if (image) void this.classifier.classifyDrawing(image);
    }, STROKE_PAUSE_MS);
  }

  /** The thumbnail of image `index`, drawn once per input. */
  private thumbnail(index: number): string {
    const { images } = this.classifier.state;
    if (!images) return '';
    if (this.thumbnails.of !== images) this.thumbnails = { of: images, urls: new Map() };
    let url = this.thumbnails.urls.get(index);
    if (url === undefined) {
      url = digitImageUrl(images, index);
      this.thumbnails.urls.set(index, url);
    }
    return url;
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
      if (this.hasInk || this.classifier.state.predictions.length > 0) {
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

  /** Arrow keys, Home and End move the selection through the images the grid shows, page by page. */
  private onGridKey(event: KeyboardEvent, shown: readonly number[]): void {
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -1, ArrowDown: 1, Home: -Infinity, End: Infinity };
    const move = moves[event.key];
    if (move === undefined || shown.length === 0) return;
    event.preventDefault();
    const at = Math.max(0, shown.indexOf(this.classifier.state.selected));
    const next = shown[Math.min(shown.length - 1, Math.max(0, Number.isFinite(move) ? at + move : move < 0 ? 0 : shown.length - 1))];
    this.classifier.select(next);
    void this.updateComplete.then(() => {
      this.renderRoot.querySelector<HTMLButtonElement>(`.thumb[data-index="${next}"]`)?.focus();
    });
  }

  // ---- rendering ----

  protected override render(): TemplateResult {
    const s = this.classifier.state;
    const input: InputView = {
      hasInk: this.hasInk,
      pen: this.pad?.cursor ? { ...this.pad.cursor, down: this.pad.penDown } : null,
      padFocused: this.padFocused,
      canClear: this.hasInk || s.predictions.length > 0 || s.problem !== null || s.source.kind !== 'none',
      onPadKey: (e) => this.onPadKey(e),
      onPadFocus: (e) => (this.padFocused = (e.target as HTMLElement).matches(':focus-visible')),
      onPadBlur: () => (this.padFocused = false),
      onClear: () => this.clear(),
      onChooseFile: () => this.renderRoot.querySelector<HTMLInputElement>('.file-input')?.click(),
      onFileChosen: (e) => this.onFileChosen(e),
    };
    return html`
      <div class="base" part="base">
        ${this.dragging ? html`<div class="drop-overlay" aria-hidden="true">Drop the CSV file to classify it</div>` : nothing}
        <header class="header" part="header">
          <h2 class="title">${this.heading}</h2>
          <p class="subtitle">Draw a digit or upload a CSV of 28×28 images. Two models answer: a CNN and a Vision Transformer.</p>
        </header>
        <div class="layout">${drawTemplate(input)} ${uploadTemplate(input)} ${this.renderOutput()}</div>
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">${s.announcement}</div>
      </div>
    `;
  }

  private renderOutput(): TemplateResult {
    const s = this.classifier.state;
    const current = s.predictions[s.selected];
    const placeholder = s.busy
      ? s.progress || (this.classifier.loadingLocally ? 'Loading both models into this browser…' : 'Asking both models…')
      : s.source.kind === 'none'
        ? 'Draw a digit or choose a CSV file; both models answer here.'
        : '';
    return html`
      <section class="output" part="results" aria-label="Results" aria-busy=${s.busy ? 'true' : 'false'}>
        ${s.busy ? html`<div class="progress" role="progressbar" aria-label="Asking the models"></div>` : nothing}
        <div class="summary">
          ${previewTemplate(s.images ? this.thumbnail(s.selected) : '', s.selected, s.count, explanationLayerTemplate(current?.explanation, this.explanationView))}
          <div class="verdict">
            ${sourceTemplate(s.source, s.count, s.totalMs, s.busy)}
            ${verdictTemplate(current, labelOf(s.predictions, s.labels, s.selected), placeholder)}
            ${s.provenance && current ? html`<p class="provenance" part="provenance">${s.provenance}</p>` : nothing}
          </div>
        </div>
        ${explanationSwitchTemplate({ view: this.explanationView, explanations: current?.explanation, answered: current !== undefined, onView: (v) => (this.explanationView = v) })}
        ${s.problem ? problemTemplate(s.problem) : nothing}
        <div class="models">${MODELS.map((m) => modelTemplate(m, current?.[m.key], current !== undefined))}</div>
        ${s.count > 1 ? this.renderBatch() : nothing}
      </section>
    `;
  }

  private renderBatch(): TemplateResult {
    const s = this.classifier.state;
    const indices = (filter: GridFilter) => filteredIndices(filter, s.count, s.predictions, s.labels);
    const shown = indices(s.filter);
    const view: SummaryView = {
      stats: batchStats(s.count, s.predictions, s.labels),
      progress: s.progress,
      predictions: s.predictions,
      labels: s.labels,
      filter: s.filter,
      shown,
      filterCounts: { all: s.count, disagree: indices('disagree').length, wrong: indices('wrong').length },
      page: s.page,
      pageSize: this.imagesPerPage,
      selected: s.selected,
      thumbnail: (i) => this.thumbnail(i),
      onSelect: (i) => this.classifier.select(i),
      onFilter: (f) => this.classifier.setFilter(f),
      onPage: (p) => this.classifier.setPage(p),
      onGridKey: (e) => this.onGridKey(e, shown),
    };
    return html`<div class="batch">${summaryTemplate(view)} ${gridTemplate(view)}</div>`;
  }
}

function hasFiles(event: DragEvent): boolean {
  return event.dataTransfer?.types.includes('Files') ?? false;
}
