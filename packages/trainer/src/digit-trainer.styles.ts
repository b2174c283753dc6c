import { CHART_CSS } from '@digitlab/report/svg';
import { css, unsafeCSS } from 'lit';

/**
 * Colours, radius and font come from `--trainer-*` custom properties on `:host`; the layout follows
 * the element's own width (a container query), so it fits a phone as well as a desktop page.
 */
export default css`
  :host {
    --trainer-font: system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;
    --trainer-background: #ffffff;
    --trainer-surface: #f8fafc;
    --trainer-text: #0f172a;
    --trainer-muted: #64748b;
    --trainer-border: #e2e8f0;
    --trainer-accent: #4f46e5;
    --trainer-loss-color: #dc2626;
    --trainer-accuracy-color: #4f46e5;
    --trainer-validation-color: #0d9488;
    --trainer-danger-text: #991b1b;
    --trainer-danger-background: #fef2f2;
    --trainer-radius: 16px;
    display: block;
    container-type: inline-size;
    color: var(--trainer-text);
    font-family: var(--trainer-font);
    font-size: 15px;
    line-height: 1.45;
  }
  :host([hidden]) { display: none; }
  *, *::before, *::after { box-sizing: border-box; }
  .base { background: var(--trainer-background); border: 1px solid var(--trainer-border); border-radius: var(--trainer-radius); padding: 16px; display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
  h2 { margin: 0; font-size: 1.15rem; }
  h3 { margin: 0 0 8px; font-size: 1rem; }
  form { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(130px, 40%), 1fr)); gap: 10px 12px; align-items: end; }
  label { display: grid; gap: 4px; font-size: 0.82rem; color: var(--trainer-muted); min-width: 0; }
  input, select { font: inherit; font-size: 0.95rem; color: var(--trainer-text); padding: 6px 8px; border: 1px solid var(--trainer-border); border-radius: 8px; background: var(--trainer-background); width: 100%; min-width: 0; }
  .buttons { display: flex; flex-wrap: wrap; gap: 8px; }
  button, a.button { font: inherit; font-size: 0.92rem; padding: 7px 14px; border-radius: 999px; border: 1px solid var(--trainer-border); background: var(--trainer-surface); color: var(--trainer-text); cursor: pointer; text-decoration: none; }
  button.primary, a.button.primary { background: var(--trainer-accent); border-color: var(--trainer-accent); color: #fff; }
  button:disabled { opacity: 0.45; cursor: default; }
  .status { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 0.9rem; color: var(--trainer-muted); font-variant-numeric: tabular-nums; }
  .status strong { color: var(--trainer-text); font-weight: 600; }
  progress { width: 100%; height: 8px; accent-color: var(--trainer-accent); }
  /* minmax(0, 1fr): the charts' SVG width attributes must not widen the columns past a phone's screen */
  .charts { display: grid; grid-template-columns: minmax(0, 1fr); gap: 12px; }
  .charts svg, .result svg { width: 100%; height: auto; max-width: 560px; }
  ${unsafeCSS(CHART_CSS)}
  /* a block that scrolls on its own, so a narrow screen never scrolls the page sideways */
  table.epochs { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
  table.epochs th, table.epochs td { padding: 3px 10px 3px 0; text-align: right; }
  table.epochs th:first-child, table.epochs td:first-child { text-align: left; }
  .result { display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
  .headline { font-size: 1.5rem; font-weight: 650; font-variant-numeric: tabular-nums; }
  .muted { color: var(--trainer-muted); font-size: 0.85rem; }
  .gallery { display: flex; flex-wrap: wrap; gap: 6px; }
  .gallery figure { margin: 0; display: grid; justify-items: center; font-size: 0.72rem; color: var(--trainer-muted); font-variant-numeric: tabular-nums; }
  .gallery img { width: 42px; height: 42px; image-rendering: pixelated; border-radius: 4px; background: #000; }
  .try { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
  .pad { width: 180px; height: 180px; border: 1px solid var(--trainer-border); border-radius: 12px; touch-action: none; background: #fff; }
  .pad canvas { width: 100%; height: 100%; display: block; border-radius: 12px; }
  .bars { display: grid; gap: 2px; min-width: 180px; font-size: 0.8rem; font-variant-numeric: tabular-nums; }
  .bar { display: grid; grid-template-columns: 14px 1fr 44px; gap: 6px; align-items: center; }
  .bar span.fill { display: block; height: 9px; border-radius: 4px; background: var(--trainer-accent); }
  .bar.top span.fill { background: var(--trainer-validation-color); }
  .guess { font-size: 2.2rem; font-weight: 700; line-height: 1; }
  .error { color: var(--trainer-danger-text); background: var(--trainer-danger-background); border-radius: 10px; padding: 10px 12px; }
  @container (min-width: 760px) {
    .charts { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
    .result { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  }
`;
