import { describe, expect, it } from 'vitest';
import { format, monthGrid, parse, pattern } from './dates';

const sv = { year: 'Å', month: 'M', day: 'D', hour: 't' };
const en = { year: 'Y', month: 'M', day: 'D', hour: 'h' };

describe('dates typed the console’s way', () => {
  it('writes a value in the language’s order, not the system’s', () => {
    expect(format('2026-12-04', 'date', 'sv-SE')).toBe('2026-12-04');
    expect(format('2026-12-04', 'date', 'en-GB')).toBe('04/12/2026');
    expect(format('2026-12-04', 'date', 'en-US')).toBe('12/04/2026');
    expect(format('2026-12-04T16:30', 'datetime', 'sv-SE')).toBe('2026-12-04 16:30');
    expect(format('2026-12-04T16:30:05', 'datetime', 'en-US')).toBe('12/04/2026 04:30:05 PM');
    expect(format('07:05', 'time', 'en-GB')).toBe('07:05');
    expect(format('', 'date', 'sv-SE')).toBe('');
  });

  it('names the pattern in the language’s letters', () => {
    expect(pattern('date', 'sv-SE', sv)).toBe('ÅÅÅÅ-MM-DD');
    expect(pattern('date', 'en-GB', en)).toBe('DD/MM/YYYY');
    expect(pattern('datetime', 'sv-SE', sv, true)).toBe('ÅÅÅÅ-MM-DD tt:mm:ss');
    expect(pattern('time', 'en-US', en)).toBe('hh:mm AM');
  });

  it('reads what is typed in the language’s order, and ISO in any language', () => {
    expect(parse('04/12/2026', 'date', 'en-GB')).toBe('2026-12-04');
    expect(parse('12/04/2026', 'date', 'en-US')).toBe('2026-12-04');
    expect(parse('4.12.2026', 'date', 'en-GB')).toBe('2026-12-04');
    expect(parse('2026-12-4', 'date', 'en-US')).toBe('2026-12-04');
    expect(parse('2026-12-04', 'date', 'sv-SE')).toBe('2026-12-04');
    expect(parse('  ', 'date', 'sv-SE')).toBe('');
    expect(parse('2026-12-04 16:30', 'datetime', 'sv-SE')).toBe('2026-12-04T16:30');
    expect(parse('12/04/2026 4:30 pm', 'datetime', 'en-US')).toBe('2026-12-04T16:30');
    expect(parse('12/04/2026 12:10 AM', 'datetime', 'en-US', true)).toBe('2026-12-04T00:10:00');
    expect(parse('2026-12-04', 'datetime', 'sv-SE')).toBe('2026-12-04T00:00');
    expect(parse('6.00', 'time', 'sv-SE')).toBe('06:00');
  });

  it('refuses what is not a date or a time', () => {
    for (const bad of ['2026-02-30', '31/02/2026', '2026-13-01', '12/2026', 'tomorrow', '04/12/26', '2026-12-04x']) {
      expect(parse(bad, 'date', 'en-GB'), bad).toBeNull();
    }
    for (const bad of ['24:00', '12:60', '13:00 PM', '7']) expect(parse(bad, 'time', 'sv-SE'), bad).toBeNull();
    expect(parse('2026-12-04 25:00', 'datetime', 'sv-SE')).toBeNull();
  });

  it('lays a month out in weeks from the language’s first weekday', () => {
    // December 2026 starts on a Tuesday and has 31 days.
    const monday = monthGrid(2026, 12, 1);
    expect(monday[0]).toEqual([null, 1, 2, 3, 4, 5, 6]);
    expect(monday.at(-1)).toEqual([28, 29, 30, 31, null, null, null]);
    expect(monthGrid(2026, 12, 0)[0]).toEqual([null, null, 1, 2, 3, 4, 5]);
    expect(monthGrid(2028, 2, 1).flat().filter((d) => d !== null)).toHaveLength(29);
  });
});
