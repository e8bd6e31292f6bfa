// How CSV exports are written, remembered between exports. The first default follows the
// language: Swedish Excel wants semicolons, decimal commas and a byte-order mark.

import type { CsvOptions } from './bindings/CsvOptions';
import { i18n } from './i18n.svelte';

const KEY = 'chargeyard.csv';

function saved(): CsvOptions | null {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    return v && typeof v.separator === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** The format form's state. */
export function csvFormStore(): CsvOptions {
  const initial = saved() ?? (i18n.lang === 'sv' ? { separator: ';', decimal_comma: true, bom: true } : { separator: ',', decimal_comma: false, bom: false });
  const form = $state(initial);
  return form;
}

/** The options to send, remembered for next time. */
export function csvOptions(f: CsvOptions): CsvOptions {
  const o = { separator: f.separator, decimal_comma: f.decimal_comma, bom: f.bom };
  try {
    localStorage.setItem(KEY, JSON.stringify(o));
  } catch {
    // Private windows may refuse storage; the export still runs.
  }
  return o;
}
