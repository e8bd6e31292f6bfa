//! Engine settings, with defaults suited to a depot LAN.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

/// What happens when a station we have never seen connects and boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UnknownStations {
    /// BootNotification is answered Rejected; the attempt is recorded for the operator.
    Reject,
    /// BootNotification is answered Pending; the station waits in the operator's inbox.
    #[default]
    Pending,
    /// Admitted at once (labs, demos).
    Accept,
}

impl std::str::FromStr for UnknownStations {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reject" => Ok(UnknownStations::Reject),
            "pending" => Ok(UnknownStations::Pending),
            "accept" => Ok(UnknownStations::Accept),
            other => Err(format!(
                "unknown-stations must be reject, pending or accept, not {other:?}"
            )),
        }
    }
}

/// What the operator sets in the console, kept in the database. `unknown_stations` and
/// `open_charging` apply at once; the listen addresses and the demo at the next start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
pub struct Settings {
    pub unknown_stations: UnknownStations,
    pub open_charging: bool,
    /// Where chargers connect (host:port), from the next start on; None: the default.
    pub ocpp_listen: Option<String>,
    /// Where chargers connect over TLS (`wss://`), from the next start on; None: the default.
    #[serde(default)]
    pub ocpp_tls_listen: Option<String>,
    /// Where the headless server's console and API listen, from the next start on.
    pub http_listen: Option<String>,
    /// Start the simulated demo fleet with the app.
    pub demo: bool,
    /// The depot's IANA time zone ("Europe/Stockholm") for time-of-use prices and invoices;
    /// None: the system's.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Raw frames (the message log) and load decisions older than this many days are deleted;
    /// None: the server's default (`--frame-retention-days`, 14).
    #[serde(default)]
    pub frame_retention_days: Option<u32>,
    /// Meter readings older than this many days are thinned to the first and the last of each
    /// quarter hour (per session, measurand and phase); None: every reading is kept.
    #[serde(default)]
    pub sample_detail_days: Option<u32>,
}

impl Settings {
    pub(crate) fn from_config(c: &EngineConfig) -> Settings {
        Settings {
            unknown_stations: c.unknown_stations,
            open_charging: c.open_charging,
            ocpp_listen: None,
            ocpp_tls_listen: None,
            http_listen: None,
            demo: true,
            time_zone: None,
            frame_retention_days: None,
            sample_detail_days: None,
        }
    }
}

/// Where chargers connect, unless the operator chose otherwise: every network, ws:// and wss://.
pub const DEFAULT_OCPP_LISTEN: &str = "0.0.0.0:9000";
pub const DEFAULT_OCPP_TLS_LISTEN: &str = "0.0.0.0:9443";

/// The time source of business logic, replaceable in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;
/// Generates message ids for CALLs we send, replaceable in tests.
pub type IdGenerator = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
pub struct EngineConfig {
    pub unknown_stations: UnknownStations,
    /// Any idTag is accepted (unknown tags are otherwise `Invalid`).
    pub open_charging: bool,
    /// Heartbeat interval given to accepted stations.
    pub heartbeat_interval: Duration,
    /// Retry interval given to pending and rejected stations in BootNotification.
    pub boot_retry_interval: Duration,
    pub handshake_timeout: Duration,
    /// How long a station has to answer one of our CALLs.
    pub call_timeout: Duration,
    /// How often we ping each station.
    pub ping_interval: Duration,
    /// Silence (no pong, no frame) after which a connection is considered dead. At least three
    /// heartbeat intervals by default: some chargers answer pings slowly.
    pub pong_timeout: Duration,
    pub max_connections: usize,
    /// Connections one remote address may have open at once (0: no limit). Stations behind one
    /// router share it.
    pub max_connections_per_address: usize,
    /// Stations never seen before are taken into the inbox (pending or rejected) only while fewer
    /// than this many wait there; beyond it they are turned away, without a row in the database.
    pub max_waiting_stations: usize,
    pub max_message_size: usize,
    /// Commands waiting behind the outstanding one, per station.
    pub max_queued_calls: usize,
    /// Raw frames older than this are pruned.
    pub frame_retention: Duration,
    /// How often the backup schedule looks whether a backup is due.
    pub backup_check: Duration,
    /// Port of the diagnostics/firmware endpoint offered to a station (0: any free port; set one
    /// when a firewall must let it through).
    pub transfer_port: u16,
    /// How long a diagnostics or firmware endpoint waits for the station before it stops.
    pub transfer_ttl: Duration,
    /// How often a 2.x charger is told the cost of a running session (CostUpdated, for its
    /// display); zero: after every meter value.
    pub cost_update_interval: Duration,
    pub clock: Clock,
    pub message_ids: IdGenerator,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("unknown_stations", &self.unknown_stations)
            .field("open_charging", &self.open_charging)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("call_timeout", &self.call_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("pong_timeout", &self.pong_timeout)
            .field("max_connections", &self.max_connections)
            .field(
                "max_connections_per_address",
                &self.max_connections_per_address,
            )
            .field("max_waiting_stations", &self.max_waiting_stations)
            .finish_non_exhaustive()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        let heartbeat = Duration::from_secs(300);
        let nonce: u32 = rand::random();
        let counter = Arc::new(AtomicU64::new(1));
        EngineConfig {
            unknown_stations: UnknownStations::Pending,
            open_charging: false,
            heartbeat_interval: heartbeat,
            boot_retry_interval: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(30),
            ping_interval: Duration::from_secs(60),
            pong_timeout: heartbeat * 3,
            max_connections: 20_000,
            max_connections_per_address: 100,
            max_waiting_stations: 200,
            max_message_size: 1 << 20,
            max_queued_calls: 64,
            frame_retention: Duration::from_secs(14 * 24 * 3600),
            backup_check: Duration::from_secs(60),
            transfer_port: 0,
            transfer_ttl: Duration::from_secs(3600),
            cost_update_interval: Duration::from_secs(60),
            clock: Arc::new(|| Utc::now().trunc_subsecs(3)),
            message_ids: Arc::new(move || {
                format!("{nonce:08x}-{}", counter.fetch_add(1, Ordering::Relaxed))
            }),
        }
    }
}
