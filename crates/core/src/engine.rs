//! The facade every front end calls (HTTP server, Tauri shell, tests), and the handlers of the
//! messages chargers send.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chargeyard_ocpp::lenient::Quirk;
use chargeyard_ocpp::v16::{self, Action, ChargePointCall, Decoded, IdTagInfo, Request};
use chargeyard_ocpp::{CallError, ErrorCode, Timestamp};
use chargeyard_store::id_tags::{TagFields, TagFilter};
use chargeyard_store::meter::SampleFilter;
use chargeyard_store::model::*;
use chargeyard_store::text::Text;
use chargeyard_store::transactions::{NewTransaction, StopOutcome, StopRecord, TransactionFilter};
use chargeyard_store::{
    Store, commands, connectors, events, frames, id_tags, quirks, stations, transactions,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use ts_rs::TS;

use crate::auth::{Credentials, hash_password};
use crate::config::{EngineConfig, Settings, UnknownStations};
use crate::error::{Error, Result, or_duplicate, or_missing};
use crate::events::Event;
use crate::meter;

/// A command on its way to a station's session.
pub(crate) struct OutboundCall {
    pub action: &'static str,
    pub payload: Value,
    /// What the frame and command logs show instead of the payload, when it holds a secret.
    pub shown: Option<Value>,
    pub reply: oneshot::Sender<std::result::Result<Value, CallFailure>>,
}

/// Why a command got no CALLRESULT.
#[derive(Debug)]
pub(crate) enum CallFailure {
    Error(String, String),
    Timeout,
    Offline,
    Busy,
}

/// Facts about a live connection, shared between its session task and the facade.
#[derive(Debug)]
pub(crate) struct LiveInfo {
    pub connected_at: DateTime<Utc>,
    /// Last frame or pong received, ms since the epoch.
    pub last_rx_ms: AtomicI64,
    /// Registration as a `u8` (see [`reg_to_u8`]), updated when the operator decides.
    pub registration: AtomicU8,
    /// Our end of the connection, as the station addressed it: file transfers offered to the
    /// station are served on this address, which it can reach.
    pub local_addr: Option<std::net::SocketAddr>,
    /// Round-trip time of the last WebSocket ping answered, µs; -1 before the first.
    pub ping_rtt_us: AtomicI64,
    /// The protocol version negotiated for this connection.
    pub version: chargeyard_ocpp::Version,
}

pub(crate) fn reg_to_u8(r: Registration) -> u8 {
    match r {
        Registration::Pending => 0,
        Registration::Accepted => 1,
        Registration::Rejected => 2,
    }
}

fn reg_from_u8(v: u8) -> Registration {
    match v {
        1 => Registration::Accepted,
        2 => Registration::Rejected,
        _ => Registration::Pending,
    }
}

pub(crate) struct SessionHandle {
    pub conn_id: u64,
    pub tx: mpsc::Sender<OutboundCall>,
    pub cancel: CancellationToken,
    pub info: Arc<LiveInfo>,
}

pub(crate) struct Inner {
    pub config: EngineConfig,
    /// The operator's settings (initially from `config`, then from the database).
    pub settings: RwLock<Settings>,
    pub store: Store,
    pub credentials: Credentials,
    /// Per station, the version assumed when the charger offers no subprotocol.
    pub fallback_protocols: Mutex<HashMap<String, String>>,
    pub sessions: Mutex<HashMap<String, SessionHandle>>,
    pub events: broadcast::Sender<Event>,
    pub next_conn_id: AtomicU64,
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
    /// Set by [`crate::server::run`] when it starts listening.
    pub ocpp_listen: Mutex<Option<std::net::SocketAddr>>,
    /// Stops the simulated demo fleet, if a front end started one.
    pub demo_fleet: Mutex<Option<CancellationToken>>,
    /// Where exports are written: `exports/` next to the database.
    pub exports_dir: std::path::PathBuf,
    /// Diagnostics received and firmware offered: `transfers/` next to the database.
    pub transfers_dir: std::path::PathBuf,
    /// Running diagnostics/firmware endpoints, by transfer id.
    pub transfer_jobs: Mutex<HashMap<i64, crate::transfer::Job>>,
    /// Running transactions' station and meterStart (neither ever changes), so a MeterValues
    /// needs no database read to check its transaction: filled at StartTransaction or at the
    /// first read, dropped at StopTransaction.
    pub transaction_starts: Mutex<HashMap<i64, (String, i64)>>,
    /// Running sessions to price for the screens (see [`crate::billing::live_costs`]).
    pub live_costs: mpsc::UnboundedSender<crate::billing::Running>,
}

/// Most transactions [`Inner::transaction_starts`] holds before it starts over (stops that never
/// came leave entries behind).
const TRANSACTION_STARTS_MAX: usize = 100_000;

/// The engine. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

/// A station as the dashboard shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct StationView {
    #[serde(flatten)]
    pub station: Station,
    pub connected: bool,
    pub connected_since: Option<DateTime<Utc>>,
    /// Last frame or pong from the station on the current connection.
    pub last_message_at: Option<DateTime<Utc>>,
    pub connectors: Vec<Connector>,
    pub open_transactions: Vec<Transaction>,
}

/// Everything about one station.
#[derive(Debug, Clone, Serialize, TS)]
pub struct StationDetail {
    #[serde(flatten)]
    pub view: StationView,
    pub status_history: Vec<StatusChange>,
    pub quirks: Vec<QuirkRecord>,
    pub unmatched_stops: Vec<UnmatchedStop>,
    pub events: Vec<StationEvent>,
}

#[derive(Debug, Clone, Serialize, TS)]
pub struct TransactionDetail {
    #[serde(flatten)]
    pub transaction: Transaction,
    pub meter_samples: Vec<MeterSample>,
}

/// A station the operator adds (or accepts from the inbox).
#[derive(Debug, Clone, Default, Deserialize, TS)]
pub struct NewStation {
    pub id: String,
    /// Basic-auth password (AuthorizationKey); none: the station connects without auth.
    pub password: Option<String>,
}

/// What the engine runs with, for the settings screen and status line.
#[derive(Debug, Clone, Serialize, TS)]
pub struct EngineInfo {
    pub version: &'static str,
    pub database: String,
    pub unknown_stations: UnknownStations,
    pub open_charging: bool,
    pub heartbeat_interval_s: u64,
    pub connected_stations: usize,
    pub supported_protocols: Vec<&'static str>,
    /// Where chargers connect (the bound address of the OCPP listener), once it is listening.
    pub ocpp_listen: Option<String>,
    /// This machine's addresses on its networks (loopback excluded), for the charger's URL.
    pub lan_addresses: Vec<String>,
    /// The URLs a charger can be given (its station id appended): only those the OCPP listener
    /// can be reached on.
    pub charger_urls: Vec<String>,
    /// The OCPP listener is on a loopback address: chargers on the network cannot reach it.
    pub ocpp_loopback_only: bool,
    /// The depot's time zone, in which time-of-use prices and invoices are reckoned.
    pub time_zone: String,
}

/// What removing the demo did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DemoRemoval {
    pub removed_stations: u64,
    pub removed_tariffs: u64,
    /// Whether a default tariff still applies; without one, sessions on stations and tags with no
    /// tariff of their own are not priced, and the console asks for one.
    pub default_tariff: bool,
}

/// What a tag import did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
}

/// Read tag rows from CSV; every problem is reported with its line number.
fn parse_tag_csv(text: &str) -> Result<Vec<(String, TagFields)>> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Invalid(format!("CSV header: {e}")))?
        .iter()
        .map(|h| h.to_ascii_lowercase().replace([' ', '-'], "_"))
        .collect();
    const KNOWN: &[&str] = &[
        "id_tag",
        "status",
        "expiry",
        "parent_id_tag",
        "group_kind",
        "group_name",
        "note",
    ];
    if let Some(unknown) = header.iter().find(|h| !KNOWN.contains(&h.as_str())) {
        return Err(Error::Invalid(format!(
            "line 1: unknown column {unknown:?}; columns are {}",
            KNOWN.join(", ")
        )));
    }
    if !header.iter().any(|h| h == "id_tag") {
        return Err(Error::Invalid(
            "line 1: the header needs an id_tag column".into(),
        ));
    }
    let (mut rows, mut problems) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(e.to_string());
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let Some(tag) = get("id_tag") else {
            if record.iter().all(str::is_empty) {
                continue; // blank line
            }
            problems.push(format!("line {line}: id_tag is empty"));
            continue;
        };
        let expiry = match get("expiry").map(|e| parse_expiry(&e)) {
            Some(Ok(e)) => Some(e),
            Some(Err(e)) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
            None => None,
        };
        let fields = TagFields {
            status: get("status").unwrap_or_else(|| "Accepted".into()),
            expiry,
            parent_id_tag: get("parent_id_tag"),
            group_kind: get("group_kind").map(|g| g.to_ascii_lowercase()),
            group_name: get("group_name"),
            note: get("note"),
        };
        if let Err(e) = Engine::check_tag(&tag, &fields) {
            problems.push(format!("line {line}: {e}"));
        } else if !seen.insert(tag.clone()) {
            problems.push(format!("line {line}: {tag} appears more than once"));
        } else {
            rows.push((tag, fields));
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(20);
        problems.truncate(20);
        if more > 0 {
            problems.push(format!("… and {more} more"));
        }
        return Err(Error::Invalid(format!(
            "nothing imported: {}",
            problems.join("; ")
        )));
    }
    if rows.is_empty() {
        return Err(Error::Invalid("the file has no tag rows".into()));
    }
    Ok(rows)
}

/// An expiry as RFC 3339, or a date (the tag expires at the end of that day, UTC).
fn parse_expiry(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("expiry {s:?} is not a date (2027-01-31) or an RFC 3339 time"))
}

/// Key of [`Settings`] in the settings table.
const SETTINGS_KEY: &str = "settings";

/// This machine's non-loopback IP addresses, IPv4 first.
fn lan_addresses() -> Vec<String> {
    let mut addrs: Vec<std::net::IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| !i.is_loopback())
        .map(|i| i.ip())
        .filter(|ip| !matches!(ip, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local()))
        .collect();
    addrs.sort_by_key(|ip| (ip.is_ipv6(), *ip));
    addrs.dedup();
    addrs.iter().map(|ip| ip.to_string()).collect()
}

/// The URLs at which chargers reach an OCPP listener on `listen`: every LAN address when it
/// listens on all of them, else its own address (a loopback one only reaches this machine).
fn charger_urls(listen: std::net::SocketAddr, lan: &[String]) -> Vec<String> {
    let url = |ip: &str| {
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("ws://{host}:{}/ocpp/", listen.port())
    };
    if listen.ip().is_unspecified() {
        lan.iter().map(|ip| url(ip)).collect()
    } else {
        vec![url(&listen.ip().to_string())]
    }
}

/// Protocols we speak, by preference.
pub const SUPPORTED_PROTOCOLS: &[&str] = &[v16::SUBPROTOCOL];

/// Station ids: printable, no slash, at most 48 characters (the 2.0.1 identity limit).
/// Check a command given as action name and JSON payload strictly, as it would be sent.
pub(crate) fn check_command(
    action: &str,
    payload: Value,
) -> Result<(Action, v16::CentralSystemCall)> {
    let act = Action::parse(action)
        .filter(|a| a.direction() != chargeyard_ocpp::Direction::FromStation)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{action:?} is not a command a central system sends"
            ))
        })?;
    let strict = v16::CentralSystemCall::decode(action, payload).and_then(|call| {
        if let Some(q) = call.quirks.first() {
            return Err(CallError::new(
                ErrorCode::PropertyConstraintViolation,
                q.detail.clone(),
            ));
        }
        call.value.check()?;
        Ok(call.value)
    });
    let call = strict.map_err(|e| Error::Invalid(format!("{action}: {}", e.description)))?;
    Ok((act, call))
}

pub fn check_station_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.chars().count() > 48
        || id.contains('/')
        || id.chars().any(char::is_control)
    {
        return Err(Error::Invalid(format!(
            "station id {id:?} must be 1 to 48 printable characters without '/'"
        )));
    }
    Ok(())
}

const TAG_STATUSES: &[&str] = &["Accepted", "Blocked", "Expired", "Invalid"];
const TAG_GROUPS: &[&str] = &["driver", "vehicle", "customer"];

impl Engine {
    /// Open the database and prepare the engine. Stations connect once [`crate::server::run`]
    /// is given a listener.
    pub async fn open(config: EngineConfig, db_path: &Path) -> Result<Engine> {
        let store = Store::open(db_path).await?;
        let creds = stations::credentials(&store.reader).await?;
        let fallbacks = stations::list(&store.reader)
            .await?
            .into_iter()
            .map(|s| (s.id, s.fallback_protocol))
            .collect();
        let (events, _) = broadcast::channel(8192);
        let (live_costs, live_cost_asks) = mpsc::unbounded_channel();
        let data_dir = db_path.parent().unwrap_or_else(|| Path::new("."));
        let saved = chargeyard_store::settings::get(&store.reader, SETTINGS_KEY).await?;
        let settings = saved
            .and_then(|s| serde_json::from_str::<Settings>(&s).ok())
            .unwrap_or_else(|| Settings::from_config(&config));
        let engine = Engine {
            inner: Arc::new(Inner {
                settings: RwLock::new(settings),
                config,
                store,
                credentials: Credentials::load(creds),
                fallback_protocols: Mutex::new(fallbacks),
                sessions: Mutex::new(HashMap::new()),
                events,
                next_conn_id: AtomicU64::new(1),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                ocpp_listen: Mutex::new(None),
                demo_fleet: Mutex::new(None),
                exports_dir: data_dir.join("exports"),
                transfers_dir: data_dir.join("transfers"),
                transfer_jobs: Mutex::new(HashMap::new()),
                transaction_starts: Mutex::new(HashMap::new()),
                live_costs,
            }),
        };
        engine.spawn_frame_pruner();
        engine.inner.tasks.spawn(crate::billing::live_costs(
            engine.clone(),
            live_cost_asks,
            engine.inner.shutdown.clone(),
        ));
        engine.expire_stale_transfers().await?;
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.inner.config.clock)()
    }

    /// Live events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub(crate) fn emit(&self, e: Event) {
        if !quiet() {
            let _ = self.inner.events.send(e);
        }
    }

    /// Whether any front end listens; hot paths skip building events nobody would receive.
    pub(crate) fn has_listeners(&self) -> bool {
        !quiet() && self.inner.events.receiver_count() > 0
    }

    /// Stop every connection and background task, and wait for them.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    fn spawn_frame_pruner(&self) {
        let engine = self.clone();
        let cancel = self.inner.shutdown.clone();
        self.inner.tasks.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let retention = chrono::Duration::from_std(engine.inner.config.frame_retention)
                    .unwrap_or(chrono::Duration::days(14));
                let before = engine.now() - retention;
                let r = engine
                    .inner
                    .store
                    .writer
                    .write(move |c| Box::pin(async move { frames::prune(c, before).await }))
                    .await;
                match r {
                    Ok(n) if n > 0 => tracing::info!("pruned {n} raw frames older than {before}"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("pruning frames failed: {e}"),
                }
            }
        });
    }

    /// The operator's settings.
    pub fn settings(&self) -> Settings {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Check, store and apply new settings; returns them as stored.
    pub async fn update_settings(&self, new: Settings) -> Result<Settings> {
        for (name, addr) in [
            ("ocpp_listen", &new.ocpp_listen),
            ("http_listen", &new.http_listen),
        ] {
            if let Some(a) = addr
                && a.parse::<std::net::SocketAddr>().is_err()
            {
                return Err(Error::Invalid(format!(
                    "{name}: {a:?} is not an address and port such as 0.0.0.0:9000"
                )));
            }
        }
        if let Some(z) = &new.time_zone
            && z.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(Error::Invalid(format!(
                "time_zone: {z:?} is not an IANA time zone such as Europe/Stockholm"
            )));
        }
        let text = serde_json::to_string(&new).map_err(|e| Error::Invalid(e.to_string()))?;
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(
                    async move { chargeyard_store::settings::set(c, SETTINGS_KEY, &text).await },
                )
            })
            .await?;
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = new.clone();
        Ok(new)
    }

    pub fn info(&self) -> EngineInfo {
        let c = &self.inner.config;
        let settings = self.settings();
        let listen = self.inner.ocpp_listen.lock().ok().and_then(|a| *a);
        let lan = lan_addresses();
        EngineInfo {
            version: env!("CARGO_PKG_VERSION"),
            database: self.inner.store.path().display().to_string(),
            unknown_stations: settings.unknown_stations,
            open_charging: settings.open_charging,
            charger_urls: listen.map(|a| charger_urls(a, &lan)).unwrap_or_default(),
            ocpp_loopback_only: listen.is_some_and(|a| a.ip().is_loopback()),
            lan_addresses: lan,
            heartbeat_interval_s: c.heartbeat_interval.as_secs(),
            connected_stations: self.lock_sessions().len(),
            supported_protocols: SUPPORTED_PROTOCOLS.to_vec(),
            ocpp_listen: listen.map(|a| a.to_string()),
            time_zone: self.time_zone().name().to_string(),
        }
    }

    /// The IANA time zones the depot's time zone can be set to.
    pub fn time_zones(&self) -> Vec<&'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect()
    }

    fn lock_transaction_starts(&self) -> std::sync::MutexGuard<'_, HashMap<i64, (String, i64)>> {
        self.inner
            .transaction_starts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn remember_start(&self, transaction_id: i64, station_id: &str, meter_start: i64) {
        let mut starts = self.lock_transaction_starts();
        if starts.len() >= TRANSACTION_STARTS_MAX {
            starts.clear();
        }
        starts.insert(transaction_id, (station_id.to_string(), meter_start));
    }

    /// A session that ended: its start need not be remembered.
    pub(crate) fn forget_start(&self, transaction_id: i64) {
        self.lock_transaction_starts().remove(&transaction_id);
    }

    /// The meterStart of `station_id`'s transaction `id`; `None` if it has no such transaction.
    async fn meter_start(&self, station_id: &str, id: i64) -> Result<Option<i64>> {
        if let Some((station, start)) = self.lock_transaction_starts().get(&id) {
            return Ok((station == station_id).then_some(*start));
        }
        let start = transactions::meter_start(&self.inner.store.reader, station_id, id).await?;
        if let Some(start) = start {
            self.remember_start(id, station_id, start);
        }
        Ok(start)
    }

    pub(crate) fn lock_sessions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, SessionHandle>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_connected(&self, station_id: &str) -> bool {
        self.lock_sessions().contains_key(station_id)
    }

    pub(crate) fn fallback_protocol(&self, station_id: &str) -> String {
        self.inner
            .fallback_protocols
            .lock()
            .ok()
            .and_then(|m| m.get(station_id).cloned())
            .unwrap_or_else(|| v16::SUBPROTOCOL.to_string())
    }

    // ---- Stations ------------------------------------------------------------------------------

    fn live(&self, station: Station) -> StationView {
        let sessions = self.lock_sessions();
        let live = sessions.get(&station.id).map(|h| h.info.clone());
        drop(sessions);
        StationView {
            connected: live.is_some(),
            connected_since: live.as_ref().map(|l| l.connected_at),
            last_message_at: live.as_ref().and_then(|l| {
                DateTime::from_timestamp_millis(l.last_rx_ms.load(Ordering::Relaxed))
            }),
            station,
            connectors: Vec::new(),
            open_transactions: Vec::new(),
        }
    }

    /// Every station with its connectors and running transactions.
    pub async fn stations(&self) -> Result<Vec<StationView>> {
        let reader = &self.inner.store.reader;
        let list = stations::list(reader).await?;
        let mut by_station: HashMap<String, Vec<Connector>> = HashMap::new();
        for c in connectors::list_all(reader).await? {
            by_station.entry(c.station_id.clone()).or_default().push(c);
        }
        let open = self
            .transactions(&TransactionFilter {
                open: Some(true),
                limit: Some(1000),
                ..Default::default()
            })
            .await?;
        let mut open_by: HashMap<String, Vec<Transaction>> = HashMap::new();
        for t in open.items {
            open_by.entry(t.station_id.clone()).or_default().push(t);
        }
        Ok(list
            .into_iter()
            .map(|s| {
                let id = s.id.clone();
                let mut v = self.live(s);
                v.connectors = by_station.remove(&id).unwrap_or_default();
                v.open_transactions = open_by.remove(&id).unwrap_or_default();
                v
            })
            .collect())
    }

    pub async fn station(&self, id: &str) -> Result<StationDetail> {
        let reader = &self.inner.store.reader;
        let s = stations::get(reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?;
        let mut view = self.live(s);
        view.connectors = connectors::list(reader, id).await?;
        view.open_transactions = transactions::list(
            reader,
            &TransactionFilter {
                station_id: Some(id.to_string()),
                open: Some(true),
                ..Default::default()
            },
        )
        .await?
        .items;
        Ok(StationDetail {
            view,
            status_history: connectors::history(reader, id, 100).await?,
            quirks: quirks::list(reader, id).await?,
            unmatched_stops: transactions::unmatched_stops(reader, id).await?,
            events: events::list(reader, id, 50).await?,
        })
    }

    /// Add a station the operator knows; it is accepted at its first boot. A password given here
    /// is required from its first connection (the operator enters it on the charger).
    pub async fn create_station(&self, new: NewStation) -> Result<StationDetail> {
        check_station_id(&new.id)?;
        if let Some(pw) = &new.password {
            crate::auth::check_password(pw, None)?;
        }
        let hash = new.password.as_deref().map(hash_password);
        let (id, h, now) = (new.id.clone(), hash.clone(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::create(c, &id, Registration::Accepted, h.as_deref(), now).await
                })
            })
            .await
            .map_err(or_duplicate(Error::Conflict(format!("station {}", new.id))))?;
        self.inner.credentials.set(&new.id, hash);
        self.emit(Event::StationUpdated {
            station_id: new.id.clone(),
        });
        self.station(&new.id).await
    }

    /// Accept a pending (or rejected) station. With a password, that is set first (see
    /// [`Engine::set_station_password`]); if the charger refuses it, the station stays as it was.
    /// A connected station is asked to boot again at once.
    pub async fn accept_station(
        &self,
        id: &str,
        password: crate::auth::PasswordChange,
        actor: &str,
    ) -> Result<StationDetail> {
        if password.password.is_some() {
            self.set_station_password(id, password, actor).await?;
        }
        self.set_registration(id, Registration::Accepted).await?;
        if self.is_connected(id) {
            let engine = self.clone();
            let id = id.to_string();
            // Best effort: a charger that ignores it boots again after its retry interval.
            tokio::spawn(async move {
                let req = v16::TriggerMessageRequest {
                    requested_message: v16::MessageTrigger::BootNotification,
                    connector_id: None,
                };
                if let Err(e) = engine.call(&id, req, "system").await {
                    tracing::info!(station = %id, "TriggerMessage(BootNotification) after accept: {e}");
                }
            });
        }
        self.station(id).await
    }

    pub async fn reject_station(&self, id: &str) -> Result<StationDetail> {
        self.set_registration(id, Registration::Rejected).await?;
        self.station(id).await
    }

    async fn set_registration(&self, id: &str, reg: Registration) -> Result<()> {
        let sid = id.to_string();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { stations::set_registration(c, &sid, reg, None).await })
            })
            .await
            .map_err(or_missing(Error::StationNotFound(id.to_string())))?;
        if let Some(h) = self.lock_sessions().get(id) {
            h.info.registration.store(reg_to_u8(reg), Ordering::Relaxed);
        }
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(())
    }

    /// Store (or with None clear) the password a station must present, effective at its next
    /// connection.
    pub(crate) async fn store_password(&self, id: &str, password: Option<&str>) -> Result<()> {
        let hash = password.map(hash_password);
        let reg = stations::get(&self.inner.store.reader, id)
            .await?
            .ok_or_else(|| Error::StationNotFound(id.to_string()))?
            .registration;
        let (sid, h) = (id.to_string(), hash.clone());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::set_registration(c, &sid, reg, Some(h.as_deref())).await
                })
            })
            .await?;
        self.inner.credentials.set(id, hash);
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(())
    }

    /// Count a connection refused at the handshake (`why`: a [`crate::auth::Refusal`] code), for a
    /// station known here (others are not recorded: a flood of made-up ids must not grow the
    /// database).
    pub(crate) async fn record_refusal(&self, id: &str, why: &str) {
        let (sid, why, now) = (id.to_string(), why.to_string(), self.now());
        let known = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { stations::record_refusal(c, &sid, &why, now).await })
            })
            .await;
        match known {
            Ok(true) => self.emit(Event::StationUpdated {
                station_id: id.to_string(),
            }),
            Ok(false) => {}
            Err(e) => tracing::warn!("recording a refused connection: {e}"),
        }
    }

    /// Forget a station (its transaction and frame history stay). A connected one is dropped.
    pub async fn delete_station(&self, id: &str) -> Result<()> {
        let sid = id.to_string();
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { stations::delete(c, &sid).await }))
            .await
            .map_err(or_missing(Error::StationNotFound(id.to_string())))?;
        self.inner.credentials.remove(id);
        if let Some(h) = self.lock_sessions().get(id) {
            h.cancel.cancel();
        }
        self.emit(Event::StationUpdated {
            station_id: id.to_string(),
        });
        Ok(())
    }

    // ---- Demo data ------------------------------------------------------------------------------

    /// Create the demo fleet's stations (accepted) and tags, all marked as demo data.
    pub async fn seed_demo(&self, stations: Vec<String>, tags: Vec<String>) -> Result<()> {
        let now = self.now();
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(
                    async move { chargeyard_store::demo::seed(c, &stations, &tags, now).await },
                )
            })
            .await?;
        Ok(())
    }

    /// Register the token that stops the running demo fleet (see [`Engine::remove_demo`]).
    pub fn set_demo_fleet(&self, stop: CancellationToken) {
        if let Ok(mut slot) = self.inner.demo_fleet.lock() {
            *slot = Some(stop);
        }
    }

    /// The demo's own tariff (marked demo, applying by default), unless there is a tariff already.
    pub async fn seed_demo_tariff(&self, input: crate::billing::TariffInput) -> Result<()> {
        let definition = crate::billing::checked(&input)?;
        let (name, now) = (input.name, self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    chargeyard_store::demo::seed_tariff(c, &name, &definition, now).await
                })
            })
            .await?;
        Ok(())
    }

    /// Stop the demo fleet and delete every demo station with all its history, the demo tags, and
    /// the demo's tariff with where it applied (sessions are not billed demo prices after it).
    pub async fn remove_demo(&self) -> Result<DemoRemoval> {
        if let Some(stop) = self.inner.demo_fleet.lock().ok().and_then(|mut s| s.take()) {
            stop.cancel();
        }
        let demo: Vec<String> = stations::list(&self.inner.store.reader)
            .await?
            .into_iter()
            .filter(|s| s.demo)
            .map(|s| s.id)
            .collect();
        for id in &demo {
            if let Some(h) = self.lock_sessions().get(id) {
                h.cancel.cancel();
            }
        }
        // A message a demo station sent just before may still be on its way to the database: let
        // the sessions finish (they end after the message in hand) so nothing lands after the
        // delete.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while demo.iter().any(|id| self.lock_sessions().contains_key(id))
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let removed = self
            .inner
            .store
            .writer
            .write(|c| Box::pin(async move { chargeyard_store::demo::remove(c).await }))
            .await?;
        // Their running transactions are gone.
        self.lock_transaction_starts().clear();
        for id in demo {
            self.emit(Event::StationUpdated { station_id: id });
        }
        let default_tariff = self
            .tariff_assignments()
            .await?
            .iter()
            .any(|a| a.scope == "default");
        Ok(DemoRemoval {
            removed_stations: removed.stations,
            removed_tariffs: removed.tariffs,
            default_tariff,
        })
    }

    pub async fn status_history(&self, id: &str, limit: i64) -> Result<Vec<StatusChange>> {
        Ok(connectors::history(&self.inner.store.reader, id, limit).await?)
    }

    pub async fn frames(
        &self,
        station_id: &str,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Frame>> {
        Ok(frames::list(&self.inner.store.reader, station_id, before_id, limit).await?)
    }

    pub async fn command_log(&self, station_id: &str, limit: i64) -> Result<Vec<CommandRecord>> {
        Ok(commands::list(&self.inner.store.reader, station_id, limit).await?)
    }

    pub async fn quirks(&self, station_id: &str) -> Result<Vec<QuirkRecord>> {
        Ok(quirks::list(&self.inner.store.reader, station_id).await?)
    }

    // ---- ID tags -------------------------------------------------------------------------------

    /// Tags by name, filtered and paged.
    pub async fn id_tags(&self, filter: &TagFilter) -> Result<Page<IdTag>> {
        Ok(id_tags::list(&self.inner.store.reader, filter).await?)
    }

    /// Every tag group with its number of tags.
    pub async fn tag_groups(&self) -> Result<Vec<id_tags::TagGroup>> {
        Ok(id_tags::groups(&self.inner.store.reader).await?)
    }

    pub async fn id_tag(&self, id_tag: &str) -> Result<IdTag> {
        id_tags::get(&self.inner.store.reader, id_tag)
            .await?
            .ok_or_else(|| Error::NotFound(format!("id tag {id_tag}")))
    }

    fn check_tag(id_tag: &str, f: &TagFields) -> Result<()> {
        if id_tag.trim().is_empty() || id_tag.chars().count() > 20 {
            return Err(Error::Invalid(format!(
                "id tag {id_tag:?} must be 1 to 20 characters"
            )));
        }
        if !TAG_STATUSES.contains(&f.status.as_str()) {
            return Err(Error::Invalid(format!(
                "status must be one of {}",
                TAG_STATUSES.join(", ")
            )));
        }
        if let Some(p) = &f.parent_id_tag
            && p.chars().count() > 20
        {
            return Err(Error::Invalid(
                "parent id tag must be at most 20 characters".into(),
            ));
        }
        if let Some(g) = &f.group_kind
            && !TAG_GROUPS.contains(&g.as_str())
        {
            return Err(Error::Invalid(format!(
                "group kind must be one of {}",
                TAG_GROUPS.join(", ")
            )));
        }
        Ok(())
    }

    pub async fn create_id_tag(&self, id_tag: &str, fields: TagFields) -> Result<IdTag> {
        Self::check_tag(id_tag, &fields)?;
        let (t, now) = (id_tag.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { id_tags::create(c, &t, &fields, now).await }))
            .await
            .map_err(or_duplicate(Error::Conflict(format!("id tag {id_tag}"))))
    }

    pub async fn update_id_tag(&self, id_tag: &str, fields: TagFields) -> Result<IdTag> {
        Self::check_tag(id_tag, &fields)?;
        let (t, now) = (id_tag.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { id_tags::update(c, &t, &fields, now).await }))
            .await
            .map_err(or_missing(Error::NotFound(format!("id tag {id_tag}"))))
    }

    /// Create or update tags from CSV text (UTF-8, comma- or semicolon-separated, a header row
    /// naming the columns: `id_tag` and any of `status`, `expiry`, `parent_id_tag`, `group_kind`,
    /// `group_name`, `note`). All rows or none: any bad row fails the import with every problem
    /// listed by line.
    pub async fn import_id_tags(&self, csv_text: &str) -> Result<ImportReport> {
        let rows = parse_tag_csv(csv_text)?;
        let now = self.now();
        let (created, updated) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let (mut created, mut updated) = (0u64, 0u64);
                    for (tag, fields) in rows {
                        if id_tags::get(&mut *c, &tag).await?.is_some() {
                            id_tags::update(c, &tag, &fields, now).await?;
                            updated += 1;
                        } else {
                            id_tags::create(c, &tag, &fields, now).await?;
                            created += 1;
                        }
                    }
                    Ok((created, updated))
                })
            })
            .await?;
        Ok(ImportReport { created, updated })
    }

    pub async fn delete_id_tag(&self, id_tag: &str) -> Result<()> {
        let t = id_tag.to_string();
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { id_tags::delete(c, &t).await }))
            .await
            .map_err(or_missing(Error::NotFound(format!("id tag {id_tag}"))))
    }

    /// What an idTag is answered with now.
    pub async fn authorize(&self, id_tag: &str) -> Result<IdTagInfo> {
        let tag = id_tags::get(&self.inner.store.reader, id_tag).await?;
        Ok(self.tag_info(tag))
    }

    /// What a tag as stored (None: not known here) is answered with now.
    pub(crate) fn tag_info(&self, tag: Option<IdTag>) -> IdTagInfo {
        let now = self.now();
        match tag {
            Some(t) => {
                let mut status = match t.status.as_str() {
                    "Accepted" => v16::AuthorizationStatus::Accepted,
                    "Blocked" => v16::AuthorizationStatus::Blocked,
                    "Expired" => v16::AuthorizationStatus::Expired,
                    _ => v16::AuthorizationStatus::Invalid,
                };
                if status == v16::AuthorizationStatus::Accepted
                    && t.expiry.is_some_and(|e| e <= now)
                {
                    status = v16::AuthorizationStatus::Expired;
                }
                IdTagInfo {
                    status,
                    expiry_date: t.expiry.map(Timestamp),
                    parent_id_tag: t
                        .parent_id_tag
                        .and_then(|p| chargeyard_ocpp::CiString::new(p).ok()),
                }
            }
            None => IdTagInfo {
                status: if self.settings().open_charging {
                    v16::AuthorizationStatus::Accepted
                } else {
                    v16::AuthorizationStatus::Invalid
                },
                expiry_date: None,
                parent_id_tag: None,
            },
        }
    }

    // ---- Transactions and meter values ---------------------------------------------------------

    /// Transactions, each with its cost (so far, when running).
    pub async fn transactions(&self, filter: &TransactionFilter) -> Result<Page<Transaction>> {
        let mut page = transactions::list(&self.inner.store.reader, filter).await?;
        self.price_all(&mut page.items).await?;
        Ok(page)
    }

    pub async fn transaction(&self, id: i64) -> Result<TransactionDetail> {
        let reader = &self.inner.store.reader;
        let mut t = transactions::get(reader, id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
        self.price_all(std::slice::from_mut(&mut t)).await?;
        let samples = chargeyard_store::meter::query(
            reader,
            &SampleFilter {
                transaction_id: Some(id),
                limit: Some(100_000),
                ..Default::default()
            },
        )
        .await?;
        Ok(TransactionDetail {
            transaction: t,
            meter_samples: samples,
        })
    }

    pub async fn meter_samples(&self, filter: &SampleFilter) -> Result<Vec<MeterSample>> {
        Ok(chargeyard_store::meter::query(&self.inner.store.reader, filter).await?)
    }

    // ---- Commands to stations ------------------------------------------------------------------

    /// Send a typed command and wait for the station's typed answer. Every command and its
    /// outcome is recorded in the command log.
    pub async fn call<R: Request>(
        &self,
        station_id: &str,
        req: R,
        actor: &str,
    ) -> Result<R::Response> {
        self.call_showing(station_id, req, None, actor).await
    }

    /// As [`Engine::call`], with the logs showing `shown` instead of a request that holds a
    /// secret (a password sent to the charger).
    pub(crate) async fn call_showing<R: Request>(
        &self,
        station_id: &str,
        req: R,
        shown: Option<Value>,
        actor: &str,
    ) -> Result<R::Response> {
        let payload = serde_json::to_value(&req).map_err(|e| Error::Invalid(e.to_string()))?;
        let raw = self
            .send(station_id, R::ACTION, payload, shown, actor)
            .await?;
        let decoded = v16::decode::<R::Response>(raw).map_err(|error| Error::BadResponse {
            station: station_id.to_string(),
            error,
        })?;
        self.record_quirks(station_id, &decoded.quirks).await;
        Ok(decoded.value)
    }

    /// Send a command given as action name and JSON payload (HTTP API, technician's composer).
    /// The payload is checked strictly first: nothing invalid is sent.
    pub async fn command_json(
        &self,
        station_id: &str,
        action: &str,
        payload: Value,
        actor: &str,
    ) -> Result<Value> {
        let (act, call) = check_command(action, payload)?;
        if let v16::CentralSystemCall::RemoteStartTransaction(r) = &call {
            self.check_start(station_id, r.connector_id, r.id_tag.as_str())
                .await?;
        }
        let raw = self
            .send(station_id, act.as_str(), call.payload(), None, actor)
            .await?;
        let decoded = v16::decode_response_value(act, raw).map_err(|error| Error::BadResponse {
            station: station_id.to_string(),
            error,
        })?;
        self.record_quirks(station_id, &decoded.quirks).await;
        Ok(decoded.value)
    }

    async fn send(
        &self,
        station_id: &str,
        action: &'static str,
        payload: Value,
        shown: Option<Value>,
        actor: &str,
    ) -> Result<Value> {
        let sent_at = self.now();
        let tx = self.lock_sessions().get(station_id).map(|h| h.tx.clone());
        let (reply, rx) = oneshot::channel();
        let outcome = match tx {
            None => Err(CallFailure::Offline),
            Some(tx) => {
                let call = OutboundCall {
                    action,
                    payload: payload.clone(),
                    shown: shown.clone(),
                    reply,
                };
                if tx.send(call).await.is_err() {
                    Err(CallFailure::Offline)
                } else {
                    // The session enforces the per-call timeout; this bounds a long queue too.
                    let limit = self.inner.config.call_timeout * 4 + Duration::from_secs(5);
                    match tokio::time::timeout(limit, rx).await {
                        Ok(Ok(r)) => r,
                        Ok(Err(_)) => Err(CallFailure::Offline),
                        Err(_) => Err(CallFailure::Timeout),
                    }
                }
            }
        };
        let (outcome_name, response, error, result) = match outcome {
            Ok(v) => ("result", Some(v.clone()), None, Ok(v)),
            Err(CallFailure::Error(code, description)) => (
                "callerror",
                None,
                Some(format!("{code}: {description}")),
                Err(Error::CallError {
                    station: station_id.to_string(),
                    code,
                    description,
                }),
            ),
            Err(CallFailure::Timeout) => {
                let secs = self.inner.config.call_timeout.as_secs();
                (
                    "timeout",
                    None,
                    None,
                    Err(Error::Timeout(station_id.to_string(), secs)),
                )
            }
            Err(CallFailure::Offline) => (
                "offline",
                None,
                None,
                Err(Error::StationOffline(station_id.to_string())),
            ),
            Err(CallFailure::Busy) => {
                ("busy", None, None, Err(Error::Busy(station_id.to_string())))
            }
        };
        let record = CommandRecord {
            id: 0,
            station_id: station_id.to_string(),
            action: action.to_string(),
            request: shown.unwrap_or(payload),
            actor: actor.to_string(),
            sent_at,
            finished_at: self.now(),
            outcome: outcome_name.to_string(),
            response,
            error,
        };
        let mut stored = record.clone();
        match self
            .inner
            .store
            .writer
            .write(move |c| Box::pin(async move { commands::insert(c, &record).await }))
            .await
        {
            Ok(id) => {
                stored.id = id;
                self.emit(Event::CommandFinished { command: stored });
            }
            Err(e) => tracing::warn!("recording command failed: {e}"),
        }
        result
    }

    // ---- Charger-initiated messages ------------------------------------------------------------

    pub(crate) async fn record_quirks(&self, station_id: &str, list: &[Quirk]) {
        for q in list {
            let (sid, kind, detail, now) = (
                station_id.to_string(),
                q.kind.as_str(),
                q.detail.clone(),
                self.now(),
            );
            self.inner
                .store
                .writer
                .write_detached(move |c| {
                    Box::pin(async move { quirks::record(c, &sid, kind, &detail, now).await })
                })
                .await;
            tracing::debug!(station = station_id, "quirk {}: {}", kind, q.detail);
            if self.has_listeners() {
                self.emit(Event::Quirk {
                    station_id: station_id.to_string(),
                    kind: kind.to_string(),
                    detail: q.detail.clone(),
                });
            }
        }
    }

    /// Handle one CALL from a station, its payload decoded; returns the CALLRESULT payload or
    /// the CALLERROR.
    pub(crate) async fn handle_call(
        &self,
        station_id: &Text,
        live: &LiveInfo,
        action: &str,
        decoded: Decoded<ChargePointCall>,
    ) -> std::result::Result<Value, CallError> {
        self.record_quirks(station_id, &decoded.quirks).await;
        let registration = reg_from_u8(live.registration.load(Ordering::Relaxed));
        let call = decoded.value;
        if registration != Registration::Accepted
            && !matches!(call, ChargePointCall::BootNotification(_))
        {
            return Err(CallError::new(
                ErrorCode::SecurityError,
                format!(
                    "station is {}; only BootNotification is taken",
                    registration.as_str()
                ),
            ));
        }
        self.dispatch(station_id, Some(live), call)
            .await
            .map_err(|e| {
                tracing::error!(station = &**station_id, "handling {action} failed: {e}");
                CallError::new(
                    ErrorCode::InternalError,
                    "the central system could not store this message; retry",
                )
            })
    }

    /// Hand over a station's past messages without a connection: for history a charger delivers
    /// some other way (the demo's backfilled weeks). The station must be accepted (checked once,
    /// here). Each message is stored exactly as a live one would be, but history is not live
    /// news: no event per message, one `StationUpdated` when the [`History`] is dropped.
    pub async fn history(&self, station_id: &str) -> Result<History> {
        let station = stations::get(&self.inner.store.reader, station_id)
            .await?
            .ok_or_else(|| Error::StationNotFound(station_id.to_string()))?;
        if station.registration != Registration::Accepted {
            return Err(Error::Invalid(format!(
                "station {station_id} is {}; only accepted stations' messages are taken",
                station.registration.as_str()
            )));
        }
        Ok(History {
            engine: self.clone(),
            station_id: station.id.into(),
        })
    }

    async fn dispatch(
        &self,
        station_id: &Text,
        live: Option<&LiveInfo>,
        call: ChargePointCall,
    ) -> Result<Value> {
        match call {
            ChargePointCall::BootNotification(r) => match live {
                Some(live) => self.on_boot(station_id, live, r).await,
                None => Err(Error::Invalid(
                    "a BootNotification comes over the station's own connection".into(),
                )),
            },
            ChargePointCall::Heartbeat(_) => self.on_heartbeat(station_id).await,
            ChargePointCall::StatusNotification(r) => self.on_status(station_id, r).await,
            ChargePointCall::Authorize(r) => self
                .authorize(&r.id_tag)
                .await
                .map(|info| to_json(&v16::AuthorizeResponse { id_tag_info: info })),
            ChargePointCall::StartTransaction(r) => self.on_start(station_id, r).await,
            ChargePointCall::MeterValues(r) => self.on_meter_values(station_id, r).await,
            ChargePointCall::StopTransaction(r) => self.on_stop(station_id, r).await,
            ChargePointCall::DataTransfer(r) => self.on_data_transfer(station_id, r).await,
            ChargePointCall::DiagnosticsStatusNotification(r) => {
                let status = r.status.as_str().to_string();
                self.on_station_status(station_id, "diagnostics_status", status)
                    .await
            }
            ChargePointCall::FirmwareStatusNotification(r) => {
                let status = r.status.as_str().to_string();
                self.on_station_status(station_id, "firmware_status", status)
                    .await
            }
        }
    }

    async fn on_boot(
        &self,
        station_id: &str,
        live: &LiveInfo,
        r: v16::BootNotificationRequest,
    ) -> Result<Value> {
        let boot = BootInfo {
            vendor: r.charge_point_vendor.into_string(),
            model: r.charge_point_model.into_string(),
            serial_number: r.charge_point_serial_number.map(|s| s.into_string()),
            charge_box_serial: r.charge_box_serial_number.map(|s| s.into_string()),
            firmware_version: r.firmware_version.map(|s| s.into_string()),
            iccid: r.iccid.map(|s| s.into_string()),
            imsi: r.imsi.map(|s| s.into_string()),
            meter_type: r.meter_type.map(|s| s.into_string()),
            meter_serial: r.meter_serial_number.map(|s| s.into_string()),
        };
        let (sid, now) = (station_id.to_string(), self.now());
        let (station, closed) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    stations::record_boot(c, &sid, &boot, now).await?;
                    let closed = crate::transactions::close_refused_at_boot(c, &sid, now).await?;
                    Ok((stations::get(&mut *c, &sid).await?, closed))
                })
            })
            .await?;
        let station = station.ok_or_else(|| Error::StationNotFound(station_id.to_string()))?;
        self.closed(&closed).await;
        live.registration
            .store(reg_to_u8(station.registration), Ordering::Relaxed);
        self.emit(Event::StationUpdated {
            station_id: station_id.to_string(),
        });
        let c = &self.inner.config;
        let (status, interval) = match station.registration {
            Registration::Accepted => (v16::RegistrationStatus::Accepted, c.heartbeat_interval),
            Registration::Pending => (v16::RegistrationStatus::Pending, c.boot_retry_interval),
            Registration::Rejected => (v16::RegistrationStatus::Rejected, c.boot_retry_interval),
        };
        Ok(to_json(&v16::BootNotificationResponse {
            status,
            current_time: Timestamp(self.now()),
            interval: interval.as_secs() as i64,
        }))
    }

    async fn on_heartbeat(&self, station_id: &str) -> Result<Value> {
        let (sid, now) = (station_id.to_string(), self.now());
        self.inner
            .store
            .writer
            .write_detached(move |c| Box::pin(async move { stations::touch(c, &sid, now).await }))
            .await;
        Ok(to_json(&v16::HeartbeatResponse {
            current_time: Timestamp(now),
        }))
    }

    async fn on_status(
        &self,
        station_id: &str,
        r: v16::StatusNotificationRequest,
    ) -> Result<Value> {
        let now = self.now();
        let timestamp = r.timestamp.map(|t| t.0);
        let connector = Connector {
            station_id: station_id.to_string(),
            connector_id: r.connector_id,
            status: r.status.as_str().to_string(),
            error_code: r.error_code.as_str().to_string(),
            info: r.info.map(|s| s.into_string()),
            vendor_id: r.vendor_id.map(|s| s.into_string()),
            vendor_error_code: r.vendor_error_code.map(|s| s.into_string()),
            status_at: timestamp.unwrap_or(now),
        };
        let row = connector.clone();
        let (current, closed) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let current = connectors::record_status(c, &row, timestamp, now).await?;
                    let closed = if current {
                        crate::transactions::close_refused_on_idle(
                            c,
                            &row.station_id,
                            row.connector_id,
                            &row.status,
                            row.status_at,
                            now,
                        )
                        .await?
                    } else {
                        Vec::new()
                    };
                    Ok((current, closed))
                })
            })
            .await?;
        self.closed(&closed).await;
        // A replayed older status goes to the history only; screens show the current one.
        if current {
            if self.has_listeners() {
                self.live_cost(crate::billing::Running::Connector(
                    station_id.to_string(),
                    connector.connector_id,
                ));
            }
            self.emit(Event::StatusChanged { connector });
        }
        Ok(json!({}))
    }

    async fn on_start(&self, station_id: &str, r: v16::StartTransactionRequest) -> Result<Value> {
        let info = self.authorize(&r.id_tag).await?;
        let new = NewTransaction {
            station_id: station_id.to_string(),
            connector_id: r.connector_id,
            id_tag: r.id_tag.into_string(),
            start_ts: r.timestamp.0,
            meter_start: r.meter_start,
            reservation_id: r.reservation_id,
            start_auth_status: info.status.as_str().to_string(),
        };
        let now = self.now();
        let (id, is_new, closed) = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let (id, is_new) = transactions::start(c, &new, now).await?;
                    let closed = if is_new {
                        crate::transactions::supersede(
                            c,
                            &new.station_id,
                            new.connector_id,
                            id,
                            new.start_ts,
                            now,
                        )
                        .await?
                    } else {
                        Vec::new()
                    };
                    Ok((id, is_new, closed))
                })
            })
            .await?;
        // A retried start returns the same transaction, whose meterStart is this one.
        self.remember_start(id, station_id, r.meter_start);
        self.closed(&closed).await;
        if is_new
            && self.has_listeners()
            && let Some(mut t) = transactions::get(&self.inner.store.reader, id).await?
        {
            self.price_all(std::slice::from_mut(&mut t)).await?;
            self.emit(Event::TransactionStarted { transaction: t });
        }
        Ok(to_json(&v16::StartTransactionResponse {
            id_tag_info: info,
            transaction_id: id,
        }))
    }

    async fn on_meter_values(
        &self,
        station_id: &Text,
        r: v16::MeterValuesRequest,
    ) -> Result<Value> {
        let tx_id = match r.transaction_id {
            Some(id) if id <= 0 => {
                self.record_quirks(
                    station_id,
                    &[Quirk::new(
                        chargeyard_ocpp::QuirkKind::OfflineTransactionId,
                        format!("MeterValues with transactionId {id}"),
                    )],
                )
                .await;
                None
            }
            other => other,
        };
        // Samples are found by their transaction, so they only name one of this station's: values
        // for a transaction unknown here are kept unlinked, like an unknown stop's.
        let meter_start = match tx_id {
            Some(tx) => self.meter_start(station_id, tx).await?,
            None => None,
        };
        let tx_id = match (tx_id, meter_start) {
            (Some(tx), None) => {
                let q = Quirk::new(
                    chargeyard_ocpp::QuirkKind::UnknownTransaction,
                    format!("MeterValues for unknown transaction {tx}; kept without it"),
                );
                self.record_quirks(station_id, &[q]).await;
                None
            }
            (tx, _) => tx,
        };
        let mut samples = meter::normalise(station_id, r.connector_id, tx_id, &r.meter_value);
        if samples.is_empty() {
            return Ok(json!({}));
        }
        if let (Some(tx), Some(start)) = (tx_id, meter_start)
            && meter::kwh_candidates(&samples)
            && meter::fix_kwh_labelled_as_wh(&mut samples, start)
        {
            let q = Quirk::new(
                chargeyard_ocpp::QuirkKind::KwhLabelledAsWh,
                format!(
                    "energy register labelled Wh is ~1000× below meterStart {start} Wh of transaction {tx}; read as kWh"
                ),
            );
            self.record_quirks(station_id, &[q]).await;
        }
        let event = self.has_listeners().then(|| Event::MeterValues {
            station_id: station_id.to_string(),
            connector_id: r.connector_id,
            transaction_id: tx_id,
            timestamp: samples
                .iter()
                .map(|s| s.timestamp)
                .max()
                .unwrap_or_else(|| self.now()),
            energy_wh: meter::latest(&samples, "Energy.Active.Import.Register"),
            power_w: meter::latest(&samples, "Power.Active.Import"),
            soc_percent: meter::latest(&samples, "SoC"),
        });
        self.inner.store.writer.append_samples(samples).await?;
        if let Some(event) = event {
            self.emit(event);
            if let Some(tx) = tx_id {
                self.live_cost(crate::billing::Running::Transaction(tx));
            }
        }
        Ok(json!({}))
    }

    async fn on_stop(&self, station_id: &str, r: v16::StopTransactionRequest) -> Result<Value> {
        let info = match &r.id_tag {
            Some(tag) => Some(self.authorize(tag).await?),
            None => None,
        };
        let stop = StopRecord {
            station_id: station_id.to_string(),
            transaction_id: r.transaction_id,
            id_tag: r.id_tag.map(|t| t.into_string()),
            meter_stop: r.meter_stop,
            timestamp: r.timestamp.0,
            reason: r.reason.map(|x| x.as_str().to_string()),
        };
        // transactionData belongs to the transaction only if it is ours.
        let data = r.transaction_data.unwrap_or_default();
        let (sid, now) = (Text::from(station_id), self.now());
        let outcome = self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    let outcome = transactions::stop(c, &stop, now).await?;
                    let tx = (outcome != StopOutcome::Unknown).then_some(stop.transaction_id);
                    let connector = match tx {
                        Some(id) => sqlx_connector(c, id).await?,
                        None => 0,
                    };
                    let samples = meter::normalise(&sid, connector, tx, &data);
                    chargeyard_store::meter::insert(c, samples, now).await?;
                    Ok(outcome)
                })
            })
            .await?;
        if outcome != StopOutcome::Unknown {
            self.forget_start(r.transaction_id);
        }
        if outcome == StopOutcome::Stopped {
            self.price_stopped(r.transaction_id);
        }
        match outcome {
            StopOutcome::Stopped if self.has_listeners() => {
                if let Some(t) =
                    transactions::get(&self.inner.store.reader, r.transaction_id).await?
                {
                    self.emit(Event::TransactionStopped { transaction: t });
                }
            }
            StopOutcome::Stopped => {}
            StopOutcome::AlreadyStopped => {}
            StopOutcome::Unknown => {
                self.record_quirks(
                    station_id,
                    &[Quirk::new(
                        chargeyard_ocpp::QuirkKind::UnknownTransaction,
                        format!(
                            "StopTransaction for unknown transaction {}",
                            r.transaction_id
                        ),
                    )],
                )
                .await;
            }
        }
        Ok(to_json(&v16::StopTransactionResponse { id_tag_info: info }))
    }

    async fn on_data_transfer(
        &self,
        station_id: &str,
        r: v16::DataTransferRequest,
    ) -> Result<Value> {
        let detail = to_json(&r);
        self.station_event(station_id, "data_transfer", detail)
            .await?;
        // No vendor extensions are implemented: say so, as the spec asks.
        Ok(to_json(&v16::DataTransferResponse {
            status: v16::DataTransferStatus::UnknownVendorId,
            data: None,
        }))
    }

    async fn on_station_status(
        &self,
        station_id: &str,
        kind: &'static str,
        status: String,
    ) -> Result<Value> {
        let (sid, st) = (station_id.to_string(), status.clone());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    if kind == "diagnostics_status" {
                        stations::set_diagnostics_status(c, &sid, &st).await
                    } else {
                        stations::set_firmware_status(c, &sid, &st).await
                    }
                })
            })
            .await?;
        self.station_event(station_id, kind, json!({ "status": status }))
            .await?;
        self.transfer_status(station_id, kind, &status).await;
        self.emit(Event::StationUpdated {
            station_id: station_id.to_string(),
        });
        Ok(json!({}))
    }

    async fn station_event(
        &self,
        station_id: &str,
        kind: &'static str,
        detail: Value,
    ) -> Result<()> {
        let (sid, now) = (station_id.to_string(), self.now());
        self.inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move { events::insert(c, &sid, kind, &detail, now).await })
            })
            .await?;
        Ok(())
    }
}

/// The connector of one of our transactions (for its transactionData samples).
async fn sqlx_connector(
    c: &mut chargeyard_store::SqliteConnection,
    tx: i64,
) -> chargeyard_store::Result<i64> {
    Ok(transactions::get(&mut *c, tx)
        .await?
        .map(|t| t.connector_id)
        .unwrap_or(0))
}

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

tokio::task_local! {
    /// Set while history is handed over: handlers store as usual but announce nothing.
    static QUIET: ();
}

fn quiet() -> bool {
    QUIET.try_with(|_| ()).is_ok()
}

/// One station's past messages on their way in; see [`Engine::history`].
pub struct History {
    engine: Engine,
    station_id: Text,
}

impl History {
    /// Take one message as if the station had sent it; the answer is what it would have been
    /// told. BootNotification needs the station's own connection and is refused.
    pub async fn ingest(&self, call: ChargePointCall) -> Result<Value> {
        QUIET
            .scope((), self.engine.dispatch(&self.station_id, None, call))
            .await
    }
}

impl Drop for History {
    /// Screens reload the station once, instead of following every message of its past.
    fn drop(&mut self) {
        self.engine.emit(Event::StationUpdated {
            station_id: self.station_id.to_string(),
        });
    }
}
