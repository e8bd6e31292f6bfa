// A transport whose answers and events a test controls, recording every request.

import type { Transport } from '../lib/transport';
import { EngineError } from '../lib/transport';
import type { Event } from '../lib/bindings/Event';
import type { EngineInfo } from '../lib/bindings/EngineInfo';
import type { StationView } from '../lib/bindings/StationView';
import type { Transaction } from '../lib/bindings/Transaction';
import type { ConnectorState } from '../lib/bindings/ConnectorState';

export const info: EngineInfo = {
  version: '0.1.0', database: '/tmp/x.db', unknown_stations: 'pending', open_charging: false, heartbeat_interval_s: 300,
  connected_stations: 1, supported_protocols: ['ocpp1.6'], ocpp_listen: '0.0.0.0:9000', lan_addresses: ['192.168.1.20'],
  charger_urls: ['ws://192.168.1.20:9000/ocpp/'], ocpp_loopback_only: false, time_zone: 'Europe/Stockholm',
  turned_away: { too_many_from_address: 0, too_many_connections: 0, inbox_full: 0, recent: [] },
  max_waiting_stations: 200, max_connections_per_address: 100, disk_full: false, default_frame_retention_days: 14,
};

export function station(id: string, status: string, extra: Partial<StationView> = {}): StationView {
  return {
    id, registration: 'accepted', has_password: false, fallback_protocol: 'ocpp1.6', vendor: 'ACME', model: 'AC22',
    serial_number: null, charge_box_serial: null, firmware_version: null, iccid: null, imsi: null, meter_type: null,
    meter_serial: null, protocol: 'ocpp1.6', offered_protocols: 'ocpp1.6', remote_addr: '127.0.0.1:5000', boot_attempts: 1,
    diagnostics_status: null, firmware_status: null, first_seen: null, last_seen: null, last_boot: null,
    created_at: '2026-01-01T00:00:00.000Z', demo: false, enabled_protocols: null, refused_connections: 0, last_refused_at: null, last_refused_reason: null, security_profile: 0, connected: true, connected_since: null, last_message_at: null, transport: { tls: false, client_certificate: null }, profile_in_force: 0,
    connectors: [{ station_id: id, evse_id: 1, connector_id: null, status, state: status as ConnectorState, error_code: 'NoError', info: null, vendor_id: null, vendor_error_code: null, status_at: '2026-01-01T00:00:00.000Z' }],
    open_transactions: [],
    ...extra,
  };
}

export function transaction(id: number, station_id: string, extra: Partial<Transaction> = {}): Transaction {
  return {
    id, station_id, evse_id: 1, connector_id: null, protocol: 'ocpp1.6', charger_tx_id: String(id), id_tag: 'TAG1', id_token_type: null,
    start_ts: new Date(Date.now() - 65_000).toISOString(), meter_start: 1000, reservation_id: null, remote_start_id: null, charging_state: null, start_auth_status: 'Accepted', stop_ts: null, meter_stop: null, stop_reason: null, stop_id_tag: null,
    closed_by: null, close_note: null, energy_wh: 0, power_w: null, soc_percent: null, tag_group_kind: null, tag_group_name: null, received_at: '2026-01-01T00:00:00.000Z', tariff_version_id: null, cost: null, ...extra,
  };
}

type Handler = (body: unknown) => unknown;

export class FakeTransport implements Transport {
  readonly kind = 'fake';
  requests: { method: string; path: string; body: unknown }[] = [];
  private listener: ((e: Event) => void) | null = null;
  constructor(private readonly routes: Record<string, Handler>) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.requests.push({ method, path, body });
    const key = `${method} ${path.split('?')[0]}`;
    const h = this.routes[key];
    if (!h) throw new EngineError('not_found', `no fake route ${key}`);
    return h(body) as T;
  }

  subscribe(cb: (e: Event) => void) {
    this.listener = cb;
    return () => (this.listener = null);
  }

  emit(e: Event) {
    this.listener?.(e);
  }
}
