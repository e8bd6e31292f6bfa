//! Every charger-initiated message, through a simulator or raw frames, checked in the database.

use chargeyard_core::store::id_tags::TagFields;
use chargeyard_core::store::meter::SampleFilter;
use chargeyard_core::store::transactions::TransactionFilter;
use chargeyard_core::{EngineConfig, UnknownStations};
use chargeyard_ocpp::Version;
use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use chargeyard_sim::{ChargePoint, SimError};
use chrono::{Duration, Utc};
use serde_json::json;

use crate::{Harness, config, eventually, exchange, raw, sample};

fn ci<const N: usize>(s: &str) -> CiString<N> {
    CiString::new(s).expect("fits")
}

async fn tag(h: &Harness, id: &str, status: &str, expiry: Option<chrono::DateTime<Utc>>) {
    let f = TagFields {
        status: status.into(),
        expiry,
        group_kind: Some("driver".into()),
        group_name: Some("Ann".into()),
        ..Default::default()
    };
    h.engine.create_id_tag(id, f).await.expect("tag created");
}

#[tokio::test]
async fn boot_policy_pending_then_operator_accepts_and_station_boots() {
    let h = Harness::start(EngineConfig {
        unknown_stations: UnknownStations::Pending,
        ..config()
    })
    .await;
    let (cp, _) = ChargePoint::connect(h.sim_config("NEW1"))
        .await
        .expect("connects");
    let r = cp.boot().await.expect("answered");
    assert_eq!(
        (r.status, r.interval),
        (RegistrationStatus::Pending, 60),
        "unknown station waits with a retry interval"
    );
    let e = cp
        .call(HeartbeatRequest {})
        .await
        .expect_err("pending stations may only boot");
    assert!(
        matches!(e, SimError::CallError { ref code, .. } if code == "SecurityError"),
        "{e}"
    );
    let st = h
        .engine
        .station("NEW1")
        .await
        .expect("shown to the operator");
    assert_eq!(st.view.station.registration.as_str(), "pending");
    assert_eq!(
        st.view.station.vendor.as_deref(),
        Some("Chargeyard"),
        "boot info kept for the inbox"
    );
    assert_eq!(
        st.view.station.offered_protocols.as_deref(),
        Some("ocpp1.6")
    );
    assert!(
        st.view
            .station
            .remote_addr
            .as_deref()
            .is_some_and(|a| a.starts_with("127.0.0.1:"))
    );
    assert_eq!(st.view.station.boot_attempts, 1);

    h.engine
        .accept_station("NEW1", Default::default(), "test")
        .await
        .expect("accepted");
    // The engine asks the connected station to boot again at once (TriggerMessage).
    eventually("station re-booted and Accepted", || async {
        let st = h.engine.station("NEW1").await.ok()?;
        (st.view.station.boot_attempts >= 2 && !st.view.connectors.is_empty()).then_some(())
    })
    .await;
    cp.call(HeartbeatRequest {})
        .await
        .expect("accepted stations may send anything");
}

#[tokio::test]
async fn boot_policy_reject_answers_rejected_and_records_the_attempt() {
    let h = Harness::start(EngineConfig {
        unknown_stations: UnknownStations::Reject,
        ..config()
    })
    .await;
    let (cp, _) = ChargePoint::connect(h.sim_config("BAD1"))
        .await
        .expect("connects");
    assert_eq!(
        cp.boot().await.expect("answered").status,
        RegistrationStatus::Rejected
    );
    let st = h.engine.station("BAD1").await.expect("attempt recorded");
    assert_eq!(
        (
            st.view.station.registration.as_str(),
            st.view.station.boot_attempts
        ),
        ("rejected", 1)
    );
}

#[tokio::test]
async fn boot_heartbeat_and_status_including_connector_zero_are_stored() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    let r = cp.call(HeartbeatRequest {}).await.expect("heartbeat");
    assert!(
        (Utc::now() - r.current_time.0).num_seconds().abs() < 5,
        "current time in UTC"
    );
    cp.call(StatusNotificationRequest {
        connector_id: 0,
        error_code: ChargePointErrorCode::GroundFailure,
        info: Some(ci("earth leak")),
        status: ChargePointStatus::Faulted,
        timestamp: Some(Timestamp::now()),
        vendor_id: Some(ci("acme")),
        vendor_error_code: Some(ci("E-42")),
    })
    .await
    .expect("status");
    let st = h.engine.station("CP1").await.expect("station");
    let c0 = st
        .view
        .connectors
        .iter()
        .find(|c| c.evse_id == 0)
        .expect("connector 0 kept");
    assert_eq!(
        (
            c0.status.as_str(),
            c0.error_code.as_str(),
            c0.vendor_error_code.as_deref()
        ),
        ("Faulted", "GroundFailure", Some("E-42"))
    );
    assert_eq!(st.view.connectors.len(), 3, "station + 2 connectors");
    let last = &st.status_history[0];
    assert_eq!(
        (last.info.as_deref(), last.vendor_id.as_deref()),
        (Some("earth leak"), Some("acme")),
        "history keeps info"
    );
    assert_eq!(st.status_history.len(), 4, "every notification is history");
    assert_eq!(st.view.station.firmware_version.as_deref(), Some("sim-1.0"));
}

#[tokio::test]
async fn authorize_answers_from_the_tag_list() {
    let h = Harness::open().await;
    tag(&h, "GOOD", "Accepted", None).await;
    tag(&h, "BLOCKED", "Blocked", None).await;
    tag(&h, "OLD", "Accepted", Some(Utc::now() - Duration::days(1))).await;
    let cp = h.booted("CP1").await;
    for (t, want) in [
        ("GOOD", "Accepted"),
        ("BLOCKED", "Blocked"),
        ("OLD", "Expired"),
        ("NOBODY", "Invalid"),
    ] {
        let r = cp
            .call(AuthorizeRequest { id_tag: ci(t) })
            .await
            .expect("authorize");
        assert_eq!(r.id_tag_info.status.as_str(), want, "tag {t}");
    }
    let open = Harness::start(EngineConfig {
        open_charging: true,
        ..config()
    })
    .await;
    let cp = open.booted("CP1").await;
    let r = cp
        .call(AuthorizeRequest {
            id_tag: ci("NOBODY"),
        })
        .await
        .expect("authorize");
    assert_eq!(
        r.id_tag_info.status,
        AuthorizationStatus::Accepted,
        "open charging accepts any tag"
    );
    assert!(crate::assert_frames_schema_valid(&h.engine, "CP1").await > 5);
    assert!(crate::assert_frames_schema_valid(&open.engine, "CP1").await > 5);
}

#[tokio::test]
async fn a_transaction_with_meter_values_is_stored_and_ids_are_unique_per_station() {
    let h = Harness::open().await;
    tag(&h, "T1", "Accepted", None).await;
    let cp = h.booted("CP1").await;
    let a = cp.start_transaction(1, "T1").await.expect("start 1");
    let b = cp.start_transaction(2, "T1").await.expect("start 2");
    assert_ne!(
        a.transaction_id, b.transaction_id,
        "ids unique across connectors"
    );
    cp.charge(1, 1500, 7400.0).await.expect("meter values");
    cp.call(MeterValuesRequest {
        connector_id: 1,
        transaction_id: Some(a.transaction_id),
        meter_value: vec![MeterValue {
            timestamp: Timestamp::now(),
            sampled_value: vec![
                sample(
                    "230.1",
                    Some(Measurand::Voltage),
                    Some(Phase::L1N),
                    Some(UnitOfMeasure::V),
                ),
                sample(
                    "16.2",
                    Some(Measurand::CurrentImport),
                    Some(Phase::L2),
                    Some(UnitOfMeasure::A),
                ),
                sample(
                    "1002.5",
                    Some(Measurand::EnergyActiveImportRegister),
                    None,
                    Some(UnitOfMeasure::KWh),
                ),
            ],
        }],
    })
    .await
    .expect("three-phase values");
    let samples = h
        .engine
        .meter_samples(&SampleFilter {
            transaction_id: Some(a.transaction_id),
            ..Default::default()
        })
        .await
        .expect("samples");
    let kinds: Vec<_> = samples
        .iter()
        .map(|s| (s.measurand.as_str(), s.phase.as_deref()))
        .collect();
    assert!(
        kinds.contains(&("Voltage", Some("L1-N")))
            && kinds.contains(&("Current.Import", Some("L2"))),
        "{kinds:?}"
    );
    let kwh = samples
        .iter()
        .find(|s| s.raw_value == "1002.5")
        .expect("kWh sample");
    assert_eq!(
        (kwh.value, kwh.value_unit.as_deref(), kwh.unit.as_deref()),
        (Some(1_002_500.0), Some("Wh"), Some("kWh"))
    );
    let open = h
        .engine
        .transaction(a.transaction_id)
        .await
        .expect("detail");
    assert_eq!(
        open.transaction.energy_wh,
        Some(2500),
        "live energy from the latest register"
    );
    let stopped = cp
        .stop_transaction(1, Reason::EVDisconnected)
        .await
        .expect("stop")
        .expect("had one");
    let t = h
        .engine
        .transaction(stopped)
        .await
        .expect("detail")
        .transaction;
    assert_eq!(
        (t.stop_reason.as_deref(), t.energy_wh),
        (Some("EVDisconnected"), Some(1500))
    );
    let page = h
        .engine
        .transactions(&TransactionFilter {
            station_id: Some("CP1".into()),
            open: Some(true),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!((page.total, page.items[0].id), (1, b.transaction_id));
    assert!(crate::assert_frames_schema_valid(&h.engine, "CP1").await > 10);
}

#[tokio::test]
async fn a_retried_start_gets_the_same_transaction_id() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    let req = StartTransactionRequest {
        connector_id: 1,
        id_tag: ci("ANY"),
        meter_start: 500,
        reservation_id: None,
        timestamp: Timestamp::now(),
    };
    let first = cp.call(req.clone()).await.expect("first");
    let retry = cp
        .call(req.clone())
        .await
        .expect("retry after a lost answer");
    assert_eq!(first.transaction_id, retry.transaction_id);
    let other = cp
        .call(StartTransactionRequest {
            meter_start: 501,
            ..req
        })
        .await
        .expect("a new one");
    assert_ne!(first.transaction_id, other.transaction_id);
    assert_eq!(
        first.id_tag_info.status,
        AuthorizationStatus::Invalid,
        "unknown tag, stored anyway so the charger can stop"
    );
}

#[tokio::test]
async fn unknown_and_offline_transactions_are_acknowledged_and_recorded() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    let stop = StopTransactionRequest {
        id_tag: None,
        meter_stop: 900,
        timestamp: Timestamp::now(),
        transaction_id: 424242,
        reason: Some(Reason::PowerLoss),
        transaction_data: Some(vec![MeterValue {
            timestamp: Timestamp::now(),
            sampled_value: vec![SampledValue {
                context: Some(ReadingContext::TransactionEnd),
                ..sample("900", None, None, None)
            }],
        }]),
    };
    let r = cp
        .call(stop.clone())
        .await
        .expect("an unknown transaction is still acknowledged");
    assert_eq!(r.id_tag_info, None);
    cp.call(stop)
        .await
        .expect("and again (the charger retries)");
    let st = h.engine.station("CP1").await.expect("station");
    assert_eq!(st.unmatched_stops.len(), 2, "recorded for the operator");
    assert!(st.quirks.iter().any(|q| q.kind == "unknown_transaction"));
    let samples = h
        .engine
        .meter_samples(&SampleFilter {
            station_id: Some("CP1".into()),
            ..Default::default()
        })
        .await
        .expect("samples");
    assert!(
        samples
            .iter()
            .any(|s| s.raw_value == "900" && s.transaction_id.is_none()),
        "its data is kept, unlinked"
    );

    cp.call(MeterValuesRequest {
        connector_id: 1,
        transaction_id: Some(-1),
        meter_value: vec![MeterValue {
            timestamp: Timestamp::now(),
            sampled_value: vec![sample("77", None, None, None)],
        }],
    })
    .await
    .expect("offline transaction id accepted");
    let q = h.engine.quirks("CP1").await.expect("quirks");
    assert!(
        q.iter().any(|q| q.kind == "offline_transaction_id"),
        "{q:?}"
    );

    // Values naming another station's transaction are kept with the station that sent them,
    // unlinked; a station's samples are its own transactions' and its unlinked ones.
    tag(&h, "T1", "Accepted", None).await;
    let own = cp.start_transaction(1, "T1").await.expect("own start");
    cp.charge(1, 1200, 7000.0).await.expect("own values");
    let other = h.booted("CP2").await;
    let theirs = other.start_transaction(1, "T1").await.expect("CP2 start");
    cp.call(MeterValuesRequest {
        connector_id: 2,
        transaction_id: Some(theirs.transaction_id),
        meter_value: vec![MeterValue {
            timestamp: Timestamp::now(),
            sampled_value: vec![sample("4321", None, None, None)],
        }],
    })
    .await
    .expect("values for another station's transaction are acknowledged");
    let by = |station: Option<&str>, transaction_id: Option<i64>| {
        let f = SampleFilter {
            station_id: station.map(Into::into),
            transaction_id,
            ..Default::default()
        };
        let engine = h.engine.clone();
        async move { engine.meter_samples(&f).await.expect("samples") }
    };
    let mine = by(Some("CP1"), None).await;
    let stray = mine
        .iter()
        .find(|s| s.raw_value == "4321")
        .expect("kept with the station that sent it");
    assert_eq!(
        stray.transaction_id, None,
        "not linked to CP2's transaction"
    );
    assert!(
        mine.iter()
            .any(|s| s.transaction_id == Some(own.transaction_id)),
        "the station's own transaction's samples: {mine:?}"
    );
    assert!(
        by(None, Some(theirs.transaction_id))
            .await
            .iter()
            .all(|s| s.station_id == "CP2"),
        "CP2's transaction holds only CP2's values"
    );
    assert!(
        by(Some("CP2"), None)
            .await
            .iter()
            .all(|s| s.raw_value != "4321"),
        "nor does CP2's list"
    );
    let q = h.engine.quirks("CP1").await.expect("quirks");
    assert!(
        q.iter().any(|q| q.kind == "unknown_transaction"
            && q.example.contains(&format!(
                "meter values for unknown transaction {}",
                theirs.transaction_id
            ))),
        "{q:?}"
    );
}

#[tokio::test]
async fn data_transfer_diagnostics_and_firmware_notifications_are_recorded() {
    let h = Harness::open().await;
    let cp = h.booted("CP1").await;
    let r = cp
        .call(DataTransferRequest {
            vendor_id: ci("com.acme"),
            message_id: Some(ci("hello")),
            data: Some("{\"a\":1}".into()),
        })
        .await
        .expect("data transfer");
    assert_eq!(r.status, DataTransferStatus::UnknownVendorId);
    cp.call(DiagnosticsStatusNotificationRequest {
        status: DiagnosticsStatus::Uploading,
    })
    .await
    .expect("diag");
    cp.call(FirmwareStatusNotificationRequest {
        status: FirmwareStatus::Installing,
    })
    .await
    .expect("fw");
    let st = h.engine.station("CP1").await.expect("station");
    assert_eq!(
        st.view.station.diagnostics_status.as_deref(),
        Some("Uploading")
    );
    assert_eq!(
        st.view.station.firmware_status.as_deref(),
        Some("Installing")
    );
    let kinds: Vec<_> = st.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "firmware_status",
            "diagnostics_status",
            "data_transfer",
            "connected"
        ]
    );
    assert_eq!(st.events[2].detail["vendorId"], json!("com.acme"));
    assert!(crate::assert_frames_schema_valid(&h.engine, "CP1").await > 5);
}

#[tokio::test]
async fn quirky_payloads_from_real_chargers_are_accepted_and_shown() {
    let h = Harness::open().await;
    let mut ws = raw(&h.url, "QUIRKY").await;
    let boot = exchange(&mut ws, r#"[2,"b1","BootNotification",{"chargePointVendor":"OpenEVSE","chargePointModel":"v5","chargePointSerialNumber":"123456789012345678901234567890"}]"#).await;
    assert_eq!(boot[2]["status"], json!("Accepted"));
    let mv = exchange(&mut ws, r#"[2,"m1","MeterValues",{"connectorId":"1","meterValue":[{"timestamp":"2024-05-01T10:00:00","sampledValue":[{"value":12.5,"unit":"kwh"}]}]}]"#).await;
    assert_eq!(mv, json!([3, "m1", {}]));
    let st = exchange(&mut ws, r#"[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"Error","status":"Occupied","timestamp":"2024-05-01T12:00:00+02"}]"#).await;
    assert_eq!(st, json!([3, "s1", {}]));
    let quirks = h.engine.quirks("QUIRKY").await.expect("quirks");
    let kinds: Vec<&str> = quirks.iter().map(|q| q.kind.as_str()).collect();
    for k in [
        "overlong_string",
        "string_as_number",
        "timestamp_without_zone",
        "number_as_string",
        "enum_spelling",
        "unknown_enum_value",
        "timestamp_non_standard",
    ] {
        assert!(kinds.contains(&k), "quirk {k} in {kinds:?}");
    }
    let samples = h
        .engine
        .meter_samples(&SampleFilter {
            station_id: Some("QUIRKY".into()),
            ..Default::default()
        })
        .await
        .expect("samples");
    assert_eq!(samples[0].value, Some(12_500.0), "12.5 kWh stored as Wh");
    let c = h
        .engine
        .station("QUIRKY")
        .await
        .expect("station")
        .view
        .connectors;
    assert_eq!(
        c[0].status, "Occupied",
        "the unknown status is kept as sent"
    );
}

#[tokio::test]
async fn each_known_field_quirk_is_handled_end_to_end() {
    let h = Harness::open().await;
    tag(&h, "QTAG", "Accepted", None).await;
    type Setup = fn(&mut chargeyard_sim::SimConfig);
    let cases: [(&str, Setup, &str); 4] = [
        ("Q-NOSUB", |c| c.subprotocols.clear(), "no_subprotocol"),
        (
            "Q-STRINGS",
            |c| c.quirks.numbers_as_strings = true,
            "string_as_number",
        ),
        (
            "Q-NOZONE",
            |c| c.quirks.timestamps_without_zone = true,
            "timestamp_without_zone",
        ),
        ("Q-KWH", |c| c.quirks.kwh_as_wh = true, "kwh_labelled_as_wh"),
    ];
    for (id, setup, quirk) in cases {
        let mut cfg = h.sim_config(id);
        setup(&mut cfg);
        let (cp, _) = ChargePoint::connect(cfg).await.expect("connects");
        assert_eq!(
            cp.boot_and_report().await.expect("boots").status,
            RegistrationStatus::Accepted,
            "{id}"
        );
        let tx = cp
            .start_transaction(1, "QTAG")
            .await
            .expect("start")
            .transaction_id;
        cp.charge(1, 2500, 7400.0).await.expect("meter values");
        let live = h
            .engine
            .transaction(tx)
            .await
            .expect("detail")
            .transaction
            .energy_wh;
        assert_eq!(
            live,
            Some(2500),
            "{id}: live energy is right despite the quirk"
        );
        cp.stop_transaction(1, Reason::Local).await.expect("stop");
        let t = h.engine.transaction(tx).await.expect("detail").transaction;
        assert_eq!(
            (t.energy_wh, t.stop_reason.as_deref()),
            (Some(2500), Some("Local")),
            "{id}"
        );
        let quirks = h.engine.quirks(id).await.expect("quirks");
        assert!(
            quirks.iter().any(|q| q.kind == quirk),
            "{id}: expected {quirk}, got {quirks:?}"
        );
    }
}

#[tokio::test]
async fn history_is_stored_like_live_messages_without_a_live_event_for_each() {
    let h = Harness::open().await;
    let cfg = chargeyard_server::demo::config("127.0.0.1:9".parse().expect("addr"), 1, 60.0);
    let station = cfg.station_ids().remove(0);
    h.engine
        .create_station(chargeyard_core::NewStation {
            id: station.clone(),
            password: None,
        })
        .await
        .expect("station");
    let to = Utc::now();
    let past = chargeyard_sim::fleet::history(&cfg, to - Duration::days(1), to);
    let mut events = h.engine.subscribe();
    let mut sent = 0;
    for pc in past {
        let history = h
            .engine
            .history(&pc.station_id, Version::V16)
            .await
            .expect("accepted");
        let mut tx = 0;
        for e in pc.events {
            let call = match e {
                chargeyard_sim::fleet::PastEvent::Status(r) => {
                    ChargePointCall::StatusNotification(r)
                }
                chargeyard_sim::fleet::PastEvent::Start(r) => ChargePointCall::StartTransaction(r),
                chargeyard_sim::fleet::PastEvent::Meter(mut r) => {
                    r.transaction_id = Some(tx);
                    ChargePointCall::MeterValues(r)
                }
                chargeyard_sim::fleet::PastEvent::Stop(mut r) => {
                    r.transaction_id = tx;
                    ChargePointCall::StopTransaction(r)
                }
            };
            let start = matches!(call, ChargePointCall::StartTransaction(_));
            let answer = history
                .ingest(call.action().as_str(), call.payload())
                .await
                .expect("taken");
            if start {
                tx = answer["transactionId"].as_i64().expect("a transaction id");
            }
            sent += 1;
        }
    }
    assert!(sent > 100, "a day of history: {sent} messages");
    let stored = h
        .engine
        .transactions(&TransactionFilter {
            station_id: Some(station.clone()),
            ..Default::default()
        })
        .await
        .expect("sessions");
    assert!(stored.total > 0, "the day's sessions are stored");
    // Only one "reload this station" per connector reached the screens, not one per message.
    let mut seen = Vec::new();
    while let Ok(e) = events.try_recv() {
        seen.push(e);
    }
    assert!(
        !seen.is_empty()
            && seen.iter().all(|e| matches!(e,
                chargeyard_core::Event::StationUpdated { station_id } if *station_id == station)),
        "{seen:?}"
    );
    // BootNotification needs the station's own connection; a rejected station hands over nothing.
    let history = h
        .engine
        .history(&station, Version::V16)
        .await
        .expect("accepted");
    let boot = ChargePointCall::BootNotification(BootNotificationRequest {
        charge_point_vendor: ci("x"),
        charge_point_model: ci("y"),
        charge_box_serial_number: None,
        charge_point_serial_number: None,
        firmware_version: None,
        iccid: None,
        imsi: None,
        meter_serial_number: None,
        meter_type: None,
    });
    assert!(
        history
            .ingest(boot.action().as_str(), boot.payload())
            .await
            .is_err()
    );
    h.engine.reject_station(&station).await.expect("rejected");
    assert!(h.engine.history(&station, Version::V16).await.is_err());
    assert!(h.engine.history("NOBODY", Version::V16).await.is_err());
}
