// The stations as they are now: loaded once, then kept current from the live event stream.
// Status and meter changes are applied in place at once (the screen follows within a frame);
// anything else triggers one coalesced reload.

import type { Api } from './api';
import type { EngineInfo } from './bindings/EngineInfo';
import type { Event } from './bindings/Event';
import type { StationView } from './bindings/StationView';
import type { SiteLoad } from './bindings/SiteLoad';
import { EngineError } from './transport';

export class Live {
  stations = $state<StationView[]>([]);
  info = $state<EngineInfo | null>(null);
  /** The site's load after the last round of load management (null while it is off). */
  site = $state<SiteLoad | null>(null);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Ticks every second, for "time since" and durations. */
  now = $state(Date.now());

  constructor(private readonly api: Api) {}

  /** Events that arrived while a reload was on its way: replayed over its (older) answer. */
  private arrived: Event[] | null = null;

  async refresh() {
    const arrived: Event[] = [];
    this.arrived = arrived;
    try {
      const [info, stations] = await Promise.all([this.api.info(), this.api.stations()]);
      // A later reload started meanwhile: its answer is newer than this one.
      if (this.arrived !== arrived) return;
      this.info = info;
      this.stations = stations;
      this.error = null;
      // The answer was read before these events happened; without this, a status change that
      // lands during a reload would be undone by it until the next one.
      for (const e of arrived) this.apply(e);
    } catch (e) {
      this.error = e instanceof EngineError ? e.message : String(e);
    } finally {
      if (this.arrived === arrived) this.arrived = null;
      this.loaded = true;
    }
  }

  /** Apply an event; returns false when a reload is needed to show it. */
  apply(e: Event): boolean {
    if (e.type === 'status_changed') {
      const s = this.stations.find((x) => x.id === e.connector.station_id);
      if (!s) return false;
      const i = s.connectors.findIndex((c) => c.evse_id === e.connector.evse_id);
      if (i >= 0) s.connectors[i] = e.connector;
      else s.connectors.push(e.connector);
      s.last_message_at = new Date().toISOString();
      return true;
    }
    if (e.type === 'meter_values') {
      const s = this.stations.find((x) => x.id === e.station_id);
      const t = s?.open_transactions.find((x) => x.id === e.transaction_id);
      if (!s || !t) return e.transaction_id === null && !!s;
      // A 2.x session's start reading is its first one, which the engine has: reload for it.
      if (e.energy_wh !== null && t.meter_start === null) return false;
      if (e.energy_wh !== null && t.meter_start !== null) t.energy_wh = e.energy_wh - t.meter_start;
      if (e.power_w !== null) t.power_w = e.power_w;
      if (e.soc_percent !== null) t.soc_percent = e.soc_percent;
      s.last_message_at = new Date().toISOString();
      return true;
    }
    if (e.type === 'transaction_cost') {
      const t = this.stations.find((x) => x.id === e.station_id)?.open_transactions.find((x) => x.id === e.transaction_id);
      if (t) t.cost = e.cost;
      return true;
    }
    if (e.type === 'transaction_started' || e.type === 'transaction_stopped') {
      const s = this.stations.find((x) => x.id === e.transaction.station_id);
      if (!s) return false;
      s.open_transactions = s.open_transactions.filter((x) => x.id !== e.transaction.id);
      if (e.type === 'transaction_started' && e.transaction.stop_ts === null) s.open_transactions.push(e.transaction);
      return true;
    }
    // The disk filled up or has room again: the engine's info says which.
    if (e.type === 'disk_full') return false;
    if (e.type === 'site_load') {
      this.site = e.load;
      return true;
    }
    // Raw frames and command results change nothing on these screens.
    return e.type === 'frame' || e.type === 'command_finished' || e.type === 'quirk' || e.type === 'export_progress' || e.type === 'transfer_updated';
  }

  /** Load, follow events and tick until the returned function is called. */
  start(): () => void {
    void this.refresh();
    let pending: ReturnType<typeof setTimeout> | null = null;
    const stop = this.api.transport.subscribe((e) => {
      this.arrived?.push(e);
      if (!this.apply(e) && pending === null) {
        pending = setTimeout(() => {
          pending = null;
          void this.refresh();
        }, 150);
      }
    });
    const tick = setInterval(() => (this.now = Date.now()), 1000);
    return () => {
      stop();
      clearInterval(tick);
      if (pending !== null) clearTimeout(pending);
    };
  }
}
