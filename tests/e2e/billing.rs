//! Tariffs over the HTTP API and sessions over real OCPP frames, priced by the cost engine:
//! priority of group over station over default, version stability, clear errors.

use serde_json::{Value, json};

use crate::exchange;
use crate::http::{Api, start};

/// One session over raw frames: start at `t0` with `meter_start`, a sample, stop 2 h later.
pub(crate) async fn session(
    api: &Api,
    station: &str,
    tag: &str,
    t0: &str,
    meter_start: i64,
    meter_stop: i64,
) -> i64 {
    let mut ws = crate::raw_booted(&api.ocpp, station).await;
    let at = |h: i64| {
        (chrono::DateTime::parse_from_rfc3339(t0).expect("t0") + chrono::Duration::hours(h))
            .to_rfc3339()
    };
    let started = exchange(
        &mut ws,
        &json!([2, "s", "StartTransaction",
        {"connectorId": 1, "idTag": tag, "meterStart": meter_start, "timestamp": at(0)}])
        .to_string(),
    )
    .await;
    let tx = started[2]["transactionId"]
        .as_i64()
        .expect("transaction id");
    exchange(&mut ws, &json!([2, "m", "MeterValues", {"connectorId": 1, "transactionId": tx, "meterValue": [
        {"timestamp": at(1), "sampledValue": [{"value": ((meter_start + meter_stop) / 2).to_string(),
         "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}]).to_string()).await;
    exchange(
        &mut ws,
        &json!([2, "e", "StopTransaction",
        {"transactionId": tx, "meterStop": meter_stop, "timestamp": at(2)}])
        .to_string(),
    )
    .await;
    tx
}

/// Accepted tags, each of a customer group or of none.
pub(crate) async fn customer_tags(api: &Api, tags: &[(&str, Option<&str>)]) {
    for (tag, group) in tags {
        api.req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": tag, "status": "Accepted",
            "group_kind": group.map(|_| "customer"), "group_name": group})),
        )
        .await;
    }
}

fn visitors(per_kwh: &str) -> Value {
    json!({"name": "Visitors", "tariff": {"currency": "SEK", "vat_percent": "25",
        "prices": {"per_kwh": per_kwh, "session_fee": "5"}}})
}

#[tokio::test]
async fn sessions_are_priced_by_group_station_or_default_tariff_and_keep_their_version() {
    let api = start().await;
    for id in ["CP-A", "CP-B"] {
        api.req("POST", "/api/stations", Some(json!({"id": id})))
            .await;
    }
    customer_tags(&api, &[("VISITOR", None), ("FLEET", Some("Own fleet"))]).await;
    let (s, visitors_t) = api
        .req("POST", "/api/tariffs", Some(visitors("2.50")))
        .await;
    assert_eq!(
        (s, visitors_t["version"].clone()),
        (201, json!(1)),
        "{visitors_t}"
    );
    let (_, free) = api
        .req(
            "POST",
            "/api/tariffs",
            Some(json!({"name": "Own fleet free",
        "tariff": {"currency": "SEK", "vat_percent": "25", "prices": {}}})),
        )
        .await;
    let (_, depot_b) = api
        .req(
            "POST",
            "/api/tariffs",
            Some(json!({"name": "Station B",
        "tariff": {"currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": "4"}}})),
        )
        .await;
    for (scope, target, tariff) in [
        ("default", "", &visitors_t),
        ("group", "customer:Own fleet", &free),
        ("station", "CP-B", &depot_b),
    ] {
        let (s, v) = api
            .req(
                "PUT",
                "/api/tariff-assignments",
                Some(json!({"scope": scope, "target": target, "tariff_id": tariff["id"]})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, order) = api.req("GET", "/api/tariff-assignments", None).await;
    let scopes: Vec<_> = order
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["scope"].clone())
        .collect();
    assert_eq!(
        scopes,
        [json!("group"), json!("station"), json!("default")],
        "shown in priority order"
    );

    // 20 kWh on A for a visitor: 20 × 2.50 + 5 = 55.00 net, 13.75 VAT, 68.75 in all.
    let tx = session(
        &api,
        "CP-A",
        "VISITOR",
        "2026-05-04T10:00:00Z",
        1_000,
        21_000,
    )
    .await;
    let (_, t) = api
        .req("GET", &format!("/api/transactions/{tx}"), None)
        .await;
    let cost = &t["cost"];
    assert_eq!(
        (
            cost["energy"].clone(),
            cost["session_fee"].clone(),
            cost["net"].clone(),
            cost["vat"].clone(),
            cost["total"].clone()
        ),
        (
            json!(5_000),
            json!(500),
            json!(5_500),
            json!(1_375),
            json!(6_875)
        ),
        "{t}"
    );
    assert_eq!(
        (cost["energy_wh"].clone(), cost["plugged_seconds"].clone()),
        (json!(20_000), json!(7_200))
    );

    // Editing the tariff adds a version; the past session keeps its price, a new one gets the new.
    let (s, v2) = api
        .req(
            "PUT",
            &format!("/api/tariffs/{}", visitors_t["id"]),
            Some(visitors("3.00")),
        )
        .await;
    assert_eq!((s, v2["version"].clone()), (200, json!(2)), "{v2}");
    let (_, again) = api
        .req("GET", &format!("/api/transactions/{tx}"), None)
        .await;
    assert_eq!(
        again["cost"], t["cost"],
        "an edited tariff never changes a past session"
    );
    let tx2 = session(
        &api,
        "CP-A",
        "VISITOR",
        "2026-05-05T10:00:00Z",
        21_000,
        41_000,
    )
    .await;
    let (_, t2) = api
        .req("GET", &format!("/api/transactions/{tx2}"), None)
        .await;
    assert_eq!(t2["cost"]["energy"], json!(6_000));
    assert_ne!(t2["tariff_version_id"], t["tariff_version_id"]);

    // The fleet's group tariff wins over station and default; the station's over the default.
    let fleet = session(&api, "CP-B", "FLEET", "2026-05-06T10:00:00Z", 0, 10_000).await;
    let on_b = session(
        &api,
        "CP-B",
        "VISITOR",
        "2026-05-07T10:00:00Z",
        10_000,
        20_000,
    )
    .await;
    let (_, list) = api
        .req("GET", "/api/transactions?station_id=CP-B", None)
        .await;
    let total = |id: i64| {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|x| x["id"] == json!(id))
            .map(|x| x["cost"]["total"].clone())
    };
    assert_eq!(total(fleet), Some(json!(0)), "own fleet free");
    assert_eq!(total(on_b), Some(json!(5_000)), "10 kWh × 4.00 + 25% VAT");

    // Clear errors: a bad tariff names its fields; a used tariff cannot be deleted.
    let (s, e) = api.req("POST", "/api/tariffs", Some(json!({"name": "", "tariff": {"currency": "kronor",
        "vat_percent": "25", "prices": {}, "windows": [{"days": [9], "start": "7", "end": "08:00", "prices": {}}]}}))).await;
    let msg = e["message"].as_str().unwrap_or_default();
    assert_eq!((s, e["code"].clone()), (400, json!("invalid")), "{e}");
    for field in ["name", "currency", "windows[0].days", "windows[0].start"] {
        assert!(msg.contains(field), "{field} in {msg}");
    }
    let (s, e) = api.req("POST", "/api/tariffs", Some(json!({"name": "X", "tariff": {"currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": 2.5}}}))).await;
    assert_eq!(
        (s, e["code"].clone()),
        (400, json!("invalid")),
        "a price as a JSON number is refused: {e}"
    );
    let (s, e) = api
        .req(
            "DELETE",
            &format!("/api/tariffs/{}", visitors_t["id"]),
            None,
        )
        .await;
    assert_eq!((s, e["code"].clone()), (409, json!("conflict")), "{e}");
    let (s, e) = api
        .req(
            "PUT",
            "/api/tariff-assignments",
            Some(json!({"scope": "group", "target": "Own fleet", "tariff_id": 1})),
        )
        .await;
    assert_eq!((s, e["code"].clone()), (400, json!("invalid")), "{e}");
    let (_, unused) = api.req("POST", "/api/tariffs", Some(json!({"name": "Unused", "tariff": {"currency": "EUR", "vat_percent": "0", "prices": {}}}))).await;
    assert_eq!(
        api.req("DELETE", &format!("/api/tariffs/{}", unused["id"]), None)
            .await
            .0,
        204
    );
}
