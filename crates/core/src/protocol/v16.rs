//! The OCPP 1.6J adapter: a charge point's CALLs as the engine's operations, and each intent as
//! the 1.6 command that says it. 1.6 speaks of connectors where the engine speaks of EVSEs (a
//! 1.6 connectorId is an EVSE), of idTags where it speaks of tokens, and the transactionId is the
//! integer we issue, which is our id.

use std::borrow::Cow;

use chargeyard_ocpp::v16::{self, Action, CentralSystemCall, ChargePointCall};
use chargeyard_ocpp::{
    CallError, CiString, Decoded, Direction, Quirk, QuirkKind, Timestamp, Version,
};
use chargeyard_store::model::{BootInfo, ConfigKey, ConnectorState, Registration};
use chargeyard_store::text::Text;
use chargeyard_store::transactions::StopRecord;
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

/// A token's answer as a 1.6 idTagInfo (1.6 says Invalid for a tag it does not know).
fn id_tag_info(info: TokenInfo) -> v16::IdTagInfo {
    v16::IdTagInfo {
        status: match info.status {
            TokenStatus::Accepted => v16::AuthorizationStatus::Accepted,
            TokenStatus::Blocked => v16::AuthorizationStatus::Blocked,
            TokenStatus::Expired => v16::AuthorizationStatus::Expired,
            TokenStatus::Invalid | TokenStatus::Unknown => v16::AuthorizationStatus::Invalid,
        },
        expiry_date: info.expiry.map(Timestamp),
        parent_id_tag: info.group.and_then(|p| CiString::new(p).ok()),
    }
}

/// 1.6 sampled values as readings of any version.
pub(crate) fn readings(values: &[v16::MeterValue]) -> impl Iterator<Item = Reading<'_>> {
    values.iter().flat_map(|mv| {
        mv.sampled_value.iter().map(move |sv| Reading {
            timestamp: mv.timestamp.0,
            raw: Cow::Borrowed(sv.value.as_str()),
            measurand: sv.measurand.as_ref().map(|m| m.as_str()),
            phase: sv.phase.as_ref().map(|p| p.as_str()),
            location: sv.location.as_ref().map(|l| l.as_str()),
            context: sv.context.as_ref().map(|c| c.as_str()),
            format: sv.format.as_ref().map(|f| f.as_str()),
            unit: sv.unit.as_ref().map(|u| u.as_str()),
            multiplier: 0,
        })
    })
}

/// Handle one CALL from a 1.6 charge point.
pub(crate) async fn handle(
    engine: &Engine,
    station_id: &Text,
    live: Option<&LiveInfo>,
    call: ChargePointCall,
) -> Result<Value> {
    match call {
        ChargePointCall::BootNotification(r) => {
            let live = live.ok_or_else(|| {
                Error::Invalid("a BootNotification comes over the station's own connection".into())
            })?;
            let boot = BootInfo {
                vendor: r.charge_point_vendor.into_string(),
                model: r.charge_point_model.into_string(),
                serial_number: r.charge_point_serial_number.map(CiString::into_string),
                charge_box_serial: r.charge_box_serial_number.map(CiString::into_string),
                firmware_version: r.firmware_version.map(CiString::into_string),
                iccid: r.iccid.map(CiString::into_string),
                imsi: r.imsi.map(CiString::into_string),
                meter_type: r.meter_type.map(CiString::into_string),
                meter_serial: r.meter_serial_number.map(CiString::into_string),
            };
            let a = engine.boot(station_id, live, boot).await?;
            Ok(to_json(&v16::BootNotificationResponse {
                status: match a.registration {
                    Registration::Accepted => v16::RegistrationStatus::Accepted,
                    Registration::Pending => v16::RegistrationStatus::Pending,
                    Registration::Rejected => v16::RegistrationStatus::Rejected,
                },
                current_time: Timestamp(a.now),
                interval: a.interval_s,
            }))
        }
        ChargePointCall::Heartbeat(_) => Ok(to_json(&v16::HeartbeatResponse {
            current_time: Timestamp(engine.heartbeat(station_id).await),
        })),
        ChargePointCall::StatusNotification(r) => {
            let status = r.status.as_str().to_string();
            engine
                .status(
                    station_id,
                    StatusReport {
                        evse_id: r.connector_id,
                        connector_id: None,
                        state: ConnectorState::parse(&status),
                        status,
                        error_code: r.error_code.as_str().to_string(),
                        info: r.info.map(CiString::into_string),
                        vendor_id: r.vendor_id.map(CiString::into_string),
                        vendor_error_code: r.vendor_error_code.map(CiString::into_string),
                        timestamp: r.timestamp.map(|t| t.0),
                    },
                )
                .await?;
            Ok(json!({}))
        }
        ChargePointCall::Authorize(r) => {
            let info = engine.authorize(&Token::tag(r.id_tag.as_str())).await?;
            Ok(to_json(&v16::AuthorizeResponse {
                id_tag_info: id_tag_info(info),
            }))
        }
        ChargePointCall::StartTransaction(r) => {
            let start = TxStart {
                charger_tx_id: None,
                evse_id: r.connector_id,
                connector_id: None,
                token: Some(Token::tag(r.id_tag.into_string())),
                start_ts: r.timestamp.0,
                meter_start: Some(r.meter_start),
                reservation_id: r.reservation_id,
                remote_start_id: None,
                charging_state: None,
            };
            let started = engine
                .transaction_started(station_id, Version::V16, start)
                .await?;
            let info = started
                .token
                .ok_or_else(|| Error::Internal("a 1.6 start always has a tag to answer".into()))?;
            Ok(to_json(&v16::StartTransactionResponse {
                id_tag_info: id_tag_info(info),
                transaction_id: started.id,
            }))
        }
        ChargePointCall::MeterValues(r) => {
            let tx = match r.transaction_id {
                Some(id) if id <= 0 => {
                    let q = Quirk::new(
                        QuirkKind::OfflineTransactionId,
                        format!("MeterValues with transactionId {id}"),
                    );
                    engine.record_quirks(station_id, &[q]).await;
                    None
                }
                other => other,
            };
            engine
                .meter_values(
                    station_id,
                    r.connector_id,
                    tx,
                    None,
                    readings(&r.meter_value),
                )
                .await?;
            Ok(json!({}))
        }
        ChargePointCall::StopTransaction(r) => {
            let info = match &r.id_tag {
                Some(tag) => Some(id_tag_info(
                    engine.authorize(&Token::tag(tag.as_str())).await?,
                )),
                None => None,
            };
            let data = r.transaction_data.unwrap_or_default();
            // The EVSE and the transaction of these samples are settled with the stop.
            let samples = crate::meter::normalise(station_id, 0, None, None, readings(&data));
            let stop = StopRecord {
                station_id: station_id.to_string(),
                transaction_id: r.transaction_id,
                id_tag: r.id_tag.map(CiString::into_string),
                meter_stop: r.meter_stop,
                timestamp: r.timestamp.0,
                reason: r.reason.map(|x| x.as_str().to_string()),
            };
            engine.transaction_ended(station_id, stop, samples).await?;
            Ok(to_json(&v16::StopTransactionResponse { id_tag_info: info }))
        }
        ChargePointCall::DataTransfer(r) => {
            engine
                .station_event(station_id, "data_transfer", to_json(&r))
                .await?;
            // No vendor extensions are implemented: say so, as the spec asks.
            Ok(to_json(&v16::DataTransferResponse {
                status: v16::DataTransferStatus::UnknownVendorId,
                data: None,
            }))
        }
        ChargePointCall::DiagnosticsStatusNotification(r) => {
            noted_status(engine, station_id, "diagnostics_status", r.status.as_str()).await
        }
        ChargePointCall::FirmwareStatusNotification(r) => {
            noted_status(engine, station_id, "firmware_status", r.status.as_str()).await
        }
        // The security extension: the same as 2.0.1's messages of these names.
        ChargePointCall::SecurityEventNotification(r) => {
            engine
                .station_event(station_id, "security_event", to_json(&r))
                .await?;
            Ok(json!({}))
        }
        ChargePointCall::SignCertificate(r) => {
            let signed = engine
                .certificate_request(station_id, r.csr.as_str())
                .await?;
            let status = match signed {
                Ok(()) => v16::GenericStatus::Accepted,
                Err(_) => v16::GenericStatus::Rejected,
            };
            Ok(to_json(&v16::SignCertificateResponse { status }))
        }
        ChargePointCall::LogStatusNotification(r) => {
            noted_status(engine, station_id, "diagnostics_status", r.status.as_str()).await
        }
        ChargePointCall::SignedFirmwareStatusNotification(r) => {
            noted_status(engine, station_id, "firmware_status", r.status.as_str()).await
        }
    }
}

/// A status the station reports about a transfer (diagnostics, firmware): kept, answered `{}`.
async fn noted_status(
    engine: &Engine,
    station_id: &str,
    key: &'static str,
    status: &str,
) -> Result<Value> {
    engine
        .station_status(station_id, key, status.to_string())
        .await?;
    Ok(json!({}))
}

/// Check a 1.6 command given as JSON strictly, as it would be sent.
pub(crate) fn check_command(action: &str, payload: Value) -> Result<Checked> {
    let act = Action::parse(action)
        .filter(|a| a.direction() != Direction::FromStation)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{action:?} is not a command a central system sends"
            ))
        })?;
    let checked = CentralSystemCall::decode(action, payload)
        .and_then(|call| call.value.check().map(|()| call));
    let call = super::strict(action, checked)?;
    let start = match &call {
        CentralSystemCall::RemoteStartTransaction(r) => {
            Some((r.connector_id, r.id_tag.as_str().to_string()))
        }
        _ => None,
    };
    Ok(Checked {
        action: act.as_str(),
        payload: call.payload(),
        start,
    })
}

/// A 1.6 answer to a command of `action`, read leniently.
pub(crate) fn decode_answer(
    action: &str,
    raw: Value,
) -> std::result::Result<Decoded<Value>, CallError> {
    let act = Action::parse(action).ok_or_else(|| super::unknown_action(action))?;
    v16::decode_response_value(act, raw)
}

fn ci<const N: usize>(s: &str) -> Result<CiString<N>> {
    CiString::new(s).map_err(|e| Error::Invalid(e.to_string()))
}

/// An intent as the 1.6 command that says it.
pub(crate) fn request(intent: &Intent) -> Result<Outgoing> {
    let call = |action: Action, payload: Value| Outgoing {
        action: action.as_str(),
        payload,
        shown: None,
    };
    Ok(match intent {
        Intent::Start {
            evse_id, id_tag, ..
        } => call(
            Action::RemoteStartTransaction,
            to_json(&v16::RemoteStartTransactionRequest {
                connector_id: Some(*evse_id),
                id_tag: ci(id_tag)?,
                charging_profile: None,
            }),
        ),
        Intent::Stop { charger_tx_id } => call(
            Action::RemoteStopTransaction,
            to_json(&v16::RemoteStopTransactionRequest {
                transaction_id: charger_tx_id.parse().map_err(|_| {
                    Error::Invalid(format!("{charger_tx_id:?} is not a 1.6 transaction id"))
                })?,
            }),
        ),
        Intent::Reset { hard } => call(
            Action::Reset,
            to_json(&v16::ResetRequest {
                kind: if *hard {
                    v16::ResetType::Hard
                } else {
                    v16::ResetType::Soft
                },
            }),
        ),
        Intent::Unlock { evse_id, .. } => call(
            Action::UnlockConnector,
            to_json(&v16::UnlockConnectorRequest {
                connector_id: *evse_id,
            }),
        ),
        Intent::Availability { evse_id, operative } => call(
            Action::ChangeAvailability,
            to_json(&v16::ChangeAvailabilityRequest {
                connector_id: evse_id.unwrap_or(0),
                kind: if *operative {
                    v16::AvailabilityType::Operative
                } else {
                    v16::AvailabilityType::Inoperative
                },
            }),
        ),
        Intent::Trigger { message, evse_id } => {
            let requested_message = match message {
                TriggerMessage::BootNotification => v16::MessageTrigger::BootNotification,
                TriggerMessage::Heartbeat => v16::MessageTrigger::Heartbeat,
                TriggerMessage::StatusNotification => v16::MessageTrigger::StatusNotification,
                TriggerMessage::MeterValues => v16::MessageTrigger::MeterValues,
                TriggerMessage::FirmwareStatusNotification => {
                    v16::MessageTrigger::FirmwareStatusNotification
                }
                TriggerMessage::LogStatusNotification => {
                    v16::MessageTrigger::DiagnosticsStatusNotification
                }
                // The security extension's trigger, which chargers without it answer NotSupported.
                TriggerMessage::SignCertificate => {
                    return Ok(call(
                        Action::ExtendedTriggerMessage,
                        to_json(&v16::ExtendedTriggerMessageRequest {
                            requested_message:
                                v16::ExtendedMessageTrigger::SignChargePointCertificate,
                            connector_id: None,
                        }),
                    ));
                }
            };
            call(
                Action::TriggerMessage,
                to_json(&v16::TriggerMessageRequest {
                    requested_message,
                    connector_id: *evse_id,
                }),
            )
        }
        Intent::SetPassword { password } => {
            const KEY: &str = "AuthorizationKey";
            Outgoing {
                action: Action::ChangeConfiguration.as_str(),
                payload: to_json(&v16::ChangeConfigurationRequest {
                    key: ci(KEY)?,
                    value: ci(password)?,
                }),
                shown: Some(json!({ "key": KEY, "value": "(hidden)" })),
            }
        }
        Intent::ClearCache => call(Action::ClearCache, to_json(&v16::ClearCacheRequest {})),
        Intent::InstallRootCertificate { pem } => call(
            Action::InstallCertificate,
            to_json(&v16::InstallCertificateRequest {
                certificate_type: v16::CertificateUse::CentralSystemRootCertificate,
                certificate: ci(pem)?,
            }),
        ),
        Intent::NetworkProfile { profile, .. } => call(
            Action::ChangeConfiguration,
            to_json(&v16::ChangeConfigurationRequest {
                key: ci("SecurityProfile")?,
                value: ci(&profile.to_string())?,
            }),
        ),
        Intent::ReadVariable { variable, .. } => call(
            Action::GetConfiguration,
            to_json(&v16::GetConfigurationRequest {
                key: Some(vec![ci(variable)?]),
            }),
        ),
        Intent::ChargingLimit {
            purpose,
            amps,
            from,
            then,
        } => {
            let (purpose_type, kind, transaction_id, start) = match purpose {
                LimitPurpose::StationMax => (
                    v16::ChargingProfilePurposeType::ChargePointMaxProfile,
                    v16::ChargingProfileKindType::Absolute,
                    None,
                    Some(Timestamp(*from)),
                ),
                LimitPurpose::TxDefault => (
                    v16::ChargingProfilePurposeType::TxDefaultProfile,
                    v16::ChargingProfileKindType::Absolute,
                    None,
                    Some(Timestamp(*from)),
                ),
                LimitPurpose::Tx { charger_tx_id, .. } => (
                    v16::ChargingProfilePurposeType::TxProfile,
                    v16::ChargingProfileKindType::Relative,
                    Some(charger_tx_id.parse().map_err(|_| {
                        Error::Invalid(format!("{charger_tx_id:?} is not a 1.6 transaction id"))
                    })?),
                    None,
                ),
            };
            call(
                Action::SetChargingProfile,
                to_json(&v16::SetChargingProfileRequest {
                    connector_id: purpose.evse_id(),
                    cs_charging_profiles: v16::ChargingProfile {
                        charging_profile_id: purpose.profile_id(),
                        transaction_id,
                        stack_level: LimitPurpose::STACK_LEVEL,
                        charging_profile_purpose: purpose_type,
                        charging_profile_kind: kind,
                        recurrency_kind: None,
                        valid_from: None,
                        valid_to: None,
                        charging_schedule: v16::ChargingSchedule {
                            duration: None,
                            start_schedule: start,
                            charging_rate_unit: v16::ChargingRateUnitType::A,
                            charging_schedule_period: std::iter::once((0, *amps))
                                .chain(*then)
                                .map(|(start, a)| v16::ChargingSchedulePeriod {
                                    start_period: start,
                                    limit: tenths(a),
                                    number_phases: None,
                                })
                                .collect(),
                            min_charging_rate: None,
                        },
                    },
                }),
            )
        }
        Intent::ClearChargingLimit { purpose } => call(
            Action::ClearChargingProfile,
            to_json(&v16::ClearChargingProfileRequest {
                id: Some(purpose.profile_id()),
                connector_id: None,
                charging_profile_purpose: None,
                stack_level: None,
            }),
        ),
        Intent::CompositeSchedule {
            evse_id,
            duration_s,
        } => call(
            Action::GetCompositeSchedule,
            to_json(&v16::GetCompositeScheduleRequest {
                connector_id: *evse_id,
                duration: *duration_s,
                charging_rate_unit: Some(v16::ChargingRateUnitType::A),
            }),
        ),
        Intent::CertificateSigned { chain } => call(
            Action::CertificateSigned,
            to_json(&v16::CertificateSignedRequest {
                certificate_chain: ci(chain)?,
            }),
        ),
        Intent::CostUpdated { .. } => {
            return Err(Error::Invalid(
                "OCPP 1.6 has no CostUpdated; a 1.6 charger is not told costs".into(),
            ));
        }
        Intent::SetConfiguration { key, value, .. } => call(
            Action::ChangeConfiguration,
            to_json(&v16::ChangeConfigurationRequest {
                key: ci(key)?,
                value: ci(value)?,
            }),
        ),
        Intent::GetConfiguration { .. } => call(
            Action::GetConfiguration,
            to_json(&v16::GetConfigurationRequest { key: None }),
        ),
        Intent::GetLocalListVersion => call(
            Action::GetLocalListVersion,
            to_json(&v16::GetLocalListVersionRequest {}),
        ),
        Intent::SendLocalList {
            version,
            full,
            entries,
        } => {
            let list = entries
                .iter()
                .map(|(tag, info)| {
                    Ok(v16::AuthorizationData {
                        id_tag: CiString::new(tag.as_str()).map_err(|_| {
                            Error::Invalid(format!("id tag {tag:?} is not 1 to 20 characters"))
                        })?,
                        id_tag_info: info.clone().map(id_tag_info),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            call(
                Action::SendLocalList,
                to_json(&v16::SendLocalListRequest {
                    list_version: *version,
                    local_authorization_list: Some(list),
                    update_type: if *full {
                        v16::UpdateType::Full
                    } else {
                        v16::UpdateType::Differential
                    },
                }),
            )
        }
        Intent::UploadLog {
            security: true,
            url,
            from,
            to,
            retries,
            retry_interval,
            request_id,
        } => call(
            Action::GetLog,
            to_json(&v16::GetLogRequest {
                log: v16::LogParameters {
                    remote_location: ci(url)?,
                    oldest_timestamp: from.map(Timestamp),
                    latest_timestamp: to.map(Timestamp),
                },
                log_type: v16::LogType::SecurityLog,
                request_id: *request_id,
                retries: *retries,
                retry_interval: *retry_interval,
            }),
        ),
        Intent::UploadLog {
            url,
            from,
            to,
            retries,
            retry_interval,
            ..
        } => call(
            Action::GetDiagnostics,
            to_json(&v16::GetDiagnosticsRequest {
                location: url.clone(),
                retries: *retries,
                retry_interval: *retry_interval,
                start_time: from.map(Timestamp),
                stop_time: to.map(Timestamp),
            }),
        ),
        Intent::UpdateFirmware {
            signed: Some((certificate, signature)),
            url,
            retrieve_at,
            retries,
            retry_interval,
            request_id,
        } => call(
            Action::SignedUpdateFirmware,
            to_json(&v16::SignedUpdateFirmwareRequest {
                retries: *retries,
                retry_interval: *retry_interval,
                request_id: *request_id,
                firmware: v16::SignedFirmware {
                    location: ci(url)?,
                    retrieve_date_time: Timestamp(*retrieve_at),
                    install_date_time: None,
                    signing_certificate: ci(certificate)?,
                    signature: ci(signature)?,
                },
            }),
        ),
        Intent::UpdateFirmware {
            url,
            retrieve_at,
            retries,
            retry_interval,
            ..
        } => call(
            Action::UpdateFirmware,
            to_json(&v16::UpdateFirmwareRequest {
                location: url.clone(),
                retries: *retries,
                retrieve_date: Timestamp(*retrieve_at),
                retry_interval: *retry_interval,
            }),
        ),
    })
}

/// A 1.6 GetConfiguration answer (normalised JSON) as configuration keys and unknown keys.
pub(crate) fn configuration(answer: &Value) -> (Vec<ConfigKey>, Vec<String>) {
    let Ok(r) = serde_json::from_value::<v16::GetConfigurationResponse>(answer.clone()) else {
        return (Vec::new(), Vec::new());
    };
    let mut keys: Vec<ConfigKey> = r
        .configuration_key
        .unwrap_or_default()
        .into_iter()
        .map(|k| ConfigKey {
            key: k.key.into_string(),
            value: k.value.map(CiString::into_string),
            readonly: k.readonly,
            variable: None,
        })
        .collect();
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    let unknown = r
        .unknown_key
        .unwrap_or_default()
        .into_iter()
        .map(CiString::into_string)
        .collect();
    (keys, unknown)
}

/// Every 1.6 command with a valid example payload, for the composer.
pub(crate) fn templates() -> Vec<(&'static str, Value)> {
    Action::ALL
        .iter()
        .filter(|a| a.direction() != Direction::FromStation)
        .filter_map(|&a| v16::templates::template(a).map(|p| (a.as_str(), p)))
        .collect()
}

/// The standard 1.6 configuration keys, as the console lists them.
pub(crate) fn catalogue() -> Vec<crate::toolkit::CatalogueKey> {
    v16::catalogue::KEYS.iter().map(catalogue_entry).collect()
}

/// The catalogue entry of a standard key; None for vendor keys.
pub(crate) fn catalogue_key(key: &str) -> Option<crate::toolkit::CatalogueKey> {
    v16::catalogue::key_info(key).map(catalogue_entry)
}

fn catalogue_entry(k: &v16::catalogue::KeyInfo) -> crate::toolkit::CatalogueKey {
    crate::toolkit::CatalogueKey {
        key: k.key.to_string(),
        profile: k.profile.to_string(),
        kind: serde_json::to_value(k.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        unit: k.unit.to_string(),
        readonly: k.readonly,
        required: k.required,
        description: k.description.to_string(),
    }
}

/// Standard keys of the Core profile a station should report and did not.
pub(crate) fn missing_required(keys: &[ConfigKey]) -> Vec<String> {
    v16::catalogue::KEYS
        .iter()
        .filter(|k| k.required && k.profile == "Core")
        .filter(|k| !keys.iter().any(|c| c.key == k.key))
        .map(|k| k.key.to_string())
        .collect()
}

/// Why a value cannot be set on a 1.6 key (checked against the standard keys), if so.
pub(crate) fn check_setting(key: &str, value: &str) -> std::result::Result<(), String> {
    v16::catalogue::check_value(key, value)?;
    if CiString::<50>::new(key).is_err() || CiString::<500>::new(value).is_err() {
        return Err(format!("{key}: too long (keys 50, values 500 characters)"));
    }
    Ok(())
}
