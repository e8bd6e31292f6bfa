// Time-of-use windows as the cost engine reads them (crates/billing, `Span::covers`): days 1
// (Monday) to 7, "HH:MM" local times, a window whose end is not after its start runs over
// midnight into the next day, "24:00" ends at midnight. Used to warn about overlaps before saving.

export type WindowTimes = { name: string; days: number[]; start: string; end: string };

/** Where two windows cover the same minutes: the first in the list sets the prices there. */
export type Overlap = { first: number; second: number; day: number; from: string; to: string };

const WEEK = 7 * 1440;

/** "HH:MM" as minutes after midnight ("24:00" only as an end), or null. */
export function minutes(s: string, end = false): number | null {
  const m = /^(\d{2}):(\d{2})$/.exec(s.trim());
  if (!m) return null;
  const v = Number(m[1]) * 60 + Number(m[2]);
  return Number(m[2]) < 60 && (v < 1440 || (end && v === 1440)) ? v : null;
}

/** A window's minutes of the week as [from, to) ranges (Monday 00:00 is 0); none when unread. */
function ranges(w: WindowTimes): [number, number][] {
  const [s, e] = [minutes(w.start), minutes(w.end, true)];
  if (s === null || e === null || s === e) return [];
  const out: [number, number][] = [];
  for (const d of w.days) {
    if (d < 1 || d > 7) continue;
    const day = (d - 1) * 1440;
    if (e > s) {
      out.push([day + s, day + e]);
    } else {
      out.push([day + s, day + 1440]);
      // Into the next morning (Sunday night runs into Monday).
      const next = (day + 1440) % WEEK;
      if (e > 0) out.push([next, next + e]);
    }
  }
  return out;
}

const clock = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** Every pair of windows that cover the same time, with the first such stretch of the week. */
export function overlaps(windows: WindowTimes[]): Overlap[] {
  const all = windows.map(ranges);
  const out: Overlap[] = [];
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      let best: [number, number] | null = null;
      for (const [a, b] of all[i]) {
        for (const [c, d] of all[j]) {
          const [from, to] = [Math.max(a, c), Math.min(b, d)];
          if (from < to && (best === null || from < best[0])) best = [from, to];
        }
      }
      if (best) {
        const day = Math.floor(best[0] / 1440);
        out.push({ first: i, second: j, day: day + 1, from: clock(best[0] - day * 1440), to: clock(best[1] - day * 1440) });
      }
    }
  }
  return out;
}
