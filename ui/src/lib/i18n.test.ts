import { describe, expect, it } from 'vitest';
import { money, setLang, t } from './i18n.svelte';

describe('money', () => {
  it('formats integer minor units for the language, exactly', () => {
    setLang('en');
    expect(money(6875, 'SEK').replace(/\s/g, ' ')).toBe('SEK 68.75');
    expect(money(5, 'EUR')).toBe('€0.05');
    expect(money(-100, 'EUR')).toBe('-€1.00');
    expect(money(1500, 'JPY', 0)).toBe('JP¥1,500');
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
