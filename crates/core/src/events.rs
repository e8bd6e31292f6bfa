//! Live events: what changed, pushed to every front end (dashboard tiles, message inspector).

use chrono::{DateTime, Utc};
use serde::Serialize;

use chargeyard_store::model::{CommandRecord, Connector, Frame, Transaction, Transfer};

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    StationConnected {
        station_id: String,
        protocol: String,
        remote_addr: String,
        at: DateTime<Utc>,
    },
    StationDisconnected {
        station_id: String,
        reason: String,
        at: DateTime<Utc>,
    },
    /// Boot info or registration changed.
    StationUpdated {
        station_id: String,
    },
    StatusChanged {
        connector: Connector,
    },
    /// Load management shared the site's limit anew.
    SiteLoad {
        /// None once load management is turned off.
        load: Option<Box<crate::load::SiteLoad>>,
    },
    MeterValues {
        station_id: String,
        /// The EVSE (1.6: the connector).
        evse_id: i64,
        transaction_id: Option<i64>,
        timestamp: DateTime<Utc>,
        /// Import register, Wh.
        energy_wh: Option<f64>,
        /// Active import power, W.
        power_w: Option<f64>,
        soc_percent: Option<f64>,
    },
    TransactionStarted {
        transaction: Transaction,
    },
    TransactionStopped {
        transaction: Transaction,
    },
    /// A running session's cost so far, priced again as its meter values and statuses arrive.
    TransactionCost {
        station_id: String,
        transaction_id: i64,
        cost: chargeyard_billing::Cost,
    },
    Frame {
        frame: Frame,
    },
    CommandFinished {
        command: CommandRecord,
    },
    Quirk {
        station_id: String,
        kind: String,
        detail: String,
    },
    /// A diagnostics or firmware job was offered, went through, failed or expired.
    TransferUpdated {
        transfer: Transfer,
    },
    /// Connections were turned away (announced at most every 2 s; the engine info has them all).
    TurnedAway {
        entry: crate::gate::TurnedAwayEntry,
    },
    /// The disk holding the database filled up (`full`), or a write succeeded again after it
    /// did. While it is full nothing new is stored: chargers are told so and no session starts.
    DiskFull {
        full: bool,
        at: DateTime<Utc>,
    },
    /// How far an export has come: `done` of `total` rows.
    ExportProgress {
        job: String,
        #[ts(type = "number")]
        done: u64,
        #[ts(type = "number")]
        total: u64,
    },
}
