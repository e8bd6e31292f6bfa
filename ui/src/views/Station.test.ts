import { afterEach, describe, expect, it } from 'vitest';
import { render, screen, waitFor, fireEvent, cleanup } from '@testing-library/svelte';
import Station from './Station.svelte';
import { Api } from '../lib/api';
import { Live } from '../lib/live.svelte';
import { EngineError } from '../lib/transport';
import { FakeTransport, info, station } from '../test/fake';
import { setLang } from '../lib/i18n.svelte';

function setup(answer: () => unknown) {
  const cp = station('CP1', 'Available');
  const t = new FakeTransport({
    'GET /api/info': () => info,
    'GET /api/stations': () => [cp],
    'GET /api/stations/CP1': () => ({ ...cp, status_history: [], quirks: [], unmatched_stops: [], events: [] }),
    'GET /api/id-tags': () => [],
    'POST /api/stations/CP1/commands/RemoteStartTransaction': answer,
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

  it('sends a remote start with the typed tag and shows the charger accepted', async () => {
    const t = setup(() => ({ action: 'RemoteStartTransaction', response: { status: 'Accepted' } }));
    await fireEvent.input(await screen.findByTestId('start-tag'), { target: { value: 'TAG9' } });
    await fireEvent.click(screen.getByTestId('remote-start'));
    await waitFor(() => expect(screen.getByTestId('notice').textContent).toBe('Start charging: the charger accepted.'));
    const sent = t.requests.find((r) => r.path.includes('RemoteStartTransaction'));
    expect(sent?.body).toEqual({ connectorId: 1, idTag: 'TAG9' });
  });

  it('says so when the charger rejects', async () => {
    setup(() => ({ action: 'RemoteStartTransaction', response: { status: 'Rejected' } }));
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
});
