import { afterEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, fireEvent, cleanup } from '@testing-library/svelte';
import Dashboard from './Dashboard.svelte';
import { Api } from '../lib/api';
import { Live } from '../lib/live.svelte';
import { FakeTransport, info, station, transaction } from '../test/fake';
import { setLang } from '../lib/i18n.svelte';

function depot(extra: Record<string, () => unknown> = {}) {
  const list = [
    station('CP1', 'Available'),
    station('CP2', 'Charging', { open_transactions: [transaction(7, 'CP2', { power_w: 7400, energy_wh: 2500, tag_group_kind: 'driver', tag_group_name: 'Anna Berg' })] }),
    station('CP3', 'Faulted', {
      connectors: [{ station_id: 'CP3', evse_id: 1, connector_id: null, status: 'Faulted', state: 'Faulted', error_code: 'OtherError', info: 'RCD tripped', vendor_id: 'x', vendor_error_code: 'E-017', status_at: '2026-01-01T00:00:00Z' }],
    }),
    station('CP4', 'Available', { connected: false }),
  ];
  const t = new FakeTransport({
    'GET /api/info': () => info,
    'GET /api/stations': () => list,
    'GET /api/today': () => ({ since: '2026-01-01T23:00:00Z', time_zone: 'Europe/Stockholm', sessions: 3, energy_wh: 41250, costs: [{ currency: 'SEK', decimals: 2, total: 12375 }] }),
    ...extra,
  });
  const api = new Api(t);
  const live = new Live(api);
  live.start();
  return { t, api, live };
}

const tile = (id: string) => document.querySelector(`[data-testid=tile][data-station="${id}"]`) as HTMLElement;

afterEach(cleanup);

describe('Dashboard', () => {
  setLang('en');

  it('shows each connector with status, session figures and faults', async () => {
    const { api, live } = depot();
    render(Dashboard, { api, live });
    await waitFor(() => expect(screen.getAllByTestId('tile')).toHaveLength(4));
    expect(tile('CP2').dataset.status).toBe('Charging');
    expect(tile('CP2').querySelector('[data-testid=power]')?.textContent).toBe('7.4 kW');
    expect(tile('CP2').querySelector('[data-testid=energy]')?.textContent).toBe('2.50 kWh');
    expect(tile('CP3').querySelector('[data-testid=fault]')?.textContent).toContain('E-017');
    expect(tile('CP4').dataset.status).toBe('offline');
    expect(screen.getByTestId('summary').textContent).toBe('4 stations · 1 charging · 1 faulted · 1 offline');
  });

  it('sums the depot in a strip: power now, today from the engine, sessions running, faults; names beside tags', async () => {
    const { api, live } = depot();
    render(Dashboard, { api, live });
    await waitFor(() => expect(screen.getByTestId('strip-energy').textContent).toBe('41.25 kWh'));
    expect(screen.getByTestId('strip-power').textContent).toBe('7.4 kW');
    expect(screen.getByTestId('strip-revenue').textContent).toBe('SEK\u00a0123.75');
    expect(screen.getByTestId('strip-running').textContent).toBe('1');
    expect(screen.getByTestId('strip-faults').textContent).toBe('1');
    expect(screen.getByTestId('depot-strip').textContent).toContain('3 sessions');
    expect(screen.getByTestId('depot-strip').textContent).toContain('1 station offline');
    expect(tile('CP2').querySelector('[data-testid=tag]')?.textContent).toBe('TAG1 · Anna Berg');
    await fireEvent.input(screen.getByTestId('search'), { target: { value: 'anna' } });
    await waitFor(() => expect(screen.getAllByTestId('tile')).toHaveLength(1));
  });

  it('sets power now against the site limit while load management is on, and drops it once it is off', async () => {
    const load = (limit_kw: number) => ({ at: '2026-01-02T10:00:00Z', limit_a: 10, limit_kw, circuits: [], connectors: [], unplaced: [], round_ms: 1,
      failsafe: { stations: [], site_a: 0, limit_a: 10, summary: '' } });
    const { t, api, live } = depot({ 'GET /api/site/load': () => load(27.6) });
    render(Dashboard, { api, live });
    await waitFor(() => expect(screen.getByTestId('strip-limit').textContent).toBe('of 27.6 kW site limit'));
    expect(screen.getByTestId('strip-power').closest('li')?.classList.contains('alert')).toBe(false);
    // A lower limit from the schedule: the depot draws more than it now may.
    t.emit({ type: 'site_load', load: load(6.9) });
    await waitFor(() => expect(screen.getByTestId('strip-limit').textContent).toBe('of 6.9 kW site limit'));
    expect(screen.getByTestId('strip-power').closest('li')?.classList.contains('alert')).toBe(true);
    t.emit({ type: 'site_load', load: null });
    await waitFor(() => expect(screen.queryByTestId('strip-limit')).toBeNull());
  });

  it('applies a status change and meter values from the live stream without a reload', async () => {
    const { t, api, live } = depot();
    render(Dashboard, { api, live });
    await waitFor(() => expect(screen.getAllByTestId('tile')).toHaveLength(4));
    const loads = t.requests.length;
    t.emit({ type: 'status_changed', connector: { station_id: 'CP1', evse_id: 1, connector_id: null, status: 'Preparing', state: 'Preparing', error_code: 'NoError', info: null, vendor_id: null, vendor_error_code: null, status_at: new Date().toISOString() } });
    t.emit({ type: 'meter_values', station_id: 'CP2', evse_id: 1, transaction_id: 7, timestamp: new Date().toISOString(), energy_wh: 4000, power_w: 11000, soc_percent: 55 });
    await waitFor(() => expect(tile('CP1').dataset.status).toBe('Preparing'));
    expect(tile('CP2').querySelector('[data-testid=power]')?.textContent).toBe('11.0 kW');
    expect(tile('CP2').querySelector('[data-testid=energy]')?.textContent).toBe('3.00 kWh');
    expect(t.requests.length).toBe(loads);
  });

  it('shows the cost so far as the engine prices it with each meter value, without a reload', async () => {
    const { t, api, live } = depot();
    render(Dashboard, { api, live });
    await waitFor(() => expect(screen.getAllByTestId('tile')).toHaveLength(4));
    const loads = t.requests.length;
    const cost = (total: number) => ({ currency: 'SEK', decimals: 2, energy_wh: 0, charging_seconds: 0, plugged_seconds: 0, idle_seconds: 0,
      billed_idle_seconds: 0, energy: 0, charging_time: 0, plugged_time: 0, idle: 0, session_fee: 0, adjustment: 0, net: 0, vat: 0, total });
    t.emit({ type: 'transaction_cost', station_id: 'CP2', transaction_id: 7, cost: cost(11139) });
    await waitFor(() => expect(tile('CP2').querySelector('[data-testid=cost]')?.textContent).toMatch(/111\.39/));
    t.emit({ type: 'transaction_cost', station_id: 'CP2', transaction_id: 7, cost: cost(11383) });
    await waitFor(() => expect(tile('CP2').querySelector('[data-testid=cost]')?.textContent).toMatch(/113\.83/));
    expect(t.requests.length).toBe(loads);
  });

  it('keeps a status change that lands while a reload is on its way', async () => {
    // The reload's answer is read before the change; it must not put the old status back.
    const waiting: ((v: unknown) => void)[] = [];
    const t = new FakeTransport({
      'GET /api/info': () => info,
      'GET /api/stations': () => new Promise((r) => waiting.push(r)),
      'GET /api/today': () => ({ since: '2026-01-01T23:00:00Z', time_zone: 'UTC', sessions: 0, energy_wh: 0, costs: [] }),
    });
    const api = new Api(t);
    const live = new Live(api);
    live.start();
    render(Dashboard, { api, live });
    await waitFor(() => expect(waiting).toHaveLength(1));
    waiting[0]([station('CP1', 'Available')]);
    await waitFor(() => expect(tile('CP1').dataset.status).toBe('Available'));

    const reload = live.refresh();
    await waitFor(() => expect(waiting).toHaveLength(2));
    t.emit({ type: 'status_changed', connector: { station_id: 'CP1', evse_id: 1, connector_id: null, status: 'Charging', state: 'Charging', error_code: 'NoError', info: null, vendor_id: null, vendor_error_code: null, status_at: new Date().toISOString() } });
    waiting[1]([station('CP1', 'Available')]);
    await reload;
    await waitFor(() => expect(tile('CP1').dataset.status).toBe('Charging'));
  });

  it('filters by status, offline, faulted and search', async () => {
    const { api, live } = depot();
    render(Dashboard, { api, live });
    await waitFor(() => expect(screen.getAllByTestId('tile')).toHaveLength(4));
    await fireEvent.change(screen.getByTestId('filter-status'), { target: { value: 'Charging' } });
    await waitFor(() => expect(screen.getAllByTestId('tile').map((x) => x.dataset.station)).toEqual(['CP2']));
    await fireEvent.change(screen.getByTestId('filter-status'), { target: { value: '' } });
    await fireEvent.click(screen.getByLabelText('Faulted only'));
    await waitFor(() => expect(screen.getAllByTestId('tile').map((x) => x.dataset.station)).toEqual(['CP3']));
    await fireEvent.click(screen.getByLabelText('Faulted only'));
    await fireEvent.input(screen.getByTestId('search'), { target: { value: 'tag1' } });
    await waitFor(() => expect(screen.getAllByTestId('tile').map((x) => x.dataset.station)).toEqual(['CP2']));
  });

  it('speaks Swedish', async () => {
    const { api, live } = depot();
    setLang('sv');
    render(Dashboard, { api, live });
    await waitFor(() => expect(tile('CP2').textContent).toContain('Laddar'));
    expect(tile('CP2').querySelector('[data-testid=power]')?.textContent).toBe('7,4 kW');
    setLang('en');
  });
});
