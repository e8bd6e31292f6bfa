//! The seam between the OCPP versions and the version-neutral engine, as rumqttd's protocol
//! module has one per MQTT version: each adapter decodes its version's CALLs from a station and
//! turns them into the engine's operations (`crate::charger`), and builds its version's message
//! for each intent-level command ([`Intent`]). The session carries the version negotiated at
//! the handshake; everything past this module speaks of stations, EVSEs, connectors, tokens and
//! transactions.
//!
//! Layout: this file (dispatch by version, intents); [`v16`]; [`v201`] (2.0.1, and 2.1 when it
//! is negotiated).

pub(crate) mod v16;
pub(crate) mod v201;

use chargeyard_ocpp::{CallError, Decoded, ErrorCode, Version};
use chargeyard_store::text::Text;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::engine::{Engine, LiveInfo};
use crate::error::{Error, Result};

/// A CALL's payload, still as text (the hot path decodes from it) or parsed.
pub(crate) enum Payload<'a> {
    Text(&'a str),
    Value(Value),
}

/// A CALL from a station, decoded in its version.
// One per frame, moved once into its handler: its size costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Incoming {
    V16(chargeyard_ocpp::v16::ChargePointCall),
    V201(chargeyard_ocpp::v201::StationCall),
}

/// Decode a CALL of `action` from a station speaking `version`.
pub(crate) fn decode(
    version: Version,
    action: &str,
    payload: Payload<'_>,
) -> std::result::Result<Decoded<Incoming>, CallError> {
    use chargeyard_ocpp::{v16::ChargePointCall, v201::StationCall};
    fn wrap<T>(d: Decoded<T>, f: impl FnOnce(T) -> Incoming) -> Decoded<Incoming> {
        Decoded {
            value: f(d.value),
            quirks: d.quirks,
        }
    }
    match (version, payload) {
        (Version::V16, Payload::Text(t)) => {
            ChargePointCall::decode_text(action, t).map(|d| wrap(d, Incoming::V16))
        }
        (Version::V16, Payload::Value(v)) => {
            ChargePointCall::decode(action, v).map(|d| wrap(d, Incoming::V16))
        }
        (_, Payload::Text(t)) => {
            StationCall::decode_text(action, t).map(|d| wrap(d, Incoming::V201))
        }
        (_, Payload::Value(v)) => StationCall::decode(action, v).map(|d| wrap(d, Incoming::V201)),
    }
}

/// Handle one decoded CALL from a station (live: over its connection; None for history handed
/// over without one): the CALLRESULT payload, or the CALLERROR.
pub(crate) async fn handle(
    engine: &Engine,
    station_id: &Text,
    live: Option<&LiveInfo>,
    action: &str,
    decoded: Decoded<Incoming>,
) -> std::result::Result<Value, CallError> {
    engine.record_quirks(station_id, &decoded.quirks).await;
    engine.admitted(live, action)?;
    let handled = match decoded.value {
        Incoming::V16(call) => v16::handle(engine, station_id, live, call).await,
        Incoming::V201(call) => v201::handle(engine, station_id, live, call).await,
    };
    handled.map_err(|e| match e {
        Error::Refused(e) => e,
        e => engine.internal(station_id, action, e),
    })
}

/// Decode and handle one CALL (history handed over without a connection).
pub(crate) async fn on_call(
    engine: &Engine,
    station_id: &Text,
    live: Option<&LiveInfo>,
    version: Version,
    action: &str,
    payload: Payload<'_>,
) -> std::result::Result<Value, CallError> {
    let decoded = decode(version, action, payload)?;
    handle(engine, station_id, live, action, decoded).await
}

/// A command given as JSON, checked strictly as it would be sent.
pub(crate) struct Checked {
    pub action: &'static str,
    pub payload: Value,
    /// A remote start: the EVSE (if named) and the tag, for the same checks as any start.
    pub start: Option<(Option<i64>, String)>,
}

/// A command read from JSON, as strict as what is sent: a quirk the lenient reading let through
/// is a problem here.
pub(crate) fn strict<T>(
    action: &str,
    decoded: std::result::Result<Decoded<T>, CallError>,
) -> Result<T> {
    decoded
        .and_then(|d| match d.quirks.first() {
            Some(q) => Err(CallError::new(
                ErrorCode::PropertyConstraintViolation,
                q.detail.clone(),
            )),
            None => Ok(d.value),
        })
        .map_err(|e| Error::Invalid(format!("{action}: {}", e.description)))
}

/// The error for an answer to an action the version does not have.
pub(crate) fn unknown_action(action: &str) -> CallError {
    CallError::new(
        ErrorCode::NotImplemented,
        format!("unknown action {action}"),
    )
}

/// Check a command given as action name and JSON payload for a station of `version`.
pub(crate) fn check_command(version: Version, action: &str, payload: Value) -> Result<Checked> {
    match version {
        Version::V16 => v16::check_command(action, payload),
        Version::V201 | Version::V21 => v201::check_command(action, payload),
    }
}

/// Read a station's answer to a CALL of `action`, leniently, normalised.
pub(crate) fn decode_answer(
    version: Version,
    action: &str,
    raw: Value,
) -> std::result::Result<Decoded<Value>, CallError> {
    match version {
        Version::V16 => v16::decode_answer(action, raw),
        Version::V201 | Version::V21 => v201::decode_answer(action, raw),
    }
}

/// A message a station can be asked to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum TriggerMessage {
    BootNotification,
    Heartbeat,
    StatusNotification,
    MeterValues,
    FirmwareStatusNotification,
    /// 1.6 DiagnosticsStatusNotification, 2.x LogStatusNotification.
    LogStatusNotification,
    /// Renew the station's client certificate: it makes a new key and sends a signing request
    /// (2.x SignChargingStationCertificate; 1.6 has it only in the security extension's
    /// ExtendedTriggerMessage).
    SignCertificate,
}

/// A command in terms of no one version: what an operator means, built as each version says it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Intent {
    Start {
        evse_id: i64,
        id_tag: String,
        /// 2.x: the token type the tag is presented as (Central when it has none).
        token_type: Option<String>,
        /// 2.x: links the transaction the station starts to this request.
        remote_start_id: i64,
    },
    Stop {
        /// The station's id of the transaction.
        charger_tx_id: String,
    },
    Reset {
        hard: bool,
    },
    Unlock {
        evse_id: i64,
        connector_id: i64,
    },
    /// Operative or not: the station (EVSE 0, or None) or one EVSE.
    Availability {
        evse_id: Option<i64>,
        operative: bool,
    },
    Trigger {
        message: TriggerMessage,
        evse_id: Option<i64>,
    },
    /// The password it logs in with (1.6 AuthorizationKey, 2.x BasicAuthPassword).
    SetPassword {
        password: String,
    },
    /// The client certificate signed for it (PEM chain, leaf first): CertificateSigned.
    CertificateSigned {
        chain: String,
    },
    ClearCache,
    /// Trust `pem` as the central system's root certificate, for `wss://` (1.6 security
    /// extension: CentralSystemRootCertificate; 2.x: CSMSRootCertificate).
    InstallRootCertificate {
        pem: String,
    },
    /// Connect with security `profile` from now on: 1.6 the SecurityProfile key (the charger
    /// reconnects by itself, to its URL with `wss://`); 2.x a network profile for `url` stored in
    /// `slot` (it takes effect once it is first in NetworkConfigurationPriority and the charger
    /// restarts).
    NetworkProfile {
        profile: u8,
        slot: i64,
        url: String,
    },
    /// 2.x: the value of one variable (GetVariables); 1.6: of one key (GetConfiguration).
    ReadVariable {
        component: String,
        variable: String,
    },
    /// A charging profile of ours (load management): `amps` per phase from `from` on (0
    /// pauses charging), for the station as a whole, as its default for new sessions, or for
    /// one running transaction; `then`: after so many seconds, another figure (the failsafe a
    /// station falls back to unless it is renewed).
    ChargingLimit {
        purpose: LimitPurpose,
        amps: f64,
        from: chrono::DateTime<chrono::Utc>,
        then: Option<(i64, f64)>,
    },
    /// Remove one of our charging profiles.
    ClearChargingLimit {
        purpose: LimitPurpose,
    },
    /// The limit a station will keep to on an EVSE (0: the station as a whole) over the next
    /// `duration_s`, everything it has been sent taken together.
    CompositeSchedule {
        evse_id: i64,
        duration_s: i64,
    },
    /// 2.x: the cost of a running transaction so far, for the charger's display.
    CostUpdated {
        charger_tx_id: String,
        total: f64,
    },
    /// Set one configuration value: a 1.6 key, or a 2.x variable of a component.
    SetConfiguration {
        key: String,
        variable: Option<Box<chargeyard_store::model::DeviceVariable>>,
        value: String,
    },
    /// Read the configuration: 1.6 every key; 2.x a base report (the device model comes in
    /// NotifyReport parts with `request_id`).
    GetConfiguration {
        request_id: i64,
    },
    GetLocalListVersion,
    /// Replace (`full`) or update the station's local authorization list to `version`.
    SendLocalList {
        version: i64,
        full: bool,
        /// Each tag with what it is answered with; None: remove it from the list.
        entries: Vec<(String, Option<crate::tags::TokenInfo>)>,
    },
    /// Upload diagnostics (1.6 GetDiagnostics, 2.x GetLog) or, with `security`, the security log
    /// (GetLog SecurityLog) to `url`.
    UploadLog {
        security: bool,
        url: String,
        from: Option<chrono::DateTime<chrono::Utc>>,
        to: Option<chrono::DateTime<chrono::Utc>>,
        retries: Option<i64>,
        retry_interval: Option<i64>,
        request_id: i64,
    },
    /// Download and install the firmware at `url` from `retrieve_at`; `signed`: its signing
    /// certificate (PEM) and signature (base64), for 1.6 SignedUpdateFirmware.
    UpdateFirmware {
        signed: Option<(String, String)>,
        url: String,
        retrieve_at: chrono::DateTime<chrono::Utc>,
        retries: Option<i64>,
        retry_interval: Option<i64>,
        request_id: i64,
    },
}

/// Which of our charging profiles (each has its own id, so ours replace ours and nothing else).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LimitPurpose {
    /// Station-wide, no end: what holds while Chargeyard is not there (1.6
    /// ChargePointMaxProfile, 2.x ChargingStationMaxProfile).
    StationMax,
    /// Every new session's limit until it gets its own.
    TxDefault,
    /// One running transaction's share.
    Tx { evse_id: i64, charger_tx_id: String },
}

impl LimitPurpose {
    /// The chargingProfileId of ours for this purpose.
    pub(crate) fn profile_id(&self) -> i64 {
        match self {
            LimitPurpose::StationMax => 7301,
            LimitPurpose::TxDefault => 7302,
            LimitPurpose::Tx { evse_id, .. } => 7310 + evse_id,
        }
    }

    /// The EVSE (1.6: connector) it is set on; 0: the station.
    pub(crate) fn evse_id(&self) -> i64 {
        match self {
            LimitPurpose::Tx { evse_id, .. } => *evse_id,
            _ => 0,
        }
    }

    /// Our stack level: above a charger's own defaults (0).
    pub(crate) const STACK_LEVEL: i64 = 1;
}

/// A current as OCPP takes it: whole tenths of an ampere, rounded down.
pub(crate) fn tenths(amps: f64) -> f64 {
    (amps.max(0.0) * 10.0 + 1e-6).floor() / 10.0
}

/// The first limit of a composite schedule a station answered, in A per phase (a schedule in W
/// is turned into A at `voltage` over its phases).
pub(crate) fn composite_limit(answer: &Value, voltage: f64) -> Option<f64> {
    let schedule = answer
        .get("schedule")
        .or_else(|| answer.get("chargingSchedule"))?;
    let period = schedule.get("chargingSchedulePeriod")?.get(0)?;
    let limit = period.get("limit")?.as_f64()?;
    match schedule.get("chargingRateUnit").and_then(Value::as_str) {
        Some("W") => {
            let phases = period
                .get("numberPhases")
                .and_then(Value::as_f64)
                .unwrap_or(3.0)
                .max(1.0);
            Some(limit / (voltage * phases))
        }
        _ => Some(limit),
    }
}

/// An intent as one version's CALL.
pub(crate) struct Outgoing {
    pub action: &'static str,
    pub payload: Value,
    /// What the logs show when the payload holds a secret.
    pub shown: Option<Value>,
}

/// Build `intent` as a CALL of `version`.
pub(crate) fn request(version: Version, intent: &Intent) -> Result<Outgoing> {
    match version {
        Version::V16 => v16::request(intent),
        Version::V201 | Version::V21 => v201::request(intent),
    }
}

/// A station's answer to an intent: its status, as the version spells it ("Accepted",
/// "Rejected", "Scheduled", "Unlocked", …).
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommandAnswer {
    pub status: String,
    /// The whole answer, normalised (what else an answer carries: a file name, a list version).
    #[serde(skip)]
    #[ts(skip)]
    pub answer: Value,
}

/// The status a station answered with: the `status` most answers have, or the first
/// attribute status of a 2.x SetVariables (answers without one, such as 1.6 UpdateFirmware's,
/// are acceptance).
fn status_of(answer: &Value) -> String {
    answer
        .get("status")
        .or_else(|| answer.pointer("/setVariableResult/0/attributeStatus"))
        .and_then(Value::as_str)
        .unwrap_or("Accepted")
        .to_string()
}

/// A configuration as a station reported it: its settings, and the keys it did not know.
pub(crate) fn configuration(
    version: Version,
    answer: &Value,
    report: Vec<Value>,
) -> (Vec<chargeyard_store::model::ConfigKey>, Vec<String>) {
    match version {
        Version::V16 => v16::configuration(answer),
        Version::V201 | Version::V21 => (v201::configuration(report), Vec::new()),
    }
}

/// Why a configuration value cannot be set on a station of `version`, if so.
pub(crate) fn check_setting(
    version: Version,
    change: &crate::toolkit::KeyChange,
) -> std::result::Result<(), String> {
    match (version, &change.variable) {
        (Version::V16, _) => v16::check_setting(&change.key, &change.value),
        (_, Some(v)) => v201::check_value(v, &change.value),
        (_, None) => Ok(()),
    }
}

/// Every command the composer can send to a station of `version`, with a valid payload.
pub(crate) fn templates(version: Version) -> Vec<(&'static str, Value)> {
    match version {
        Version::V16 => v16::templates(),
        Version::V201 | Version::V21 => v201::templates(),
    }
}

/// The quirks a station's logged frame (in `version`) was accepted with, or why it could not be
/// read: its CALLs, and its answers to our `action`.
pub(crate) fn frame_quirks(
    version: Version,
    frame: &chargeyard_ocpp::Frame,
    action: Option<&str>,
) -> std::result::Result<Vec<chargeyard_ocpp::Quirk>, CallError> {
    match frame {
        chargeyard_ocpp::Frame::Call {
            action, payload, ..
        } => decode(version, action, Payload::Value(payload.clone())).map(|d| d.quirks),
        chargeyard_ocpp::Frame::CallResult { payload, .. } => match action {
            Some(a) => decode_answer(version, a, payload.clone()).map(|d| d.quirks),
            None => Ok(Vec::new()),
        },
        chargeyard_ocpp::Frame::CallError { .. } => Ok(Vec::new()),
    }
}

/// Restart a station: a soft reset waits for running sessions to end (2.x OnIdle), a hard one
/// does not (2.x Immediate).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct ResetRequest {
    pub hard: bool,
}

/// Unlock a connector: 1.6 a connector number, 2.x an EVSE and its connector (1 by default).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct UnlockRequest {
    pub evse_id: i64,
    #[serde(default)]
    #[ts(optional)]
    pub connector_id: Option<i64>,
}

/// Make the station (no EVSE, or 0) or one EVSE operative or inoperative.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct AvailabilityRequest {
    #[serde(default)]
    #[ts(optional)]
    pub evse_id: Option<i64>,
    pub operative: bool,
}

/// Ask the station to send a message now.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct TriggerRequest {
    pub message: TriggerMessage,
    #[serde(default)]
    #[ts(optional)]
    pub evse_id: Option<i64>,
}

impl Engine {
    /// Restart a station.
    pub async fn reset(
        &self,
        station_id: &str,
        r: ResetRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        self.intent(station_id, Intent::Reset { hard: r.hard }, actor)
            .await
    }

    /// Unlock one of a station's connectors.
    pub async fn unlock(
        &self,
        station_id: &str,
        r: UnlockRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        let intent = Intent::Unlock {
            evse_id: r.evse_id,
            connector_id: r.connector_id.unwrap_or(1),
        };
        self.intent(station_id, intent, actor).await
    }

    /// Make a station or one of its EVSEs operative or inoperative.
    pub async fn change_availability(
        &self,
        station_id: &str,
        r: AvailabilityRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        let intent = Intent::Availability {
            evse_id: r.evse_id,
            operative: r.operative,
        };
        self.intent(station_id, intent, actor).await
    }

    /// Ask a station to send one of its messages now.
    pub async fn trigger(
        &self,
        station_id: &str,
        r: TriggerRequest,
        actor: &str,
    ) -> Result<CommandAnswer> {
        let intent = Intent::Trigger {
            message: r.message,
            evse_id: r.evse_id,
        };
        self.intent(station_id, intent, actor).await
    }

    /// Empty a station's authorization cache.
    pub async fn clear_cache(&self, station_id: &str, actor: &str) -> Result<CommandAnswer> {
        self.intent(station_id, Intent::ClearCache, actor).await
    }

    /// Send an intent-level command in the station's version; the station's answer.
    pub(crate) async fn intent(
        &self,
        station_id: &str,
        intent: Intent,
        actor: &str,
    ) -> Result<CommandAnswer> {
        let version = self.station_version(station_id).await?;
        let call = request(version, &intent)?;
        let raw = self
            .send(station_id, call.action, call.payload, call.shown, actor)
            .await?;
        let answer = self
            .answer(station_id, decode_answer(version, call.action, raw))
            .await?;
        Ok(CommandAnswer {
            status: status_of(&answer),
            answer,
        })
    }
}
