import { describe, expect, it } from 'vitest';
import { dictionaries, duration, money, setLang, span, stopReason, t, unitPrice } from './i18n.svelte';

describe('money', () => {
  it('formats integer minor units for the language, exactly', () => {
    setLang('en');
    expect(money(6875, 'SEK').replace(/\s/g, ' ')).toBe('SEK 68.75');
    expect(money(5, 'EUR')).toBe('€0.05');
    expect(money(-100, 'EUR')).toBe('-€1.00');
    // A currency without decimals (its symbol as the system's English writes it).
    expect(money(1500, 'JPY', 0)).toMatch(/^(JP)?¥1,500$/);
    // Beyond what a binary float can divide by 100 exactly, the digits stay the integer's own.
    expect(money(900719925474099, 'EUR')).toBe('€9,007,199,254,740.99');
    setLang('sv');
    expect(money(6875, 'SEK').replace(/\s/g, ' ')).toBe('68,75 kr');
    expect(money(123456, 'EUR').replace(/\s/g, ' ')).toBe('1 234,56 €');
    expect(money(null, 'SEK')).toBe('—');
    setLang('en');
  });
});

describe('plurals', () => {
  it('takes the form the count needs in each language', () => {
    setLang('en');
    expect(t('tags.count', { n: 1 })).toBe('1 tag');
    expect(t('tags.count', { n: 0 })).toBe('0 tags');
    expect(t('invoices.done', { n: 1, name: 'a.csv' })).toBe('Wrote 1 session to a.csv.');
    expect(t('invoices.done', { n: 12, name: 'a.csv' })).toBe('Wrote 12 sessions to a.csv.');
    setLang('sv');
    expect(t('tags.count', { n: 1 })).toBe('1 tagg');
    expect(t('tags.count', { n: 2 })).toBe('2 taggar');
    expect(t('tk.differences', { n: 1 })).toBe('1 skillnad');
    setLang('en');
  });
});

describe('durations, prices and stop reasons', () => {
  it('says a span of time the way people do', () => {
    setLang('en');
    expect(span(45)).toBe('45 s');
    expect(span(12 * 60 + 59)).toBe('12 min');
    expect(span(3900)).toBe('1 h 05 min');
    expect(duration(new Date(Date.now() - 26 * 3600_000).toISOString())).toBe('26 h 00 min');
  });
  it('writes unit prices to four decimals at most and stop reasons in words', () => {
    setLang('en');
    expect(unitPrice('2.4', 'SEK')).toBe('SEK\u00a02.40');
    expect(unitPrice('0.3245', 'EUR')).toBe('€0.3245');
    expect(stopReason('EVDisconnected')).toBe('Car unplugged');
    expect(stopReason('VendorThing')).toBe('VendorThing');
    setLang('sv');
    expect(unitPrice('2.4', 'SEK').replace(/\s/g, ' ')).toBe('2,40 kr');
    expect(stopReason('Remote')).toBe('Stoppad från konsolen');
    setLang('en');
  });
});

describe('words', () => {
  it('uses one Swedish word per concept: laddare (not laddstation), fakturaunderlag (not fakturering)', () => {
    const texts = Object.values(dictionaries.sv).join('\n').toLowerCase();
    expect(texts).not.toContain('laddstation');
    expect(texts).not.toContain('fakturering');
    expect(texts).toContain('laddare');
  });
});

describe('quirks', () => {
  it('has words in both languages for every kind of quirk the engine records', async () => {
    // Read from the Rust source, so a new kind without words fails here. vitest runs in ui/.
    // (node:fs named at run time: the UI's type check knows no Node types.)
    const fs = await import(/* @vite-ignore */ ['node', 'fs'].join(':'));
    const source: string = fs.readFileSync('../crates/ocpp/src/lenient.rs', 'utf8');
    const kinds = [...source.matchAll(/QuirkKind::\w+ => "([a-z_0-9]+)"/g)].map((m) => m[1]);
    expect(kinds.length).toBeGreaterThan(10);
    for (const kind of kinds) {
      expect(dictionaries.en, kind).toHaveProperty([`quirk.${kind}`]);
      expect(dictionaries.sv, kind).toHaveProperty([`quirk.${kind}`]);
    }
  });
});
