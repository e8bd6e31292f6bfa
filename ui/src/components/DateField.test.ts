import { afterEach, describe, expect, it } from 'vitest';
import { render, screen, fireEvent, cleanup, waitFor } from '@testing-library/svelte';
import DateField from './DateField.svelte';
import { setLang } from '../lib/i18n.svelte';

afterEach(() => {
  cleanup();
  setLang('en');
});

describe('DateField', () => {
  it('shows the value in the console’s language and follows a change of language', async () => {
    setLang('sv');
    render(DateField, { value: '2026-12-04', testid: 'd' });
    const input = screen.getByTestId('d') as HTMLInputElement;
    expect(input.value).toBe('2026-12-04');
    expect(input.placeholder).toBe('ÅÅÅÅ-MM-DD');
    setLang('en');
    // The tests run with an English system locale that is not Swedish: no longer ISO.
    await waitFor(() => expect(input.value).not.toBe('2026-12-04'));
    expect(input.value).toMatch(/^\d{2}\/\d{2}\/2026$/);
  });

  it('takes what is typed, refuses what is not a date with the pattern, and keeps the text while it is wrong', async () => {
    setLang('sv');
    const seen: string[] = [];
    render(DateField, { value: '', testid: 'd', onchange: (v: string) => seen.push(v) });
    const input = screen.getByTestId('d') as HTMLInputElement;
    await fireEvent.input(input, { target: { value: '2026-02-30' } });
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.validationMessage).toBe('Skriv det som ÅÅÅÅ-MM-DD');
    expect(input.value).toBe('2026-02-30');
    expect(seen).toEqual([]);
    await fireEvent.input(input, { target: { value: '2026-2-28' } });
    expect(input.getAttribute('aria-invalid')).toBe('false');
    expect(input.validationMessage).toBe('');
    expect(seen).toEqual(['2026-02-28']);
    await fireEvent.blur(input);
    expect(input.value).toBe('2026-02-28');
  });

  it('picks a day from a calendar that opens on the value’s month, keeping the time of a date and time', async () => {
    setLang('sv');
    const seen: string[] = [];
    render(DateField, { value: '2026-12-04T16:30', kind: 'datetime', testid: 'd', onchange: (v: string) => seen.push(v) });
    expect((screen.getByTestId('d') as HTMLInputElement).value).toBe('2026-12-04 16:30');
    await fireEvent.click(screen.getByTestId('d-pick'));
    const calendar = screen.getByTestId('calendar');
    expect(calendar.textContent).toContain('december 2026');
    expect(calendar.querySelector('[aria-pressed=true]')?.textContent).toBe('4');
    // Weeks start on Monday in Swedish.
    expect(calendar.querySelector('th abbr')?.getAttribute('title')).toBe('måndag');
    await fireEvent.click(screen.getByRole('button', { name: 'Nästa månad' }));
    expect(calendar.textContent).toContain('januari 2027');
    await fireEvent.click(calendar.querySelector('[data-day="2027-01-15"]') as HTMLElement);
    expect(seen).toEqual(['2027-01-15T16:30']);
    expect(screen.queryByTestId('calendar')).toBeNull();
    expect((screen.getByTestId('d') as HTMLInputElement).value).toBe('2027-01-15 16:30');
  });

  it('closes its calendar on Escape', async () => {
    render(DateField, { value: '', testid: 'd' });
    await fireEvent.click(screen.getByTestId('d-pick'));
    await fireEvent.keyDown(screen.getByTestId('calendar'), { key: 'Escape' });
    expect(screen.queryByTestId('calendar')).toBeNull();
  });
});
