/** The browser's gpu.js modes, by name only: the element reads them without loading the engine. */

/** The modes a browser offers, tried in this order. */
export const BROWSER_MODES = ['webgpu', 'webgl2', 'webasm'] as const;
export type BrowserMode = (typeof BROWSER_MODES)[number];

/** True for a name of BROWSER_MODES (attribute values, messages). */
export function isBrowserMode(value: unknown): value is BrowserMode {
  return typeof value === 'string' && (BROWSER_MODES as readonly string[]).includes(value);
}
