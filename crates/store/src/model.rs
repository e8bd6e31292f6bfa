//! What the store reads and writes. Plain data: no sqlx derives, so rows are mapped by hand in
//! each table module and these types stay usable by every front end.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Whether a station may operate. Unknown stations start `Pending` (or as the policy says).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    Pending,
    Accepted,
    Rejected,
}

impl Registration {
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Pending => "pending",
            Registration::Accepted => "accepted",
            Registration::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Registration {
        match s {
            "accepted" => Registration::Accepted,
            "rejected" => Registration::Rejected,
            _ => Registration::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Station {
    pub id: String,
    pub registration: Registration,
    /// True when the station must present Basic auth (security profile 1).
    pub has_password: bool,
    /// The security profile the operator set (0-3); below 2 the effective one is 1 with a
    /// password, else 0.
    pub security_profile: i64,
    /// Version assumed when the charger offers no subprotocol.
    pub fallback_protocol: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub charge_box_serial: Option<String>,
    pub firmware_version: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub meter_type: Option<String>,
    pub meter_serial: Option<String>,
    /// Subprotocol of the last connection.
    pub protocol: Option<String>,
    /// The versions it may use (comma-separated subprotocols); None: every one spoken.
    pub enabled_protocols: Option<String>,
    /// What the charger offered at its last handshake (comma separated), for the pending inbox.
    pub offered_protocols: Option<String>,
    pub remote_addr: Option<String>,
    /// BootNotifications received (shown for pending stations: how often it has tried).
    pub boot_attempts: i64,
    pub diagnostics_status: Option<String>,
    pub firmware_status: Option<String>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub last_boot: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Part of the simulated demo fleet (removable in one step).
    pub demo: bool,
    /// Connections refused at the handshake (wrong or missing password, unsupported protocol).
    pub refused_connections: i64,
    pub last_refused_at: Option<DateTime<Utc>>,
    /// Why the last one was refused: no_password, wrong_user, wrong_password,
    /// unsupported_protocol.
    pub last_refused_reason: Option<String>,
}

/// Boot information as reported in BootNotification.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct BootInfo {
    pub vendor: String,
    pub model: String,
    pub serial_number: Option<String>,
    pub charge_box_serial: Option<String>,
    pub firmware_version: Option<String>,
    pub iccid: Option<String>,
    pub imsi: Option<String>,
    pub meter_type: Option<String>,
    pub meter_serial: Option<String>,
}

/// What a connector (an EVSE) is doing, the same for every protocol version: 1.6 statuses map
/// one to one; a 2.x connector status (Available, Occupied, …) is refined by the charging state
/// of the transaction on it (Charging, SuspendedEV, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
pub enum ConnectorState {
    Available,
    /// In use, with no more said (2.x `Occupied` before a charging state is known).
    Occupied,
    Preparing,
    Charging,
    SuspendedEV,
    SuspendedEVSE,
    Finishing,
    Reserved,
    Unavailable,
    Faulted,
    /// A status no version defines.
    Unknown,
}

impl ConnectorState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorState::Available => "Available",
            ConnectorState::Occupied => "Occupied",
            ConnectorState::Preparing => "Preparing",
            ConnectorState::Charging => "Charging",
            ConnectorState::SuspendedEV => "SuspendedEV",
            ConnectorState::SuspendedEVSE => "SuspendedEVSE",
            ConnectorState::Finishing => "Finishing",
            ConnectorState::Reserved => "Reserved",
            ConnectorState::Unavailable => "Unavailable",
            ConnectorState::Faulted => "Faulted",
            ConnectorState::Unknown => "Unknown",
        }
    }

    /// The state a reported status (1.6 ChargePointStatus, 2.x ConnectorStatusEnum) means.
    pub fn parse(status: &str) -> ConnectorState {
        match status {
            "Available" => ConnectorState::Available,
            "Occupied" => ConnectorState::Occupied,
            "Preparing" => ConnectorState::Preparing,
            "Charging" => ConnectorState::Charging,
            "SuspendedEV" => ConnectorState::SuspendedEV,
            "SuspendedEVSE" => ConnectorState::SuspendedEVSE,
            "Finishing" => ConnectorState::Finishing,
            "Reserved" => ConnectorState::Reserved,
            "Unavailable" => ConnectorState::Unavailable,
            "Faulted" => ConnectorState::Faulted,
            _ => ConnectorState::Unknown,
        }
    }

    /// True when no session can be running on it.
    pub fn is_idle(self) -> bool {
        matches!(
            self,
            ConnectorState::Available
                | ConnectorState::Preparing
                | ConnectorState::Finishing
                | ConnectorState::Reserved
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Connector {
    pub station_id: String,
    /// The EVSE (1.6: the connector, connectorId); 0 is the station as a whole.
    pub evse_id: i64,
    /// 2.x: the connector on the EVSE that reported last; None for 1.6.
    pub connector_id: Option<i64>,
    /// The status as the station reported it.
    pub status: String,
    /// What it means, the same for every version: what screens and billing read.
    pub state: ConnectorState,
    pub error_code: String,
    pub info: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_error_code: Option<String>,
    pub status_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StatusChange {
    pub id: i64,
    pub station_id: String,
    pub evse_id: i64,
    pub connector_id: Option<i64>,
    pub status: String,
    pub state: ConnectorState,
    pub error_code: String,
    pub info: Option<String>,
    pub vendor_id: Option<String>,
    pub vendor_error_code: Option<String>,
    /// The charger's own timestamp, if it sent one.
    pub timestamp: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct IdTag {
    pub id_tag: String,
    /// Accepted | Blocked | Expired | Invalid (OCPP AuthorizationStatus).
    pub status: String,
    pub expiry: Option<DateTime<Utc>>,
    pub parent_id_tag: Option<String>,
    /// driver | vehicle | customer.
    pub group_kind: Option<String>,
    pub group_name: Option<String>,
    pub note: Option<String>,
    /// 2.x: the token type it is presented as (ISO14443, KeyCode, …); None: any.
    pub token_type: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Transaction {
    /// Our id (1.6: also the transactionId the station was given).
    pub id: i64,
    pub station_id: String,
    /// The EVSE it runs on (1.6: the connector).
    pub evse_id: i64,
    /// 2.x: the connector on the EVSE.
    pub connector_id: Option<i64>,
    /// The protocol the station spoke when it started ("ocpp1.6", "ocpp2.0.1").
    pub protocol: String,
    /// The station's id of it: 1.6 the integer we issued, 2.x the station's own string.
    pub charger_tx_id: String,
    /// The tag (token) that started it ("" when a 2.x session has none yet).
    pub id_tag: String,
    /// 2.x: the token's type.
    pub id_token_type: Option<String>,
    pub start_ts: DateTime<Utc>,
    /// The energy register at the start (Wh); None until a 2.x station reports a reading.
    pub meter_start: Option<i64>,
    pub reservation_id: Option<i64>,
    /// 2.x: the remoteStartId of the remote start that led to it.
    pub remote_start_id: Option<i64>,
    pub start_auth_status: String,
    /// 2.x: the charging state last reported (Charging, EVConnected, SuspendedEV, …).
    pub charging_state: Option<String>,
    pub stop_ts: Option<DateTime<Utc>>,
    pub meter_stop: Option<i64>,
    pub stop_reason: Option<String>,
    pub stop_id_tag: Option<String>,
    /// Who closed the session when the charger did not ("system", or the operator); None when
    /// it is running or the charger stopped it.
    pub closed_by: Option<String>,
    /// Why it was closed that way.
    pub close_note: Option<String>,
    /// Energy delivered so far (Wh): stop − start when stopped, else the latest register reading.
    pub energy_wh: Option<i64>,
    /// Latest power (W) while running.
    pub power_w: Option<f64>,
    /// Latest state of charge (%) while running, when the charger reports it.
    pub soc_percent: Option<f64>,
    /// Whom its tag belongs to, as the tag says now: driver, vehicle or customer, and the name.
    #[serde(default)]
    pub tag_group_kind: Option<String>,
    #[serde(default)]
    pub tag_group_name: Option<String>,
    pub received_at: DateTime<Utc>,
    /// The tariff version the session is priced with (chosen when it started); None: no tariff
    /// applied then.
    pub tariff_version_id: Option<i64>,
    /// What it costs (so far, while running); filled in by the engine's cost engine.
    pub cost: Option<chargeyard_billing::Cost>,
    /// The stored final cost and the time zone it was priced in (stopped sessions only).
    #[serde(skip)]
    #[ts(skip)]
    pub stored_cost: Option<(String, chargeyard_billing::Cost)>,
    /// Bumped whenever data the cost is priced from arrives late.
    #[serde(skip)]
    #[ts(skip)]
    pub cost_rev: i64,
    /// Priced (or, with no tariff, its energy per hour stored) since the last late data.
    #[serde(skip)]
    #[ts(skip)]
    pub priced: bool,
}

impl Transaction {
    /// Whether it is billed: only sessions whose start we authorised are (a charger that started
    /// one with a tag we refused was told to stop it).
    pub fn is_billed(&self) -> bool {
        self.start_auth_status == "Accepted"
    }

    /// What pricing it needs (the stored cost moves into it).
    pub fn billable(&mut self) -> Billable {
        Billable {
            id: self.id,
            station_id: self.station_id.clone(),
            evse_id: self.evse_id,
            start_ts: self.start_ts,
            stop_ts: self.stop_ts,
            meter_start: self.meter_start,
            meter_stop: self.meter_stop,
            tariff_version_id: self.tariff_version_id,
            billed: self.is_billed(),
            stored_cost: self.stored_cost.take(),
            cost_rev: self.cost_rev,
            priced: self.priced,
        }
    }
}

/// A session as the cost engine needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Billable {
    pub id: i64,
    pub station_id: String,
    pub evse_id: i64,
    pub start_ts: DateTime<Utc>,
    pub stop_ts: Option<DateTime<Utc>>,
    /// None until the station reported a reading: the first one counts then.
    pub meter_start: Option<i64>,
    pub meter_stop: Option<i64>,
    pub tariff_version_id: Option<i64>,
    /// False for a session started with a tag we refused: it is not billed.
    pub billed: bool,
    /// The stored final cost and the time zone it was priced in.
    pub stored_cost: Option<(String, chargeyard_billing::Cost)>,
    pub cost_rev: i64,
    /// Priced (or, with no tariff, its energy per hour stored) since the last late data.
    pub priced: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MeterSample {
    pub id: i64,
    pub station_id: String,
    pub evse_id: i64,
    pub transaction_id: Option<i64>,
    pub timestamp: DateTime<Utc>,
    pub measurand: String,
    pub phase: Option<String>,
    pub location: Option<String>,
    pub context: Option<String>,
    pub format: Option<String>,
    /// The unit as the charger sent it.
    pub unit: Option<String>,
    /// The value as the charger sent it.
    pub raw_value: String,
    /// Normalised value (energy in Wh, power in W, ...), when the raw value is a number.
    pub value: Option<f64>,
    pub value_unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Frame {
    pub id: i64,
    pub station_id: String,
    /// "in" from the charger, "out" to it.
    pub direction: String,
    pub at: DateTime<Utc>,
    pub message_type: Option<i64>,
    pub message_id: Option<String>,
    pub action: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CommandRecord {
    pub id: i64,
    pub station_id: String,
    pub action: String,
    pub request: serde_json::Value,
    /// Who asked: "api", "ui", "system", a user name.
    pub actor: String,
    pub sent_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// result | callerror | timeout | offline | invalid
    pub outcome: String,
    pub response: Option<serde_json::Value>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct QuirkRecord {
    pub station_id: String,
    pub kind: String,
    pub count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub example: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StationEvent {
    pub id: i64,
    pub station_id: String,
    /// data_transfer | diagnostics_status | firmware_status
    pub kind: String,
    pub detail: serde_json::Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct UnmatchedStop {
    pub id: i64,
    pub station_id: String,
    pub transaction_id: i64,
    pub id_tag: Option<String>,
    pub meter_stop: i64,
    pub timestamp: DateTime<Utc>,
    pub reason: Option<String>,
    pub received_at: DateTime<Utc>,
}

/// One page of a list and the total number of matching rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// `text` made literal inside a LIKE pattern (its `%`, `_` and `\` escaped), for a pattern
/// followed by [`LIKE_ESCAPE`].
pub(crate) fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The ESCAPE clause that goes with [`like_literal`].
pub(crate) const LIKE_ESCAPE: &str = " ESCAPE '\\'";

/// A paged list query: `select` and `count` end where the WHERE clause goes, `filter` adds it
/// (the same to both), `order` sorts the page.
pub(crate) struct PageQuery<'a, F> {
    pub select: &'a str,
    pub count: &'a str,
    pub filter: F,
    pub order: &'a str,
    pub limit: i64,
    pub offset: i64,
}

impl<F: Fn(&mut sqlx::QueryBuilder<sqlx::Sqlite>)> PageQuery<'_, F> {
    pub(crate) async fn fetch<T>(
        self,
        pool: &sqlx::SqlitePool,
        map: impl Fn(&sqlx::sqlite::SqliteRow) -> T,
    ) -> crate::error::Result<Page<T>> {
        let mut q = sqlx::QueryBuilder::new(self.select);
        (self.filter)(&mut q);
        q.push(" ORDER BY ")
            .push(self.order)
            .push(" LIMIT ")
            .push_bind(self.limit)
            .push(" OFFSET ")
            .push_bind(self.offset.max(0));
        let rows = q.build().fetch_all(pool).await?;
        let mut c = sqlx::QueryBuilder::new(self.count);
        (self.filter)(&mut c);
        let total: i64 = c.build_query_scalar().fetch_one(pool).await?;
        Ok(Page {
            items: rows.iter().map(map).collect(),
            total,
        })
    }
}

/// One configuration setting as a station reported it: a 1.6 key, or a 2.x variable of a
/// component (`key` is then `Component[instance]@evse.connector/Variable[instance]`, the other
/// fields say the same in parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConfigKey {
    pub key: String,
    /// None when the station reports the key without a value (or it is write-only).
    pub value: Option<String>,
    pub readonly: bool,
    /// 2.x: the device model address of the variable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub variable: Option<DeviceVariable>,
}

/// A 2.x variable's place in the device model, and its attribute's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DeviceVariable {
    pub component: String,
    pub component_instance: Option<String>,
    pub evse_id: Option<i64>,
    pub connector_id: Option<i64>,
    pub variable: String,
    pub variable_instance: Option<String>,
    /// Actual, Target, MinSet, MaxSet.
    pub attribute: String,
    /// ReadOnly, WriteOnly, ReadWrite.
    pub mutability: Option<String>,
    /// The variable's data type (string, decimal, integer, dateTime, boolean, OptionList, …).
    pub data_type: Option<String>,
    pub unit: Option<String>,
    /// For option lists: the values allowed.
    pub values_list: Option<String>,
}

/// A station's configuration saved at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ConfigSnapshot {
    pub id: i64,
    pub station_id: String,
    /// The version it was read with.
    pub protocol: String,
    pub name: String,
    pub taken_at: DateTime<Utc>,
    pub keys: Vec<ConfigKey>,
    /// Keys asked for that the station did not know.
    pub unknown: Vec<String>,
}

/// A file exchanged with a station over the laptop's transfer endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Transfer {
    pub id: i64,
    pub station_id: String,
    /// "diagnostics" (the station uploads) or "firmware" (the station downloads).
    pub kind: String,
    /// "offered", "transferred", "expired" or "failed".
    pub state: String,
    /// What the station was told to use; valid only while the job is offered.
    pub url: String,
    pub file_name: Option<String>,
    /// Where the file is on this machine.
    pub path: Option<String>,
    #[ts(type = "number | null")]
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why it failed, or who fetched it.
    pub detail: Option<String>,
}
