//! Sessions over their life, as a depot manager meets them through the API and a charger through
//! OCPP: a remote start checked before it is sent, one running session per connector, sessions
//! started with a refused tag (not billed, closed once the charger shows they are over), the
//! operator closing a session the charger forgot, and the cost so far following every meter value.

use std::time::Duration;

use chargeyard_sim::{ChargePoint, SimConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::http::{Api, start};
use crate::{Raw, eventually, exchange};

/// A tariff of 2.00 per kWh and a session fee of 5.00 (VAT 25 %), applying by default.
async fn default_tariff(api: &Api) {
    let (s, t) = api
        .req(
            "POST",
            "/api/tariffs",
            Some(
                json!({"name": "Depot", "tariff": {"currency": "SEK", "vat_percent": "25",
                "prices": {"per_kwh": "2", "session_fee": "5"}}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{t}");
    let (s, v) = api
        .req(
            "PUT",
            "/api/tariff-assignments",
            Some(json!({"scope": "default", "tariff_id": t["id"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn accepted_tag(api: &Api, tag: &str) {
    let (s, v) = api
        .req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": tag, "status": "Accepted"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
}

/// A raw charger, booted, connector 1 reported Preparing.
async fn charger(api: &Api, id: &str) -> Raw {
    let mut ws = crate::raw_booted(&api.ocpp, id).await;
    status(&mut ws, "Preparing").await;
    ws
}

/// A message id of our own (unique in the test process).
fn id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

async fn status(ws: &mut Raw, status: &str) {
    let now = chrono::Utc::now().to_rfc3339();
    let r = exchange(
        ws,
        &json!([2, format!("st-{}", id()), "StatusNotification",
            {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": now}])
        .to_string(),
    )
    .await;
    assert_eq!(r[0], json!(3), "{r}");
}

/// StartTransaction on connector 1: (transaction id, idTagInfo status).
async fn start_tx(ws: &mut Raw, tag: &str, meter_start: i64) -> (i64, String) {
    let now = chrono::Utc::now().to_rfc3339();
    let r = exchange(
        ws,
        &json!([2, format!("start-{}", id()), "StartTransaction",
            {"connectorId": 1, "idTag": tag, "meterStart": meter_start, "timestamp": now}])
        .to_string(),
    )
    .await;
    (
        r[2]["transactionId"].as_i64().expect("an id"),
        r[2]["idTagInfo"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

async fn meter(ws: &mut Raw, tx: i64, register_wh: i64) {
    let now = chrono::Utc::now().to_rfc3339();
    let r = exchange(ws, &json!([2, format!("mv-{}", id()), "MeterValues", {"connectorId": 1,
        "transactionId": tx, "meterValue": [{"timestamp": now, "sampledValue": [
            {"value": register_wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}])
    .to_string())
    .await;
    assert_eq!(r[0], json!(3), "{r}");
}

async fn transaction(api: &Api, id: i64) -> Value {
    let (s, t) = api
        .req("GET", &format!("/api/transactions/{id}"), None)
        .await;
    assert_eq!(s, 200, "{t}");
    t
}

async fn running(api: &Api, station: &str) -> Vec<Value> {
    let (_, page) = api
        .req(
            "GET",
            &format!("/api/transactions?station_id={station}&open=true"),
            None,
        )
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// The remote start a depot manager presses is checked first: a tag we would refuse is never
/// sent (before, the charger accepted the remote start, its StartTransaction was answered
/// Invalid, and the session stayed running, billed, for ever); nor is a start on a connector
/// that already has a session.
#[tokio::test]
async fn a_remote_start_is_checked_before_it_is_sent() {
    let api = start().await;
    let (cp, _) = ChargePoint::connect(SimConfig::new(&api.ocpp, "CP1"))
        .await
        .expect("sim");
    cp.boot_and_report().await.expect("boot");
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/start",
            // `connector_id`, the field's name before 2.0.1, is still read.
            Some(json!({"connector_id": 1, "id_tag": "STRANGER"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("STRANGER") && m.contains("not known")),
        "a clear message: {v}"
    );
    api.req(
        "POST",
        "/api/id-tags",
        Some(json!({"id_tag": "BLOCKED", "status": "Blocked"})),
    )
    .await;
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/commands/RemoteStartTransaction",
            Some(json!({"connectorId": 1, "idTag": "BLOCKED"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].clone()),
        (400, json!("invalid")),
        "the composer checks the tag too: {v}"
    );
    assert!(
        cp.received().is_empty(),
        "nothing was sent to the charger: {:?}",
        cp.received()
    );

    accepted_tag(&api, "DRIVER").await;
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/start?actor=anna",
            Some(json!({"evse_id": 1, "id_tag": "DRIVER"})),
        )
        .await;
    assert_eq!((s, v["status"].clone()), (200, json!("Accepted")), "{v}");
    eventually("the session runs", || async {
        (running(&api, "CP1").await.len() == 1).then_some(())
    })
    .await;
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/start",
            Some(json!({"evse_id": 1, "id_tag": "DRIVER"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].clone()),
        (409, json!("conflict")),
        "one session per connector: {v}"
    );
    let (_, log) = api.req("GET", "/api/stations/CP1/commands", None).await;
    assert_eq!(
        (log[0]["action"].clone(), log[0]["actor"].clone()),
        (json!("RemoteStartTransaction"), json!("anna")),
        "the command log names who started it: {log}"
    );
}

/// A charger that starts a session with a tag we refuse (offline, or from its own list) is told
/// Invalid. The session is shown as such, priced at nothing and left off invoices, and it is
/// closed when the charger shows it is over without stopping it (the connector idle again, or a
/// reboot).
#[tokio::test]
async fn a_session_started_with_a_refused_tag_is_not_billed_and_is_closed_when_it_is_over() {
    let api = start().await;
    default_tariff(&api).await;
    let mut ws = charger(&api, "CP1").await;
    let (tx, answer) = start_tx(&mut ws, "STRANGER", 10_000).await;
    assert_eq!(answer, "Invalid");
    status(&mut ws, "Charging").await;
    meter(&mut ws, tx, 12_000).await;
    let t = transaction(&api, tx).await;
    assert_eq!(
        (
            t["start_auth_status"].clone(),
            t["cost"].clone(),
            t["stop_ts"].clone()
        ),
        (json!("Invalid"), Value::Null, Value::Null),
        "running, and not billed: {t}"
    );
    // The charger suspends it and the car leaves: nothing stops it but the connector's state.
    status(&mut ws, "Finishing").await;
    let t = eventually("the refused session closed", || async {
        let t = transaction(&api, tx).await;
        t["stop_ts"].is_string().then_some(t)
    })
    .await;
    assert_eq!(
        (
            t["stop_reason"].clone(),
            t["closed_by"].clone(),
            t["energy_wh"].clone(),
            t["cost"].clone()
        ),
        (
            json!("DeAuthorized"),
            json!("system"),
            json!(2000),
            Value::Null
        ),
        "{t}"
    );
    assert!(running(&api, "CP1").await.is_empty());

    // Another one, which a reboot ends.
    let (tx2, _) = start_tx(&mut ws, "STRANGER", 12_000).await;
    exchange(
        &mut ws,
        r#"[2,"b2","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#,
    )
    .await;
    let t = transaction(&api, tx2).await;
    assert_eq!(
        (t["stop_reason"].clone(), t["closed_by"].clone()),
        (json!("DeAuthorized"), json!("system")),
        "closed at the reboot: {t}"
    );

    // On the invoice: neither, and said so.
    let today = chrono::Utc::now().date_naive();
    let (s, r) = api
        .req(
            "POST",
            "/api/exports",
            Some(
                json!({"export": {"kind": "invoice", "from": today - chrono::Duration::days(1),
                "to": today + chrono::Duration::days(1)}}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["rows"].clone(), r["unbilled"].clone()),
        (json!(0), json!(2)),
        "{r}"
    );
}

/// A connector charges one car at a time: a new StartTransaction there ends the session the
/// charger never stopped, so the console never shows two running on one connector.
#[tokio::test]
async fn a_new_session_on_a_connector_closes_the_one_the_charger_forgot() {
    let api = start().await;
    accepted_tag(&api, "DRIVER").await;
    let mut ws = charger(&api, "CP1").await;
    let (old, _) = start_tx(&mut ws, "DRIVER", 1_000).await;
    meter(&mut ws, old, 4_000).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (new, _) = start_tx(&mut ws, "DRIVER", 5_000).await;
    let open = running(&api, "CP1").await;
    assert_eq!(
        open.iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        vec![json!(new)],
        "only the new session runs"
    );
    let t = transaction(&api, old).await;
    assert_eq!(
        (
            t["closed_by"].clone(),
            t["meter_stop"].clone(),
            t["stop_reason"].clone()
        ),
        (json!("system"), json!(4_000), json!("Other")),
        "the forgotten one ends at its last reading: {t}"
    );
}

/// The operator closes a session the charger has forgotten: it ends at its last reading, the
/// reason and who closed it are kept (in the session and the station's log), and a stop the
/// charger sends after all still counts.
#[tokio::test]
async fn the_operator_closes_a_forgotten_session_and_a_late_stop_still_counts() {
    let api = start().await;
    default_tariff(&api).await;
    accepted_tag(&api, "DRIVER").await;
    let mut ws = charger(&api, "CP1").await;
    let (tx, _) = start_tx(&mut ws, "DRIVER", 1_000).await;
    meter(&mut ws, tx, 11_000).await;

    let (s, v) = api
        .req(
            "POST",
            &format!("/api/transactions/{tx}/close?actor=anna"),
            Some(json!({"reason": "  "})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    let (s, t) = api
        .req(
            "POST",
            &format!("/api/transactions/{tx}/close?actor=anna"),
            Some(json!({"reason": "charger replaced, session lost"})),
        )
        .await;
    assert_eq!(s, 200, "{t}");
    assert_eq!(
        (
            t["closed_by"].clone(),
            t["close_note"].clone(),
            t["meter_stop"].clone()
        ),
        (
            json!("anna"),
            json!("charger replaced, session lost"),
            json!(11_000)
        ),
        "{t}"
    );
    // 10 kWh at 2.00 plus the 5.00 fee, 25 % VAT: 31.25.
    assert_eq!(t["cost"]["total"], json!(3125), "priced to its close: {t}");
    let (_, station) = api.req("GET", "/api/stations/CP1", None).await;
    let entry = station["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["kind"] == json!("transaction_closed")))
        .cloned()
        .expect("an entry in the station's log");
    assert_eq!(
        (
            entry["detail"]["by"].clone(),
            entry["detail"]["reason"].clone(),
            entry["detail"]["transaction_id"].clone()
        ),
        (
            json!("anna"),
            json!("charger replaced, session lost"),
            json!(tx)
        )
    );
    let (s, v) = api
        .req(
            "POST",
            &format!("/api/transactions/{tx}/close"),
            Some(json!({"reason": "again"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (409, json!("conflict")), "{v}");

    // The charger had it after all: its stop replaces the operator's.
    let now = chrono::Utc::now().to_rfc3339();
    exchange(
        &mut ws,
        &json!([2, "stop", "StopTransaction",
            {"transactionId": tx, "meterStop": 15_000, "timestamp": now, "reason": "Local"}])
        .to_string(),
    )
    .await;
    let t = eventually("the charger's stop priced", || async {
        let t = transaction(&api, tx).await;
        (t["cost"]["total"] == json!(4125)).then_some(t)
    })
    .await;
    assert_eq!(
        (
            t["meter_stop"].clone(),
            t["stop_reason"].clone(),
            t["closed_by"].clone()
        ),
        (json!(15_000), json!("Local"), Value::Null),
        "{t}"
    );
}

/// "Cost so far" follows every meter value, priced by the engine that prices the invoice; a new
/// session has its cost (the session fee) from its start.
#[tokio::test]
async fn the_cost_so_far_follows_every_meter_value() {
    let api = start().await;
    default_tariff(&api).await;
    accepted_tag(&api, "DRIVER").await;
    let (mut live, _) =
        tokio_tungstenite::connect_async(format!("{}/api/live", api.base.replace("http", "ws")))
            .await
            .expect("live stream");
    let mut ws = charger(&api, "CP1").await;
    let (tx, _) = start_tx(&mut ws, "DRIVER", 0).await;
    let mut next_cost = async || loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), live.next())
            .await
            .expect("events within 10 s")
            .expect("open")
            .expect("ok");
        let v: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
        match v["type"].as_str() {
            Some("transaction_started") => return v["transaction"]["cost"]["total"].clone(),
            Some("transaction_cost") if v["transaction_id"] == json!(tx) => {
                return v["cost"]["total"].clone();
            }
            _ => {}
        }
    };
    // 5.00 fee with VAT: 6.25.
    assert_eq!(next_cost().await, json!(625), "the new session's cost");
    let mut seen = Vec::new();
    for kwh in [1, 2, 3] {
        meter(&mut ws, tx, kwh * 1000).await;
        seen.push(next_cost().await);
    }
    assert_eq!(
        seen,
        vec![json!(875), json!(1125), json!(1375)],
        "2.00 a kWh more with each meter value"
    );
    let t = transaction(&api, tx).await;
    assert_eq!(
        t["cost"]["total"],
        json!(1375),
        "the same as the session priced through the API"
    );
}
