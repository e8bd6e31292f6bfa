// The engine's API as typed calls over whichever transport the app runs on.

import type { Transport } from './transport';
import type { EngineInfo } from './bindings/EngineInfo';
import type { ProfileUpgrade } from './bindings/ProfileUpgrade';
import type { StationView } from './bindings/StationView';
import type { StationDetail } from './bindings/StationDetail';
import type { Transaction } from './bindings/Transaction';
import type { TransactionDetail } from './bindings/TransactionDetail';
import type { TransactionFilter } from './bindings/TransactionFilter';
import type { Page } from './bindings/Page';
import type { IdTag } from './bindings/IdTag';
import type { TagFields } from './bindings/TagFields';
import type { TagFilter } from './bindings/TagFilter';
import type { Settings } from './bindings/Settings';
import type { ImportReport } from './bindings/ImportReport';
import type { ImportPreview } from './bindings/ImportPreview';
import type { TariffView } from './bindings/TariffView';
import type { Tariff } from './bindings/Tariff';
import type { Assignment } from './bindings/Assignment';
import type { ExportRequest } from './bindings/ExportRequest';
import type { ExportResult } from './bindings/ExportResult';
import type { ExportedFile } from './bindings/ExportedFile';
import type { FrameFilter } from './bindings/FrameFilter';
import type { InspectedFrame } from './bindings/InspectedFrame';
import type { CommandTemplate } from './bindings/CommandTemplate';
import type { CatalogueKey } from './bindings/CatalogueKey';
import type { StationConfiguration } from './bindings/StationConfiguration';
import type { KeyChange } from './bindings/KeyChange';
import type { KeyResult } from './bindings/KeyResult';
import type { ConfigSnapshot } from './bindings/ConfigSnapshot';
import type { ConfigSource } from './bindings/ConfigSource';
import type { ConfigDiff } from './bindings/ConfigDiff';
import type { LocalListRequest } from './bindings/LocalListRequest';
import type { LocalListResult } from './bindings/LocalListResult';
import type { Health } from './bindings/Health';
import type { CommandRecord } from './bindings/CommandRecord';
import type { DaySummary } from './bindings/DaySummary';
import { i18n } from './i18n.svelte';
import type { Transfer } from './bindings/Transfer';
import type { DiagnosticsRequest } from './bindings/DiagnosticsRequest';
import type { FirmwareRequest } from './bindings/FirmwareRequest';
import type { CommandAnswer } from './bindings/CommandAnswer';
import type { TlsInfo } from './bindings/TlsInfo';
import type { Operator } from './bindings/Operator';
import type { Role } from './bindings/Role';

/** Whether the console asks for a login, and who is signed in. */
export type SessionInfo = { login_required: boolean; operator: Operator | null; has_operators: boolean };
import type { ResetRequest } from './bindings/ResetRequest';
import type { UnlockRequest } from './bindings/UnlockRequest';
import type { AvailabilityRequest } from './bindings/AvailabilityRequest';
import type { TriggerRequest } from './bindings/TriggerRequest';
import type { PasswordOutcome } from './bindings/PasswordOutcome';
import type { DemoRemoval } from './bindings/DemoRemoval';
import type { TagGroup } from './bindings/TagGroup';
import type { Site } from './bindings/Site';
import type { SiteLoad } from './bindings/SiteLoad';
import type { Backup } from './bindings/Backup';
import type { Backups } from './bindings/Backups';
import type { BackupPolicy } from './bindings/BackupPolicy';
import type { BackupContents } from './bindings/BackupContents';
import type { Decision } from './bindings/Decision';

/** Query string from the set fields of a filter. */
export function query(f: Record<string, string | number | boolean | null | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v !== null && v !== undefined && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

export class Api {
  constructor(readonly transport: Transport) {}

  private r<T>(method: string, path: string, body?: unknown) {
    return this.transport.request<T>(method, path, body);
  }

  info = () => this.r<EngineInfo>('GET', '/api/info');
  session = () => this.r<SessionInfo>('GET', '/api/session');
  login = (name: string, password: string) => this.r<{ operator: Operator }>('POST', '/api/login', { name, password });
  logout = () => this.r<null>('POST', '/api/logout', {});
  operators = () => this.r<Operator[]>('GET', '/api/operators');
  createOperator = (name: string, role: Role, password: string) => this.r<Operator>('POST', '/api/operators', { name, role, password });
  updateOperator = (id: number, role: Role, password: string | null) =>
    this.r<Operator>('PUT', `/api/operators/${id}`, { role, password });
  deleteOperator = (id: number) => this.r<null>('DELETE', `/api/operators/${id}`);
  /** The sessions started since the depot's midnight, summed (on one station, or on all). */
  today = (station_id: string | null = null) => this.r<DaySummary>('GET', `/api/today${query({ station_id })}`);
  stations = () => this.r<StationView[]>('GET', '/api/stations');
  station = (id: string) => this.r<StationDetail>('GET', `/api/stations/${enc(id)}`);
  /** Accept a pending charger; with a password, set on the charger first unless `on_charger` is false. */
  accept = (id: string, password: string | null, on_charger = true) =>
    this.r<StationDetail>('POST', `/api/stations/${enc(id)}/accept?actor=console`, { password, on_charger });
  /** Set (or with null clear) a station's password; set on the charger first unless `on_charger` is false. */
  setPassword = (id: string, password: string | null, on_charger = true) =>
    this.r<PasswordOutcome>('PUT', `/api/stations/${enc(id)}/password?actor=console`, { password, on_charger });
  /** Start charging on an EVSE (1.6: a connector); the tag and the EVSE are checked first. */
  start = (id: string, evse_id: number, id_tag: string) =>
    this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/start?actor=console`, { evse_id, id_tag });
  /** Restart a station, in whichever OCPP version it speaks. */
  reset = (id: string, r: ResetRequest) => this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/reset?actor=console`, r);
  unlock = (id: string, r: UnlockRequest) => this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/unlock?actor=console`, r);
  availability = (id: string, r: AvailabilityRequest) =>
    this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/availability?actor=console`, r);
  clearCache = (id: string) => this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/clear-cache?actor=console`, {});
  trigger = (id: string, r: TriggerRequest) => this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/trigger?actor=console`, r);
  /** The OCPP versions a station may speak (null: every one). */
  setProtocols = (id: string, enabled: string[] | null) =>
    this.r<StationDetail>('PUT', `/api/stations/${enc(id)}/protocols`, { enabled });
  /** Raise or lower the security profile a station must connect with (0-3). */
  setSecurityProfile = (id: string, profile: number) =>
    this.r<StationDetail>('PUT', `/api/stations/${enc(id)}/security-profile?actor=console`, { profile });
  /** Move a connected station to profile 2 or 3 over OCPP (its CA, then the profile); required once it is back. */
  upgradeSecurityProfile = (id: string, profile: number) =>
    this.r<ProfileUpgrade>('POST', `/api/stations/${enc(id)}/security-profile/upgrade?actor=console`, { profile });
  /** A certificate for the station from its signing request, signed by the depot's CA (chain, leaf first). */
  signCertificate = (id: string, csr_pem: string) =>
    this.r<{ chain_pem: string }>('POST', `/api/stations/${enc(id)}/certificate`, { csr_pem });
  /** wss:// addresses, the depot's CA, the server certificate, trusted CAs, refused TLS connections. */
  tls = () => this.r<TlsInfo>('GET', '/api/tls');
  importCertificate = (certificate_pem: string, key_pem: string) =>
    this.r<TlsInfo>('PUT', '/api/tls/certificate', { certificate_pem, key_pem });
  removeCertificate = () => this.r<TlsInfo>('DELETE', '/api/tls/certificate');
  setTrustedCas = (pem: string) => this.r<TlsInfo>('PUT', '/api/tls/trusted', { pem });
  stop = (id: string, transaction_id: number) =>
    this.r<CommandAnswer>('POST', `/api/stations/${enc(id)}/stop?actor=console`, { transaction_id });
  /** Close a session the charger has forgotten; `reason` goes into the station's log. */
  closeTransaction = (id: number, reason: string) =>
    this.r<TransactionDetail>('POST', `/api/transactions/${id}/close?actor=console`, { reason });
  timeZones = () => this.r<string[]>('GET', '/api/time-zones');
  tagGroups = () => this.r<TagGroup[]>('GET', '/api/tag-groups');
  reject = (id: string) => this.r<StationDetail>('POST', `/api/stations/${enc(id)}/reject`, {});
  /** Send an OCPP command; resolves to the charger's answer payload. */
  command = async (id: string, action: string, payload: Record<string, unknown>) =>
    (await this.r<{ response: Record<string, unknown> }>('POST', `/api/stations/${enc(id)}/commands/${action}?actor=console`, payload))
      .response;
  transactions = (f: Partial<TransactionFilter>) => this.r<Page<Transaction>>('GET', `/api/transactions${query(f)}`);
  transaction = (id: number) => this.r<TransactionDetail>('GET', `/api/transactions/${id}`);
  idTags = (f: Partial<TagFilter> = {}) => this.r<Page<IdTag>>('GET', `/api/id-tags${query(f)}`);
  createTag = (id_tag: string, fields: TagFields) => this.r<IdTag>('POST', '/api/id-tags', { id_tag, ...fields });
  updateTag = (id_tag: string, fields: TagFields) => this.r<IdTag>('PUT', `/api/id-tags/${enc(id_tag)}`, fields);
  deleteTag = (id_tag: string) => this.r<null>('DELETE', `/api/id-tags/${enc(id_tag)}`);
  importTags = (csv: string) => this.r<ImportReport>('POST', '/api/id-tags/import', csv);
  previewTags = (csv: string) => this.r<ImportPreview>('POST', '/api/id-tags/import/preview', csv);
  tariffs = () => this.r<TariffView[]>('GET', '/api/tariffs');
  createTariff = (name: string, tariff: Tariff) => this.r<TariffView>('POST', '/api/tariffs', { name, tariff });
  updateTariff = (id: number, name: string, tariff: Tariff) => this.r<TariffView>('PUT', `/api/tariffs/${id}`, { name, tariff });
  deleteTariff = (id: number) => this.r<null>('DELETE', `/api/tariffs/${id}`);
  /** Where tariffs apply, in priority order. */
  assignments = () => this.r<Assignment[]>('GET', '/api/tariff-assignments');
  /** Set (or with `tariff_id` null, clear) the tariff of a scope; answers the new list. */
  assign = (scope: string, target: string, tariff_id: number | null) =>
    this.r<Assignment[]>('PUT', '/api/tariff-assignments', { scope, target, tariff_id });
  /** A session's power, energy and SoC chart as SVG (drawn by the engine). */
  sessionChart = (id: number, width = 900, height = 480) =>
    this.r<string>('GET', `/api/charts/sessions/${id}${query({ width, height, lang: i18n.lang })}`);
  /** The depot's load between two local dates (included), stacked per station, as SVG. */
  depotChart = (from: string, to: string, width = 1100, height = 380) =>
    this.r<string>('GET', `/api/charts/depot${query({ from, to, width, height, lang: i18n.lang })}`);
  /** The depot's energy and the cost of the sessions that ended, per day (or month), as SVG. */
  totalsChart = (from: string, to: string, width = 1100, height = 420) =>
    this.r<string>('GET', `/api/charts/totals${query({ from, to, width, height, lang: i18n.lang })}`);
  /** A station's energy per day between two local dates (included), as SVG. */
  stationChart = (id: string, from: string, to: string, width = 1100, height = 300) =>
    this.r<string>('GET', `/api/charts/stations/${enc(id)}${query({ from, to, width, height, lang: i18n.lang })}`);
  exports = () => this.r<ExportedFile[]>('GET', '/api/exports');
  /** Write an export; progress arrives as `export_progress` events with the request's job. */
  exportFile = (r: ExportRequest) => this.r<ExportResult>('POST', '/api/exports', r);
  /** Where a finished export downloads from (web transport). */
  exportUrl = (name: string) => `/api/exports/${enc(name)}`;
  // ---- Technician's toolkit ----
  /** A station's logged frames, newest first, each paired with its CALL or answer. */
  inspect = (id: string, f: Partial<FrameFilter>) =>
    this.r<InspectedFrame[]>('GET', `/api/stations/${enc(id)}/inspector${query(f)}`);
  /** The composer's commands for a station speaking `protocol` (ocpp1.6 when not given). */
  commandTemplates = (protocol: string | null = null) => this.r<CommandTemplate[]>('GET', `/api/ocpp/commands${query({ protocol })}`);
  /** Check a composed command as sending would, without sending it. */
  checkCommand = (action: string, payload: unknown, protocol: string | null = null) =>
    this.r<null>('POST', `/api/ocpp/commands/${enc(action)}/check${query({ protocol })}`, payload);
  catalogue = () => this.r<CatalogueKey[]>('GET', '/api/ocpp/configuration-keys');
  configuration = (id: string) => this.r<StationConfiguration>('GET', `/api/stations/${enc(id)}/configuration`);
  changeConfiguration = (id: string, changes: KeyChange[]) =>
    this.r<KeyResult[]>('PUT', `/api/stations/${enc(id)}/configuration`, changes);
  snapshots = () => this.r<ConfigSnapshot[]>('GET', '/api/snapshots');
  snapshot = (id: string, name: string) => this.r<ConfigSnapshot>('POST', `/api/stations/${enc(id)}/snapshots`, { name });
  deleteSnapshot = (id: number) => this.r<null>('DELETE', `/api/snapshots/${id}`);
  diff = (left: ConfigSource, right: ConfigSource) => this.r<ConfigDiff>('POST', '/api/configuration/diff', { left, right });
  localList = (id: string, r: LocalListRequest) => this.r<LocalListResult>('POST', `/api/stations/${enc(id)}/local-list`, r);
  /** What was sent to a station and how it answered, newest first. */
  commandLog = (id: string, limit = 50) => this.r<CommandRecord[]>('GET', `/api/stations/${enc(id)}/commands${query({ limit })}`);
  health = (id: string) => this.r<Health>('GET', `/api/stations/${enc(id)}/health`);
  transfers = (id: string) => this.r<Transfer[]>('GET', `/api/stations/${enc(id)}/transfers`);
  diagnostics = (id: string, r: DiagnosticsRequest) => this.r<Transfer>('POST', `/api/stations/${enc(id)}/diagnostics`, r);
  firmware = (id: string, r: FirmwareRequest) => this.r<Transfer>('POST', `/api/stations/${enc(id)}/firmware`, r);
  /** A transfer's file as text (to read a diagnostics log in place, in either front end). */
  transferText = async (id: number) => {
    const body = await this.r<unknown>('GET', `/api/transfers/${id}/file`);
    return typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  };
  /** Where a transfer's file downloads from (web transport). */
  transferUrl = (id: number) => `/api/transfers/${id}/file`;
  settings = () => this.r<Settings>('GET', '/api/settings');
  saveSettings = (s: Settings) => this.r<Settings>('PUT', '/api/settings', s);
  removeDemo = () => this.r<DemoRemoval>('DELETE', '/api/demo');
  /** The desktop app only: whether it starts at login, minimised to the tray. */
  startAtLogin = () => this.r<{ enabled: boolean }>('GET', '/api/desktop/autostart');
  setStartAtLogin = (enabled: boolean) => this.r<{ enabled: boolean }>('PUT', '/api/desktop/autostart', { enabled });
  backups = () => this.r<Backups>('GET', '/api/backups');
  backUpNow = () => this.r<Backup>('POST', '/api/backups');
  saveBackupPolicy = (p: BackupPolicy) => this.r<BackupPolicy>('PUT', '/api/backups/policy', p);
  /** Staged; the engine then restarts with it (the console is gone for a moment). */
  restoreBackup = (name: string) => this.r<BackupContents>('POST', `/api/backups/${encodeURIComponent(name)}/restore`);
  site = () => this.r<Site>('GET', '/api/site');
  saveSite = (s: Site) => this.r<Site>('PUT', '/api/site', s);
  /** The site's load as the last round left it (null while load management is off). */
  siteLoad = () => this.r<SiteLoad | null>('GET', '/api/site/load');
  /** The limits decided, newest first: for a station, a session, or the whole site. */
  loadDecisions = (f: { station_id?: string; transaction_id?: number; limit?: number } = {}) =>
    this.r<Decision[]>('GET', `/api/site/decisions${query(f)}`);
}
