// Dates and times typed in the console's language, not the browser's: a native date input
// formats by the operating system's locale, so a Swedish console on an English system showed
// 12/04/2026 beside 2026-12-04. Values stay in the form the native inputs used ("2026-12-04",
// "2026-12-04T16:30", "2026-12-04T16:30:05", "16:30"), so the views and the API are unchanged.

export type Kind = 'date' | 'datetime' | 'time';

type Order = ('year' | 'month' | 'day')[];

/** How `locale` writes a date: the order of its fields and the separator between them. */
export function dateShape(locale: string): { order: Order; sep: string } {
  const parts = new Intl.DateTimeFormat(locale, { year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date(2026, 11, 24));
  const order = parts.filter((p) => p.type === 'year' || p.type === 'month' || p.type === 'day').map((p) => p.type) as Order;
  const sep = parts.find((p) => p.type === 'literal')?.value ?? '-';
  return { order, sep };
}

/** Whether `locale` reads the clock in 12 hours. */
export function twelveHours(locale: string): boolean {
  return new Intl.DateTimeFormat(locale, { hour: 'numeric' }).resolvedOptions().hourCycle?.startsWith('h1') ?? false;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** The pattern a person types, in the console's words for day/month/year ("ÅÅÅÅ-MM-DD"). */
export function pattern(kind: Kind, locale: string, letters: { year: string; month: string; day: string; hour: string }, seconds = false): string {
  const { order, sep } = dateShape(locale);
  const date = order.map((f) => (f === 'year' ? letters.year.repeat(4) : f === 'month' ? letters.month.repeat(2) : letters.day.repeat(2))).join(sep);
  const time = `${letters.hour.repeat(2)}:mm${seconds ? ':ss' : ''}${twelveHours(locale) ? ' AM' : ''}`;
  return kind === 'date' ? date : kind === 'time' ? time : `${date} ${time}`;
}

function formatDate(y: number, m: number, d: number, locale: string): string {
  const { order, sep } = dateShape(locale);
  return order.map((f) => (f === 'year' ? pad(y, 4) : f === 'month' ? pad(m) : pad(d))).join(sep);
}

function formatTime(h: number, min: number, s: number | null, locale: string): string {
  const secs = s === null ? '' : `:${pad(s)}`;
  if (!twelveHours(locale)) return `${pad(h)}:${pad(min)}${secs}`;
  return `${pad(h % 12 === 0 ? 12 : h % 12)}:${pad(min)}${secs} ${h < 12 ? 'AM' : 'PM'}`;
}

/** A stored value as the person reads it; "" for "" and for anything that is not a value. */
export function format(value: string, kind: Kind, locale: string): string {
  const m = /^(?:(\d{4})-(\d{2})-(\d{2}))?T?(?:(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value);
  if (!value || !m) return '';
  const [, y, mo, d, h, mi, s] = m;
  const date = y ? formatDate(+y, +mo, +d, locale) : '';
  const time = h ? formatTime(+h, +mi, s === undefined ? null : +s, locale) : '';
  return kind === 'date' ? date : kind === 'time' ? time : `${date} ${time}`.trim();
}

function validDate(y: number, m: number, d: number): boolean {
  return y >= 1000 && m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function parseDate(text: string, locale: string): string | null {
  // ISO is taken in every language (pasted, or typed by someone used to it).
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
  const nums = iso ? [iso[1], iso[2], iso[3]] : text.match(/\d+/g);
  if (!nums || nums.length !== 3 || (!iso && /[^\d\s./-]/.test(text))) return null;
  const order: Order = iso ? ['year', 'month', 'day'] : dateShape(locale).order;
  const f = Object.fromEntries(order.map((k, i) => [k, nums[i]])) as Record<'year' | 'month' | 'day', string>;
  if (f.year.length !== 4) return null;
  const [y, m, d] = [+f.year, +f.month, +f.day];
  return validDate(y, m, d) ? `${pad(y, 4)}-${pad(m)}-${pad(d)}` : null;
}

function parseTime(text: string, seconds: boolean): string | null {
  const m = /^(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?\s*([ap]\.?\s?m\.?)?$/i.exec(text.trim());
  if (!m) return null;
  let h = +m[1];
  const [min, s, half] = [+m[2], m[3] === undefined ? 0 : +m[3], m[4]?.toLowerCase()];
  if (half) {
    if (h < 1 || h > 12) return null;
    h = (h % 12) + (half.startsWith('p') ? 12 : 0);
  }
  if (h > 23 || min > 59 || s > 59) return null;
  return `${pad(h)}:${pad(min)}${seconds ? `:${pad(s)}` : ''}`;
}

/**
 * What a person typed as a value: "" for an empty field, null for text that is not a date/time
 * (a 31 February, a month 13, letters).
 */
export function parse(text: string, kind: Kind, locale: string, seconds = false): string | null {
  const s = text.trim();
  if (!s) return '';
  if (kind === 'date') return parseDate(s, locale);
  if (kind === 'time') return parseTime(s, seconds);
  const split = /^(\S+)(?:\s+|T)(.+)$/.exec(s);
  if (!split) {
    const d = parseDate(s, locale);
    return d && `${d}T00:00${seconds ? ':00' : ''}`;
  }
  const d = parseDate(split[1], locale);
  const t = parseTime(split[2], seconds);
  return d && t ? `${d}T${t}` : null;
}

/** The weeks of a month for a calendar: day numbers, null before the 1st and after the last. */
export function monthGrid(year: number, month: number, firstDay: number): (number | null)[][] {
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const lead = (new Date(Date.UTC(year, month - 1, 1)).getUTCDay() - firstDay + 7) % 7;
  const cells: (number | null)[] = [...Array(lead).fill(null), ...Array.from({ length: days }, (_, i) => i + 1)];
  while (cells.length % 7) cells.push(null);
  return Array.from({ length: cells.length / 7 }, (_, w) => cells.slice(w * 7, w * 7 + 7));
}

/** The first day of the week where `locale` is spoken: Sunday in the United States, else Monday. */
export function firstDayOfWeek(locale: string): number {
  return /^en-(US|CA|PH)|^(ja|ko|he|pt-BR)/.test(locale) ? 0 : 1;
}

export { pad };
