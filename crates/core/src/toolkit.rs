//! The technician's toolkit for one charger: the message inspector (frames paired CALL to answer
//! with latency, errors and quirks), the composer's templates, configuration (read, checked
//! edits with a result per key, snapshots and diffs), the local authorization list, and a health
//! summary.

use std::sync::atomic::Ordering;

use chargeyard_ocpp::Frame as WireFrame;
use chargeyard_ocpp::Version;
use chargeyard_store::frames::{self, FrameFilter};
use chargeyard_store::model::{
    CommandRecord, ConfigKey, ConfigSnapshot, DeviceVariable, Frame, QuirkRecord, StationEvent,
    StatusChange,
};
use chargeyard_store::{commands, config_snapshots, connectors, events, id_tags, quirks, stations};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::engine::Engine;
use crate::error::{Error, Result, or_missing};
use crate::protocol::{self, Intent};

/// A 2.x report being collected for whoever asked for it.
pub(crate) struct Report {
    parts: Vec<Value>,
    done: tokio::sync::oneshot::Sender<Vec<Value>>,
}

/// A logged frame as the inspector shows it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct InspectedFrame {
    #[serde(flatten)]
    pub frame: Frame,
    /// The frame it pairs with: a CALL's answer, or an answer's CALL.
    pub partner_id: Option<i64>,
    /// From the CALL to its answer, ms.
    #[ts(type = "number | null")]
    pub latency_ms: Option<i64>,
    /// The CALLERROR of this exchange ("code: description"), or why the frame could not be read.
    pub error: Option<String>,
    /// What the charger got wrong in this frame and we accepted anyway.
    pub quirks: Vec<String>,
}

/// A command the composer can send, with an example payload to start from.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CommandTemplate {
    pub action: String,
    #[ts(type = "Record<string, unknown>")]
    pub payload: Value,
}

/// A standard configuration key as the catalogue describes it.
#[derive(Debug, Clone, Serialize, TS)]
pub struct CatalogueKey {
    pub key: String,
    pub profile: String,
    /// boolean | integer | measurand_list | phase_rotation_list | profile_list | rate_unit_list
    #[serde(rename = "type")]
    pub kind: String,
    pub unit: String,
    pub readonly: bool,
    pub required: bool,
    pub description: String,
}

/// One key of a station's configuration.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConfigRow {
    #[serde(flatten)]
    pub key: ConfigKey,
    /// The catalogue entry when the key is a standard one; None for vendor keys.
    pub standard: Option<CatalogueKey>,
}

/// A station's configuration as it reported it just now (1.6 GetConfiguration; 2.x a base
/// report of its device model).
#[derive(Debug, Clone, Serialize, TS)]
pub struct StationConfiguration {
    pub station_id: String,
    /// The version it was read with: 1.6 keys, or 2.x component/variable/attribute rows.
    pub protocol: String,
    pub fetched_at: DateTime<Utc>,
    pub keys: Vec<ConfigRow>,
    /// Keys asked for that the station does not know.
    pub unknown: Vec<String>,
    /// Standard keys of the Core profile the station should report and did not.
    pub missing_required: Vec<String>,
}

/// A value to set (1.6 ChangeConfiguration, 2.x SetVariables).
#[derive(Debug, Clone, Deserialize, TS)]
pub struct KeyChange {
    pub key: String,
    pub value: String,
    /// 2.x: the variable as the configuration listed it (else read from `key`).
    #[serde(default)]
    #[ts(optional)]
    pub variable: Option<DeviceVariable>,
}

/// What the station answered for one key.
#[derive(Debug, Clone, Serialize, TS)]
pub struct KeyResult {
    pub key: String,
    pub value: String,
    /// Accepted | Rejected | RebootRequired | NotSupported (or what the charger said instead).
    pub status: Option<String>,
    /// Why there is no status: timeout, offline, CALLERROR.
    pub error: Option<String>,
}

/// One side of a configuration comparison.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConfigSource {
    /// A saved snapshot.
    Snapshot { id: i64 },
    /// A station's configuration now (asked with GetConfiguration).
    Station { station_id: String },
}

/// A key in a comparison.
#[derive(Debug, Clone, Serialize, TS)]
pub struct DiffRow {
    pub key: String,
    pub left: Option<String>,
    pub right: Option<String>,
    /// same | changed | only_left | only_right
    pub change: String,
}

/// Two configurations side by side.
#[derive(Debug, Clone, Serialize, TS)]
pub struct ConfigDiff {
    pub left: String,
    pub right: String,
    /// Every key of either side, by name.
    pub rows: Vec<DiffRow>,
    #[ts(type = "number")]
    pub differences: u64,
}

/// What SendLocalList did.
#[derive(Debug, Clone, Serialize, TS)]
pub struct LocalListResult {
    #[ts(type = "number")]
    pub list_version: i64,
    #[ts(type = "number")]
    pub entries: u64,
    /// Accepted | Failed | NotSupported | VersionMismatch
    pub status: String,
}

/// Full or differential local list update.
#[derive(Debug, Clone, Deserialize, TS)]
pub struct LocalListRequest {
    /// "Full": every tag known here replaces the charger's list. "Differential": only `tags`
    /// (a tag no longer known here is removed from the charger's list).
    pub update_type: String,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Heartbeats the station sent recently.
#[derive(Debug, Clone, Serialize, TS)]
pub struct HeartbeatHealth {
    /// The interval the station was told at boot, s.
    #[ts(type = "number")]
    pub expected_s: i64,
    /// Heartbeats looked at (the last 100).
    #[ts(type = "number")]
    pub count: i64,
    pub mean_gap_s: Option<f64>,
    pub max_gap_s: Option<f64>,
    /// Gaps more than 1.5 times the interval.
    #[ts(type = "number")]
    pub late: i64,
    pub last: Option<DateTime<Utc>>,
}

/// Something a technician should look at, with a stable code the console words.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Finding {
    /// "ok", "warn" or "bad".
    pub level: String,
    /// offline | refused | heartbeat_late | heartbeat_none | clock_skew | reconnects | quirks |
    /// connector_errors | failed_commands | ping_slow | ok
    pub code: String,
    /// The figure behind it (seconds, a count, ms), for the message.
    pub value: Option<f64>,
}

/// One screen that tells a technician what is off with a station.
#[derive(Debug, Clone, Serialize, TS)]
pub struct Health {
    pub station_id: String,
    pub connected: bool,
    pub connected_since: Option<DateTime<Utc>>,
    pub firmware_version: Option<String>,
    pub firmware_status: Option<String>,
    pub diagnostics_status: Option<String>,
    pub heartbeat: HeartbeatHealth,
    /// WebSocket ping round trip, last one answered.
    pub ping_rtt_ms: Option<f64>,
    /// Connections opened in the last 24 hours beyond the first.
    #[ts(type = "number")]
    pub reconnects_24h: i64,
    /// Connections refused at the handshake (all time), the last one and why (a refusal code).
    pub refused_connections: i64,
    pub last_refused_at: Option<DateTime<Utc>>,
    pub last_refused_reason: Option<String>,
    /// Recent connects and disconnects (with the reason), newest first.
    pub connections: Vec<StationEvent>,
    /// The station's security log, newest first: security events it reported, certificates signed
    /// for it or refused, and changes of its security profile.
    pub security: Vec<StationEvent>,
    /// Station clock minus ours, s: the median over its recent timed statuses.
    pub clock_skew_s: Option<f64>,
    pub quirks: Vec<QuirkRecord>,
    /// Recent connector faults with vendor codes, newest first.
    pub errors: Vec<StatusChange>,
    /// Recent commands that got no answer or a CALLERROR, newest first.
    pub failed_commands: Vec<CommandRecord>,
    pub findings: Vec<Finding>,
}

/// What the station's security log holds (event kinds).
const SECURITY_LOG: &[&str] = &[
    "security_event",
    "certificate_signed",
    "certificate_refused",
    "certificate_revoked",
    "security_profile",
    "security_profile_upgrade",
    "security_profile_upgrade_failed",
];

/// How far back an answer is looked for: the longest a CALL can wait for one.
fn pairing_window(engine: &Engine) -> Duration {
    Duration::from_std(engine.config().call_timeout * 4).unwrap_or_else(|_| Duration::minutes(5))
        + Duration::seconds(5)
}

/// The CALLERROR of a frame ("code: description"), or why it could not be read.
fn frame_error(frame: &Frame) -> Option<String> {
    match frame.message_type {
        Some(4) => match WireFrame::parse(&frame.text) {
            Ok(WireFrame::CallError {
                code, description, ..
            }) => Some(format!("{code}: {description}")),
            _ => Some("CALLERROR".to_string()),
        },
        None => Some(match WireFrame::parse(&frame.text) {
            Err(e) => format!("unreadable frame: {}", e.error.description),
            Ok(_) => "unreadable frame".to_string(),
        }),
        _ => None,
    }
}

/// The quirks a charger's frame (in `version`) is accepted with: its CALLs, and its answers to
/// our commands.
fn frame_quirks(version: Version, frame: &Frame) -> (Vec<String>, Option<String>) {
    if frame.direction != "in" {
        return (Vec::new(), None);
    }
    let Ok(parsed) = WireFrame::parse(&frame.text) else {
        return (Vec::new(), None);
    };
    match protocol::frame_quirks(version, &parsed, frame.action.as_deref()) {
        Ok(q) => (
            q.iter()
                .map(|q| format!("{}: {}", q.kind.as_str(), q.detail))
                .collect(),
            None,
        ),
        Err(e) => (Vec::new(), Some(format!("{}: {}", e.code, e.description))),
    }
}

/// A frame of the inspector with its partner (None when it has none).
fn inspected(version: Version, frame: Frame, partner: Option<&Frame>) -> InspectedFrame {
    let latency_ms = partner.map(|p| (p.at - frame.at).num_milliseconds().abs());
    let (quirks, unreadable) = frame_quirks(version, &frame);
    let error = frame_error(&frame)
        .or_else(|| partner.and_then(frame_error))
        .or(unreadable);
    InspectedFrame {
        partner_id: partner.map(|p| p.id),
        latency_ms,
        error,
        quirks,
        frame,
    }
}

impl Engine {
    // ---- Message inspector ---------------------------------------------------------------------

    /// A station's logged frames matching `filter`, newest first, each paired with its CALL or
    /// answer.
    pub async fn inspect(
        &self,
        station_id: &str,
        filter: &FrameFilter,
    ) -> Result<Vec<InspectedFrame>> {
        let reader = &self.inner.store.reader;
        let page = frames::search(reader, station_id, filter).await?;
        let version = self.logged_version(station_id).await?;
        self.pair_page(version, page).await
    }

    /// Each frame of a page (of a station speaking `version`) with its partner, latency, error
    /// and quirks.
    pub(crate) async fn pair_page(
        &self,
        version: Version,
        page: Vec<Frame>,
    ) -> Result<Vec<InspectedFrame>> {
        let window = pairing_window(self);
        let mut out = Vec::with_capacity(page.len());
        for frame in page {
            let until = match frame.message_type {
                Some(2) => frame.at + window,
                _ => frame.at - window,
            };
            let partner = frames::partner(&self.inner.store.reader, &frame, until).await?;
            out.push(inspected(version, frame, partner.as_ref()));
        }
        Ok(out)
    }

    // ---- Composer ------------------------------------------------------------------------------

    /// Every command the composer can send to a station of `version`, with a valid example
    /// payload.
    pub fn command_templates(&self, version: Version) -> Vec<CommandTemplate> {
        protocol::templates(version)
            .into_iter()
            .map(|(action, payload)| CommandTemplate {
                action: action.to_string(),
                payload,
            })
            .collect()
    }

    // ---- Configuration -------------------------------------------------------------------------

    /// Collect the parts of a 2.x report with `request_id` from `station_id`: resolves with
    /// them once the last has come.
    fn expect_report(
        &self,
        station_id: &str,
        request_id: i64,
    ) -> tokio::sync::oneshot::Receiver<Vec<Value>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.reports().insert(
            (station_id.to_string(), request_id),
            Report {
                parts: Vec::new(),
                done: tx,
            },
        );
        rx
    }

    fn drop_report(&self, station_id: &str, request_id: i64) {
        self.reports().remove(&(station_id.to_string(), request_id));
    }

    fn reports(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(String, i64), Report>> {
        self.inner.reports.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A part of a 2.x report (its entries as JSON; `more`: parts follow): to whoever asked for
    /// it, and into the station's log.
    pub(crate) async fn report_part(
        &self,
        station_id: &str,
        request_id: i64,
        more: bool,
        parts: Vec<Value>,
    ) -> Result<()> {
        let detail =
            serde_json::json!({ "request_id": request_id, "more": more, "entries": parts.len() });
        self.station_event(station_id, "report", detail).await?;
        let key = (station_id.to_string(), request_id);
        let mut reports = self.reports();
        if let Some(r) = reports.get_mut(&key) {
            r.parts.extend(parts);
            if !more && let Some(r) = reports.remove(&key) {
                let _ = r.done.send(r.parts);
            }
        }
        Ok(())
    }

    /// The standard 1.6 configuration keys.
    pub fn configuration_catalogue(&self) -> Vec<CatalogueKey> {
        protocol::v16::catalogue()
    }

    /// The station's whole configuration now, and the keys it did not know (1.6); in the
    /// version it speaks, with the version.
    async fn get_configuration(
        &self,
        station_id: &str,
    ) -> Result<(Version, Vec<ConfigKey>, Vec<String>)> {
        let version = self.station_version(station_id).await?;
        let request_id = self.now().timestamp_millis() % 1_000_000_000;
        // 2.x: the report comes in NotifyReport parts after the answer; listen before asking.
        let parts = (version != Version::V16).then(|| self.expect_report(station_id, request_id));
        let answer = self
            .intent(
                station_id,
                Intent::GetConfiguration { request_id },
                "technician",
            )
            .await?;
        let report = match parts {
            None => Vec::new(),
            Some(rx) => {
                if answer.status != "Accepted" {
                    self.drop_report(station_id, request_id);
                    return Err(Error::ChargerRefused(format!(
                        "the station answered {} to the report of its configuration",
                        answer.status
                    )));
                }
                let limit = self.config().call_timeout * 2;
                match tokio::time::timeout(limit, rx).await {
                    Ok(Ok(parts)) => parts,
                    _ => {
                        self.drop_report(station_id, request_id);
                        return Err(Error::Timeout(station_id.to_string(), limit.as_secs()));
                    }
                }
            }
        };
        let (keys, unknown) = protocol::configuration(version, &answer.answer, report);
        Ok((version, keys, unknown))
    }

    /// Ask the station for its whole configuration.
    pub async fn configuration(&self, station_id: &str) -> Result<StationConfiguration> {
        let (version, keys, unknown) = self.get_configuration(station_id).await?;
        let missing_required = match version {
            Version::V16 => protocol::v16::missing_required(&keys),
            _ => Vec::new(),
        };
        Ok(StationConfiguration {
            station_id: station_id.to_string(),
            protocol: version.subprotocol().to_string(),
            fetched_at: self.now(),
            keys: keys
                .into_iter()
                .map(|key| ConfigRow {
                    standard: match version {
                        Version::V16 => protocol::v16::catalogue_key(&key.key),
                        _ => None,
                    },
                    key,
                })
                .collect(),
            unknown,
            missing_required,
        })
    }

    /// Set values one at a time, each with the station's answer. Every value is checked first
    /// (1.6 against the standard keys, 2.x against what the station said of the variable); if
    /// any is wrong, nothing is sent.
    pub async fn change_configuration(
        &self,
        station_id: &str,
        changes: Vec<KeyChange>,
    ) -> Result<Vec<KeyResult>> {
        if changes.is_empty() {
            return Err(Error::Invalid("no keys to change".into()));
        }
        let version = self.station_version(station_id).await?;
        let problems: Vec<String> = changes
            .iter()
            .filter_map(|c| protocol::check_setting(version, c).err())
            .collect();
        if !problems.is_empty() {
            return Err(Error::Invalid(problems.join("; ")));
        }
        let mut results = Vec::with_capacity(changes.len());
        for c in changes {
            let intent = Intent::SetConfiguration {
                key: c.key.clone(),
                variable: c.variable.clone().map(Box::new),
                value: c.value.clone(),
            };
            let (status, error) = match self.intent(station_id, intent, "technician").await {
                Ok(r) => (Some(r.status), None),
                Err(e) => (None, Some(e.to_string())),
            };
            results.push(KeyResult {
                key: c.key,
                value: c.value,
                status,
                error,
            });
        }
        Ok(results)
    }

    /// Save the station's configuration now, under `name`.
    pub async fn snapshot_configuration(
        &self,
        station_id: &str,
        name: &str,
    ) -> Result<ConfigSnapshot> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::Invalid(
                "a snapshot name is 1 to 100 characters".into(),
            ));
        }
        let (version, keys, unknown) = self.get_configuration(station_id).await?;
        let (sid, name, now) = (station_id.to_string(), name.to_string(), self.now());
        let protocol = version.subprotocol();
        Ok(self
            .inner
            .store
            .writer
            .write(move |c| {
                Box::pin(async move {
                    config_snapshots::insert(c, &sid, protocol, &name, &keys, &unknown, now).await
                })
            })
            .await?)
    }

    /// Saved configurations, of one station or all, newest first.
    pub async fn snapshots(&self, station_id: Option<&str>) -> Result<Vec<ConfigSnapshot>> {
        Ok(config_snapshots::list(&self.inner.store.reader, station_id).await?)
    }

    pub async fn delete_snapshot(&self, id: i64) -> Result<()> {
        self.inner
            .store
            .writer
            .write(move |c| Box::pin(async move { config_snapshots::delete(c, id).await }))
            .await
            .map_err(or_missing(Error::NotFound(format!("snapshot {id}"))))
    }

    async fn config_side(&self, source: &ConfigSource) -> Result<(String, Vec<ConfigKey>)> {
        match source {
            ConfigSource::Snapshot { id } => {
                let s = config_snapshots::get(&self.inner.store.reader, *id)
                    .await?
                    .ok_or_else(|| Error::NotFound(format!("snapshot {id}")))?;
                Ok((format!("{} · {}", s.station_id, s.name), s.keys))
            }
            ConfigSource::Station { station_id } => {
                let (_, keys, _) = self.get_configuration(station_id).await?;
                Ok((format!("{station_id} · now"), keys))
            }
        }
    }

    /// Compare two configurations key by key.
    pub async fn diff_configuration(
        &self,
        left: &ConfigSource,
        right: &ConfigSource,
    ) -> Result<ConfigDiff> {
        let (left_name, left) = self.config_side(left).await?;
        let (right_name, right) = self.config_side(right).await?;
        // Per key, each side's entry: None when the key is absent there, Some(value) when
        // present (a value itself may be missing).
        type Sides = (Option<Option<String>>, Option<Option<String>>);
        let mut rows: std::collections::BTreeMap<String, Sides> = Default::default();
        for k in left {
            rows.entry(k.key).or_default().0 = Some(k.value);
        }
        for k in right {
            rows.entry(k.key).or_default().1 = Some(k.value);
        }
        let rows: Vec<DiffRow> = rows
            .into_iter()
            .map(|(key, (l, r))| {
                let change = match (&l, &r) {
                    (Some(_), None) => "only_left",
                    (None, Some(_)) => "only_right",
                    _ if l == r => "same",
                    _ => "changed",
                };
                DiffRow {
                    key,
                    left: l.flatten(),
                    right: r.flatten(),
                    change: change.to_string(),
                }
            })
            .collect();
        let differences = rows.iter().filter(|r| r.change != "same").count() as u64;
        Ok(ConfigDiff {
            left: left_name,
            right: right_name,
            rows,
            differences,
        })
    }

    // ---- Local authorization list --------------------------------------------------------------

    /// Send the station a local authorization list: the next version after the one it reports.
    pub async fn send_local_list(
        &self,
        station_id: &str,
        request: LocalListRequest,
    ) -> Result<LocalListResult> {
        let full = match request.update_type.as_str() {
            "Full" => true,
            "Differential" => false,
            other => {
                return Err(Error::Invalid(format!(
                    "update type is Full or Differential, not {other:?}"
                )));
            }
        };
        if !full && request.tags.is_empty() {
            return Err(Error::Invalid(
                "a differential update names the tags to send".into(),
            ));
        }
        let reader = &self.inner.store.reader;
        let names: Vec<String> = if full {
            id_tags::all_ids(reader).await?
        } else {
            request.tags.clone()
        };
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            // A tag not known here (any more) goes without info: the charger removes it.
            let info = id_tags::get(reader, &name)
                .await?
                .map(|tag| self.tag_info(Some(tag)));
            entries.push((name, info));
        }
        let current = self
            .intent(station_id, Intent::GetLocalListVersion, "technician")
            .await?
            .answer;
        let current = current
            .get("listVersion")
            .or_else(|| current.get("versionNumber"))
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let list_version = current.max(0) + 1;
        let count = entries.len() as u64;
        let intent = Intent::SendLocalList {
            version: list_version,
            full,
            entries,
        };
        let r = self.intent(station_id, intent, "technician").await?;
        Ok(LocalListResult {
            list_version,
            entries: count,
            status: r.status,
        })
    }

    // ---- Health --------------------------------------------------------------------------------

    /// What is off with a station: heartbeats, pings, reconnects, clock, quirks, faults.
    pub async fn health(&self, station_id: &str) -> Result<Health> {
        let reader = &self.inner.store.reader;
        let station = stations::get(reader, station_id)
            .await?
            .ok_or_else(|| Error::StationNotFound(station_id.to_string()))?;
        let live = self.lock_sessions().get(station_id).map(|h| h.info.clone());
        let now = self.now();

        let beats = frames::search(
            reader,
            station_id,
            &FrameFilter {
                action: Some("Heartbeat".into()),
                direction: Some("in".into()),
                limit: Some(100),
                ..Default::default()
            },
        )
        .await?;
        let expected_s = self.config().heartbeat_interval.as_secs() as i64;
        let gaps: Vec<f64> = beats
            .windows(2)
            .map(|w| (w[0].at - w[1].at).num_milliseconds() as f64 / 1000.0)
            .collect();
        let heartbeat = HeartbeatHealth {
            expected_s,
            count: beats.len() as i64,
            mean_gap_s: (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64),
            max_gap_s: gaps.iter().copied().reduce(f64::max),
            late: gaps
                .iter()
                .filter(|g| **g > expected_s as f64 * 1.5)
                .count() as i64,
            last: beats.first().map(|b| b.at),
        };

        let recent = connectors::history(reader, station_id, 50).await?;
        let mut skews: Vec<f64> = recent
            .iter()
            .filter_map(|s| {
                s.timestamp
                    .map(|t| (t - s.received_at).num_milliseconds() as f64 / 1000.0)
            })
            .collect();
        skews.sort_by(f64::total_cmp);
        let clock_skew_s = (!skews.is_empty()).then(|| skews[skews.len() / 2]);

        let connections: Vec<StationEvent> =
            events::list_kinds(reader, station_id, &["connected", "disconnected"], 20).await?;
        let security = events::list_kinds(reader, station_id, SECURITY_LOG, 30).await?;
        let since = now - Duration::hours(24);
        let connects = connections
            .iter()
            .filter(|e| e.kind == "connected" && e.at >= since)
            .count() as i64;
        let errors = connectors::errors(reader, station_id, 10).await?;
        let failed_commands: Vec<CommandRecord> = commands::list(reader, station_id, 200)
            .await?
            .into_iter()
            .filter(|c| c.outcome != "result")
            .take(10)
            .collect();
        let quirks = quirks::list(reader, station_id).await?;
        let ping_rtt_ms = live
            .as_ref()
            .map(|l| l.ping_rtt_us.load(Ordering::Relaxed))
            .filter(|us| *us >= 0)
            .map(|us| us as f64 / 1000.0);

        let mut findings = Vec::new();
        let mut find = |level: &str, code: &str, value: Option<f64>| {
            findings.push(Finding {
                level: level.to_string(),
                code: code.to_string(),
                value,
            });
        };
        if live.is_none() {
            find("bad", "offline", None);
        }
        // Refused since it last got in: it is trying, and cannot (a password it does not have).
        if station
            .last_refused_at
            .is_some_and(|at| live.as_ref().is_none_or(|l| at > l.connected_at))
        {
            find("bad", "refused", Some(station.refused_connections as f64));
        }
        // Silence is only news once a station has been connected for two intervals.
        let patience = Duration::seconds(expected_s * 2);
        let silent = live
            .as_ref()
            .is_some_and(|l| now - l.connected_at > patience)
            && heartbeat.last.is_none_or(|t| now - t > patience);
        if silent {
            find("warn", "heartbeat_none", None);
        } else if heartbeat.late > 0 {
            find("warn", "heartbeat_late", Some(heartbeat.late as f64));
        }
        if let Some(s) = clock_skew_s.filter(|s| s.abs() > 60.0) {
            find("warn", "clock_skew", Some(s));
        }
        if connects > 1 {
            find("warn", "reconnects", Some((connects - 1) as f64));
        }
        if !quirks.is_empty() {
            find("warn", "quirks", Some(quirks.len() as f64));
        }
        let faults_24h = errors.iter().filter(|e| e.received_at >= since).count();
        if faults_24h > 0 {
            find("bad", "connector_errors", Some(faults_24h as f64));
        }
        if !failed_commands.is_empty() {
            find(
                "warn",
                "failed_commands",
                Some(failed_commands.len() as f64),
            );
        }
        if let Some(rtt) = ping_rtt_ms.filter(|r| *r > 500.0) {
            find("warn", "ping_slow", Some(rtt));
        }
        if findings.is_empty() {
            findings.push(Finding {
                level: "ok".into(),
                code: "ok".into(),
                value: None,
            });
        }

        Ok(Health {
            station_id: station.id,
            connected: live.is_some(),
            connected_since: live.as_ref().map(|l| l.connected_at),
            firmware_version: station.firmware_version,
            firmware_status: station.firmware_status,
            diagnostics_status: station.diagnostics_status,
            heartbeat,
            ping_rtt_ms,
            reconnects_24h: (connects - 1).max(0),
            refused_connections: station.refused_connections,
            last_refused_at: station.last_refused_at,
            last_refused_reason: station.last_refused_reason,
            connections,
            security,
            clock_skew_s,
            quirks,
            errors,
            failed_commands,
            findings,
        })
    }
}
