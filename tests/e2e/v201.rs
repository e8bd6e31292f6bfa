//! An OCPP 2.0.1 charger served end to end, the way a depot uses one: it connects to the same URL
//! as 1.6 chargers, boots, reports its EVSEs, authorizes tokens, charges in TransactionEvents
//! (also offline, replayed later), is priced and told its running cost, and takes every command
//! the console has for it. Every frame both ways is checked against the official 2.0.1 schemas.

use chargeyard_core::EngineConfig;
use chargeyard_ocpp::v16::{AuthorizationStatus, ChargePointStatus, Reason};
use chargeyard_sim::{ChargePoint, SimConfig};
use serde_json::{Value, json};

use crate::http::{Api, start_with};
use crate::{Harness, assert_frames_schema_valid, config, eventually, exchange, raw_with};

fn quick_costs() -> EngineConfig {
    EngineConfig {
        cost_update_interval: std::time::Duration::ZERO,
        ..config()
    }
}

/// A default tariff of 3 SEK per kWh and an accepted tag.
async fn depot(api: &Api) {
    let (s, t) = api
        .req(
            "POST",
            "/api/tariffs",
            Some(json!({"name": "Depot",
                "tariff": {"currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": "3"}}})),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let (s, v) = api
        .req(
            "PUT",
            "/api/tariff-assignments",
            Some(json!({"scope": "default", "target": "", "tariff_id": t["id"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = api
        .req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": "DRIVER", "status": "Accepted"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

async fn charger(ocpp: &str, id: &str) -> ChargePoint {
    let (cp, _) = ChargePoint::connect(SimConfig::v201(ocpp, id))
        .await
        .expect("connects");
    assert_eq!(cp.protocol(), Some("ocpp2.0.1"), "2.0.1 is chosen");
    let boot = cp.boot_and_report().await.expect("boots");
    assert_eq!(boot.status.as_str(), "Accepted");
    cp
}

async fn sessions(api: &Api, station: &str) -> Vec<Value> {
    let (s, v) = api
        .req(
            "GET",
            &format!("/api/transactions?station_id={station}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn a_201_charger_charges_and_is_priced_like_any_other() {
    let api = start_with(quick_costs()).await;
    depot(&api).await;
    let cp = charger(&api.ocpp, "NEW1").await;
    let st = eventually("both EVSEs reported", || async {
        let (_, st) = api.req("GET", "/api/stations/NEW1", None).await;
        (st["connectors"].as_array()?.len() == 2).then_some(st)
    })
    .await;
    assert_eq!(st["protocol"], "ocpp2.0.1");
    assert_eq!(st["vendor"], "Chargeyard");
    for (i, c) in st["connectors"]
        .as_array()
        .expect("list")
        .iter()
        .enumerate()
    {
        assert_eq!(
            (&c["evse_id"], &c["connector_id"], &c["state"]),
            (&json!(i + 1), &json!(1), &json!("Available")),
            "{c}"
        );
    }

    assert_eq!(
        cp.authorize("DRIVER").await.expect("answer"),
        AuthorizationStatus::Accepted
    );
    assert_eq!(
        cp.authorize("STRANGER").await.expect("answer"),
        AuthorizationStatus::Invalid
    );
    let start = cp.start_transaction(1, "DRIVER").await.expect("started");
    assert_eq!(start.id_tag_info.status, AuthorizationStatus::Accepted);
    let tx_id = cp.transaction_id_v201(1).expect("running");
    cp.charge_with_soc(1, 2000, 11000.0, 40.0)
        .await
        .expect("sample");
    cp.status(1, ChargePointStatus::SuspendedEV)
        .await
        .expect("paused by the car");
    eventually("the charging state is the connector's state", || async {
        let (_, st) = api.req("GET", "/api/stations/NEW1", None).await;
        (st["connectors"][0]["state"] == "SuspendedEV"
            && st["connectors"][0]["status"] == "Occupied")
            .then_some(())
    })
    .await;
    cp.status(1, ChargePointStatus::Charging)
        .await
        .expect("again");
    cp.charge_with_soc(1, 2000, 11000.0, 45.0)
        .await
        .expect("sample");
    let told = eventually("the charger is told the cost so far", || async {
        cp.costs_received()
            .into_iter()
            .rfind(|(id, total)| *id == tx_id && *total > 0.0)
    })
    .await;
    // 4 kWh at 3 SEK plus 25 % VAT.
    assert!(told.1 <= 15.0, "{told:?}");

    let running = sessions(&api, "NEW1").await;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0]["stop_ts"], Value::Null);
    cp.stop_transaction(1, Reason::Local)
        .await
        .expect("stopped");
    let t = eventually("the session ends and is priced", || async {
        let t = sessions(&api, "NEW1").await.first()?.clone();
        (t["stop_ts"].is_string() && t["cost"].is_object()).then_some(t)
    })
    .await;
    assert_eq!(
        (
            &t["protocol"],
            &t["charger_tx_id"],
            &t["evse_id"],
            &t["connector_id"],
            &t["id_tag"],
            &t["id_token_type"],
        ),
        (
            &json!("ocpp2.0.1"),
            &json!(tx_id),
            &json!(1),
            &json!(1),
            &json!("DRIVER"),
            &json!("ISO14443")
        ),
        "{t}"
    );
    assert_eq!(
        (&t["meter_start"], &t["meter_stop"], &t["stop_reason"]),
        (&json!(1_000_000), &json!(1_004_000), &json!("Local")),
        "{t}"
    );
    assert_eq!(t["cost"]["energy_wh"], json!(4000), "{t}");
    assert_eq!(
        t["cost"]["total"],
        json!(1500),
        "4 kWh × 3 SEK + 25 % VAT: {t}"
    );
    let (_, samples) = api
        .req(
            "GET",
            &format!("/api/meter-values?transaction_id={}", t["id"]),
            None,
        )
        .await;
    let samples = samples.as_array().expect("samples").clone();
    assert!(
        samples
            .iter()
            .any(|s| s["measurand"] == "SoC" && s["value"] == json!(45.0)),
        "{samples:?}"
    );
    assert!(samples.iter().all(|s| s["evse_id"] == json!(1)));
    assert!(assert_frames_schema_valid(&api.engine, "NEW1").await > 10);
}

/// The console's commands, each sent as the 2.0.1 message that says it and answered by the
/// charger; the composer's raw 2.0.1 commands too.
#[tokio::test]
async fn every_command_reaches_a_201_charger_in_its_own_words() {
    let api = start_with(config()).await;
    depot(&api).await;
    let cp = charger(&api.ocpp, "NEW2").await;
    let last = |action: &str| {
        cp.received()
            .into_iter()
            .rfind(|r| r.action == action)
            .unwrap_or_else(|| panic!("{action} received"))
    };
    let post = |path: &'static str, body: Value| {
        let api = &api;
        async move {
            let (s, v) = api
                .req("POST", &format!("/api/stations/NEW2/{path}"), Some(body))
                .await;
            assert_eq!(s, 200, "{path}: {v}");
            v
        }
    };

    let r = post("start", json!({"evse_id": 1, "id_tag": "DRIVER"})).await;
    assert_eq!(r["status"], "Accepted");
    let asked = last("RequestStartTransaction");
    assert_eq!(asked.payload["evseId"], 1);
    assert_eq!(asked.payload["idToken"]["idToken"], "DRIVER");
    let tx = eventually("the remote start's transaction", || async {
        sessions(&api, "NEW2").await.first().cloned()
    })
    .await;
    assert_eq!(
        tx["remote_start_id"], asked.payload["remoteStartId"],
        "linked to the request: {tx}"
    );
    let r = post("stop", json!({"transaction_id": tx["id"]})).await;
    assert_eq!(r["status"], "Accepted");
    assert_eq!(
        last("RequestStopTransaction").payload["transactionId"],
        tx["charger_tx_id"]
    );
    eventually("stopped remotely", || async {
        let t = sessions(&api, "NEW2").await.first()?.clone();
        (t["stop_reason"] == "Remote").then_some(())
    })
    .await;

    assert_eq!(
        post("reset", json!({"hard": false})).await["status"],
        "Accepted"
    );
    assert_eq!(last("Reset").payload, json!({"type": "OnIdle"}));
    assert_eq!(
        post("unlock", json!({"evse_id": 2})).await["status"],
        "Unlocked"
    );
    assert_eq!(
        last("UnlockConnector").payload,
        json!({"evseId": 2, "connectorId": 1})
    );
    let r = post("availability", json!({"evse_id": 2, "operative": false})).await;
    assert_eq!(r["status"], "Accepted");
    eventually("EVSE 2 unavailable", || async {
        let (_, st) = api.req("GET", "/api/stations/NEW2", None).await;
        (st["connectors"][1]["state"] == "Unavailable").then_some(())
    })
    .await;
    for (message, evse) in [
        ("StatusNotification", Some(1)),
        ("Heartbeat", None),
        ("MeterValues", Some(1)),
        ("LogStatusNotification", None),
        ("FirmwareStatusNotification", None),
    ] {
        let r = post("trigger", json!({"message": message, "evse_id": evse})).await;
        assert_eq!(r["status"], "Accepted", "{message}");
        assert_eq!(last("TriggerMessage").payload["requestedMessage"], message);
    }
    eventually("the triggered LogStatusNotification arrives", || async {
        let (_, st) = api.req("GET", "/api/stations/NEW2", None).await;
        (st["diagnostics_status"] == "Idle").then_some(())
    })
    .await;
    assert_eq!(post("clear-cache", json!({})).await["status"], "Accepted");

    // The device model as the configuration view.
    let (s, conf) = api
        .req("GET", "/api/stations/NEW2/configuration", None)
        .await;
    assert_eq!(s, 200, "{conf}");
    assert_eq!(conf["protocol"], "ocpp2.0.1");
    let key = |k: &str| {
        conf["keys"]
            .as_array()
            .and_then(|ks| ks.iter().find(|x| x["key"] == k).cloned())
            .unwrap_or_else(|| panic!("{k} in {conf}"))
    };
    let hb = key("OCPPCommCtrlr/HeartbeatInterval");
    assert_eq!(
        (&hb["value"], &hb["readonly"]),
        (&json!("300"), &json!(false))
    );
    assert_eq!(hb["variable"]["mutability"], "ReadWrite");
    assert_eq!(key("SecurityCtrlr/SecurityProfile")["readonly"], true);
    assert_eq!(
        key("SecurityCtrlr/BasicAuthPassword")["value"],
        Value::Null,
        "write-only: no value shown"
    );
    let (s, results) = api
        .req(
            "PUT",
            "/api/stations/NEW2/configuration",
            Some(json!([
                {"key": "OCPPCommCtrlr/HeartbeatInterval", "value": "120"},
                {"key": "SecurityCtrlr/SecurityProfile", "value": "2"},
                {"key": "VendorNetworkCtrlr/Mode", "value": "lte"},
                {"key": "Nope/Thing", "value": "1"},
            ])),
        )
        .await;
    assert_eq!(s, 200, "{results}");
    let statuses: Vec<&str> = results
        .as_array()
        .expect("a result per variable")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        statuses,
        ["Accepted", "Rejected", "RebootRequired", "UnknownComponent"],
        "{results}"
    );
    assert_eq!(
        cp.variable("OCPPCommCtrlr", "HeartbeatInterval").as_deref(),
        Some("120")
    );

    let r = post("local-list", json!({"update_type": "Full"})).await;
    assert_eq!(
        (r["list_version"].as_i64(), r["status"].as_str()),
        (Some(1), Some("Accepted"))
    );
    assert_eq!(
        last("SendLocalList").payload["localAuthorizationList"][0]["idToken"]["idToken"],
        "DRIVER"
    );

    // A password is given to the charger before it is required.
    let (s, v) = api
        .req(
            "PUT",
            "/api/stations/NEW2/password",
            Some(json!({"password": "a-2.0.1-password-of-depot"})),
        )
        .await;
    assert_eq!((s, &v["required"]), (200, &json!(true)), "{v}");
    assert_eq!(cp.password().as_deref(), Some("a-2.0.1-password-of-depot"));
    let set = last("SetVariables");
    assert_eq!(
        set.payload["setVariableData"][0]["variable"]["name"],
        "BasicAuthPassword"
    );

    // Diagnostics (GetLog) to this laptop, and firmware from it.
    let job = post("diagnostics", json!({})).await;
    let done = eventually("the log arrives", || async {
        let (_, list) = api.req("GET", "/api/stations/NEW2/transfers", None).await;
        list.as_array()?
            .iter()
            .find(|t| t["id"] == job["id"] && t["state"] == "transferred")
            .cloned()
    })
    .await;
    assert!(
        done["file_name"]
            .as_str()
            .is_some_and(|n| n.ends_with("log-NEW2.txt")),
        "{done}"
    );
    assert_eq!(last("GetLog").payload["logType"], "DiagnosticsLog");
    eventually("the charger reports Uploaded", || async {
        let (_, st) = api.req("GET", "/api/stations/NEW2", None).await;
        (st["diagnostics_status"] == "Uploaded").then_some(())
    })
    .await;
    use base64::Engine as _;
    let image = b"firmware for 2.0.1".to_vec();
    post(
        "firmware",
        json!({"file_name": "fw.bin",
            "content_base64": base64::engine::general_purpose::STANDARD.encode(&image)}),
    )
    .await;
    eventually("the firmware is installed", || async {
        let (_, st) = api.req("GET", "/api/stations/NEW2", None).await;
        (st["firmware_status"] == "Installed").then_some(())
    })
    .await;
    assert_eq!(cp.firmware_downloads()[0].1, image);

    // The composer: raw 2.0.1 commands, checked against 2.0.1, answered by the charger.
    let raw = |action: &'static str, body: Value| {
        let api = &api;
        async move {
            let (s, v) = api
                .req(
                    "POST",
                    &format!("/api/stations/NEW2/commands/{action}"),
                    Some(body),
                )
                .await;
            (s, v["response"].clone(), v)
        }
    };
    let profile = json!({"evseId": 1, "chargingProfile": {
        "id": 7, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": [{"id": 1, "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}]}]}});
    let expect = [
        ("SetChargingProfile", profile, "status", "Accepted"),
        (
            "GetChargingProfiles",
            json!({"requestId": 3, "chargingProfile": {"chargingProfilePurpose": "TxDefaultProfile"}}),
            "status",
            "Accepted",
        ),
        (
            "GetCompositeSchedule",
            json!({"duration": 3600, "evseId": 1}),
            "status",
            "Accepted",
        ),
        (
            "ClearChargingProfile",
            json!({"chargingProfileId": 7}),
            "status",
            "Accepted",
        ),
        (
            "ReserveNow",
            json!({"id": 5, "expiryDateTime": "2030-01-01T00:00:00Z",
                "idToken": {"idToken": "DRIVER", "type": "ISO14443"}, "evseId": 1}),
            "status",
            "Accepted",
        ),
        (
            "CancelReservation",
            json!({"reservationId": 5}),
            "status",
            "Accepted",
        ),
        ("GetLocalListVersion", json!({}), "versionNumber", "1"),
        (
            "DataTransfer",
            json!({"vendorId": "chargeyard.sim", "data": "x"}),
            "status",
            "Accepted",
        ),
    ];
    for (action, body, field, want) in expect {
        let (s, answer, all) = raw(action, body).await;
        assert_eq!(s, 200, "{action}: {all}");
        let got = match &answer[field] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(got, want, "{action}: {answer}");
    }
    let (_, answer, _) = raw("GetTransactionStatus", json!({})).await;
    assert_eq!(answer["messagesInQueue"], false);
    let (_, answer, _) = raw(
        "GetVariables",
        json!({"getVariableData": [{"component": {"name": "OCPPCommCtrlr"},
            "variable": {"name": "HeartbeatInterval"}}]}),
    )
    .await;
    assert_eq!(answer["getVariableResult"][0]["attributeValue"], "120");
    let (s, _, v) = raw("RemoteStartTransaction", json!({"idTag": "DRIVER"})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (400, Some("invalid")),
        "a 1.6 command: {v}"
    );
    let (s, _, v) = raw(
        "SetDisplayMessage",
        json!({"message": {"id": 1, "priority": "NormalCycle",
            "message": {"format": "UTF8", "content": "Hello"}}}),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (502, Some("call_error")), "{v}");

    // Every composer template of 2.0.1 passes the check sending makes.
    let (s, templates) = api
        .req("GET", "/api/ocpp/commands?protocol=ocpp2.0.1", None)
        .await;
    assert_eq!(s, 200);
    let templates = templates.as_array().expect("templates").clone();
    assert!(templates.len() > 30, "{}", templates.len());
    for t in &templates {
        let (s, v) = api
            .req(
                "POST",
                &format!(
                    "/api/ocpp/commands/{}/check?protocol=ocpp2.0.1",
                    t["action"].as_str().expect("action")
                ),
                Some(t["payload"].clone()),
            )
            .await;
        assert_eq!(s, 204, "{}: {v}", t["action"]);
    }
    assert!(assert_frames_schema_valid(&api.engine, "NEW2").await > 40);
}

/// Transaction events sent while the charger was offline arrive later, marked offline and with
/// their old timestamps; each is stored once however often it is sent, in whatever order.
#[tokio::test]
async fn offline_transaction_events_are_replayed_once() {
    let h = Harness::open().await;
    h.engine
        .create_id_tag(
            "DRIVER",
            chargeyard_core::store::id_tags::TagFields {
                status: "Accepted".into(),
                ..Default::default()
            },
        )
        .await
        .expect("tag");
    let cp = charger(&h.url, "OFF1").await;
    cp.authorize("DRIVER").await.expect("cached");
    cp.start_transaction(1, "DRIVER")
        .await
        .expect("online start");
    let online_tx = cp.transaction_id_v201(1).expect("running");
    cp.charge(1, 1000, 7000.0).await.expect("online sample");
    cp.go_offline();
    cp.charge(1, 1000, 7000.0).await.expect("queued");
    cp.stop_transaction(1, Reason::Local)
        .await
        .expect("queued stop");
    // A whole transaction while offline, on EVSE 2, with the cached tag.
    cp.start_transaction(2, "DRIVER")
        .await
        .expect("offline start");
    let offline_tx = cp.transaction_id_v201(2).expect("running offline");
    cp.charge(2, 500, 7000.0).await.expect("queued");
    cp.stop_transaction(2, Reason::EVDisconnected)
        .await
        .expect("queued stop");
    let went_offline = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let replayed = cp.reconnect().await.expect("reconnects");
    assert_eq!(replayed, 5, "Updated, Ended, then Started, Updated, Ended");

    let all = h
        .engine
        .transactions(&Default::default())
        .await
        .expect("sessions")
        .items;
    assert_eq!(all.len(), 2, "{all:?}");
    let by = |id: &str| {
        all.iter()
            .find(|t| t.charger_tx_id == id)
            .unwrap_or_else(|| panic!("{id} stored"))
            .clone()
    };
    let (a, b) = (by(&online_tx), by(&offline_tx));
    assert_eq!(
        (a.meter_stop, a.stop_reason.as_deref()),
        (Some(1_002_000), Some("Local"))
    );
    assert_eq!(
        (
            b.evse_id,
            b.meter_start,
            b.meter_stop,
            b.stop_reason.as_deref()
        ),
        (2, Some(1_002_000), Some(1_002_500), Some("EVDisconnected"))
    );
    assert!(
        b.start_ts < went_offline && b.stop_ts.is_some_and(|s| s < went_offline),
        "kept with the time it happened: {b:?}"
    );

    // The same events again (a charger that did not see our answer sends them again): the same
    // answer, nothing twice. Out of order and with a gap too.
    let samples = || async {
        h.engine
            .meter_samples(&chargeyard_core::store::meter::SampleFilter {
                transaction_id: Some(a.id),
                ..Default::default()
            })
            .await
            .expect("samples")
            .len()
    };
    let before = samples().await;
    let event = |kind: &str, seq: i64, wh: i64| {
        json!({
            "eventType": kind, "timestamp": "2026-01-01T10:00:00Z", "triggerReason": "MeterValuePeriodic",
            "seqNo": seq, "offline": true,
            "transactionInfo": {"transactionId": online_tx, "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "DRIVER", "type": "ISO14443"},
            "meterValue": [{"timestamp": "2026-01-01T10:00:00Z", "sampledValue": [
                {"value": wh, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}]}],
        })
    };
    let first = cp
        .call_raw("TransactionEvent", event("Started", 0, 1_000_000))
        .await
        .expect("answered");
    assert_eq!(first["idTokenInfo"]["status"], "Accepted", "{first}");
    cp.call_raw("TransactionEvent", event("Updated", 1, 1_001_000))
        .await
        .expect("answered");
    assert_eq!(samples().await, before, "a replayed event adds no samples");
    assert_eq!(
        h.engine
            .transactions(&Default::default())
            .await
            .expect("sessions")
            .total,
        2,
        "a replayed Started creates nothing"
    );
    // seqNo 9 then 7: a gap and out of order, both kept once.
    for seq in [9, 7, 9] {
        cp.call_raw("TransactionEvent", event("Updated", seq, 1_001_500 + seq))
            .await
            .expect("answered");
    }
    assert_eq!(samples().await, before + 2);
    assert!(assert_frames_schema_valid(&h.engine, "OFF1").await > 10);
}

/// Bad 2.0.1 frames get 2.0.1's error codes, spelled as its table spells them, and the
/// connection stays; while a charger is Pending, other messages than BootNotification get
/// SecurityError.
#[tokio::test]
async fn bad_201_frames_get_201_error_codes_and_the_connection_stays() {
    let h = Harness::start(EngineConfig {
        unknown_stations: chargeyard_core::UnknownStations::Pending,
        ..config()
    })
    .await;
    let mut ws = raw_with(&h.url, "RAW2", "ocpp2.0.1").await;
    let boot_frame = r#"[2,"b","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]"#;
    let boot = exchange(&mut ws, boot_frame).await;
    assert_eq!(boot[2]["status"], "Pending", "{boot}");
    let early = exchange(&mut ws, r#"[2,"h0","Heartbeat",{}]"#).await;
    assert_eq!(
        (early[0].as_i64(), early[2].as_str()),
        (Some(4), Some("SecurityError")),
        "{early}"
    );
    // Accepted in the inbox: the charger is asked to boot again, and is let in.
    h.engine
        .accept_station(
            "RAW2",
            serde_json::from_value(json!({})).expect("no password"),
            "test",
        )
        .await
        .expect("accepted");
    let trigger = crate::next_json(&mut ws).await;
    assert_eq!(trigger[2], "TriggerMessage", "{trigger}");
    assert_eq!(trigger[3]["requestedMessage"], "BootNotification");
    let answer = format!(r#"[3,{},{{"status":"Accepted"}}]"#, trigger[1]);
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::text(answer))
        .await
        .expect("send");
    let boot = exchange(&mut ws, boot_frame).await;
    assert_eq!(boot[2]["status"], "Accepted", "{boot}");
    let cases = [
        (r#"[2,"j1","Heartbeat",{"#, "j1", "FormatViolation"),
        (
            r#"[2,"o1","StatusNotification",{"timestamp":"2026-01-01T00:00:00Z","connectorStatus":"Available","connectorId":1}]"#,
            "o1",
            "OccurenceConstraintViolation",
        ),
        (
            r#"[2,"t1","StatusNotification",{"timestamp":"2026-01-01T00:00:00Z","connectorStatus":"Available","evseId":true,"connectorId":1}]"#,
            "t1",
            "TypeConstraintViolation",
        ),
        (r#"[2,"a1","FooBar",{}]"#, "a1", "NotImplemented"),
        (
            r#"[2,"a2","StartTransaction",{"connectorId":1,"idTag":"T","meterStart":0,"timestamp":"2024-01-01T00:00:00Z"}]"#,
            "a2",
            "NotImplemented",
        ),
        (r#"[2,"p1","Heartbeat"]"#, "p1", "ProtocolError"),
    ];
    for (frame, id, code) in cases {
        let answer = exchange(&mut ws, frame).await;
        assert_eq!(
            (answer[0].as_i64(), answer[1].as_str(), answer[2].as_str()),
            (Some(4), Some(id), Some(code)),
            "{frame}: {answer}"
        );
    }
    for frame in [r#"{"not":"an array"}"#, r#"[2,17,"Heartbeat",{}]"#] {
        let answer = exchange(&mut ws, frame).await;
        assert_eq!(
            (answer[0].as_i64(), answer[1].as_str(), answer[2].as_str()),
            (Some(4), Some("-1"), Some("RpcFrameworkError")),
            "{frame}: {answer}"
        );
    }
    let dt = exchange(&mut ws, r#"[2,"d1","DataTransfer",{"vendorId":"acme"}]"#).await;
    assert_eq!(dt[2]["status"], "UnknownVendorId", "{dt}");
    let hb = exchange(&mut ws, r#"[2,"h1","Heartbeat",{}]"#).await;
    assert_eq!(
        (hb[0].as_i64(), hb[1].as_str()),
        (Some(3), Some("h1")),
        "still open: {hb}"
    );
}
