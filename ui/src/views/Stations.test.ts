import { describe, expect, it } from 'vitest';
import { render, screen, waitFor } from '@testing-library/svelte';
import Stations from './Stations.svelte';
import type { Transport } from '../lib/transport';
import { EngineError } from '../lib/transport';
import type { EngineInfo } from '../lib/bindings/EngineInfo';
import type { Event } from '../lib/bindings/Event';
import type { StationView } from '../lib/bindings/StationView';

const info: EngineInfo = {
  version: '0.1.0',
  database: '/tmp/x.db',
  unknown_stations: 'pending',
  open_charging: false,
  heartbeat_interval_s: 300,
  connected_stations: 1,
  supported_protocols: ['ocpp1.6'],
  ocpp_listen: '0.0.0.0:9000',
};

function station(id: string, status: string): StationView {
  return {
    id, registration: 'accepted', has_password: false, fallback_protocol: 'ocpp1.6', vendor: 'ACME', model: 'AC22',
    serial_number: null, charge_box_serial: null, firmware_version: null, iccid: null, imsi: null, meter_type: null,
    meter_serial: null, protocol: 'ocpp1.6', offered_protocols: 'ocpp1.6', remote_addr: '127.0.0.1:5000', boot_attempts: 1,
    diagnostics_status: null, firmware_status: null, first_seen: null, last_seen: null, last_boot: null,
    created_at: '2026-01-01T00:00:00.000Z', demo: false, connected: true, connected_since: null, last_message_at: null,
    connectors: [{ station_id: id, connector_id: 1, status, error_code: 'NoError', info: null, vendor_id: null, vendor_error_code: null, status_at: '2026-01-01T00:00:00.000Z' }],
    open_transactions: [],
  };
}

/** A transport whose data and events the test controls. */
function fake(list: StationView[]) {
  let listener: ((e: Event) => void) | null = null;
  const t: Transport & { list: StationView[]; emit(e: Event): void } = {
    kind: 'fake',
    list,
    info: async () => info,
    stations: async () => t.list,
    subscribe(cb) {
      listener = cb;
      return () => (listener = null);
    },
    emit(e) {
      listener?.(e);
    },
  };
  return t;
}

describe('Stations view', () => {
  it('shows the engine running and each station with its connector status', async () => {
    render(Stations, { transport: fake([station('CP1', 'Available')]) });
    expect(await screen.findByTestId('engine-status')).toHaveProperty('textContent', expect.stringContaining('Central system running'));
    expect(await screen.findByText('CP1')).toBeTruthy();
    expect(screen.getByText('1: Available')).toBeTruthy();
  });

  it('updates when a live event arrives', async () => {
    const t = fake([station('CP1', 'Available')]);
    render(Stations, { transport: t });
    await screen.findByText('1: Available');
    t.list = [station('CP1', 'Charging')];
    t.emit({ type: 'status_changed', connector: t.list[0].connectors[0] });
    await waitFor(() => expect(screen.getByText('1: Charging')).toBeTruthy());
  });

  it('tells how to connect a charger when there are none', async () => {
    render(Stations, { transport: fake([]) });
    expect(await screen.findByText('No stations yet')).toBeTruthy();
    expect(screen.getByText(/\/ocpp\/<stationId>/)).toBeTruthy();
  });

  it('shows an engine error as a message', async () => {
    const t = fake([]);
    t.stations = async () => {
      throw new EngineError('unreachable', 'Chargeyard is not reachable.');
    };
    render(Stations, { transport: t });
    expect((await screen.findByRole('alert')).textContent).toContain('not reachable');
  });
});
