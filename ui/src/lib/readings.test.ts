import { describe, expect, it } from 'vitest';
import { readable, readingTable } from './readings';
import { setLang } from './i18n.svelte';
import type { MeterSample } from './bindings/MeterSample';

const sample = (id: number, timestamp: string, measurand: string, value: number | null, value_unit: string | null, phase: string | null = null): MeterSample => ({
  id, station_id: 'CP1', evse_id: 1, transaction_id: 7, timestamp, measurand, phase, location: null, context: null, format: null,
  unit: value_unit, raw_value: value === null ? 'n/a' : String(value), value, value_unit,
});

describe('meter values as people read them', () => {
  it('turns Wh into kWh, W into kW and Percent into %, in the language chosen', () => {
    setLang('en');
    expect(readable(35410, 'Wh')).toBe('35.41 kWh');
    expect(readable(7400, 'W')).toBe('7.40 kW');
    expect(readable(81, 'Percent')).toBe('81 %');
    expect(readable(16.04, 'A')).toBe('16.0 A');
    setLang('sv');
    expect(readable(35410, 'Wh')).toBe('35,41 kWh');
    setLang('en');
  });

  it('puts one time on one row, energy, power and state of charge first, phases apart, newest first', () => {
    setLang('en');
    const { columns, rows } = readingTable([
      sample(1, '2026-01-01T10:00:00Z', 'Current.Import', 16, 'A', 'L1'),
      sample(2, '2026-01-01T10:00:00Z', 'Current.Import', 15, 'A', 'L2'),
      sample(3, '2026-01-01T10:00:00Z', 'SoC', 40, 'Percent'),
      sample(4, '2026-01-01T10:00:00Z', 'Energy.Active.Import.Register', 1000, 'Wh'),
      sample(5, '2026-01-01T10:01:00Z', 'Energy.Active.Import.Register', 1125, 'Wh'),
      sample(6, '2026-01-01T10:01:00Z', 'Vendor.Thing', null, null),
    ]);
    expect(columns.map((c) => c.key)).toEqual(['Energy.Active.Import.Register', 'SoC', 'Current.Import L1', 'Current.Import L2', 'Vendor.Thing']);
    expect(rows.map((r) => r.at)).toEqual(['2026-01-01T10:01:00Z', '2026-01-01T10:00:00Z']);
    expect(rows[0].values).toEqual({ 'Energy.Active.Import.Register': '1.13 kWh', 'Vendor.Thing': 'n/a' });
    expect(rows[1].values['Current.Import L2']).toBe('15.0 A');
  });
});
