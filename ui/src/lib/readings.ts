// A session's meter values as people read them: one row per time the charger measured, one
// column per quantity (and phase), in kWh, kW, %, A, V and °C rather than the wire's units.
import type { MeterSample } from './bindings/MeterSample';
import { num } from './i18n.svelte';

export type ReadingColumn = { key: string; measurand: string; phase: string | null };
export type ReadingRow = { at: string; values: Record<string, string> };

/** The quantities people look for first; others follow in the order they appear. */
const FIRST = ['Energy.Active.Import.Register', 'Power.Active.Import', 'SoC', 'Current.Import', 'Current.Offered', 'Voltage', 'Temperature'];

/** A normalised value (energy in Wh, power in W) in the unit people read, with that unit. */
export function readable(value: number, unit: string | null): string {
  switch (unit) {
    case 'Wh':
      return `${num(value / 1000, 2)} kWh`;
    case 'W':
      return `${num(value / 1000, 2)} kW`;
    case 'varh':
      return `${num(value / 1000, 2)} kvarh`;
    case 'var':
      return `${num(value / 1000, 2)} kvar`;
    case 'Percent':
      return `${num(value, 0)} %`;
    case 'Celsius':
      return `${num(value, 1)} °C`;
    case 'A':
    case 'V':
    case 'Hz':
      return `${num(value, 1)} ${unit}`;
    default:
      return unit ? `${num(value, 1)} ${unit}` : num(value, 1);
  }
}

/** Samples (oldest first) as a table: its columns, and its rows newest first. */
export function readingTable(samples: MeterSample[]): { columns: ReadingColumn[]; rows: ReadingRow[] } {
  const columns = new Map<string, ReadingColumn>();
  const rows = new Map<string, ReadingRow>();
  for (const s of samples) {
    const key = s.phase ? `${s.measurand} ${s.phase}` : s.measurand;
    if (!columns.has(key)) columns.set(key, { key, measurand: s.measurand, phase: s.phase });
    let row = rows.get(s.timestamp);
    if (!row) rows.set(s.timestamp, (row = { at: s.timestamp, values: {} }));
    row.values[key] = s.value !== null ? readable(s.value, s.value_unit) : s.raw_value;
  }
  const rank = (c: ReadingColumn) => {
    const i = FIRST.indexOf(c.measurand);
    return i < 0 ? FIRST.length : i;
  };
  const ordered = [...columns.values()].map((c, i) => ({ c, i })).sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i).map((x) => x.c);
  const newest = [...rows.values()].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  return { columns: ordered, rows: newest };
}
