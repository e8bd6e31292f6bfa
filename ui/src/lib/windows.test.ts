import { describe, expect, it } from 'vitest';
import { minutes, overlaps } from './windows';

const all = [1, 2, 3, 4, 5, 6, 7];

describe('time-of-use windows', () => {
  it('reads times as the engine does', () => {
    expect(minutes('22:00')).toBe(1320);
    expect(minutes('24:00')).toBeNull();
    expect(minutes('24:00', true)).toBe(1440);
    expect(minutes('7:00')).toBeNull();
    expect(minutes('06:60')).toBeNull();
  });

  it('finds no overlap between a night and a day window', () => {
    expect(overlaps([
      { name: 'Night', days: all, start: '22:00', end: '06:00' },
      { name: 'Day', days: all, start: '06:00', end: '22:00' },
    ])).toEqual([]);
  });

  it('names the first stretch two windows share', () => {
    expect(overlaps([
      { name: 'Night', days: all, start: '22:00', end: '06:00' },
      { name: 'Weekend', days: [6, 7], start: '00:00', end: '24:00' },
    ])).toEqual([{ first: 0, second: 1, day: 6, from: '00:00', to: '06:00' }]);
  });

  it('follows a Sunday night into Monday morning', () => {
    expect(overlaps([
      { name: 'Sunday night', days: [7], start: '23:00', end: '02:00' },
      { name: 'Monday early', days: [1], start: '01:00', end: '03:00' },
    ])).toEqual([{ first: 0, second: 1, day: 1, from: '01:00', to: '02:00' }]);
  });

  it('leaves out windows it cannot read', () => {
    expect(overlaps([
      { name: 'A', days: all, start: 'x', end: '06:00' },
      { name: 'B', days: all, start: '00:00', end: '24:00' },
    ])).toEqual([]);
  });
});
