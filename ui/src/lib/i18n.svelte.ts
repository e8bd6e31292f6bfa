// English and Swedish. Every key exists in both (the type checks it); numbers, dates and
// durations are formatted for the chosen locale.

const en = {
  'app.title': 'Chargeyard',
  'nav.dashboard': 'Dashboard',
  'nav.sessions': 'Sessions',
  'nav.tags': 'ID tags',
  'nav.inbox': 'New chargers',
  'nav.settings': 'Settings',
  'nav.language': 'switch to Swedish',
  'engine.running': 'Central system running',
  'engine.connected': '{n} connected',
  'common.loading': 'Loading…',
  'common.save': 'Save',
  'common.cancel': 'Cancel',
  'common.delete': 'Delete',
  'common.edit': 'Edit',
  'common.copy': 'Copy',
  'common.copied': 'Copied',
  'common.none': '—',
  'common.search': 'Search',
  'common.all': 'All',
  'common.previous': 'Previous',
  'common.next': 'Next',
  'common.page': 'Page {page} of {pages}',
  'common.pages': 'Pages',
  'common.demo': 'demo',
  'status.Available': 'Available',
  'status.Preparing': 'Preparing',
  'status.Charging': 'Charging',
  'status.SuspendedEV': 'Paused by car',
  'status.SuspendedEVSE': 'Paused by charger',
  'status.Finishing': 'Finishing',
  'status.Reserved': 'Reserved',
  'status.Unavailable': 'Unavailable',
  'status.Faulted': 'Faulted',
  'status.offline': 'Offline',
  'dash.online': 'online',
  'dash.offline': 'offline',
  'dash.lastMessage': 'last message {ago}',
  'dash.never': 'no message yet',
  'dash.power': 'Power',
  'dash.energy': 'Energy',
  'dash.cost': 'Cost so far',
  'dash.duration': 'Duration',
  'dash.soc': 'Battery',
  'dash.filterStatus': 'Status',
  'dash.onlyOffline': 'Offline only',
  'dash.onlyFaulted': 'Faulted only',
  'dash.searchPlaceholder': 'Station, model or tag',
  'dash.empty': 'No stations yet. Point a charger at this machine (see New chargers).',
  'dash.noMatch': 'No connector matches the filters.',
  'dash.summary': '{stations} stations · {charging} charging · {faulted} faulted · {offline} offline',
  'station.connectors': 'Connectors',
  'station.boot': 'Boot information',
  'station.vendor': 'Vendor',
  'station.model': 'Model',
  'station.firmware': 'Firmware',
  'station.serial': 'Serial number',
  'station.protocol': 'Protocol',
  'station.address': 'Address',
  'station.quirks': 'Quirks seen',
  'station.noQuirks': 'None: this charger follows the specification.',
  'station.history': 'Recent status and errors',
  'station.actions': 'Actions',
  'station.remoteStart': 'Remote start',
  'station.tag': 'ID tag',
  'station.connector': 'Connector',
  'station.start': 'Start charging',
  'station.stop': 'Stop charging',
  'station.reset': 'Reset',
  'station.soft': 'Soft',
  'station.hard': 'Hard',
  'station.unlock': 'Unlock connector',
  'station.availability': 'Availability',
  'station.operative': 'Operative',
  'station.inoperative': 'Inoperative',
  'station.apply': 'Apply',
  'station.session': 'Session {id} · tag {tag}',
  'station.notFound': 'No such station.',
  'station.back': 'All stations',
  'answer.Accepted': '{action}: the charger accepted.',
  'answer.Rejected': '{action}: the charger rejected it.',
  'answer.Scheduled': '{action}: the charger will do it when the connector is free.',
  'answer.Unlocked': '{action}: unlocked.',
  'answer.UnlockFailed': '{action}: the charger could not unlock.',
  'answer.NotSupported': '{action}: the charger does not support this.',
  'answer.other': '{action}: the charger answered {status}.',
  'error.station_offline': 'The charger is offline; nothing was sent.',
  'error.timeout': 'The charger did not answer in time.',
  'error.call_error': 'The charger answered with an error: {message}',
  'error.generic': '{message}',
  'sessions.title': 'Sessions',
  'sessions.station': 'Station',
  'sessions.tag': 'Tag',
  'sessions.from': 'From',
  'sessions.to': 'To',
  'sessions.state': 'State',
  'sessions.open': 'Running',
  'sessions.closed': 'Finished',
  'sessions.start': 'Start',
  'sessions.stop': 'Stop',
  'sessions.energy': 'Energy',
  'sessions.cost': 'Cost',
  'cost.energy': 'Energy',
  'cost.charging_time': 'Charging time',
  'cost.plugged_time': 'Plugged-in time',
  'cost.idle': 'Idle',
  'cost.session_fee': 'Session fee',
  'cost.adjustment': 'Minimum/maximum adjustment',
  'cost.net': 'Net',
  'cost.vat': 'VAT',
  'cost.total': 'Total',
  'cost.none': 'No tariff applied when this session started.',
  'sessions.reason': 'Reason',
  'sessions.total': '{total} sessions',
  'sessions.empty': 'No sessions match.',
  'sessions.detail': 'Session {id}',
  'sessions.samples': 'Meter values',
  'sessions.time': 'Time',
  'sessions.measurand': 'Measurand',
  'sessions.value': 'Value',
  'sessions.back': 'All sessions',
  'tags.title': 'ID tags',
  'tags.add': 'Add tag',
  'tags.id': 'ID tag',
  'tags.status': 'Status',
  'tags.expiry': 'Expires',
  'tags.group': 'Group',
  'tags.groupKind': 'Group kind',
  'tags.groupName': 'Group name',
  'tags.parent': 'Parent tag',
  'tags.note': 'Note',
  'tags.block': 'Block',
  'tags.unblock': 'Unblock',
  'tags.expire': 'Expire now',
  'tags.driver': 'Driver',
  'tags.vehicle': 'Vehicle',
  'tags.customer': 'Customer',
  'tags.import': 'Import CSV',
  'tags.importHelp': 'A header row with id_tag and any of status, expiry, parent_id_tag, group_kind, group_name, note. Comma or semicolon.',
  'tags.imported': 'Imported: {created} new, {updated} updated.',
  'tags.empty': 'No tags yet.',
  'tags.noMatch': 'No tags match.',
  'tags.count': '{n} tags',
  'tags.saved': 'Saved {tag}.',
  'tags.confirmDelete': 'Delete tag {tag}?',
  'inbox.title': 'New chargers',
  'inbox.pending': 'Waiting for approval',
  'inbox.none': 'No charger is waiting. Unknown chargers that connect appear here.',
  'inbox.attempts': '{n} boot attempts',
  'inbox.offered': 'Offered protocols',
  'inbox.password': 'Password for the charger (optional)',
  'inbox.accept': 'Accept',
  'inbox.reject': 'Reject',
  'inbox.accepted': '{id} accepted; it is admitted at its next BootNotification.',
  'inbox.rejected': '{id} rejected.',
  'inbox.rejectedList': 'Rejected',
  'connect.title': 'Connect a charger',
  'connect.intro': 'Enter this address in the charger’s OCPP settings (central system / backend URL). The charger adds its own id at the end, or you enter it as the last part of the path.',
  'connect.url': 'Central system URL',
  'connect.protocol': 'Protocol: OCPP 1.6J (WebSocket subprotocol ocpp1.6)',
  'connect.auth': 'Authentication: none until you set a password when accepting; then HTTP Basic with the charger id as user name.',
  'connect.noLan': 'This machine has no network address besides loopback; connect it to the depot network.',
  'settings.title': 'Settings',
  'settings.policy': 'Chargers we have never seen',
  'settings.policy.reject': 'Reject them',
  'settings.policy.pending': 'Put them in the New chargers inbox',
  'settings.policy.accept': 'Accept them at once',
  'settings.openCharging': 'Open charging: any RFID tag may charge',
  'settings.ocppListen': 'Charger address and port',
  'settings.httpListen': 'Console address and port (headless server)',
  'settings.restartNeeded': 'Saved. The new address takes effect when Chargeyard is restarted.',
  'settings.saved': 'Saved; in effect now.',
  'settings.dataFolder': 'Database',
  'settings.language': 'Language',
  'settings.demo': 'Start the simulated demo depot with the app',
  'settings.removeDemo': 'Remove the demo data now',
  'settings.demoRemoved': 'Demo removed: {n} stations and their history.',
  'settings.current': 'now: {value}',
};

export type Key = keyof typeof en;

const sv: Record<Key, string> = {
  'app.title': 'Chargeyard',
  'nav.dashboard': 'Översikt',
  'nav.sessions': 'Laddsessioner',
  'nav.tags': 'ID-taggar',
  'nav.inbox': 'Nya laddare',
  'nav.settings': 'Inställningar',
  'nav.language': 'byt till engelska',
  'engine.running': 'Centralsystemet körs',
  'engine.connected': '{n} anslutna',
  'common.loading': 'Laddar…',
  'common.save': 'Spara',
  'common.cancel': 'Avbryt',
  'common.delete': 'Ta bort',
  'common.edit': 'Ändra',
  'common.copy': 'Kopiera',
  'common.copied': 'Kopierat',
  'common.none': '—',
  'common.search': 'Sök',
  'common.all': 'Alla',
  'common.previous': 'Föregående',
  'common.next': 'Nästa',
  'common.page': 'Sida {page} av {pages}',
  'common.pages': 'Sidor',
  'common.demo': 'demo',
  'status.Available': 'Ledig',
  'status.Preparing': 'Förbereder',
  'status.Charging': 'Laddar',
  'status.SuspendedEV': 'Pausad av bilen',
  'status.SuspendedEVSE': 'Pausad av laddaren',
  'status.Finishing': 'Avslutar',
  'status.Reserved': 'Reserverad',
  'status.Unavailable': 'Ur drift',
  'status.Faulted': 'Fel',
  'status.offline': 'Frånkopplad',
  'dash.online': 'ansluten',
  'dash.offline': 'frånkopplad',
  'dash.lastMessage': 'senaste meddelande {ago}',
  'dash.never': 'inget meddelande än',
  'dash.power': 'Effekt',
  'dash.energy': 'Energi',
  'dash.cost': 'Kostnad hittills',
  'dash.duration': 'Tid',
  'dash.soc': 'Batteri',
  'dash.filterStatus': 'Status',
  'dash.onlyOffline': 'Bara frånkopplade',
  'dash.onlyFaulted': 'Bara fel',
  'dash.searchPlaceholder': 'Laddare, modell eller tagg',
  'dash.empty': 'Inga laddare än. Peka en laddare mot den här datorn (se Nya laddare).',
  'dash.noMatch': 'Inget uttag matchar filtren.',
  'dash.summary': '{stations} laddare · {charging} laddar · {faulted} fel · {offline} frånkopplade',
  'station.connectors': 'Uttag',
  'station.boot': 'Startinformation',
  'station.vendor': 'Tillverkare',
  'station.model': 'Modell',
  'station.firmware': 'Firmware',
  'station.serial': 'Serienummer',
  'station.protocol': 'Protokoll',
  'station.address': 'Adress',
  'station.quirks': 'Avvikelser',
  'station.noQuirks': 'Inga: laddaren följer specifikationen.',
  'station.history': 'Senaste status och fel',
  'station.actions': 'Åtgärder',
  'station.remoteStart': 'Fjärrstart',
  'station.tag': 'ID-tagg',
  'station.connector': 'Uttag',
  'station.start': 'Starta laddning',
  'station.stop': 'Stoppa laddning',
  'station.reset': 'Starta om',
  'station.soft': 'Mjuk',
  'station.hard': 'Hård',
  'station.unlock': 'Lås upp uttag',
  'station.availability': 'Tillgänglighet',
  'station.operative': 'I drift',
  'station.inoperative': 'Ur drift',
  'station.apply': 'Verkställ',
  'station.session': 'Session {id} · tagg {tag}',
  'station.notFound': 'Laddaren finns inte.',
  'station.back': 'Alla laddare',
  'answer.Accepted': '{action}: laddaren accepterade.',
  'answer.Rejected': '{action}: laddaren avvisade.',
  'answer.Scheduled': '{action}: laddaren gör det när uttaget är ledigt.',
  'answer.Unlocked': '{action}: upplåst.',
  'answer.UnlockFailed': '{action}: laddaren kunde inte låsa upp.',
  'answer.NotSupported': '{action}: laddaren stöder inte detta.',
  'answer.other': '{action}: laddaren svarade {status}.',
  'error.station_offline': 'Laddaren är frånkopplad; inget skickades.',
  'error.timeout': 'Laddaren svarade inte i tid.',
  'error.call_error': 'Laddaren svarade med ett fel: {message}',
  'error.generic': '{message}',
  'sessions.title': 'Laddsessioner',
  'sessions.station': 'Laddare',
  'sessions.tag': 'Tagg',
  'sessions.from': 'Från',
  'sessions.to': 'Till',
  'sessions.state': 'Läge',
  'sessions.open': 'Pågår',
  'sessions.closed': 'Avslutad',
  'sessions.start': 'Start',
  'sessions.stop': 'Stopp',
  'sessions.energy': 'Energi',
  'sessions.cost': 'Kostnad',
  'cost.energy': 'Energi',
  'cost.charging_time': 'Laddtid',
  'cost.plugged_time': 'Inkopplad tid',
  'cost.idle': 'Tomgång',
  'cost.session_fee': 'Startavgift',
  'cost.adjustment': 'Justering till lägsta/högsta',
  'cost.net': 'Netto',
  'cost.vat': 'Moms',
  'cost.total': 'Totalt',
  'cost.none': 'Ingen taxa gällde när laddningen startade.',
  'sessions.reason': 'Orsak',
  'sessions.total': '{total} sessioner',
  'sessions.empty': 'Inga sessioner matchar.',
  'sessions.detail': 'Session {id}',
  'sessions.samples': 'Mätvärden',
  'sessions.time': 'Tid',
  'sessions.measurand': 'Storhet',
  'sessions.value': 'Värde',
  'sessions.back': 'Alla sessioner',
  'tags.title': 'ID-taggar',
  'tags.add': 'Lägg till tagg',
  'tags.id': 'ID-tagg',
  'tags.status': 'Status',
  'tags.expiry': 'Går ut',
  'tags.group': 'Grupp',
  'tags.groupKind': 'Grupptyp',
  'tags.groupName': 'Gruppnamn',
  'tags.parent': 'Överordnad tagg',
  'tags.note': 'Anteckning',
  'tags.block': 'Spärra',
  'tags.unblock': 'Häv spärr',
  'tags.expire': 'Låt gå ut nu',
  'tags.driver': 'Förare',
  'tags.vehicle': 'Fordon',
  'tags.customer': 'Kund',
  'tags.import': 'Importera CSV',
  'tags.importHelp': 'En rubrikrad med id_tag och valfria status, expiry, parent_id_tag, group_kind, group_name, note. Komma eller semikolon.',
  'tags.imported': 'Importerat: {created} nya, {updated} uppdaterade.',
  'tags.empty': 'Inga taggar än.',
  'tags.noMatch': 'Inga taggar matchar.',
  'tags.count': '{n} taggar',
  'tags.saved': 'Sparade {tag}.',
  'tags.confirmDelete': 'Ta bort taggen {tag}?',
  'inbox.title': 'Nya laddare',
  'inbox.pending': 'Väntar på godkännande',
  'inbox.none': 'Ingen laddare väntar. Okända laddare som ansluter visas här.',
  'inbox.attempts': '{n} startförsök',
  'inbox.offered': 'Erbjudna protokoll',
  'inbox.password': 'Lösenord för laddaren (valfritt)',
  'inbox.accept': 'Godkänn',
  'inbox.reject': 'Avvisa',
  'inbox.accepted': '{id} godkänd; den släpps in vid nästa BootNotification.',
  'inbox.rejected': '{id} avvisad.',
  'inbox.rejectedList': 'Avvisade',
  'connect.title': 'Anslut en laddare',
  'connect.intro': 'Ange den här adressen i laddarens OCPP-inställningar (centralsystem/backend-URL). Laddaren lägger till sitt id sist, annars anger du det som sista delen av sökvägen.',
  'connect.url': 'Centralsystemets URL',
  'connect.protocol': 'Protokoll: OCPP 1.6J (WebSocket-underprotokoll ocpp1.6)',
  'connect.auth': 'Autentisering: ingen tills du anger ett lösenord när du godkänner; sedan HTTP Basic med laddarens id som användarnamn.',
  'connect.noLan': 'Datorn har ingen nätverksadress utom loopback; anslut den till depåns nätverk.',
  'settings.title': 'Inställningar',
  'settings.policy': 'Laddare vi aldrig sett',
  'settings.policy.reject': 'Avvisa dem',
  'settings.policy.pending': 'Lägg dem i inkorgen Nya laddare',
  'settings.policy.accept': 'Godkänn dem direkt',
  'settings.openCharging': 'Öppen laddning: alla RFID-taggar får ladda',
  'settings.ocppListen': 'Adress och port för laddare',
  'settings.httpListen': 'Adress och port för konsolen (huvudlös server)',
  'settings.restartNeeded': 'Sparat. Den nya adressen gäller när Chargeyard startas om.',
  'settings.saved': 'Sparat; gäller nu.',
  'settings.dataFolder': 'Databas',
  'settings.language': 'Språk',
  'settings.demo': 'Starta den simulerade demodepån med appen',
  'settings.removeDemo': 'Ta bort demodata nu',
  'settings.demoRemoved': 'Demo borttagen: {n} laddare och deras historik.',
  'settings.current': 'nu: {value}',
};

export type Lang = 'en' | 'sv';
const dictionaries: Record<Lang, Record<Key, string>> = { en, sv };
const locales: Record<Lang, string> = { en: 'en-GB', sv: 'sv-SE' };

function initial(): Lang {
  try {
    const saved = localStorage.getItem('chargeyard.lang');
    if (saved === 'en' || saved === 'sv') return saved;
  } catch {
    // no storage (tests): fall through
  }
  return typeof navigator !== 'undefined' && navigator.language?.startsWith('sv') ? 'sv' : 'en';
}

export const i18n = $state({ lang: initial() });

export function setLang(lang: Lang) {
  i18n.lang = lang;
  try {
    localStorage.setItem('chargeyard.lang', lang);
  } catch {
    // not remembered
  }
  document.documentElement.lang = lang;
}

/** The text for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: Key, params: Record<string, string | number> = {}): string {
  const text = dictionaries[i18n.lang][key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** A status name in the current language (unknown statuses as they came). */
export function statusLabel(status: string): string {
  const key = `status.${status}` as Key;
  return key in en ? t(key) : status;
}

export function locale(): string {
  return locales[i18n.lang];
}

export function num(v: number, digits = 1): string {
  return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
}

export function kwh(wh: number | null | undefined): string {
  return wh === null || wh === undefined ? t('common.none') : `${num(wh / 1000, 2)} kWh`;
}

/**
 * An amount in minor units (öre, cent) as money in the current language, e.g. "68,75 kr" or
 * "SEK 68.75". Built from the integer's digits: no binary floating point on the way.
 */
export function money(minor: number | null | undefined, currency: string, decimals = 2): string {
  if (minor === null || minor === undefined) return t('common.none');
  const digits = Math.abs(minor).toString().padStart(decimals + 1, '0');
  const exact = `${minor < 0 ? '-' : ''}${digits.slice(0, digits.length - decimals)}${decimals ? `.${digits.slice(-decimals)}` : ''}`;
  const f = new Intl.NumberFormat(locale(), { style: 'currency', currency, minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  // Intl formats a decimal string exactly (ECMA-402 NumberFormat v3).
  return f.format(exact as unknown as number);
}

export function kw(w: number | null | undefined): string {
  return w === null || w === undefined ? t('common.none') : `${num(w / 1000, 1)} kW`;
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return t('common.none');
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso));
}

/** h:mm:ss (or m:ss) between two instants. */
export function duration(fromIso: string, to: number = Date.now()): string {
  const s = Math.max(0, Math.floor((to - new Date(fromIso).getTime()) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "5 s ago" in the current language. */
export function ago(iso: string, now: number = Date.now()): string {
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  if (Math.abs(s) < 60) return rtf.format(s, 'second');
  if (Math.abs(s) < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (Math.abs(s) < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}
