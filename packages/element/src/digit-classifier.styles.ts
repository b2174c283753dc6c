import { css } from 'lit';

/**
 * Every colour, radius and font comes from a `--digit-*` custom property set on `:host`, so a
 * page themes the element with plain CSS (`digit-classifier { --digit-accent: teal }`); page
 * styles win over `:host` defaults. The layout follows the element's own width (a container
 * query), not the window's, so it fits a sidebar as well as a full page.
 */
export default css`
  :host {
    --digit-font: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --digit-background: #ffffff;
    --digit-surface: #f8fafc;
    --digit-text: #0f172a;
    --digit-muted: #64748b;
    --digit-border: #e2e8f0;
    --digit-accent: #4f46e5;
    --digit-cnn-color: #4f46e5;
    --digit-vit-color: #0d9488;
    --digit-ink: #0f172a;
    --digit-pad-background: #ffffff;
    --digit-preview-background: #0f172a;
    --digit-agree-color: #15803d;
    --digit-warning-text: #92400e;
    --digit-warning-background: #fffbeb;
    --digit-warning-border: #fcd34d;
    --digit-danger-text: #991b1b;
    --digit-danger-background: #fef2f2;
    --digit-danger-border: #fca5a5;
    --digit-radius: 16px;
    --digit-shadow: 0 1px 2px rgb(15 23 42 / 0.06), 0 8px 24px rgb(15 23 42 / 0.08);

    display: block;
    container-type: inline-size;
    color: var(--digit-text);
    font-family: var(--digit-font);
    font-size: 15px;
    line-height: 1.45;
    -webkit-tap-highlight-color: transparent;
  }

  :host([hidden]) {
    display: none;
  }

  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }

  .base {
    position: relative;
    background: var(--digit-background);
    border: 1px solid var(--digit-border);
    border-radius: var(--digit-radius);
    box-shadow: var(--digit-shadow);
    padding: 16px;
  }

  @container (min-width: 640px) {
    .base {
      padding: 24px;
    }
  }

  .header {
    margin-bottom: 16px;
  }

  .title {
    margin: 0;
    font-size: 1.25rem;
    font-weight: 700;
    letter-spacing: -0.01em;
  }

  .subtitle {
    margin: 4px 0 0;
    color: var(--digit-muted);
    font-size: 0.9rem;
  }

  /* Narrow: pad, then the answers right under it, then the file chooser.
     Wide: pad and file chooser on the left, answers on the right. */
  .layout {
    display: grid;
    grid-template-columns: minmax(0, 1fr);
    grid-template-areas: 'draw' 'output' 'upload';
    gap: 20px;
  }

  @container (min-width: 640px) {
    .layout {
      grid-template-columns: minmax(220px, 300px) minmax(0, 1fr);
      grid-template-rows: auto 1fr;
      grid-template-areas: 'draw output' 'upload output';
      column-gap: 28px;
      row-gap: 12px;
      align-items: start;
    }
  }

  /* ---- input: the pad and the file chooser ---- */

  .draw,
  .upload {
    display: flex;
    flex-direction: column;
    gap: 12px;
    min-width: 0;
  }

  .draw {
    grid-area: draw;
  }

  .upload {
    grid-area: upload;
  }

  .pad {
    position: relative;
    width: 100%;
    max-width: 320px;
    margin: 0 auto;
    aspect-ratio: 1;
    border: 2px dashed var(--digit-border);
    border-radius: calc(var(--digit-radius) - 4px);
    background: var(--digit-pad-background);
    transition: border-color 0.15s;
  }

  .pad:hover,
  .pad:focus-within {
    border-color: color-mix(in srgb, var(--digit-accent) 55%, var(--digit-border));
  }

  .pad canvas {
    display: block;
    user-select: none;
    -webkit-user-select: none;
    width: 100%;
    height: 100%;
    border-radius: inherit;
    touch-action: none;
    cursor: crosshair;
    outline: none;
  }

  .pad:has(canvas:focus-visible) {
    border-style: solid;
    border-color: var(--digit-accent);
    box-shadow: 0 0 0 3px color-mix(in srgb, var(--digit-accent) 30%, transparent);
  }

  .pad-hint {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
    align-content: center;
    gap: 6px;
    padding: 16px;
    color: var(--digit-muted);
    text-align: center;
    pointer-events: none;
    user-select: none;
  }

  .pad-hint svg {
    width: 28px;
    height: 28px;
    opacity: 0.7;
  }

  .pen {
    position: absolute;
    width: 14px;
    height: 14px;
    margin: -7px 0 0 -7px;
    border: 2px solid var(--digit-accent);
    border-radius: 50%;
    pointer-events: none;
  }

  .pen--down {
    background: var(--digit-accent);
  }

  .pad-bar {
    display: flex;
    align-items: center;
    justify-content: space-between;
    gap: 8px;
    width: 100%;
    max-width: 320px;
    margin: 0 auto;
    min-height: 36px;
  }

  .keys {
    color: var(--digit-muted);
    font-size: 0.78rem;
  }

  kbd {
    font: inherit;
    font-size: 0.72rem;
    padding: 0 4px;
    border: 1px solid var(--digit-border);
    border-bottom-width: 2px;
    border-radius: 4px;
    background: var(--digit-surface);
  }

  button {
    font: inherit;
    color: inherit;
  }

  .button {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    min-height: 36px;
    padding: 6px 14px;
    border: 1px solid var(--digit-border);
    border-radius: 999px;
    background: var(--digit-background);
    font-weight: 600;
    font-size: 0.875rem;
    cursor: pointer;
    transition: background 0.15s, border-color 0.15s;
  }

  .button:hover:not(:disabled) {
    background: var(--digit-surface);
    border-color: color-mix(in srgb, var(--digit-accent) 40%, var(--digit-border));
  }

  .button:disabled {
    opacity: 0.45;
    cursor: default;
  }

  .button--primary {
    background: var(--digit-accent);
    border-color: var(--digit-accent);
    color: #fff;
  }

  .button--primary:hover:not(:disabled) {
    background: color-mix(in srgb, var(--digit-accent) 85%, #000);
    border-color: transparent;
  }

  .button svg {
    width: 16px;
    height: 16px;
  }

  :focus-visible {
    outline: 3px solid color-mix(in srgb, var(--digit-accent) 45%, transparent);
    outline-offset: 2px;
  }

  .or {
    display: flex;
    align-items: center;
    gap: 10px;
    color: var(--digit-muted);
    font-size: 0.8rem;
    text-transform: uppercase;
    letter-spacing: 0.06em;
  }

  .or::before,
  .or::after {
    content: '';
    flex: 1;
    border-top: 1px solid var(--digit-border);
  }

  .dropzone {
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 8px;
    padding: 16px;
    border: 2px dashed var(--digit-border);
    border-radius: calc(var(--digit-radius) - 4px);
    background: var(--digit-surface);
    text-align: center;
  }

  .dropzone p {
    margin: 0;
    color: var(--digit-muted);
    font-size: 0.8rem;
  }

  .file-input {
    position: absolute;
    width: 1px;
    height: 1px;
    opacity: 0;
    pointer-events: none;
  }

  .drop-overlay {
    position: absolute;
    inset: 0;
    z-index: 2;
    display: grid;
    place-items: center;
    border: 3px dashed var(--digit-accent);
    border-radius: var(--digit-radius);
    background: color-mix(in srgb, var(--digit-background) 88%, var(--digit-accent));
    color: var(--digit-accent);
    font-size: 1.1rem;
    font-weight: 700;
    pointer-events: none;
  }

  /* ---- output: preview, both models, notices, the batch grid ---- */

  .output {
    grid-area: output;
    position: relative;
    display: flex;
    flex-direction: column;
    gap: 14px;
    min-width: 0;
  }

  .progress {
    position: absolute;
    top: -10px;
    left: 0;
    right: 0;
    height: 3px;
    overflow: hidden;
    border-radius: 3px;
    background: color-mix(in srgb, var(--digit-accent) 15%, transparent);
  }

  .progress::after {
    content: '';
    position: absolute;
    inset: 0;
    width: 40%;
    background: var(--digit-accent);
    animation: slide 1s ease-in-out infinite;
  }

  @keyframes slide {
    from {
      transform: translateX(-100%);
    }
    to {
      transform: translateX(250%);
    }
  }

  .summary {
    display: flex;
    align-items: center;
    gap: 14px;
  }

  .preview {
    flex: none;
    margin: 0;
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 4px;
  }

  .preview img,
  .preview-empty {
    display: block;
    width: 84px;
    height: 84px;
    border-radius: 10px;
    background: var(--digit-preview-background);
    image-rendering: pixelated;
  }

  @container (min-width: 640px) {
    .preview img,
    .preview-empty {
      width: 112px;
      height: 112px;
    }
  }

  .preview-empty {
    display: grid;
    place-items: center;
    color: rgb(255 255 255 / 0.45);
    font-size: 0.75rem;
  }

  .preview figcaption {
    color: var(--digit-muted);
    font-size: 0.72rem;
  }

  .verdict {
    display: flex;
    flex-direction: column;
    gap: 6px;
    min-width: 0;
  }

  .source,
  .provenance {
    margin: 0;
    color: var(--digit-muted);
    font-size: 0.8rem;
    overflow-wrap: anywhere;
  }

  .placeholder {
    margin: 0;
    color: var(--digit-muted);
  }

  .agreement {
    margin: 0;
    display: flex;
    align-items: center;
    gap: 6px;
    color: var(--digit-agree-color);
    font-weight: 600;
  }

  /* A notice (disagreement, error): its icon beside its text in a tinted box. */
  .disagreement,
  .error {
    margin: 0;
    display: flex;
    align-items: flex-start;
    gap: 8px;
    border: 1px solid;
    border-radius: 10px;
  }

  .disagreement {
    padding: 8px 12px;
    border-color: var(--digit-warning-border);
    background: var(--digit-warning-background);
    color: var(--digit-warning-text);
    font-weight: 600;
  }

  .agreement svg,
  .disagreement svg,
  .error svg {
    flex: none;
    width: 18px;
    height: 18px;
    margin-top: 2px;
  }

  .label-note {
    margin: 0;
    font-size: 0.85rem;
    color: var(--digit-muted);
  }

  .label-note strong {
    color: var(--digit-text);
  }

  .wrong {
    color: var(--digit-danger-text);
    font-weight: 600;
  }

  .models {
    display: grid;
    grid-template-columns: repeat(2, minmax(0, 1fr));
    gap: 10px;
  }

  .model {
    --model-color: var(--digit-cnn-color);
    container: model / inline-size;
    display: flex;
    flex-direction: column;
    padding: 12px;
    border: 1px solid var(--digit-border);
    border-radius: 12px;
    background: var(--digit-surface);
    min-width: 0;
  }

  .model--vit {
    --model-color: var(--digit-vit-color);
  }

  .model-head {
    display: flex;
    align-items: baseline;
    gap: 6px;
    min-width: 0;
  }

  .model-name {
    font-weight: 700;
    color: var(--model-color);
  }

  .model-kind {
    display: none;
    color: var(--digit-muted);
    font-size: 0.75rem;
    white-space: nowrap;
    overflow: hidden;
    text-overflow: ellipsis;
  }

  @container model (min-width: 230px) {
    .model-kind {
      display: inline;
    }
  }

  .model-answer {
    display: flex;
    align-items: baseline;
    gap: 8px;
    margin: 2px 0 8px;
  }

  .digit {
    font-size: 2.75rem;
    line-height: 1;
    font-weight: 800;
    font-variant-numeric: tabular-nums;
    color: var(--model-color);
  }

  .digit--none {
    color: var(--digit-border);
  }

  .confidence {
    color: var(--digit-muted);
    font-size: 0.85rem;
    font-variant-numeric: tabular-nums;
    white-space: nowrap;
  }

  /* In a narrow panel, "99.8%" alone says enough. */
  .sure {
    display: none;
  }

  @container model (min-width: 170px) {
    .sure {
      display: inline;
    }
  }

  .bars {
    display: grid;
    grid-template-columns: repeat(10, minmax(0, 1fr));
    gap: 3px;
    margin: auto 0 0; /* bottom of the panel, so both panels' bars line up */
    padding: 0;
    list-style: none;
  }

  .bar {
    display: flex;
    flex-direction: column;
    align-items: stretch;
    gap: 3px;
  }

  .bar-track {
    position: relative;
    height: 56px;
    border-radius: 4px;
    background: color-mix(in srgb, var(--model-color) 8%, transparent);
    overflow: hidden;
  }

  .bar-fill {
    position: absolute;
    left: 0;
    right: 0;
    bottom: 0;
    min-height: 2px;
    border-radius: 4px 4px 0 0;
    background: color-mix(in srgb, var(--model-color) 35%, transparent);
    transition: height 0.25s ease-out;
  }

  .bar--top .bar-fill {
    background: var(--model-color);
  }

  .bar-digit {
    text-align: center;
    color: var(--digit-muted);
    font-size: 0.72rem;
    font-variant-numeric: tabular-nums;
  }

  .bar--top .bar-digit {
    color: var(--model-color);
    font-weight: 700;
  }

  .error {
    padding: 10px 12px;
    border-color: var(--digit-danger-border);
    background: var(--digit-danger-background);
    color: var(--digit-danger-text);
  }

  .error-text {
    display: flex;
    flex-direction: column;
    gap: 4px;
    min-width: 0;
    overflow-wrap: anywhere;
  }

  .error-title {
    font-weight: 700;
  }

  .retry {
    margin-top: 4px;
    min-height: 30px;
    padding: 4px 12px;
    border-color: var(--digit-danger-border);
    color: var(--digit-danger-text);
  }

  .error-hint {
    font-size: 0.8rem;
    opacity: 0.9;
  }

  .batch {
    display: flex;
    flex-direction: column;
    gap: 8px;
  }

  .batch-head {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    justify-content: space-between;
    gap: 4px 12px;
    font-size: 0.85rem;
  }

  .batch-head strong {
    font-size: 0.95rem;
  }

  .batch-stats {
    color: var(--digit-muted);
  }

  .batch-progress,
  .chip-count {
    color: var(--digit-muted);
    font-variant-numeric: tabular-nums;
  }

  .stats {
    display: grid;
    grid-template-columns: repeat(auto-fit, minmax(88px, 1fr));
    gap: 8px;
    margin: 0;
  }

  .stat {
    padding: 8px 10px;
    border: 1px solid var(--digit-border);
    border-radius: 10px;
    background: var(--digit-surface);
  }

  .stat dt {
    color: var(--digit-muted);
    font-size: 0.75rem;
  }

  .stat dd {
    display: flex;
    flex-wrap: wrap;
    align-items: baseline;
    gap: 0 8px;
    margin: 0;
    font-variant-numeric: tabular-nums;
  }

  .stat-value {
    font-size: 1.2rem;
    font-weight: 700;
  }

  .stat-detail {
    color: var(--digit-muted);
    font-size: 0.8rem;
  }

  .filters {
    display: flex;
    flex-wrap: wrap;
    gap: 6px;
  }

  .chip {
    display: inline-flex;
    align-items: center;
    gap: 6px;
    min-height: 32px;
    padding: 4px 12px;
    border: 1px solid var(--digit-border);
    border-radius: 999px;
    background: var(--digit-background);
    color: var(--digit-text);
    font: inherit;
    font-size: 0.85rem;
    cursor: pointer;
  }

  .chip[aria-pressed='true'] {
    border-color: var(--digit-accent);
    background: color-mix(in srgb, var(--digit-accent) 10%, var(--digit-background));
    color: var(--digit-accent);
    font-weight: 600;
  }

  .chip:focus-visible {
    outline: 2px solid var(--digit-accent);
    outline-offset: 2px;
  }

  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(58px, 1fr));
    gap: 6px;
    padding: 3px;
    margin: -3px;
  }

  .pager {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    justify-content: space-between;
    gap: 8px;
  }

  .pager-where {
    color: var(--digit-muted);
    font-size: 0.8rem;
    font-variant-numeric: tabular-nums;
    text-align: center;
  }

  .thumb {
    position: relative;
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 3px;
    padding: 4px 2px 3px;
    border: 1px solid var(--digit-border);
    border-radius: 10px;
    background: var(--digit-background);
    cursor: pointer;
  }

  .thumb img {
    display: block;
    width: 44px;
    height: 44px;
    border-radius: 6px;
    image-rendering: pixelated;
    background: var(--digit-preview-background);
  }

  .thumb-answers {
    display: flex;
    gap: 6px;
    font-size: 0.78rem;
    font-weight: 700;
    font-variant-numeric: tabular-nums;
  }

  .thumb-cnn {
    color: var(--digit-cnn-color);
  }

  .thumb-vit {
    color: var(--digit-vit-color);
  }

  .thumb--disagree {
    border-color: var(--digit-warning-border);
    background: var(--digit-warning-background);
  }

  .thumb--wrong::after {
    content: '';
    position: absolute;
    top: 3px;
    right: 3px;
    width: 8px;
    height: 8px;
    border-radius: 50%;
    background: var(--digit-danger-text);
  }

  .thumb[aria-pressed='true'] {
    border-color: var(--digit-accent);
    box-shadow: 0 0 0 2px var(--digit-accent);
  }

  .legend {
    display: flex;
    flex-wrap: wrap;
    gap: 4px 12px;
    color: var(--digit-muted);
    font-size: 0.75rem;
  }

  .swatch {
    display: inline-block;
    width: 9px;
    height: 9px;
    margin-right: 4px;
    border-radius: 2px;
    vertical-align: -1px;
  }

  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    margin: -1px;
    padding: 0;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
    border: 0;
  }

  @media (prefers-reduced-motion: reduce) {
    .bar-fill,
    .pad,
    .button {
      transition: none;
    }
    .progress::after {
      animation-duration: 3s;
    }
  }
`;
