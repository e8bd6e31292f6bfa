import { afterEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, fireEvent, cleanup } from '@testing-library/svelte';
import Station from './Station.svelte';
import { Api } from '../lib/api';
import { Live } from '../lib/live.svelte';
import { EngineError } from '../lib/transport';
import { FakeTransport, info, station, transaction } from '../test/fake';
import { setLang } from '../lib/i18n.svelte';

function setup(answer: () => unknown, extra: Parameters<typeof station>[2] = {}, routes: Record<string, (body: unknown) => unknown> = {}) {
  const cp = station('CP1', 'Available', extra);
  const t = new FakeTransport({
    'GET /api/info': () => info,
    'GET /api/stations': () => [cp],
    'GET /api/stations/CP1': () => ({
      ...cp, status_history: [], quirks: [], unmatched_stops: [], events: [],
      today: { since: '2026-01-01T23:00:00Z', time_zone: 'Europe/Stockholm', sessions: 2, energy_wh: 12345, costs: [{ currency: 'SEK', decimals: 2, total: 3125 }] },
      recent_sessions: [transaction(8, 'CP1', { stop_ts: '2026-01-02T08:00:00Z', stop_reason: 'EVDisconnected', energy_wh: 12345 }), transaction(9, 'CP1')],
    }),
    'GET /api/id-tags': () => [],
    'POST /api/stations/CP1/start': answer,
    ...routes,
  });
  const api = new Api(t);
  const live = new Live(api);
  live.start();
  render(Station, { api, live, id: 'CP1' });
  return t;
}

afterEach(cleanup);

describe('Station actions', () => {
  setLang('en');

  it("shows today's sessions summed and the latest sessions, each linked, with why it stopped", async () => {
    setup(() => ({}));
    await waitFor(() => expect(screen.getByTestId('station-today').textContent).toBe('2 sessions · 12.35 kWh · SEK\u00a031.25'));
    const rows = screen.getAllByTestId('station-session');
    expect(rows.map((r) => r.dataset.transaction)).toEqual(['8', '9']);
    expect(rows[0].textContent).toContain('Car unplugged');
    expect(rows[1].textContent).toContain('Running');
    expect(rows[0].querySelector('a')?.getAttribute('href')).toBe('#/sessions/8');
    expect(screen.getByTestId('station-all-sessions').getAttribute('href')).toBe('#/sessions?station=CP1');
  });

  it('sends a remote start with the typed tag and shows the charger accepted', async () => {
    const t = setup(() => ({ status: 'Accepted' }));
    await fireEvent.input(await screen.findByTestId('start-tag'), { target: { value: 'TAG9' } });
    await fireEvent.click(screen.getByTestId('remote-start'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toBe('Start charging: the charger accepted.'));
    const sent = t.requests.find((r) => r.path.includes('/start'));
    expect(sent?.body).toEqual({ evse_id: 1, id_tag: 'TAG9' });
  });

  it('says so when the charger rejects', async () => {
    setup(() => ({ status: 'Rejected' }));
    await fireEvent.input(await screen.findByTestId('start-tag'), { target: { value: 'TAG9' } });
    await fireEvent.click(screen.getByTestId('remote-start'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toBe('Start charging: the charger rejected it.'));
  });

  it('explains an offline charger and a timeout by their codes', async () => {
    for (const [code, text] of [['station_offline', 'The charger is offline; nothing was sent.'], ['timeout', 'The charger did not answer in time.']]) {
      document.body.innerHTML = '';
      setup(() => {
        throw new EngineError(code, 'whatever the engine said');
      });
      await fireEvent.input(await screen.findByTestId('start-tag'), { target: { value: 'TAG9' } });
      await fireEvent.click(screen.getByTestId('remote-start'));
      await waitFor(() => expect(screen.getByTestId('notice').textContent).toBe(text));
    }
  });

  it('offers to close a session whose stop the charger rejects, and asks why first', async () => {
    const tx = transaction(7, 'CP1');
    const t = setup(() => ({ status: 'Accepted' }), { open_transactions: [tx] }, {
      'POST /api/stations/CP1/stop': () => ({ status: 'Rejected' }),
      'POST /api/transactions/7/close': () => ({ ...tx, stop_ts: tx.start_ts, closed_by: 'console', close_note: 'lost', meter_samples: [] }),
    });
    await fireEvent.click(await screen.findByTestId('remote-stop'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toMatch(/no longer has session 7/));
    await fireEvent.click(screen.getByTestId('close-session'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toBe('Say why the session is closed.'));
    expect(t.requests.some((r) => r.path.includes('/close'))).toBe(false);
    await fireEvent.input(screen.getByTestId('close-reason'), { target: { value: 'lost' } });
    await fireEvent.click(screen.getByTestId('close-session'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toMatch(/Session 7 closed/));
    expect(t.requests.find((r) => r.path.includes('/close'))?.body).toEqual({ reason: 'lost' });
  });

  it('refuses a password OCPP would not take, and sends a good one to be set on the charger', async () => {
    const t = setup(() => ({ status: 'Accepted' }), {}, {
      'PUT /api/stations/CP1/password': () => ({ required: true, charger_answer: 'Accepted' }),
    });
    await fireEvent.input(await screen.findByTestId('password'), { target: { value: 'abc' } });
    await fireEvent.click(screen.getByTestId('password-save'));
    await waitFor(() => expect(screen.getByTestId('field-error').textContent).toBe('The password needs 16 to 40 characters; it has 3.'));
    expect(screen.getByTestId('password').getAttribute('aria-invalid')).toBe('true');
    expect(t.requests.some((r) => r.path.includes('/password'))).toBe(false);
    await fireEvent.input(screen.getByTestId('password'), { target: { value: 'a-key-of-20-letters!' } });
    await fireEvent.click(screen.getByTestId('password-save'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toMatch(/accepted the new password/));
    expect(t.requests.find((r) => r.path.includes('/password'))?.body).toEqual({ password: 'a-key-of-20-letters!', on_charger: true });
  });
});
