//! OCPP 1.6 messages against the official OCA JSON schemas (fixtures in `schemas/v16`).
//!
//! - every request and response type we can build serialises to a schema-valid payload and decodes
//!   back to the same value with no quirks;
//! - valid wire examples decode without quirks;
//! - what real chargers get wrong decodes with the named quirk (and is indeed schema-invalid);
//! - what cannot be understood maps to the 1.6 CALLERROR code.

use std::path::PathBuf;

use chargeyard_ocpp::lenient::{CiString, QuirkKind, Timestamp};
use chargeyard_ocpp::v16::*;
use chargeyard_ocpp::{ErrorCode, Frame};
use serde_json::{Value, json};

fn schema(name: &str) -> jsonschema::Validator {
    let path = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join(format!("schemas/v16/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::validator_for(&v).expect("schema compiles")
}

fn assert_valid(name: &str, payload: &Value) {
    let v = schema(name);
    let errors: Vec<String> = v.iter_errors(payload).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name} payload {payload} is invalid: {errors:?}"
    );
}

fn s<const N: usize>(v: &str) -> CiString<N> {
    CiString::new(v).expect("fits")
}

fn ts(v: &str) -> Timestamp {
    Timestamp::parse_lenient(v).expect("valid time")
}

fn profile() -> ChargingProfile {
    ChargingProfile {
        charging_profile_id: 7,
        transaction_id: Some(12),
        stack_level: 0,
        charging_profile_purpose: ChargingProfilePurposeType::TxProfile,
        charging_profile_kind: ChargingProfileKindType::Absolute,
        recurrency_kind: Some(RecurrencyKindType::Daily),
        valid_from: Some(ts("2024-01-01T00:00:00Z")),
        valid_to: Some(ts("2025-01-01T00:00:00Z")),
        charging_schedule: ChargingSchedule {
            duration: Some(3600),
            start_schedule: Some(ts("2024-01-01T00:00:00Z")),
            charging_rate_unit: ChargingRateUnitType::A,
            charging_schedule_period: vec![
                ChargingSchedulePeriod {
                    start_period: 0,
                    limit: 16.0,
                    number_phases: Some(3),
                },
                ChargingSchedulePeriod {
                    start_period: 1800,
                    limit: 10.5,
                    number_phases: None,
                },
            ],
            min_charging_rate: Some(6.1),
        },
    }
}

fn meter_value() -> MeterValue {
    MeterValue {
        timestamp: ts("2024-01-01T10:00:00Z"),
        sampled_value: vec![
            SampledValue {
                value: "1234.5".into(),
                context: Some(ReadingContext::SamplePeriodic),
                format: Some(ValueFormat::Raw),
                measurand: Some(Measurand::EnergyActiveImportRegister),
                phase: Some(Phase::L1N),
                location: Some(Location::Outlet),
                unit: Some(UnitOfMeasure::KWh),
            },
            SampledValue {
                value: "7400".into(),
                context: None,
                format: None,
                measurand: Some(Measurand::PowerActiveImport),
                phase: None,
                location: None,
                unit: Some(UnitOfMeasure::W),
            },
        ],
    }
}

fn tag_info() -> IdTagInfo {
    IdTagInfo {
        status: AuthorizationStatus::Accepted,
        expiry_date: Some(ts("2030-01-01T00:00:00Z")),
        parent_id_tag: Some(s("FLEET-1")),
    }
}

/// Check one request/response pair: both schema-valid, both round-trip with no quirks.
fn check<R: Request + PartialEq>(req: R, resp: R::Response)
where
    R::Response: PartialEq,
{
    let name = R::ACTION;
    let req_json = serde_json::to_value(&req).expect("serialises");
    assert_valid(name, &req_json);
    let back = decode::<R>(req_json.clone()).expect("decodes");
    assert_eq!(back.value, req, "{name} request round trip");
    assert!(
        back.quirks.is_empty(),
        "{name} request quirks: {:?}",
        back.quirks
    );

    let resp_json = serde_json::to_value(&resp).expect("serialises");
    assert_valid(&format!("{name}Response"), &resp_json);
    let back = decode::<R::Response>(resp_json).expect("decodes");
    assert_eq!(back.value, resp, "{name} response round trip");
    assert!(
        back.quirks.is_empty(),
        "{name} response quirks: {:?}",
        back.quirks
    );
}

#[test]
fn every_message_of_every_profile_is_schema_valid_both_ways() {
    let mut covered = Vec::new();
    macro_rules! c {
        ($req:expr, $resp:expr) => {{
            fn action_of<R: Request>(_: &R) -> Action {
                Action::parse(R::ACTION).expect("a 1.6 action")
            }
            let r = $req;
            covered.push(action_of(&r));
            check(r, $resp);
        }};
    }
    c!(
        AuthorizeRequest { id_tag: s("TAG1") },
        AuthorizeResponse {
            id_tag_info: tag_info()
        }
    );
    c!(
        BootNotificationRequest {
            charge_point_vendor: s("Vendor"),
            charge_point_model: s("Model"),
            charge_point_serial_number: Some(s("SN1")),
            charge_box_serial_number: Some(s("BOX1")),
            firmware_version: Some(s("1.2.3")),
            iccid: Some(s("8946")),
            imsi: Some(s("2400")),
            meter_type: Some(s("MID")),
            meter_serial_number: Some(s("M1")),
        },
        BootNotificationResponse {
            status: RegistrationStatus::Accepted,
            current_time: Timestamp::now(),
            interval: 300
        }
    );
    c!(
        DataTransferRequest {
            vendor_id: s("com.example"),
            message_id: Some(s("m")),
            data: Some("x".into())
        },
        DataTransferResponse {
            status: DataTransferStatus::UnknownVendorId,
            data: None
        }
    );
    c!(
        DiagnosticsStatusNotificationRequest {
            status: DiagnosticsStatus::Uploaded
        },
        DiagnosticsStatusNotificationResponse {}
    );
    c!(
        FirmwareStatusNotificationRequest {
            status: FirmwareStatus::Installed
        },
        FirmwareStatusNotificationResponse {}
    );
    c!(
        HeartbeatRequest {},
        HeartbeatResponse {
            current_time: Timestamp::now()
        }
    );
    c!(
        MeterValuesRequest {
            connector_id: 1,
            transaction_id: Some(5),
            meter_value: vec![meter_value()]
        },
        MeterValuesResponse {}
    );
    c!(
        StartTransactionRequest {
            connector_id: 1,
            id_tag: s("TAG1"),
            meter_start: 1000,
            reservation_id: Some(3),
            timestamp: ts("2024-01-01T10:00:00Z"),
        },
        StartTransactionResponse {
            id_tag_info: tag_info(),
            transaction_id: 42
        }
    );
    c!(
        StatusNotificationRequest {
            connector_id: 0,
            error_code: ChargePointErrorCode::GroundFailure,
            info: Some(s("info")),
            status: ChargePointStatus::Faulted,
            timestamp: Some(ts("2024-01-01T10:00:00Z")),
            vendor_id: Some(s("v")),
            vendor_error_code: Some(s("E42")),
        },
        StatusNotificationResponse {}
    );
    c!(
        StopTransactionRequest {
            id_tag: Some(s("TAG1")),
            meter_stop: 5000,
            timestamp: ts("2024-01-01T11:00:00Z"),
            transaction_id: 42,
            reason: Some(Reason::EVDisconnected),
            transaction_data: Some(vec![meter_value()]),
        },
        StopTransactionResponse {
            id_tag_info: Some(tag_info())
        }
    );
    c!(
        CancelReservationRequest { reservation_id: 3 },
        CancelReservationResponse {
            status: CancelReservationStatus::Accepted
        }
    );
    c!(
        ChangeAvailabilityRequest {
            connector_id: 0,
            kind: AvailabilityType::Inoperative
        },
        ChangeAvailabilityResponse {
            status: AvailabilityStatus::Scheduled
        }
    );
    c!(
        ChangeConfigurationRequest {
            key: s("HeartbeatInterval"),
            value: s("60")
        },
        ChangeConfigurationResponse {
            status: ConfigurationStatus::RebootRequired
        }
    );
    c!(
        ClearCacheRequest {},
        ClearCacheResponse {
            status: ClearCacheStatus::Accepted
        }
    );
    c!(
        ClearChargingProfileRequest {
            id: Some(7),
            connector_id: Some(1),
            charging_profile_purpose: Some(ChargingProfilePurposeType::TxDefaultProfile),
            stack_level: Some(0),
        },
        ClearChargingProfileResponse {
            status: ClearChargingProfileStatus::Unknown
        }
    );
    c!(
        GetCompositeScheduleRequest {
            connector_id: 1,
            duration: 3600,
            charging_rate_unit: Some(ChargingRateUnitType::W)
        },
        GetCompositeScheduleResponse {
            status: GetCompositeScheduleStatus::Accepted,
            connector_id: Some(1),
            schedule_start: Some(ts("2024-01-01T00:00:00Z")),
            charging_schedule: Some(profile().charging_schedule),
        }
    );
    c!(
        GetConfigurationRequest {
            key: Some(vec![s("HeartbeatInterval")])
        },
        GetConfigurationResponse {
            configuration_key: Some(vec![KeyValue {
                key: s("HeartbeatInterval"),
                readonly: false,
                value: Some(s("60"))
            }]),
            unknown_key: Some(vec![s("Foo")]),
        }
    );
    c!(
        GetDiagnosticsRequest {
            location: "http://192.0.2.1:8180/upload/abc".into(),
            retries: Some(2),
            retry_interval: Some(30),
            start_time: Some(ts("2024-01-01T00:00:00Z")),
            stop_time: Some(ts("2024-01-02T00:00:00Z")),
        },
        GetDiagnosticsResponse {
            file_name: Some(s("diag.zip"))
        }
    );
    c!(
        GetLocalListVersionRequest {},
        GetLocalListVersionResponse { list_version: 4 }
    );
    c!(
        RemoteStartTransactionRequest {
            connector_id: Some(1),
            id_tag: s("TAG1"),
            charging_profile: Some(profile())
        },
        RemoteStartTransactionResponse {
            status: RemoteStartStopStatus::Accepted
        }
    );
    c!(
        RemoteStopTransactionRequest { transaction_id: 42 },
        RemoteStopTransactionResponse {
            status: RemoteStartStopStatus::Rejected
        }
    );
    c!(
        ReserveNowRequest {
            connector_id: 1,
            expiry_date: ts("2024-01-01T12:00:00Z"),
            id_tag: s("TAG1"),
            parent_id_tag: Some(s("FLEET-1")),
            reservation_id: 3,
        },
        ReserveNowResponse {
            status: ReservationStatus::Occupied
        }
    );
    c!(
        ResetRequest {
            kind: ResetType::Soft
        },
        ResetResponse {
            status: ResetStatus::Accepted
        }
    );
    c!(
        SendLocalListRequest {
            list_version: 5,
            local_authorization_list: Some(vec![AuthorizationData {
                id_tag: s("TAG1"),
                id_tag_info: Some(tag_info())
            }]),
            update_type: UpdateType::Full,
        },
        SendLocalListResponse {
            status: UpdateStatus::VersionMismatch
        }
    );
    c!(
        SetChargingProfileRequest {
            connector_id: 1,
            cs_charging_profiles: profile()
        },
        SetChargingProfileResponse {
            status: ChargingProfileStatus::NotSupported
        }
    );
    c!(
        TriggerMessageRequest {
            requested_message: MessageTrigger::StatusNotification,
            connector_id: Some(1)
        },
        TriggerMessageResponse {
            status: TriggerMessageStatus::NotImplemented
        }
    );
    c!(
        UnlockConnectorRequest { connector_id: 1 },
        UnlockConnectorResponse {
            status: UnlockStatus::Unlocked
        }
    );
    c!(
        UpdateFirmwareRequest {
            location: "http://192.0.2.1:8180/firmware/abc.bin".into(),
            retries: Some(1),
            retrieve_date: ts("2024-01-01T00:00:00Z"),
            retry_interval: Some(60),
        },
        UpdateFirmwareResponse {}
    );
    // The security extension.
    c!(
        SecurityEventNotificationRequest {
            kind: s("TamperDetectionActivated"),
            timestamp: ts("2024-01-01T00:00:00Z"),
            tech_info: Some(s("lid opened")),
        },
        SecurityEventNotificationResponse {}
    );
    c!(
        SignCertificateRequest {
            csr: s("-----BEGIN CERTIFICATE REQUEST-----"),
        },
        SignCertificateResponse {
            status: GenericStatus::Accepted
        }
    );
    c!(
        LogStatusNotificationRequest {
            status: UploadLogStatus::Uploading,
            request_id: Some(3),
        },
        LogStatusNotificationResponse {}
    );
    c!(
        SignedFirmwareStatusNotificationRequest {
            status: SignedFirmwareStatus::SignatureVerified,
            request_id: None,
        },
        SignedFirmwareStatusNotificationResponse {}
    );
    c!(
        CertificateSignedRequest {
            certificate_chain: s("-----BEGIN CERTIFICATE-----"),
        },
        CertificateSignedResponse {
            status: GenericStatus::Rejected
        }
    );
    c!(
        ExtendedTriggerMessageRequest {
            requested_message: ExtendedMessageTrigger::SignChargePointCertificate,
            connector_id: None,
        },
        ExtendedTriggerMessageResponse {
            status: TriggerMessageStatus::Accepted
        }
    );
    c!(
        InstallCertificateRequest {
            certificate_type: CertificateUse::CentralSystemRootCertificate,
            certificate: s("-----BEGIN CERTIFICATE-----"),
        },
        InstallCertificateResponse {
            status: InstallCertificateStatus::Accepted
        }
    );
    c!(
        GetLogRequest {
            log: LogParameters {
                remote_location: s("ftp://192.0.2.1/logs"),
                oldest_timestamp: Some(ts("2024-01-01T00:00:00Z")),
                latest_timestamp: None,
            },
            log_type: LogType::SecurityLog,
            request_id: 4,
            retries: Some(2),
            retry_interval: None,
        },
        GetLogResponse {
            status: LogStatus::Accepted,
            filename: Some(s("security.log")),
        }
    );
    c!(
        SignedUpdateFirmwareRequest {
            retries: None,
            retry_interval: Some(30),
            request_id: 5,
            firmware: SignedFirmware {
                location: s("http://192.0.2.1:8180/firmware/abc.bin"),
                retrieve_date_time: ts("2024-01-01T00:00:00Z"),
                install_date_time: None,
                signing_certificate: s("-----BEGIN CERTIFICATE-----"),
                signature: s("c2lnbmF0dXJl"),
            },
        },
        SignedUpdateFirmwareResponse {
            status: SignedUpdateFirmwareStatus::InvalidCertificate
        }
    );
    covered.sort();
    assert_eq!(covered, Action::ALL.to_vec(), "every 1.6 action is covered");
}

#[test]
fn every_enum_value_is_schema_valid() {
    for s in ChargePointStatus::ALL {
        let p = json!({"connectorId": 1, "errorCode": "NoError", "status": s.as_str()});
        assert_valid("StatusNotification", &p);
    }
    for e in ChargePointErrorCode::ALL {
        let p = json!({"connectorId": 1, "errorCode": e.as_str(), "status": "Faulted"});
        assert_valid("StatusNotification", &p);
    }
    for m in Measurand::ALL {
        for u in UnitOfMeasure::ALL {
            let p = json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z",
                "sampledValue": [{"value": "1", "measurand": m.as_str(), "unit": u.as_str()}]}]});
            assert_valid("MeterValues", &p);
        }
    }
    for t in MessageTrigger::ALL {
        assert_valid("TriggerMessage", &json!({"requestedMessage": t.as_str()}));
    }
}

#[test]
fn valid_wire_examples_decode_without_quirks() {
    let examples = [
        (
            "BootNotification",
            json!({"chargePointVendor": "ABB", "chargePointModel": "Terra AC"}),
        ),
        (
            "StatusNotification",
            json!({"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": "2024-05-01T08:00:00.000Z"}),
        ),
        (
            "MeterValues",
            json!({"connectorId": 2, "transactionId": 9, "meterValue": [{"timestamp": "2024-05-01T08:00:00+02:00", "sampledValue": [{"value": "12.5", "unit": "kWh", "measurand": "Energy.Active.Import.Register", "context": "Sample.Periodic"}]}]}),
        ),
        (
            "StopTransaction",
            json!({"meterStop": 10, "timestamp": "2024-05-01T08:00:00Z", "transactionId": 3, "reason": "Local"}),
        ),
        ("Heartbeat", json!({})),
    ];
    for (action, payload) in examples {
        assert_valid(action, &payload);
        decodes_the_same_from_text(action, &payload);
        assert!(ChargePointCall::decode_text(action, &payload.to_string()).is_ok());
        let d = ChargePointCall::decode(action, payload).expect("valid example decodes");
        assert!(d.quirks.is_empty(), "{action}: {:?}", d.quirks);
        assert_eq!(d.value.action().as_str(), action);
    }
}

/// The engine decodes a plain CALL from its payload's text and falls back to the full frame when
/// that fails: so the text must decode to exactly what the value does, and must never accept a
/// payload the value rejects.
fn decodes_the_same_from_text(action: &str, payload: &Value) {
    let text = ChargePointCall::decode_text(action, &payload.to_string());
    match (text, ChargePointCall::decode(action, payload.clone())) {
        (Ok(t), Ok(v)) => assert_eq!(t, v, "{action} {payload}"),
        (Ok(t), Err(e)) => panic!("{action} {payload}: text accepted {t:?}, value rejected: {e}"),
        (Err(_), _) => {}
    }
}

#[test]
fn field_deviations_decode_with_named_quirks() {
    let cases: Vec<(&str, Value, QuirkKind)> = vec![
        (
            "MeterValues",
            json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": [{"value": 1234.5}]}]}),
            QuirkKind::NumberAsString,
        ),
        (
            "StatusNotification",
            json!({"connectorId": "1", "errorCode": "NoError", "status": "Available"}),
            QuirkKind::StringAsNumber,
        ),
        (
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2024-01-01T10:00:00"}),
            QuirkKind::TimestampWithoutZone,
        ),
        (
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "2024-01-01T12:00:00+02"}),
            QuirkKind::TimestampNonStandard,
        ),
        (
            "MeterValues",
            json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": [{"value": "1", "unit": "kwh"}]}]}),
            QuirkKind::EnumSpelling,
        ),
        (
            "MeterValues",
            json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": [{"value": "50", "unit": "Hz", "measurand": "Frequency"}]}]}),
            QuirkKind::EnumSpelling,
        ),
        (
            "BootNotification",
            json!({"chargePointVendor": "V", "chargePointModel": "M", "chargePointSerialNumber": "S".repeat(40)}),
            QuirkKind::OverlongString,
        ),
        (
            "StatusNotification",
            json!({"connectorId": 1, "errorCode": "Error", "status": "Available"}),
            QuirkKind::UnknownEnumValue,
        ),
        (
            "StatusNotification",
            json!({"connectorId": 1, "errorCode": "NoError", "status": "Occupied"}),
            QuirkKind::UnknownEnumValue,
        ),
        ("Heartbeat", json!({"extra": true}), QuirkKind::UnknownField),
        (
            "StartTransaction",
            json!({"connectorId": 1, "idTag": 123456, "meterStart": 0, "timestamp": "2024-01-01T10:00:00Z"}),
            QuirkKind::NumberAsString,
        ),
    ];
    for (action, payload, kind) in cases {
        decodes_the_same_from_text(action, &payload);
        let invalid = !schema(action).is_valid(&payload);
        let d = ChargePointCall::decode(action, payload.clone())
            .unwrap_or_else(|e| panic!("{action} {payload} should be accepted, got {e}"));
        assert!(
            d.quirks.iter().any(|q| q.kind == kind),
            "{action} {payload}: expected quirk {kind:?}, got {:?}",
            d.quirks
        );
        // Every quirk we accept is a real deviation, except spellings the schema itself lists.
        assert!(
            invalid || kind == QuirkKind::EnumSpelling,
            "{action} {payload} is schema-valid; not a quirk"
        );
    }
}

#[test]
fn what_cannot_be_understood_gets_the_16_error_code() {
    let cases: Vec<(&str, Value, ErrorCode)> = vec![
        ("FooBar", json!({}), ErrorCode::NotImplemented),
        ("Reset", json!({"type": "Hard"}), ErrorCode::NotSupported),
        (
            "InstallCertificate",
            json!({"certificateType": "CentralSystemRootCertificate", "certificate": "x"}),
            ErrorCode::NotSupported,
        ),
        (
            "StartTransaction",
            json!({"connectorId": 1, "meterStart": 0, "timestamp": "2024-01-01T10:00:00Z"}),
            ErrorCode::OccurenceConstraintViolation,
        ),
        (
            "StartTransaction",
            json!({"connectorId": {"a": 1}, "idTag": "T", "meterStart": 0, "timestamp": "2024-01-01T10:00:00Z"}),
            ErrorCode::TypeConstraintViolation,
        ),
        (
            "StartTransaction",
            json!({"connectorId": "one", "idTag": "T", "meterStart": 0, "timestamp": "2024-01-01T10:00:00Z"}),
            ErrorCode::TypeConstraintViolation,
        ),
        (
            "StartTransaction",
            json!({"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "not a time"}),
            ErrorCode::PropertyConstraintViolation,
        ),
        (
            "FirmwareStatusNotification",
            json!({"status": "Exploded"}),
            ErrorCode::PropertyConstraintViolation,
        ),
        (
            "MeterValues",
            json!({"connectorId": 1, "meterValue": "lots"}),
            ErrorCode::TypeConstraintViolation,
        ),
    ];
    for (action, payload, code) in cases {
        decodes_the_same_from_text(action, &payload);
        let e = ChargePointCall::decode(action, payload.clone()).expect_err("rejected");
        assert_eq!(e.code, code, "{action} {payload}: {}", e.description);
    }
    let e = ChargePointCall::decode(
        "StartTransaction",
        json!({"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "x"}),
    )
    .expect_err("rejected");
    assert!(
        e.description.contains("timestamp"),
        "the field is named: {}",
        e.description
    );
}

#[test]
fn commands_decode_strictly_for_sending() {
    let ok = decode_strict::<ResetRequest>(json!({"type": "Soft"})).expect("valid");
    assert_eq!(ok.kind, ResetType::Soft);
    let e = decode_strict::<RemoteStartTransactionRequest>(json!({"idTag": "X".repeat(21)}))
        .expect_err("too long");
    assert_eq!(e.code, ErrorCode::PropertyConstraintViolation);
    let e =
        decode_strict::<ResetRequest>(json!({"type": "soft"})).expect_err("wrong case is not sent");
    assert_eq!(e.code, ErrorCode::PropertyConstraintViolation);
    let mut p = profile();
    p.charging_schedule.charging_schedule_period[0].limit = 16.05;
    let call = CentralSystemCall::SetChargingProfile(SetChargingProfileRequest {
        connector_id: 1,
        cs_charging_profiles: p,
    });
    assert!(
        call.check().is_err(),
        "limit off the 0.1 grid is refused before sending"
    );
}

#[test]
fn frames_we_send_are_well_formed() {
    let f = Frame::call(
        "abc",
        "Reset",
        serde_json::to_value(ResetRequest {
            kind: ResetType::Hard,
        })
        .expect("json"),
    );
    let v: Value = serde_json::from_str(&f.to_text()).expect("json");
    assert_eq!(v, json!([2, "abc", "Reset", {"type": "Hard"}]));
}

#[test]
fn every_command_has_a_schema_valid_template_that_decodes_strictly() {
    let mut commands = 0;
    for &action in Action::ALL {
        let Some(payload) = templates::template(action) else {
            assert_eq!(
                action.direction(),
                Direction::FromStation,
                "{action:?} is a command and needs a template"
            );
            continue;
        };
        commands += 1;
        assert_valid(action.as_str(), &payload);
        let call = CentralSystemCall::decode(action.as_str(), payload.clone())
            .unwrap_or_else(|e| panic!("{action:?} template does not decode: {e:?}"));
        assert!(call.quirks.is_empty(), "{action:?}: {:?}", call.quirks);
        call.value.check().expect("template passes the send checks");
    }
    assert_eq!(
        commands, 24,
        "every 1.6 command (incl. DataTransfer and the security extension's five) has a template"
    );
}

/// A payload the text path rejects is answered naming the field at fault, as the value path does
/// (the CALLERROR tells a technician which field of a long MeterValues to look at).
#[test]
fn text_errors_name_the_field_at_fault() {
    let payload = json!({"connectorId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}, {"timestamp": "yesterday", "sampledValue": []}]});
    let text = ChargePointCall::decode_text("MeterValues", &payload.to_string())
        .expect_err("no time can be read from the second timestamp");
    let value = ChargePointCall::decode("MeterValues", payload).expect_err("rejected");
    assert_eq!(text.code, value.code);
    let path = "meterValue[1].timestamp";
    assert!(text.description.contains(path), "{}", text.description);
    assert!(value.description.contains(path), "{}", value.description);
}

#[path = "schema/v2.rs"]
mod v2;
