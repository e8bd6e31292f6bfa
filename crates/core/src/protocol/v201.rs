//! The OCPP 2.0.1 adapter: a charging station's CALLs as the engine's operations, and each
//! intent as the 2.0.1 command that says it.
//!
//! A 2.0.1 transaction is the station's: its id is the station's string, and its life arrives as
//! TransactionEvents (Started, Updated, Ended) numbered by seqNo from 0, with gaps, sent again
//! after a reconnect (`offline`), possibly out of order. An event sent again gets the same answer
//! and stores nothing twice; an Updated or Ended whose Started never came starts the transaction
//! itself; an ended transaction is never revived. Connector status arrives by StatusNotification
//! or by NotifyEvent (AvailabilityState); the charging state inside TransactionEvents refines it.

use std::borrow::Cow;

use chargeyard_ocpp::v201::{self, Action, CsmsCall, StationCall};
use chargeyard_ocpp::{
    CallError, CiString, Decoded, Direction, ErrorCode, Quirk, QuirkKind, Timestamp, Version,
};
use chargeyard_store::model::{BootInfo, ConfigKey, ConnectorState, DeviceVariable, Registration};
use chargeyard_store::text::Text;
use chargeyard_store::transactions::{self, Progress, StopOutcome, StopRecord};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Checked, Intent, LimitPurpose, Outgoing, TriggerMessage, tenths};
use crate::charger::{StatusReport, TxStart};
use crate::engine::{Engine, LiveInfo};
use crate::error::{Error, Result};
use crate::meter::Reading;
use crate::tags::{Token, TokenInfo, TokenStatus};

fn to_json<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn ci<const N: usize>(s: &str) -> Result<CiString<N>> {
    CiString::new(s).map_err(|e| Error::Invalid(e.to_string()))
}

/// A token as the engine knows it.
fn token(t: &v201::IdToken) -> Token {
    Token {
        id: t.id_token.as_str().to_string(),
        kind: Some(t.kind.as_str().to_string()),
    }
}

/// A token's answer as a 2.0.1 idTokenInfo.
fn id_token_info(info: TokenInfo) -> v201::IdTokenInfo {
    let mut out = v201::IdTokenInfo::new(match info.status {
        TokenStatus::Accepted => v201::AuthorizationStatusEnum::Accepted,
        TokenStatus::Blocked => v201::AuthorizationStatusEnum::Blocked,
        TokenStatus::Expired => v201::AuthorizationStatusEnum::Expired,
        TokenStatus::Invalid => v201::AuthorizationStatusEnum::Invalid,
        TokenStatus::Unknown => v201::AuthorizationStatusEnum::Unknown,
    });
    out.cache_expiry_date_time = info.expiry.map(Timestamp);
    out.group_id_token = info.group.and_then(|g| {
        Some(v201::IdToken::new(
            CiString::new(g).ok()?,
            v201::IdTokenEnum::Central,
        ))
    });
    out
}

/// 2.0.1 sampled values as readings of any version.
pub(crate) fn readings(values: &[v201::MeterValue]) -> impl Iterator<Item = Reading<'_>> {
    values.iter().flat_map(|mv| {
        mv.sampled_value.iter().map(move |sv| Reading {
            timestamp: mv.timestamp.0,
            raw: Cow::Owned(sv.value.to_string()),
            measurand: sv.measurand.as_ref().map(|m| m.as_str()),
            phase: sv.phase.as_ref().map(|p| p.as_str()),
            location: sv.location.as_ref().map(|l| l.as_str()),
            context: sv.context.as_ref().map(|c| c.as_str()),
            format: sv.signed_meter_value.as_ref().map(|_| "Signed"),
            unit: sv
                .unit_of_measure
                .as_ref()
                .and_then(|u| u.unit.as_ref())
                .map(|u| u.as_str()),
            multiplier: sv
                .unit_of_measure
                .as_ref()
                .and_then(|u| u.multiplier)
                .unwrap_or(0) as i32,
        })
    })
}

/// The whole-meter import register (Wh) among meter values, the reading of `context` preferred.
fn register(values: &[v201::MeterValue], context: &str) -> Option<i64> {
    let samples = crate::meter::normalise(&Text::from(""), 0, None, None, readings(values));
    let registers: Vec<_> = samples
        .iter()
        .filter(|s| &*s.measurand == "Energy.Active.Import.Register" && s.phase.is_none())
        .filter_map(|s| Some((s.context.as_deref() == Some(context), s.timestamp, s.value?)))
        .collect();
    registers
        .iter()
        .filter(|(c, ..)| *c)
        .chain(registers.iter())
        .max_by_key(|(c, at, _)| (*c, *at))
        .map(|(.., v)| v.round() as i64)
}

/// What a charging state says of the EVSE.
fn charging_state(s: &v201::ChargingStateEnum) -> ConnectorState {
    match s {
        v201::ChargingStateEnum::Charging => ConnectorState::Charging,
        v201::ChargingStateEnum::SuspendedEV => ConnectorState::SuspendedEV,
        v201::ChargingStateEnum::SuspendedEVSE => ConnectorState::SuspendedEVSE,
        // A car plugged in and not charging, or a session before the car is: getting ready.
        v201::ChargingStateEnum::EVConnected | v201::ChargingStateEnum::Idle => {
            ConnectorState::Preparing
        }
        v201::ChargingStateEnum::NotInSpec(_) => ConnectorState::Occupied,
    }
}

/// Handle one CALL from a 2.0.1 charging station.
pub(crate) async fn handle(
    engine: &Engine,
    station_id: &Text,
    live: Option<&LiveInfo>,
    call: StationCall,
) -> Result<Value> {
    let sid = &**station_id;
    match call {
        StationCall::BootNotification(r) => {
            let live = live.ok_or_else(|| {
                Error::Invalid("a BootNotification comes over the station's own connection".into())
            })?;
            let cs = r.charging_station;
            let boot = BootInfo {
                vendor: cs.vendor_name.into_string(),
                model: cs.model.into_string(),
                serial_number: cs.serial_number.map(CiString::into_string),
                charge_box_serial: None,
                firmware_version: cs.firmware_version.map(CiString::into_string),
                iccid: cs
                    .modem
                    .as_ref()
                    .and_then(|m| m.iccid.as_ref())
                    .map(|s| s.to_string()),
                imsi: cs
                    .modem
                    .as_ref()
                    .and_then(|m| m.imsi.as_ref())
                    .map(|s| s.to_string()),
                meter_type: None,
                meter_serial: None,
            };
            engine
                .station_event(sid, "boot", json!({ "reason": r.reason.as_str() }))
                .await?;
            let a = engine.boot(sid, live, boot).await?;
            Ok(to_json(&v201::BootNotificationResponse::new(
                Timestamp(a.now),
                a.interval_s,
                match a.registration {
                    Registration::Accepted => v201::RegistrationStatusEnum::Accepted,
                    Registration::Pending => v201::RegistrationStatusEnum::Pending,
                    Registration::Rejected => v201::RegistrationStatusEnum::Rejected,
                },
            )))
        }
        StationCall::Heartbeat(_) => Ok(to_json(&v201::HeartbeatResponse::new(Timestamp(
            engine.heartbeat(sid).await,
        )))),
        StationCall::StatusNotification(r) => {
            let status = r.connector_status.as_str().to_string();
            let mut state = ConnectorState::parse(&status);
            // 2.0.1 says only Occupied while a car is plugged in; the charging state of a
            // transaction running there says more (Charging, SuspendedEV, …).
            if r.connector_status == v201::ConnectorStatusEnum::Occupied
                && let Some(charging) =
                    transactions::running_on(&engine.inner.store.reader, sid, r.evse_id)
                        .await?
                        .pop()
                        .and_then(|t| t.charging_state)
                && let Some(c) = v201::ChargingStateEnum::ALL
                    .iter()
                    .find(|c| c.as_str() == charging)
            {
                state = charging_state(c);
            }
            engine
                .status(
                    sid,
                    StatusReport {
                        evse_id: r.evse_id,
                        connector_id: Some(r.connector_id),
                        state,
                        status,
                        error_code: "NoError".into(),
                        info: None,
                        vendor_id: None,
                        vendor_error_code: None,
                        timestamp: Some(r.timestamp.0),
                    },
                )
                .await?;
            Ok(json!({}))
        }
        StationCall::NotifyEvent(r) => {
            notify_event(engine, sid, r).await?;
            Ok(json!({}))
        }
        StationCall::Authorize(r) => {
            let info = engine.authorize(&token(&r.id_token)).await?;
            Ok(to_json(&v201::AuthorizeResponse::new(id_token_info(info))))
        }
        StationCall::TransactionEvent(r) => transaction_event(engine, station_id, r).await,
        StationCall::MeterValues(r) => {
            engine
                .meter_values(station_id, r.evse_id, None, None, readings(&r.meter_value))
                .await?;
            Ok(json!({}))
        }
        StationCall::NotifyReport(r) => {
            let parts = r
                .report_data
                .iter()
                .flatten()
                .map(to_json)
                .collect::<Vec<_>>();
            engine
                .report_part(sid, r.request_id, r.tbc.unwrap_or(false), parts)
                .await?;
            Ok(json!({}))
        }
        StationCall::SecurityEventNotification(r) => {
            engine
                .station_event(sid, "security_event", to_json(&r))
                .await?;
            Ok(json!({}))
        }
        StationCall::LogStatusNotification(r) => {
            engine
                .station_status(sid, "diagnostics_status", log_status(&r.status))
                .await?;
            Ok(json!({}))
        }
        StationCall::FirmwareStatusNotification(r) => {
            engine
                .station_status(sid, "firmware_status", r.status.as_str().to_string())
                .await?;
            Ok(json!({}))
        }
        StationCall::DataTransfer(r) => {
            engine
                .station_event(sid, "data_transfer", to_json(&r))
                .await?;
            // No vendor extensions are implemented: say so, as the spec asks.
            Ok(to_json(&v201::DataTransferResponse::new(
                v201::DataTransferStatusEnum::UnknownVendorId,
            )))
        }
        // Reported and kept in the station's log; nothing is asked of us.
        StationCall::ReservationStatusUpdate(r) => noted(engine, sid, "reservation", &r).await,
        StationCall::NotifyChargingLimit(r) => noted(engine, sid, "charging_limit", &r).await,
        StationCall::ClearedChargingLimit(r) => noted(engine, sid, "charging_limit", &r).await,
        StationCall::NotifyCustomerInformation(r) => {
            noted(engine, sid, "customer_information", &r).await
        }
        StationCall::NotifyDisplayMessages(r) => noted(engine, sid, "display_messages", &r).await,
        StationCall::NotifyEVChargingSchedule(r) => {
            engine
                .station_event(sid, "ev_charging_schedule", to_json(&r))
                .await?;
            Ok(to_json(&v201::NotifyEVChargingScheduleResponse::new(
                v201::GenericStatusEnum::Accepted,
            )))
        }
        StationCall::NotifyEVChargingNeeds(r) => {
            engine
                .station_event(sid, "ev_charging_needs", to_json(&r))
                .await?;
            // No schedule is computed for the car (yet): said plainly.
            Ok(to_json(&v201::NotifyEVChargingNeedsResponse::new(
                v201::NotifyEVChargingNeedsStatusEnum::Rejected,
            )))
        }
        StationCall::NotifyMonitoringReport(r) => noted(engine, sid, "monitoring_report", &r).await,
        StationCall::PublishFirmwareStatusNotification(r) => {
            noted(engine, sid, "publish_firmware", &r).await
        }
        StationCall::ReportChargingProfiles(r) => noted(engine, sid, "charging_profiles", &r).await,
        // A new client certificate for the station (security profile 3), signed by the depot's
        // CA and sent back with CertificateSigned once this is answered.
        StationCall::SignCertificate(r) => {
            let v2g = r.certificate_type.as_ref().map(|t| t.as_str()) == Some("V2GCertificate");
            let signed = if v2g {
                let why =
                    "V2G certificates come from the V2G PKI (Plug & Charge), not the depot's CA";
                Err(engine.certificate_refused(sid, why.into()).await?)
            } else {
                engine.certificate_request(sid, r.csr.as_str()).await?
            };
            Ok(to_json(&match signed {
                Ok(()) => v201::SignCertificateResponse::new(v201::GenericStatusEnum::Accepted),
                Err(why) => {
                    let mut answer =
                        v201::SignCertificateResponse::new(v201::GenericStatusEnum::Rejected);
                    let mut info = v201::StatusInfo::new(
                        CiString::new(if v2g { "NotSupported" } else { "InvalidCSR" })
                            .map_err(|e| Error::Internal(e.to_string()))?,
                    );
                    info.additional_info =
                        CiString::new(why.chars().take(512).collect::<String>()).ok();
                    answer.status_info = Some(info);
                    answer
                }
            }))
        }
        StationCall::Get15118EVCertificate(_) => {
            Ok(to_json(&v201::Get15118EVCertificateResponse::new(
                CiString::new("").map_err(|e| Error::Internal(e.to_string()))?,
                v201::Iso15118EVCertificateStatusEnum::Failed,
            )))
        }
        StationCall::GetCertificateStatus(_) => Ok(to_json(
            &v201::GetCertificateStatusResponse::new(v201::GetCertificateStatusEnum::Failed),
        )),
    }
}

/// A notification kept in the station's log, answered with an empty response.
async fn noted<T: Serialize>(
    engine: &Engine,
    station_id: &str,
    kind: &'static str,
    r: &T,
) -> Result<Value> {
    engine.station_event(station_id, kind, to_json(r)).await?;
    Ok(json!({}))
}

/// A log upload's status in the words the transfer follows (1.6 diagnostics statuses).
fn log_status(s: &v201::UploadLogStatusEnum) -> String {
    match s {
        v201::UploadLogStatusEnum::Uploaded => "Uploaded",
        v201::UploadLogStatusEnum::Uploading => "Uploading",
        v201::UploadLogStatusEnum::Idle => "Idle",
        other => {
            return if other.as_str().contains("Fail") || other.as_str().contains("Reject") {
                format!("UploadFailed ({})", other.as_str())
            } else {
                other.as_str().to_string()
            };
        }
    }
    .to_string()
}

/// NotifyEvent: a connector's AvailabilityState is its status (as a StatusNotification would
/// say it); every event goes into the station's log.
async fn notify_event(
    engine: &Engine,
    station_id: &str,
    r: v201::NotifyEventRequest,
) -> Result<()> {
    for e in &r.event_data {
        let evse = e.component.evse.as_ref();
        if e.component.name.as_str() == "Connector"
            && e.variable.name.as_str() == "AvailabilityState"
            && let Some(evse) = evse
        {
            let status = e.actual_value.as_str().to_string();
            let state = ConnectorState::parse(&status);
            engine
                .status(
                    station_id,
                    StatusReport {
                        evse_id: evse.id,
                        connector_id: evse.connector_id,
                        state,
                        status,
                        error_code: if state == ConnectorState::Faulted {
                            e.tech_code
                                .as_ref()
                                .map_or("OtherError".into(), |c| c.to_string())
                        } else {
                            "NoError".into()
                        },
                        info: e.tech_info.as_ref().map(|s| s.to_string()),
                        vendor_id: None,
                        vendor_error_code: e.tech_code.as_ref().map(|s| s.to_string()),
                        timestamp: Some(e.timestamp.0),
                    },
                )
                .await?;
        }
        engine
            .station_event(station_id, "event", to_json(e))
            .await?;
    }
    Ok(())
}

/// A TransactionEvent: the transaction started, went on or ended, and the samples that came
/// with it. Answered the same when sent again.
async fn transaction_event(
    engine: &Engine,
    station_id: &Text,
    r: v201::TransactionEventRequest,
) -> Result<Value> {
    let sid = &**station_id;
    let tx = r.transaction_info.transaction_id.as_str();
    let tok = r.id_token.as_ref().map(token);
    let ended = r.event_type == v201::TransactionEventEnum::Ended;
    let values = r.meter_value.as_deref().unwrap_or_default();
    let charging = r
        .transaction_info
        .charging_state
        .as_ref()
        .map(|s| s.as_str().to_string());
    // `known`: the transaction as stored before this event (None when this event starts it).
    let (id, token_info, known) = match engine.transaction_by_charger_id(sid, tx).await? {
        Some(id) => {
            // A token presented after the start is the session's (its tariff applies from then);
            // one presented at the end stopped it.
            let info = match &tok {
                Some(t) => Some(engine.authorize(t).await?),
                None => None,
            };
            let known = engine
                .transaction_brief(sid, id)
                .await?
                .ok_or_else(|| Error::NotFound(format!("transaction {id}")))?;
            let progress = Progress {
                token: match (&tok, &info) {
                    (Some(t), Some(i)) if !ended && known.id_tag.is_empty() => {
                        Some((t.id.clone(), t.kind.clone(), i.status.as_str().to_string()))
                    }
                    _ => None,
                },
                charging_state: charging
                    .clone()
                    .filter(|c| known.charging_state.as_ref() != Some(c)),
                meter_start: None,
                remote_start_id: r
                    .transaction_info
                    .remote_start_id
                    .filter(|_| known.remote_start_id.is_none()),
            };
            let news = progress.token.is_some()
                || progress.charging_state.is_some()
                || progress.remote_start_id.is_some();
            if news && !known.stopped {
                let (sid, stored) = (sid.to_string(), progress.clone());
                engine
                    .inner
                    .store
                    .writer
                    .write(move |c| {
                        Box::pin(async move { transactions::progress(c, &sid, id, &stored).await })
                    })
                    .await?;
                engine.note_progress(id, &progress);
            }
            (id, info, Some(known))
        }
        None => {
            // The first event known of it: a Started, or a later one whose Started was lost.
            if r.event_type != v201::TransactionEventEnum::Started {
                let q = Quirk::new(
                    QuirkKind::UnknownTransaction,
                    format!(
                        "TransactionEvent {} (seqNo {}) for transaction {tx} that never started here; started from it",
                        r.event_type.as_str(),
                        r.seq_no
                    ),
                );
                engine.record_quirks(sid, &[q]).await;
            }
            let Some(evse) = r.evse.as_ref() else {
                return Err(Error::Refused(CallError::new(
                    ErrorCode::OccurenceConstraintViolation,
                    format!("the first event of transaction {tx} must name its evse"),
                )));
            };
            let start = TxStart {
                charger_tx_id: Some(tx.to_string()),
                evse_id: evse.id,
                connector_id: evse.connector_id,
                token: tok.clone(),
                start_ts: r.timestamp.0,
                meter_start: register(values, "Transaction.Begin"),
                reservation_id: r.reservation_id,
                remote_start_id: r.transaction_info.remote_start_id,
                charging_state: charging.clone(),
            };
            let started = engine
                .transaction_started(sid, Version::V201, start)
                .await?;
            (started.id, started.token, None)
        }
    };
    let stopped = known.as_ref().is_some_and(|k| k.stopped);
    let (evse_id, connector_id) = match (r.evse.as_ref(), &known) {
        (Some(e), _) => (e.id, e.connector_id),
        (None, Some(k)) => (k.evse_id, k.connector_id),
        // A first event always names its EVSE (checked above).
        (None, None) => (0, None),
    };
    // The EVSE's state follows the charging state while the transaction runs: set when the
    // transaction starts and whenever the charging state changes.
    let changed = known.as_ref().is_none_or(|k| k.charging_state != charging);
    if let (Some(state), false, true) = (&r.transaction_info.charging_state, stopped, changed) {
        engine
            .status(
                sid,
                StatusReport {
                    evse_id,
                    connector_id,
                    status: "Occupied".into(),
                    state: charging_state(state),
                    error_code: "NoError".into(),
                    info: Some(format!("charging state {}", state.as_str())),
                    vendor_id: None,
                    vendor_error_code: None,
                    timestamp: Some(r.timestamp.0),
                },
            )
            .await?;
    }
    // Samples once per event, however often it is sent.
    if !values.is_empty() && engine.claim_seq(sid, id, r.seq_no).await? {
        let stored = engine
            .meter_values(
                station_id,
                evse_id,
                Some(id),
                Some(r.seq_no),
                readings(values),
            )
            .await;
        if let Err(e) = stored {
            engine.release_seq(id, r.seq_no);
            return Err(e);
        }
    }
    let mut answer = v201::TransactionEventResponse::default();
    if tok.is_some() {
        answer.id_token_info = token_info.map(id_token_info);
    }
    if ended {
        let meter_stop = match register(values, "Transaction.End") {
            Some(wh) => Some(wh),
            None => transactions::last_reading(&engine.inner.store.reader, id)
                .await?
                .map(|(_, wh)| wh),
        };
        let stop = StopRecord {
            station_id: sid.to_string(),
            transaction_id: id,
            id_tag: tok.map(|t| t.id),
            meter_stop: meter_stop
                .or(engine.meter_start(sid, id).await?.flatten())
                .unwrap_or(0),
            timestamp: r.timestamp.0,
            reason: Some(
                r.transaction_info
                    .stopped_reason
                    .as_ref()
                    .map_or("Local", |s| s.as_str())
                    .to_string(),
            ),
        };
        let outcome = engine.end_transaction(sid, stop, Vec::new()).await?;
        if outcome != StopOutcome::Unknown {
            answer.total_cost = engine.total_cost(id).await?;
        }
    }
    Ok(to_json(&answer))
}

/// Check a 2.0.1 command given as JSON strictly, as it would be sent.
pub(crate) fn check_command(action: &str, payload: Value) -> Result<Checked> {
    let act = Action::parse(action)
        .filter(|a| a.direction() != Direction::FromStation)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{action:?} is not a command a central system sends in OCPP 2.0.1"
            ))
        })?;
    let call = super::strict(action, CsmsCall::decode(action, payload))?;
    let start = match &call {
        CsmsCall::RequestStartTransaction(r) => {
            Some((r.evse_id, r.id_token.id_token.as_str().to_string()))
        }
        _ => None,
    };
    Ok(Checked {
        action: act.as_str(),
        payload: call.payload(),
        start,
    })
}

/// A 2.0.1 answer to a command of `action`, read leniently.
pub(crate) fn decode_answer(
    action: &str,
    raw: Value,
) -> std::result::Result<Decoded<Value>, CallError> {
    let act = Action::parse(action).ok_or_else(|| super::unknown_action(action))?;
    v201::decode_response_value(act, raw)
}

/// An intent as the 2.0.1 command that says it.
pub(crate) fn request(intent: &Intent) -> Result<Outgoing> {
    let call = |action: Action, payload: Value| Outgoing {
        action: action.as_str(),
        payload,
        shown: None,
    };
    let evse = |id: i64, connector: Option<i64>| {
        let mut e = v201::EVSE::new(id);
        e.connector_id = connector;
        e
    };
    Ok(match intent {
        Intent::Start {
            evse_id,
            id_tag,
            remote_start_id,
            token_type,
        } => {
            let kind = token_type
                .as_deref()
                .and_then(|t| v201::IdTokenEnum::ALL.iter().find(|k| k.as_str() == t))
                .cloned()
                .unwrap_or(v201::IdTokenEnum::Central);
            let mut r = v201::RequestStartTransactionRequest::new(
                v201::IdToken::new(ci(id_tag)?, kind),
                *remote_start_id,
            );
            r.evse_id = Some(*evse_id);
            call(Action::RequestStartTransaction, to_json(&r))
        }
        Intent::Stop { charger_tx_id } => call(
            Action::RequestStopTransaction,
            to_json(&v201::RequestStopTransactionRequest::new(ci(
                charger_tx_id,
            )?)),
        ),
        Intent::Reset { hard } => call(
            Action::Reset,
            to_json(&v201::ResetRequest::new(if *hard {
                v201::ResetEnum::Immediate
            } else {
                v201::ResetEnum::OnIdle
            })),
        ),
        Intent::Unlock {
            evse_id,
            connector_id,
        } => call(
            Action::UnlockConnector,
            to_json(&v201::UnlockConnectorRequest::new(*connector_id, *evse_id)),
        ),
        Intent::Availability { evse_id, operative } => {
            let mut r = v201::ChangeAvailabilityRequest::new(if *operative {
                v201::OperationalStatusEnum::Operative
            } else {
                v201::OperationalStatusEnum::Inoperative
            });
            r.evse = evse_id.filter(|e| *e > 0).map(|e| evse(e, None));
            call(Action::ChangeAvailability, to_json(&r))
        }
        Intent::Trigger { message, evse_id } => {
            let (what, needs_connector) = match message {
                TriggerMessage::BootNotification => {
                    (v201::MessageTriggerEnum::BootNotification, false)
                }
                TriggerMessage::Heartbeat => (v201::MessageTriggerEnum::Heartbeat, false),
                TriggerMessage::StatusNotification => {
                    (v201::MessageTriggerEnum::StatusNotification, true)
                }
                TriggerMessage::MeterValues => (v201::MessageTriggerEnum::MeterValues, false),
                TriggerMessage::FirmwareStatusNotification => {
                    (v201::MessageTriggerEnum::FirmwareStatusNotification, false)
                }
                TriggerMessage::LogStatusNotification => {
                    (v201::MessageTriggerEnum::LogStatusNotification, false)
                }
                TriggerMessage::SignCertificate => (
                    v201::MessageTriggerEnum::SignChargingStationCertificate,
                    false,
                ),
            };
            let mut r = v201::TriggerMessageRequest::new(what);
            // A StatusNotification is of one connector: the first on the EVSE unless said.
            r.evse = evse_id
                .filter(|e| *e > 0)
                .map(|e| evse(e, needs_connector.then_some(1)));
            call(Action::TriggerMessage, to_json(&r))
        }
        Intent::SetPassword { password } => {
            let data = |value: &str| -> Result<Value> {
                Ok(to_json(&v201::SetVariablesRequest::new(vec![
                    v201::SetVariableData::new(
                        ci(value)?,
                        v201::Component::new(ci("SecurityCtrlr")?),
                        v201::Variable::new(ci("BasicAuthPassword")?),
                    ),
                ])))
            };
            Outgoing {
                action: Action::SetVariables.as_str(),
                payload: data(password)?,
                shown: Some(data("(hidden)")?),
            }
        }
        Intent::ClearCache => call(
            Action::ClearCache,
            to_json(&v201::ClearCacheRequest::default()),
        ),
        Intent::InstallRootCertificate { pem } => call(
            Action::InstallCertificate,
            to_json(&v201::InstallCertificateRequest::new(
                ci(pem)?,
                v201::InstallCertificateUseEnum::CSMSRootCertificate,
            )),
        ),
        Intent::NetworkProfile { profile, slot, url } => {
            let data = v201::NetworkConnectionProfile::new(
                30,
                ci(url)?,
                v201::OCPPInterfaceEnum::Wired0,
                v201::OCPPTransportEnum::JSON,
                v201::OCPPVersionEnum::OCPP20,
                i64::from(*profile),
            );
            call(
                Action::SetNetworkProfile,
                to_json(&v201::SetNetworkProfileRequest::new(*slot, data)),
            )
        }
        Intent::ReadVariable {
            component,
            variable,
        } => call(
            Action::GetVariables,
            to_json(&v201::GetVariablesRequest::new(vec![
                v201::GetVariableData::new(
                    v201::Component::new(ci(component)?),
                    v201::Variable::new(ci(variable)?),
                ),
            ])),
        ),
        Intent::ChargingLimit {
            purpose,
            amps,
            from,
            then,
        } => {
            let periods = std::iter::once((0, *amps))
                .chain(*then)
                .map(|(start, a)| v201::ChargingSchedulePeriod::new(tenths(a), start))
                .collect();
            let mut schedule =
                v201::ChargingSchedule::new(v201::ChargingRateUnitEnum::A, periods, 1);
            let (purpose_enum, kind) = match purpose {
                LimitPurpose::StationMax => (
                    v201::ChargingProfilePurposeEnum::ChargingStationMaxProfile,
                    v201::ChargingProfileKindEnum::Absolute,
                ),
                LimitPurpose::TxDefault => (
                    v201::ChargingProfilePurposeEnum::TxDefaultProfile,
                    v201::ChargingProfileKindEnum::Absolute,
                ),
                LimitPurpose::Tx { .. } => (
                    v201::ChargingProfilePurposeEnum::TxProfile,
                    v201::ChargingProfileKindEnum::Relative,
                ),
            };
            if kind == v201::ChargingProfileKindEnum::Absolute {
                schedule.start_schedule = Some(Timestamp(*from));
            }
            let mut profile = v201::ChargingProfile::new(
                kind,
                purpose_enum,
                vec![schedule],
                purpose.profile_id(),
                LimitPurpose::STACK_LEVEL,
            );
            if let LimitPurpose::Tx { charger_tx_id, .. } = purpose {
                profile.transaction_id = Some(ci(charger_tx_id)?);
            }
            call(
                Action::SetChargingProfile,
                to_json(&v201::SetChargingProfileRequest::new(
                    profile,
                    purpose.evse_id(),
                )),
            )
        }
        Intent::ClearChargingLimit { purpose } => {
            let r = v201::ClearChargingProfileRequest {
                charging_profile_id: Some(purpose.profile_id()),
                ..Default::default()
            };
            call(Action::ClearChargingProfile, to_json(&r))
        }
        Intent::CompositeSchedule {
            evse_id,
            duration_s,
        } => {
            let mut r = v201::GetCompositeScheduleRequest::new(*duration_s, *evse_id);
            r.charging_rate_unit = Some(v201::ChargingRateUnitEnum::A);
            call(Action::GetCompositeSchedule, to_json(&r))
        }
        Intent::CertificateSigned { chain } => {
            let mut r = v201::CertificateSignedRequest::new(ci(chain)?);
            r.certificate_type = Some(v201::CertificateSigningUseEnum::ChargingStationCertificate);
            call(Action::CertificateSigned, to_json(&r))
        }
        Intent::CostUpdated {
            charger_tx_id,
            total,
        } => call(
            Action::CostUpdated,
            to_json(&v201::CostUpdatedRequest::new(*total, ci(charger_tx_id)?)),
        ),
        Intent::SetConfiguration {
            key,
            variable,
            value,
        } => {
            let v = match variable {
                Some(v) => (**v).clone(),
                None => parse_key(key)?,
            };
            let mut component = v201::Component::new(ci(&v.component)?);
            component.instance = v.component_instance.as_deref().map(ci).transpose()?;
            component.evse = v.evse_id.map(|e| evse(e, v.connector_id));
            let mut variable = v201::Variable::new(ci(&v.variable)?);
            variable.instance = v.variable_instance.as_deref().map(ci).transpose()?;
            let mut data = v201::SetVariableData::new(ci(value)?, component, variable);
            data.attribute_type = v201::AttributeEnum::ALL
                .iter()
                .find(|a| a.as_str() == v.attribute)
                .cloned();
            call(
                Action::SetVariables,
                to_json(&v201::SetVariablesRequest::new(vec![data])),
            )
        }
        Intent::GetConfiguration { request_id } => call(
            Action::GetBaseReport,
            to_json(&v201::GetBaseReportRequest::new(
                v201::ReportBaseEnum::ConfigurationInventory,
                *request_id,
            )),
        ),
        Intent::GetLocalListVersion => call(
            Action::GetLocalListVersion,
            to_json(&v201::GetLocalListVersionRequest::default()),
        ),
        Intent::SendLocalList {
            version,
            full,
            entries,
        } => {
            let list = entries
                .iter()
                .map(|(tag, info)| {
                    // An RFID card is what a local list is mostly for.
                    let mut d = v201::AuthorizationData::new(v201::IdToken::new(
                        ci(tag)?,
                        v201::IdTokenEnum::ISO14443,
                    ));
                    d.id_token_info = info.clone().map(id_token_info);
                    Ok(d)
                })
                .collect::<Result<Vec<_>>>()?;
            let mut r = v201::SendLocalListRequest::new(
                if *full {
                    v201::UpdateEnum::Full
                } else {
                    v201::UpdateEnum::Differential
                },
                *version,
            );
            r.local_authorization_list = Some(list);
            call(Action::SendLocalList, to_json(&r))
        }
        Intent::UploadLog {
            security,
            url,
            from,
            to,
            retries,
            retry_interval,
            request_id,
        } => {
            let mut log = v201::LogParameters::new(ci(url)?);
            log.oldest_timestamp = from.map(Timestamp);
            log.latest_timestamp = to.map(Timestamp);
            let kind = if *security {
                v201::LogEnum::SecurityLog
            } else {
                v201::LogEnum::DiagnosticsLog
            };
            let mut r = v201::GetLogRequest::new(log, kind, *request_id);
            r.retries = *retries;
            r.retry_interval = *retry_interval;
            call(Action::GetLog, to_json(&r))
        }
        Intent::UpdateFirmware {
            signed,
            url,
            retrieve_at,
            retries,
            retry_interval,
            request_id,
        } => {
            let mut firmware = v201::Firmware::new(ci(url)?, Timestamp(*retrieve_at));
            if let Some((certificate, signature)) = signed {
                firmware.signing_certificate = Some(ci(certificate)?);
                firmware.signature = Some(ci(signature)?);
            }
            let mut r = v201::UpdateFirmwareRequest::new(firmware, *request_id);
            r.retries = *retries;
            r.retry_interval = *retry_interval;
            call(Action::UpdateFirmware, to_json(&r))
        }
    })
}

/// A 2.x setting's key as the console writes it:
/// `Component[instance]@evse.connector/Variable[instance]:Attribute` (the parts in brackets, after
/// `@` and after `:` only when there are any; Actual is not written).
pub(crate) fn key_of(v: &DeviceVariable) -> String {
    let mut k = v.component.clone();
    if let Some(i) = &v.component_instance {
        k += &format!("[{i}]");
    }
    if let Some(e) = v.evse_id {
        k += &format!("@{e}");
        if let Some(c) = v.connector_id {
            k += &format!(".{c}");
        }
    }
    k += "/";
    k += &v.variable;
    if let Some(i) = &v.variable_instance {
        k += &format!("[{i}]");
    }
    if v.attribute != "Actual" {
        k += &format!(":{}", v.attribute);
    }
    k
}

/// The device model address a key written by [`key_of`] names.
fn parse_key(key: &str) -> Result<DeviceVariable> {
    let bad = || {
        Error::Invalid(format!(
            "{key:?} is not Component[instance]@evse.connector/Variable[instance]:Attribute"
        ))
    };
    fn named(s: &str) -> (String, Option<String>) {
        match s.split_once('[') {
            Some((name, rest)) => (
                name.to_string(),
                Some(rest.trim_end_matches(']').to_string()),
            ),
            None => (s.to_string(), None),
        }
    }
    let (component, variable) = key.split_once('/').ok_or_else(bad)?;
    let (component, at) = match component.split_once('@') {
        Some((c, at)) => (c, Some(at)),
        None => (component, None),
    };
    let (evse_id, connector_id) = match at {
        Some(at) => {
            let (e, c) = match at.split_once('.') {
                Some((e, c)) => (e, Some(c)),
                None => (at, None),
            };
            (
                Some(e.parse().map_err(|_| bad())?),
                c.map(|c| c.parse().map_err(|_| bad())).transpose()?,
            )
        }
        None => (None, None),
    };
    let (variable, attribute) = match variable.split_once(':') {
        Some((v, a)) => (v, a.to_string()),
        None => (variable, "Actual".to_string()),
    };
    let (component, component_instance) = named(component);
    let (variable, variable_instance) = named(variable);
    if component.is_empty() || variable.is_empty() {
        return Err(bad());
    }
    Ok(DeviceVariable {
        component,
        component_instance,
        evse_id,
        connector_id,
        variable,
        variable_instance,
        attribute,
        mutability: None,
        data_type: None,
        unit: None,
        values_list: None,
    })
}

/// The settings of NotifyReport parts (their `reportData`, as JSON), one per variable attribute.
pub(crate) fn configuration(parts: Vec<Value>) -> Vec<ConfigKey> {
    let mut keys: Vec<ConfigKey> = parts
        .into_iter()
        .filter_map(|p| serde_json::from_value::<v201::ReportData>(p).ok())
        .flat_map(|r| {
            let characteristics = r.variable_characteristics.clone();
            r.variable_attribute
                .into_iter()
                .map(move |a| {
                    let v = DeviceVariable {
                        component: r.component.name.to_string(),
                        component_instance: r.component.instance.as_ref().map(|i| i.to_string()),
                        evse_id: r.component.evse.as_ref().map(|e| e.id),
                        connector_id: r.component.evse.as_ref().and_then(|e| e.connector_id),
                        variable: r.variable.name.to_string(),
                        variable_instance: r.variable.instance.as_ref().map(|i| i.to_string()),
                        attribute: a
                            .kind
                            .as_ref()
                            .map_or("Actual".to_string(), |k| k.as_str().to_string()),
                        mutability: a.mutability.as_ref().map(|m| m.as_str().to_string()),
                        data_type: characteristics
                            .as_ref()
                            .map(|c| c.data_type.as_str().to_string()),
                        unit: characteristics
                            .as_ref()
                            .and_then(|c| c.unit.as_ref())
                            .map(|u| u.to_string()),
                        values_list: characteristics
                            .as_ref()
                            .and_then(|c| c.values_list.as_ref())
                            .map(|l| l.to_string()),
                    };
                    ConfigKey {
                        key: key_of(&v),
                        value: a.value.map(CiString::into_string),
                        readonly: v.mutability.as_deref() == Some("ReadOnly"),
                        variable: Some(v),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    keys.dedup_by(|a, b| a.key == b.key);
    keys
}

/// A value for a 2.x variable checked against what the station said of it (its data type, its
/// list of options, read-only): the reason it cannot be set, if so.
pub(crate) fn check_value(v: &DeviceVariable, value: &str) -> std::result::Result<(), String> {
    let key = key_of(v);
    if v.mutability.as_deref() == Some("ReadOnly") {
        return Err(format!("{key} is read-only"));
    }
    let ok = match v.data_type.as_deref() {
        Some("integer") => value.trim().parse::<i64>().is_ok(),
        Some("decimal") => value.trim().parse::<f64>().is_ok_and(f64::is_finite),
        Some("boolean") => matches!(value, "true" | "false"),
        Some("dateTime") => chrono::DateTime::parse_from_rfc3339(value).is_ok(),
        Some("OptionList") => v
            .values_list
            .as_deref()
            .is_none_or(|l| l.split(',').any(|o| o.trim() == value)),
        Some("MemberList" | "SequenceList") => v.values_list.as_deref().is_none_or(|l| {
            value
                .split(',')
                .all(|m| l.split(',').any(|o| o.trim() == m.trim()))
        }),
        _ => true,
    };
    if !ok {
        return Err(format!(
            "{key}: {value:?} is not a {}{}",
            v.data_type.as_deref().unwrap_or("value"),
            v.values_list
                .as_deref()
                .map(|l| format!(" of {l}"))
                .unwrap_or_default()
        ));
    }
    if value.chars().count() > 1000 {
        return Err(format!("{key}: at most 1000 characters"));
    }
    Ok(())
}

/// Every 2.0.1 command with a valid example payload, for the composer.
pub(crate) fn templates() -> Vec<(&'static str, Value)> {
    Action::ALL
        .iter()
        .filter(|a| a.direction() != Direction::FromStation)
        .filter_map(|&a| v201::template(a).map(|p| (a.as_str(), p)))
        .collect()
}
