//! The facade every front end calls (HTTP server, Tauri shell, tests): the engine's state, its
//! settings and what it runs with. What it does is in the modules beside this one, each an
//! `impl Engine` of its own (stations, tags, transactions, commands, charger messages, …).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chargeyard_ocpp::Version;
use chargeyard_store::model::Registration;
use chargeyard_store::text::Text;
use chargeyard_store::{Store, frames, stations};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use ts_rs::TS;

use crate::auth::Credentials;
use crate::commands::OutboundCall;
use crate::config::{EngineConfig, Settings, UnknownStations};
use crate::error::{Error, Result};
use crate::events::Event;

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
    pub version: Version,
    /// Over TLS or not, and the client certificate presented.
    pub transport: crate::auth::Transport,
}

pub(crate) fn reg_to_u8(r: Registration) -> u8 {
    match r {
        Registration::Pending => 0,
        Registration::Accepted => 1,
        Registration::Rejected => 2,
    }
}

pub(crate) fn reg_from_u8(v: u8) -> Registration {
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

/// Which versions a station may use, and the one assumed when it offers none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StationProtocols {
    pub fallback: Version,
    /// None: every version spoken here.
    pub enabled: Option<Vec<Version>>,
}

impl Default for StationProtocols {
    fn default() -> Self {
        StationProtocols {
            fallback: Version::V16,
            enabled: None,
        }
    }
}

impl StationProtocols {
    /// From the station's row (unknown names are left out).
    pub(crate) fn read(fallback: &str, enabled: Option<&str>) -> StationProtocols {
        StationProtocols {
            fallback: Version::from_subprotocol(fallback).unwrap_or(Version::V16),
            enabled: enabled.map(|e| e.split(',').filter_map(Version::from_subprotocol).collect()),
        }
    }

    pub(crate) fn allows(&self, v: Version) -> bool {
        self.enabled.as_ref().is_none_or(|e| e.contains(&v))
    }
}

pub(crate) struct Inner {
    pub config: EngineConfig,
    /// The operator's settings (initially from `config`, then from the database).
    pub settings: RwLock<Settings>,
    pub store: Store,
    pub credentials: Credentials,
    /// Per station, the versions it may use and the one assumed when it offers none.
    pub protocols: Mutex<HashMap<String, StationProtocols>>,
    pub sessions: Mutex<HashMap<String, SessionHandle>>,
    pub events: broadcast::Sender<Event>,
    pub next_conn_id: AtomicU64,
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
    /// Set by [`crate::server::run`] when it starts listening.
    pub ocpp_listen: Mutex<Option<std::net::SocketAddr>>,
    /// Set by [`crate::server::run_tls`] when it starts listening.
    pub tls_listen: Mutex<Option<std::net::SocketAddr>>,
    /// Certificates and the TLS configuration for `wss://`.
    pub tls: crate::tls::Tls,
    /// Failed console logins by name, for the backoff.
    pub login_failures: crate::operators::Failures,
    /// Stations told to upgrade their security profile over OCPP, until they connect again:
    /// the profile and who asked (see [`Engine::upgrade_security_profile`]).
    pub upgrades: Mutex<HashMap<String, (u8, String)>>,
    /// Connections open per address, and those turned away.
    pub gate: std::sync::Arc<crate::gate::Gate>,
    /// Stops the simulated demo fleet, if a front end started one.
    pub demo_fleet: Mutex<Option<CancellationToken>>,
    /// Where exports are written: `exports/` next to the database.
    pub exports_dir: std::path::PathBuf,
    /// Diagnostics received and firmware offered: `transfers/` next to the database.
    pub transfers_dir: std::path::PathBuf,
    /// Running diagnostics/firmware endpoints, by transfer id.
    pub transfer_jobs: Mutex<HashMap<i64, crate::transfer::Job>>,
    /// Running transactions held for the hot path (see [`crate::running`]).
    pub running: Mutex<crate::running::Running>,
    /// 2.x reports being collected, by station and request id.
    pub reports: Mutex<HashMap<(String, i64), crate::toolkit::Report>>,
    /// Running sessions to price for the screens (see [`crate::billing::live_costs`]).
    pub live_costs: mpsc::UnboundedSender<crate::billing::Running>,
    /// When each running 2.x session's cost was last asked to be sent to its charger (CostUpdated).
    pub cost_updates: Mutex<HashMap<i64, std::time::Instant>>,
    /// Load management: the site, what each charger draws and holds, the last round.
    pub load: crate::load::State,
    /// Backups: the policy, the last run, and the restart a restore asks for.
    pub backups: crate::backups::State,
}

/// The engine. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
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
    /// Connections turned away: too many from one address, too many in all, or unknown stations
    /// while the inbox is full.
    pub turned_away: crate::gate::TurnedAway,
    /// How many stations the inbox takes (see [`EngineConfig::max_waiting_stations`]).
    pub max_waiting_stations: usize,
    /// How many connections one address may have open at once (0: no limit).
    pub max_connections_per_address: usize,
    /// The disk holding the database is full: nothing new is stored until space is freed.
    pub disk_full: bool,
    /// How many days raw frames are kept when the settings do not say (`--frame-retention-days`).
    #[ts(type = "number")]
    pub default_frame_retention_days: u64,
}

/// The longest that raw frames and every meter reading can be kept by setting: ten years.
const MAX_KEEP_DAYS: u32 = 3650;

/// Meter samples [`Engine::thin_samples`] looks at in one write.
const THIN_CHUNK: i64 = 5_000;

/// Key of [`Settings`] in the settings table.
const SETTINGS_KEY: &str = "settings";

/// This machine's non-loopback IP addresses, IPv4 first.
pub fn lan_addresses() -> Vec<String> {
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

/// This machine's host name, if it has one.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_lowercase())
        .filter(|h| !h.is_empty())
}

/// The names and addresses chargers may reach this machine by: what the server certificate
/// covers.
pub(crate) fn tls_names() -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = host_name() {
        names.push(format!("{host}.local"));
        names.push(host);
    }
    names.extend(lan_addresses());
    names.dedup();
    names
}

/// The URLs at which chargers reach an OCPP listener on `listen`: every LAN address when it
/// listens on all of them, else its own address (a loopback one only reaches this machine).
pub(crate) fn charger_urls(
    scheme: &str,
    listen: std::net::SocketAddr,
    lan: &[String],
) -> Vec<String> {
    let url = |ip: &str| {
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("{scheme}://{host}:{}/ocpp/", listen.port())
    };
    if listen.ip().is_unspecified() {
        lan.iter().map(|ip| url(ip)).collect()
    } else {
        vec![url(&listen.ip().to_string())]
    }
}

/// Protocols we speak, by preference (2.1 is not negotiated yet).
pub const SUPPORTED_PROTOCOLS: &[&str] = &[
    chargeyard_ocpp::v201::SUBPROTOCOL,
    chargeyard_ocpp::v16::SUBPROTOCOL,
];

impl Engine {
    /// Open the database and prepare the engine. Stations connect once [`crate::server::run`]
    /// is given a listener.
    pub async fn open(config: EngineConfig, db_path: &Path) -> Result<Engine> {
        let store = Store::open(db_path).await?;
        let access = crate::security::access(stations::access(&store.reader).await?);
        let revoked = chargeyard_store::certificates::revoked(&store.reader).await?;
        let protocols = stations::protocols(&store.reader)
            .await?
            .into_iter()
            .map(|(id, fallback, enabled)| {
                (id, StationProtocols::read(&fallback, enabled.as_deref()))
            })
            .collect();
        let (events, _) = broadcast::channel(8192);
        let (live_costs, live_cost_asks) = mpsc::unbounded_channel();
        let data_dir = db_path.parent().unwrap_or_else(|| Path::new("."));
        let saved = chargeyard_store::settings::get(&store.reader, SETTINGS_KEY).await?;
        let settings = saved
            .and_then(|s| serde_json::from_str::<Settings>(&s).ok())
            .unwrap_or_else(|| Settings::from_config(&config));
        let gate = crate::gate::Gate::new(config.max_connections_per_address);
        let engine = Engine {
            inner: Arc::new(Inner {
                settings: RwLock::new(settings),
                config,
                store,
                credentials: Credentials::load(access, revoked),
                protocols: Mutex::new(protocols),
                sessions: Mutex::new(HashMap::new()),
                events,
                next_conn_id: AtomicU64::new(1),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                ocpp_listen: Mutex::new(None),
                tls_listen: Mutex::new(None),
                login_failures: Default::default(),
                gate,
                upgrades: Mutex::new(HashMap::new()),
                tls: crate::tls::Tls::open(&data_dir.join("tls"), &tls_names(), Utc::now())?,
                demo_fleet: Mutex::new(None),
                exports_dir: data_dir.join("exports"),
                transfers_dir: data_dir.join("transfers"),
                transfer_jobs: Mutex::new(HashMap::new()),
                running: Mutex::new(crate::running::Running::default()),
                reports: Mutex::new(HashMap::new()),
                live_costs,
                cost_updates: Mutex::new(HashMap::new()),
                load: Default::default(),
                backups: Default::default(),
            }),
        };
        engine.spawn_frame_pruner();
        engine.spawn_disk_watch();
        engine.spawn_certificate_renewal();
        engine.inner.tasks.spawn(crate::billing::live_costs(
            engine.clone(),
            live_cost_asks,
            engine.inner.shutdown.clone(),
        ));
        engine.expire_stale_transfers().await?;
        engine.load_site().await?;
        engine.spawn_load_manager();
        engine.load_backup_policy().await?;
        engine.spawn_backup_schedule();
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
                let settings = engine.settings();
                let retention = match settings.frame_retention_days {
                    Some(days) => chrono::Duration::days(days.into()),
                    None => chrono::Duration::from_std(engine.inner.config.frame_retention)
                        .unwrap_or(chrono::Duration::days(14)),
                };
                let before = engine.now() - retention;
                let r = engine
                    .inner
                    .store
                    .writer
                    .write(move |c| {
                        Box::pin(async move {
                            let frames = frames::prune(c, before).await?;
                            // Load management's decisions are kept as long as the frames.
                            let decisions = chargeyard_store::load::prune(c, before).await?;
                            Ok((frames, decisions))
                        })
                    })
                    .await;
                match r {
                    Ok((0, 0)) => {}
                    Ok((f, d)) => tracing::info!(
                        "pruned {f} raw frames and {d} load decisions older than {before}"
                    ),
                    Err(e) => tracing::warn!("pruning frames failed: {e}"),
                }
                if let Some(days) = settings.sample_detail_days {
                    engine
                        .thin_samples(engine.now() - chrono::Duration::days(days.into()))
                        .await;
                }
            }
        });
    }

    /// Thin the meter readings older than `before` (see [`Settings::sample_detail_days`]), a
    /// bounded chunk per write so the chargers' commits are never held up for long.
    async fn thin_samples(&self, before: DateTime<Utc>) {
        let mut thinned = 0;
        loop {
            let r = self
                .inner
                .store
                .writer
                .write(move |c| Box::pin(chargeyard_store::meter::thin(c, before, THIN_CHUNK)))
                .await;
            match r {
                Ok((n, more)) => {
                    thinned += n;
                    // A first pass over years of readings takes a while: a shutdown need not wait.
                    if !more || self.inner.shutdown.is_cancelled() {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!("thinning meter readings failed: {e}");
                    break;
                }
            }
        }
        if thinned > 0 {
            tracing::info!("thinned {thinned} meter readings older than {before}");
        }
    }

    /// Tell the front ends (and the log) when the database's disk fills up and when writes work
    /// again.
    fn spawn_disk_watch(&self) {
        let engine = self.clone();
        let cancel = self.inner.shutdown.clone();
        let mut full = self.inner.store.writer.disk_full();
        self.inner.tasks.spawn(async move {
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    changed = full.changed() => if changed.is_err() { break },
                }
                let now_full = *full.borrow_and_update();
                if now_full {
                    tracing::error!(
                        "the disk holding {} is full: nothing new is stored until space is freed",
                        engine.inner.store.path().display()
                    );
                } else {
                    tracing::info!("writing to the database works again");
                }
                engine.emit(Event::DiskFull {
                    full: now_full,
                    at: engine.now(),
                });
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
            ("ocpp_tls_listen", &new.ocpp_tls_listen),
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
        for (name, days) in [
            ("frame_retention_days", new.frame_retention_days),
            ("sample_detail_days", new.sample_detail_days),
        ] {
            if let Some(d) = days.filter(|d| !(1..=MAX_KEEP_DAYS).contains(d)) {
                return Err(Error::Invalid(format!(
                    "{name}: {d} days; give 1 to {MAX_KEEP_DAYS}, or nothing"
                )));
            }
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
            charger_urls: listen
                .map(|a| charger_urls("ws", a, &lan))
                .unwrap_or_default(),
            ocpp_loopback_only: listen.is_some_and(|a| a.ip().is_loopback()),
            lan_addresses: lan,
            heartbeat_interval_s: c.heartbeat_interval.as_secs(),
            connected_stations: self.lock_sessions().len(),
            supported_protocols: SUPPORTED_PROTOCOLS.to_vec(),
            ocpp_listen: listen.map(|a| a.to_string()),
            time_zone: self.time_zone().name().to_string(),
            turned_away: self.inner.gate.summary(),
            max_waiting_stations: c.max_waiting_stations,
            max_connections_per_address: c.max_connections_per_address,
            disk_full: self.inner.store.writer.is_disk_full(),
            default_frame_retention_days: c.frame_retention.as_secs() / (24 * 3600),
        }
    }

    /// The IANA time zones the depot's time zone can be set to.
    pub fn time_zones(&self) -> Vec<&'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect()
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

    /// The version a connected station speaks.
    pub(crate) fn connected_version(&self, station_id: &str) -> Option<Version> {
        self.lock_sessions().get(station_id).map(|h| h.info.version)
    }

    /// Keep what the handshake reads of a station current after its row changed.
    pub(crate) fn remember_protocols(&self, station: &chargeyard_store::model::Station) {
        let p = StationProtocols::read(
            &station.fallback_protocol,
            station.enabled_protocols.as_deref(),
        );
        if let Ok(mut m) = self.inner.protocols.lock() {
            m.insert(station.id.clone(), p);
        }
    }

    pub(crate) fn forget_protocols(&self, station_id: &str) {
        if let Ok(mut m) = self.inner.protocols.lock() {
            m.remove(station_id);
        }
    }

    /// The versions `station_id` may use and the one it gets when it offers none.
    pub(crate) fn station_protocols(&self, station_id: &str) -> StationProtocols {
        self.inner
            .protocols
            .lock()
            .ok()
            .and_then(|m| m.get(station_id).cloned())
            .unwrap_or_default()
    }

    /// Hand over a station's past messages without a connection: for history a charger delivers
    /// some other way (the demo's backfilled weeks). The station must be accepted (checked once,
    /// here). Each message is stored exactly as a live one would be, but history is not live
    /// news: no event per message, one `StationUpdated` when the [`History`] is dropped.
    pub async fn history(&self, station_id: &str, version: Version) -> Result<History> {
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
            version,
        })
    }
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
    version: Version,
}

impl History {
    /// Take one message (its action and payload, in the history's version) as if the station
    /// had sent it; the answer is what it would have been told. BootNotification needs the
    /// station's own connection and is refused.
    pub async fn ingest(&self, action: &str, payload: Value) -> Result<Value> {
        let call = crate::protocol::on_call(
            &self.engine,
            &self.station_id,
            None,
            self.version,
            action,
            crate::protocol::Payload::Value(payload),
        );
        QUIET
            .scope((), call)
            .await
            .map_err(|e| Error::Invalid(format!("{action}: {}", e.description)))
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
