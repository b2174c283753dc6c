/** The browser backends' names, without the engine (the element's bundle imports these). */

import { BROWSER_MODES, type BrowserMode } from '@digitlab/element/browser-modes';

export { BROWSER_MODES, type BrowserMode };
/** A mode, or `auto`: the fastest of BROWSER_MODES that passes its probe and validation. */
export type BackendPreference = BrowserMode | 'auto';

/** True for `auto` and each browser mode (for parsing attributes). */
export function isBackendPreference(v: string): v is BackendPreference {
  return v === 'auto' || (BROWSER_MODES as readonly string[]).includes(v);
}

/** How one mode did. */
export interface BackendTrial {
  readonly mode: BrowserMode;
  readonly ok: boolean;
  /** What was found: the adapter or renderer, or why the mode was not used. */
  readonly detail: string;
}
