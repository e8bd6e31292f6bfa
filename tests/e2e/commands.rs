//! Every command of the engine's API, round trip against the simulator, and what happens when the
//! station is offline, silent, refuses, or gets several commands at once.

use std::time::Duration;

use chargeyard_core::{EngineConfig, Error};
use chargeyard_ocpp::ErrorCode;
use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use chargeyard_sim::Behaviour;
use serde_json::json;

use crate::{Harness, config, eventually};

fn ci<const N: usize>(s: &str) -> CiString<N> {
    CiString::new(s).expect("fits")
}

fn profile(id: i64) -> ChargingProfile {
    ChargingProfile {
        charging_profile_id: id,
        transaction_id: None,
        stack_level: 1,
        charging_profile_purpose: ChargingProfilePurposeType::TxDefaultProfile,
        charging_profile_kind: ChargingProfileKindType::Absolute,
        recurrency_kind: None,
        valid_from: None,
        valid_to: None,
        charging_schedule: ChargingSchedule {
            duration: None,
            start_schedule: Some(Timestamp::now()),
            charging_rate_unit: ChargingRateUnitType::A,
            charging_schedule_period: vec![ChargingSchedulePeriod {
                start_period: 0,
                limit: 16.0,
                number_phases: Some(3),
            }],
            min_charging_rate: None,
        },
    }
}

#[tokio::test]
async fn every_command_round_trips_against_the_simulator_and_is_logged() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    let e = &h.engine;
    let who = "test";
    let tag = chargeyard_core::store::id_tags::TagFields {
        status: "Accepted".into(),
        ..Default::default()
    };
    e.create_id_tag("REMOTE", tag).await.expect("tag");

    let r = e
        .call(
            "CP1",
            RemoteStartTransactionRequest {
                connector_id: Some(1),
                id_tag: ci("REMOTE"),
                charging_profile: None,
            },
            who,
        )
        .await
        .expect("remote start");
    assert_eq!(r.status, RemoteStartStopStatus::Accepted);
    let tx = eventually("the simulator started a transaction", || async {
        cp.transaction(1)
    })
    .await;
    let r = e
        .call(
            "CP1",
            RemoteStopTransactionRequest { transaction_id: tx },
            who,
        )
        .await
        .expect("remote stop");
    assert_eq!(r.status, RemoteStartStopStatus::Accepted);
    eventually("the transaction stopped in the database", || async {
        let t = e.transaction(tx).await.ok()?;
        (t.transaction.stop_reason.as_deref() == Some("Remote")).then_some(())
    })
    .await;
    let r = e
        .call(
            "CP1",
            RemoteStopTransactionRequest {
                transaction_id: 999_999,
            },
            who,
        )
        .await
        .expect("answered");
    assert_eq!(
        r.status,
        RemoteStartStopStatus::Rejected,
        "unknown transaction refused by the charger"
    );

    assert_eq!(
        e.call(
            "CP1",
            ResetRequest {
                kind: ResetType::Soft
            },
            who
        )
        .await
        .expect("reset")
        .status,
        ResetStatus::Accepted
    );
    let r = e
        .call(
            "CP1",
            ChangeAvailabilityRequest {
                connector_id: 2,
                kind: AvailabilityType::Inoperative,
            },
            who,
        )
        .await
        .expect("availability");
    assert_eq!(r.status, AvailabilityStatus::Accepted);
    eventually("connector 2 reported Unavailable", || async {
        let st = e.station("CP1").await.ok()?;
        st.view
            .connectors
            .iter()
            .any(|c| c.evse_id == 2 && c.status == "Unavailable")
            .then_some(())
    })
    .await;

    let r = e
        .call(
            "CP1",
            GetConfigurationRequest {
                key: Some(vec![ci("HeartbeatInterval"), ci("NoSuchKey")]),
            },
            who,
        )
        .await
        .expect("get config");
    let keys = r.configuration_key.expect("keys");
    assert_eq!(
        (keys[0].key.as_str(), keys[0].readonly),
        ("HeartbeatInterval", false)
    );
    assert_eq!(r.unknown_key.expect("unknown")[0].as_str(), "NoSuchKey");
    let all = e
        .call("CP1", GetConfigurationRequest { key: None }, who)
        .await
        .expect("all config");
    assert!(
        all.configuration_key
            .expect("keys")
            .iter()
            .any(|k| k.key.as_str() == "NumberOfConnectors" && k.readonly)
    );
    let set = |k: &str, v: &str| ChangeConfigurationRequest {
        key: ci(k),
        value: ci(v),
    };
    assert_eq!(
        e.call("CP1", set("HeartbeatInterval", "120"), who)
            .await
            .expect("change")
            .status,
        ConfigurationStatus::Accepted
    );
    assert_eq!(
        cp.config_value("HeartbeatInterval").as_deref(),
        Some("120"),
        "the charger really changed it"
    );
    assert_eq!(
        e.call("CP1", set("NumberOfConnectors", "9"), who)
            .await
            .expect("change")
            .status,
        ConfigurationStatus::Rejected
    );
    assert_eq!(
        e.call("CP1", set("Bogus", "1"), who)
            .await
            .expect("change")
            .status,
        ConfigurationStatus::NotSupported
    );

    assert_eq!(
        e.call("CP1", ClearCacheRequest {}, who)
            .await
            .expect("clear cache")
            .status,
        ClearCacheStatus::Accepted
    );
    assert_eq!(
        e.call("CP1", UnlockConnectorRequest { connector_id: 1 }, who)
            .await
            .expect("unlock")
            .status,
        UnlockStatus::Unlocked
    );

    let r = e
        .call(
            "CP1",
            TriggerMessageRequest {
                requested_message: MessageTrigger::StatusNotification,
                connector_id: Some(1),
            },
            who,
        )
        .await
        .expect("trigger");
    assert_eq!(r.status, TriggerMessageStatus::Accepted);
    let r = e
        .call(
            "CP1",
            DataTransferRequest {
                vendor_id: ci("chargeyard.sim"),
                message_id: None,
                data: Some("ping".into()),
            },
            who,
        )
        .await
        .expect("data transfer");
    assert_eq!(
        (r.status, r.data.as_deref()),
        (DataTransferStatus::Accepted, Some("ping"))
    );

    let r = e
        .call(
            "CP1",
            SetChargingProfileRequest {
                connector_id: 1,
                cs_charging_profiles: profile(5),
            },
            who,
        )
        .await
        .expect("set profile");
    assert_eq!(r.status, ChargingProfileStatus::Accepted);
    let r = e
        .call(
            "CP1",
            GetCompositeScheduleRequest {
                connector_id: 1,
                duration: 600,
                charging_rate_unit: Some(ChargingRateUnitType::A),
            },
            who,
        )
        .await
        .expect("composite");
    assert_eq!(
        (
            r.status,
            r.charging_schedule
                .expect("schedule")
                .charging_schedule_period[0]
                .limit
        ),
        (GetCompositeScheduleStatus::Accepted, 16.0)
    );
    let r = e
        .call(
            "CP1",
            ClearChargingProfileRequest {
                id: Some(5),
                ..Default::default()
            },
            who,
        )
        .await
        .expect("clear profile");
    assert_eq!(r.status, ClearChargingProfileStatus::Accepted);

    let list = SendLocalListRequest {
        list_version: 7,
        local_authorization_list: Some(vec![AuthorizationData {
            id_tag: ci("LOCAL1"),
            id_tag_info: Some(IdTagInfo {
                status: AuthorizationStatus::Accepted,
                expiry_date: None,
                parent_id_tag: None,
            }),
        }]),
        update_type: UpdateType::Full,
    };
    assert_eq!(
        e.call("CP1", list, who).await.expect("local list").status,
        UpdateStatus::Accepted
    );
    assert_eq!(
        e.call("CP1", GetLocalListVersionRequest {}, who)
            .await
            .expect("version")
            .list_version,
        7
    );

    let reserve = ReserveNowRequest {
        connector_id: 2,
        expiry_date: Timestamp::now(),
        id_tag: ci("RES"),
        parent_id_tag: None,
        reservation_id: 11,
    };
    assert_eq!(
        e.call("CP1", reserve, who).await.expect("reserve").status,
        ReservationStatus::Accepted
    );
    assert_eq!(
        e.call("CP1", CancelReservationRequest { reservation_id: 11 }, who)
            .await
            .expect("cancel")
            .status,
        CancelReservationStatus::Accepted
    );

    // The security extension's log and signed firmware, to the same nowhere.
    let r = e
        .call(
            "CP1",
            GetLogRequest {
                log: LogParameters {
                    remote_location: ci("http://127.0.0.1:1/upload"),
                    oldest_timestamp: None,
                    latest_timestamp: None,
                },
                log_type: LogType::SecurityLog,
                request_id: 41,
                retries: None,
                retry_interval: None,
            },
            who,
        )
        .await
        .expect("get log");
    assert_eq!(r.status, LogStatus::Accepted);
    let r = e
        .call(
            "CP1",
            SignedUpdateFirmwareRequest {
                retries: None,
                retry_interval: None,
                request_id: 42,
                firmware: SignedFirmware {
                    location: ci("http://127.0.0.1:1/signed.bin"),
                    retrieve_date_time: Timestamp::now(),
                    install_date_time: None,
                    signing_certificate: ci("-----BEGIN CERTIFICATE-----"),
                    signature: ci("c2ln"),
                },
            },
            who,
        )
        .await
        .expect("signed firmware");
    assert_eq!(r.status, SignedUpdateFirmwareStatus::Accepted);
    let r = e
        .call(
            "CP1",
            GetDiagnosticsRequest {
                location: "http://127.0.0.1:1/upload".into(),
                retries: None,
                retry_interval: None,
                start_time: None,
                stop_time: None,
            },
            who,
        )
        .await
        .expect("diagnostics");
    assert_eq!(r.file_name.as_deref(), Some("diagnostics-CP1.log"));
    e.call(
        "CP1",
        UpdateFirmwareRequest {
            location: "http://127.0.0.1:1/fw.bin".into(),
            retries: None,
            retrieve_date: Timestamp::now(),
            retry_interval: None,
        },
        who,
    )
    .await
    .expect("firmware");
    // The security extension: a trigger it does not answer for that message, and a certificate
    // it never asked for.
    assert_eq!(
        e.call(
            "CP1",
            ExtendedTriggerMessageRequest {
                requested_message: ExtendedMessageTrigger::Heartbeat,
                connector_id: None,
            },
            who,
        )
        .await
        .expect("extended trigger")
        .status,
        TriggerMessageStatus::NotImplemented
    );
    assert_eq!(
        e.call(
            "CP1",
            CertificateSignedRequest {
                certificate_chain: ci("-----BEGIN CERTIFICATE-----"),
            },
            who,
        )
        .await
        .expect("certificate")
        .status,
        GenericStatus::Rejected,
        "no request of its own was waiting for it"
    );
    assert_eq!(
        e.call(
            "CP1",
            InstallCertificateRequest {
                certificate_type: CertificateUse::CentralSystemRootCertificate,
                certificate: ci("not PEM"),
            },
            who,
        )
        .await
        .expect("install certificate")
        .status,
        InstallCertificateStatus::Rejected,
        "what is not a certificate is not installed"
    );
    // Nothing listens at those locations: the station reports the transfers failed.
    eventually("failed transfers reported", || async {
        let st = e.station("CP1").await.ok()?;
        // GetLog's failure (UploadFailure) and GetDiagnostics' (UploadFailed) race to be last.
        (st.view.station.firmware_status.as_deref() == Some("DownloadFailed")
            && matches!(
                st.view.station.diagnostics_status.as_deref(),
                Some("UploadFailed" | "UploadFailure")
            ))
        .then_some(())
    })
    .await;

    // Every command the simulator received is in the log with who asked and the answer.
    let received: Vec<String> = cp.received().iter().map(|r| r.action.clone()).collect();
    let log = e.command_log("CP1", 100).await.expect("log");
    let logged: Vec<&str> = log
        .iter()
        .rev()
        .filter(|c| c.actor == who)
        .map(|c| c.action.as_str())
        .collect();
    assert_eq!(
        logged, received,
        "the log matches what the charger received, in order"
    );
    let covered: std::collections::BTreeSet<&str> = logged.iter().copied().collect();
    let expected: std::collections::BTreeSet<&str> = Action::ALL
        .iter()
        .filter(|a| a.direction() != Direction::FromStation)
        .map(|a| a.as_str())
        .collect();
    assert_eq!(covered, expected, "every command of §5 was exercised");
    assert!(
        log.iter()
            .all(|c| c.outcome == "result" && c.response.is_some())
    );
    let n = crate::assert_frames_schema_valid(e, "CP1").await;
    assert!(
        n > 60,
        "every frame of the session was checked against the schemas ({n})"
    );
}

#[tokio::test]
async fn offline_timeout_and_refusal_are_clear_errors_and_logged() {
    let h = Harness::start(EngineConfig {
        call_timeout: Duration::from_millis(500),
        ..config()
    })
    .await;
    let r = h.engine.call("NOPE", ClearCacheRequest {}, "test").await;
    assert!(matches!(r, Err(Error::StationOffline(_))), "{r:?}");

    let cp = h.booted("CP1").await;
    cp.set_behaviour("ClearCache", Some(Behaviour::Ignore));
    let r = h.engine.call("CP1", ClearCacheRequest {}, "test").await;
    assert!(
        matches!(r, Err(Error::Timeout(..))),
        "silent station times out: {r:?}"
    );
    cp.set_behaviour("Reset", Some(Behaviour::Error(ErrorCode::NotSupported)));
    let r = h
        .engine
        .call(
            "CP1",
            ResetRequest {
                kind: ResetType::Hard,
            },
            "test",
        )
        .await;
    assert!(
        matches!(&r, Err(Error::CallError { code, .. }) if code == "NotSupported"),
        "{r:?}"
    );
    // The connection still works after both.
    cp.set_behaviour("ClearCache", None);
    h.engine
        .call("CP1", ClearCacheRequest {}, "test")
        .await
        .expect("works again");

    let log = h.engine.command_log("CP1", 10).await.expect("log");
    let outcomes: Vec<&str> = log.iter().map(|c| c.outcome.as_str()).collect();
    assert_eq!(outcomes, ["result", "callerror", "timeout"]);
    assert_eq!(
        h.engine.command_log("NOPE", 10).await.expect("log")[0].outcome,
        "offline"
    );
}

#[tokio::test]
async fn concurrent_commands_are_queued_one_outstanding_call_at_a_time() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    cp.set_behaviour("ClearCache", Some(Behaviour::Ignore));
    // The first command is never answered; the second must wait behind it, not be sent.
    let e1 = h.engine.clone();
    let first = tokio::spawn(async move { e1.call("CP1", ClearCacheRequest {}, "a").await });
    eventually("first command received", || async {
        (cp.received().len() == 1).then_some(())
    })
    .await;
    let e2 = h.engine.clone();
    let second = tokio::spawn(async move {
        e2.call("CP1", UnlockConnectorRequest { connector_id: 1 }, "b")
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cp.received().len(),
        1,
        "second CALL must not be sent while the first is outstanding"
    );
    assert!(matches!(
        first.await.expect("join"),
        Err(Error::Timeout(..))
    ));
    let r = second
        .await
        .expect("join")
        .expect("second answered after the first timed out");
    assert_eq!(r.status, UnlockStatus::Unlocked);
}

#[tokio::test]
async fn json_commands_are_validated_strictly_before_sending() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    let e = &h.engine;
    let ok = e
        .command_json("CP1", "Reset", json!({"type": "Soft"}), "api")
        .await
        .expect("valid");
    assert_eq!(ok, json!({"status": "Accepted"}));
    for (action, payload) in [
        ("Reset", json!({"type": "soft"})),
        ("Reset", json!({})),
        ("RemoteStartTransaction", json!({"idTag": "X".repeat(21)})),
        ("Heartbeat", json!({})),
        ("Explode", json!({})),
        (
            "SetChargingProfile",
            json!({"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Absolute", "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.05}]}}}),
        ),
    ] {
        let r = e.command_json("CP1", action, payload.clone(), "api").await;
        assert!(
            matches!(r, Err(Error::Invalid(_))),
            "{action} {payload} must be refused: {r:?}"
        );
    }
    assert_eq!(
        cp.received().len(),
        1,
        "nothing invalid reached the charger"
    );
}
