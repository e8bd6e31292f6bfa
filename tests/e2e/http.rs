//! The JSON HTTP API and the live event stream, over real sockets, as the UI and scripts use it.

use std::time::Duration;

use chargeyard_core::Engine;
use chargeyard_sim::ChargePoint;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::sync::CancellationToken;

use crate::{config, eventually};

pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) ocpp: String,
    /// The same over TLS.
    pub(crate) ocpp_tls: String,
    pub(crate) engine: Engine,
    http: reqwest::Client,
    pub(crate) dir: tempfile::TempDir,
    _stop: tokio_util::sync::DropGuard,
}

pub(crate) async fn start() -> Api {
    start_with(config()).await
}

pub(crate) async fn start_with(cfg: chargeyard_core::EngineConfig) -> Api {
    start_console(cfg, Default::default()).await
}

/// The server with the console served as `console` says (e.g. asking for a login).
pub(crate) async fn start_console(
    cfg: chargeyard_core::EngineConfig,
    console: chargeyard_server::ConsoleOptions,
) -> Api {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(cfg, &dir.path().join("c.db"))
        .await
        .expect("engine");
    let stop = CancellationToken::new();
    let at = chargeyard_server::Addresses::loopback();
    let (bound, _) = chargeyard_server::serve(engine.clone(), at, console, stop.clone())
        .await
        .expect("serve");
    Api {
        base: format!("http://{}", bound.http),
        ocpp: format!("ws://{}/ocpp", bound.ocpp),
        ocpp_tls: format!("wss://{}/ocpp", bound.ocpp_tls.expect("wss:// listens")),
        engine,
        http: reqwest::Client::new(),
        dir,
        _stop: stop.drop_guard(),
    }
}

impl Api {
    pub(crate) async fn req(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.send(method, path, |r| match body {
            Some(b) => r.json(&b),
            None => r,
        })
        .await
    }

    /// A file as downloaded: status, Content-Disposition, bytes.
    pub(crate) async fn download(&self, path: &str) -> (u16, String, Vec<u8>) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let disposition = resp
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let status = resp.status().as_u16();
        (
            status,
            disposition,
            resp.bytes().await.expect("body").to_vec(),
        )
    }

    /// A text body (CSV imports).
    async fn text(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        let body = body.to_string();
        self.send(method, path, |r| {
            r.header("content-type", "text/csv").body(body)
        })
        .await
    }

    /// A request with a session cookie (`token`), as a browser signed in sends it: status, the
    /// `Set-Cookie` answered, body.
    pub(crate) async fn as_operator(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String, Value) {
        let url = format!("{}{path}", self.base);
        let mut r = self
            .http
            .request(method.parse().expect("method"), url)
            .header("cookie", format!("chargeyard_session={token}"));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = resp.text().await.expect("body");
        (
            status,
            cookie,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        with: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let r = with(self.http.request(method.parse().expect("method"), url));
        let resp = r.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn id_tags_crud_with_clear_errors() {
    let api = start().await;
    let (s, v) = api.req("POST", "/api/id-tags", Some(json!({"id_tag": "RFID1", "status": "Accepted", "group_kind": "vehicle", "group_name": "Van 3"}))).await;
    assert_eq!((s, v["group_name"].clone()), (201, json!("Van 3")));
    let (s, v) = api
        .req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": "RFID1", "status": "Accepted"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (409, json!("conflict")));
    let (s, v) = api
        .req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": "X".repeat(21), "status": "Accepted"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    let (s, v) = api
        .req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": "RFID2", "status": "Maybe"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")));
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("Accepted")),
        "message says what is allowed: {v}"
    );
    let (s, v) = api
        .req("POST", "/api/id-tags", Some(json!({"nope": 1})))
        .await;
    assert_eq!(
        (s, v["code"].clone()),
        (400, json!("invalid")),
        "a malformed body is a clear error: {v}"
    );
    let (s, v) = api
        .req(
            "PUT",
            "/api/id-tags/RFID1",
            Some(json!({"status": "Blocked"})),
        )
        .await;
    assert_eq!((s, v["status"].clone()), (200, json!("Blocked")));
    let (_, v) = api.req("GET", "/api/id-tags", None).await;
    assert_eq!(
        (v["total"].clone(), v["items"][0]["id_tag"].clone()),
        (json!(1), json!("RFID1"))
    );
    assert_eq!(api.req("DELETE", "/api/id-tags/RFID1", None).await.0, 204);
    assert_eq!(api.req("GET", "/api/id-tags/RFID1", None).await.0, 404);
}

#[tokio::test]
async fn stations_commands_transactions_and_the_live_stream() {
    let api = start().await;
    let (mut live, _) =
        tokio_tungstenite::connect_async(format!("{}/api/live", api.base.replace("http", "ws")))
            .await
            .expect("live stream");
    let (cp, _) = ChargePoint::connect(chargeyard_sim::SimConfig::new(&api.ocpp, "CP1"))
        .await
        .expect("sim");
    cp.boot_and_report().await.expect("boot");

    // The status change reaches the live stream.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|t: &String| t == "status_changed") {
        let msg = tokio::time::timeout_at(deadline, live.next())
            .await
            .expect("events within 10 s")
            .expect("open")
            .expect("ok");
        let v: Value = serde_json::from_str(msg.to_text().expect("text")).expect("json");
        seen.push(v["type"].as_str().unwrap_or_default().to_string());
    }
    assert!(seen.contains(&"station_connected".to_string()), "{seen:?}");

    let (s, v) = api.req("GET", "/api/stations", None).await;
    assert_eq!(
        (s, v[0]["id"].clone(), v[0]["connected"].clone()),
        (200, json!("CP1"), json!(true))
    );
    assert_eq!(v[0]["connectors"].as_array().map(Vec::len), Some(3));

    let (s, _) = api
        .req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": "WEB", "status": "Accepted"})),
        )
        .await;
    assert_eq!(s, 201);
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/commands/RemoteStartTransaction",
            Some(json!({"connectorId": 1, "idTag": "WEB"})),
        )
        .await;
    assert_eq!(
        (s, v["response"]["status"].clone()),
        (200, json!("Accepted")),
        "{v}"
    );
    eventually("transaction visible through the API", || async {
        let (_, v) = api
            .req("GET", "/api/transactions?station_id=CP1&open=true", None)
            .await;
        (v["total"] == json!(1)).then_some(())
    })
    .await;
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/commands/Reset",
            Some(json!({"type": "Sideways"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/GHOST/commands/Reset",
            Some(json!({"type": "Soft"})),
        )
        .await;
    assert_eq!((s, v["code"].clone()), (404, json!("station_not_found")));
    let (s, v) = api.req("GET", "/api/transactions?open=maybe", None).await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")));

    let (_, log) = api.req("GET", "/api/stations/CP1/commands", None).await;
    assert_eq!(log[0]["action"], json!("RemoteStartTransaction"));
    assert_eq!(log[0]["actor"], json!("api"));
    let (_, frames) = api
        .req("GET", "/api/stations/CP1/frames?limit=5", None)
        .await;
    assert_eq!(frames.as_array().map(Vec::len), Some(5));
    let (s, _) = api.req("GET", "/api/stations/NOPE", None).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_pending_station_is_accepted_from_the_api() {
    let cfg = chargeyard_core::EngineConfig {
        unknown_stations: chargeyard_core::UnknownStations::Pending,
        ..config()
    };
    let api = start_with(cfg).await;
    let (cp, _) = ChargePoint::connect(chargeyard_sim::SimConfig::new(&api.ocpp, "NEW"))
        .await
        .expect("sim");
    assert_eq!(cp.boot().await.expect("boot").status.as_str(), "Pending");
    let (_, inbox) = api.req("GET", "/api/stations", None).await;
    assert_eq!(
        inbox[0]["registration"],
        json!("pending"),
        "the station waits in the inbox"
    );
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/NEW/accept",
            Some(json!({"password": "a-long-authorization-key"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        (v["registration"].clone(), v["has_password"].clone()),
        (json!("accepted"), json!(true))
    );
    eventually(
        "the accepted station boots again and reports its connectors",
        || async {
            let (_, v) = api.req("GET", "/api/stations/NEW", None).await;
            (v["connectors"].as_array().map(Vec::len) == Some(3)).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn the_demo_fleet_charges_and_is_removed_in_one_step() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Real use: unknown stations wait as pending; the demo's own stations are pre-accepted.
    let cfg = chargeyard_core::EngineConfig {
        unknown_stations: chargeyard_core::UnknownStations::Pending,
        ..config()
    };
    let engine = Engine::open(cfg, &dir.path().join("c.db"))
        .await
        .expect("engine");
    let stop = CancellationToken::new();
    let at = chargeyard_server::Addresses::loopback();
    let (bound, _) = chargeyard_server::serve(engine.clone(), at, Default::default(), stop.clone())
        .await
        .expect("serve");
    let _g = stop.clone().drop_guard();
    // 5 stations (the fifth speaks 2.0.1) at 3600 simulated seconds per second: sessions start
    // within a second or two.
    let backfilled = chargeyard_server::demo::start(&engine, bound.ocpp, 5, 3600.0, 3, &stop)
        .await
        .expect("demo")
        .await
        .expect("task")
        .expect("history");
    assert!(backfilled > 10, "{backfilled} sessions backfilled");
    // Weeks of closed sessions are there before the fleet's first live message.
    let closed = chargeyard_core::store::transactions::TransactionFilter {
        open: Some(false),
        limit: Some(1000),
        ..Default::default()
    };
    let page = engine.transactions(&closed).await.expect("history");
    let now = chrono::Utc::now();
    let oldest = page
        .items
        .iter()
        .map(|t| t.start_ts)
        .min()
        .expect("sessions");
    assert!(
        page.total >= backfilled as i64 && now - oldest > chrono::Duration::days(2),
        "{} backfilled sessions, oldest {oldest}",
        page.total
    );
    let t = engine.transaction(page.items[0].id).await.expect("detail");
    assert!(
        t.transaction.energy_wh.is_some_and(|wh| wh > 0)
            && t.meter_samples.iter().any(|s| s.measurand == "SoC"),
        "backfilled sessions have energy and samples"
    );
    let cost = t
        .transaction
        .cost
        .as_ref()
        .expect("priced with the demo tariff");
    assert!(
        cost.currency == "SEK" && cost.energy > 0 && cost.total == cost.net + cost.vat,
        "{cost:?}"
    );
    let again = chargeyard_server::demo::backfill(
        &engine,
        &chargeyard_server::demo::config(bound.ocpp, 5, 3600.0),
        3,
    )
    .await
    .expect("backfill");
    assert_eq!(again, 0, "history is added once per database");
    let api = Api {
        base: format!("http://{}", bound.http),
        ocpp: String::new(),
        ocpp_tls: String::new(),
        engine: engine.clone(),
        http: reqwest::Client::new(),
        dir: tempfile::tempdir().expect("dir"),
        _stop: CancellationToken::new().drop_guard(),
    };

    eventually("demo stations online and accepted", || async {
        let (_, v) = api.req("GET", "/api/stations", None).await;
        let all = v.as_array()?;
        (all.len() == 5
            && all.iter().all(|s| {
                s["connected"] == json!(true)
                    && s["demo"] == json!(true)
                    && s["registration"] == json!("accepted")
            }))
        .then_some(())
    })
    .await;
    // The newer charger's weeks are 2.0.1 sessions, and it is connected in 2.0.1.
    let newer = chargeyard_core::store::transactions::TransactionFilter {
        station_id: Some("DEMO-05".into()),
        open: Some(false),
        ..Default::default()
    };
    let page = engine.transactions(&newer).await.expect("history");
    assert!(
        page.total > 0 && page.items.iter().all(|t| t.protocol == "ocpp2.0.1"),
        "{:?}",
        page.items.first()
    );
    let st = engine.station("DEMO-05").await.expect("station");
    assert_eq!(st.view.station.protocol.as_deref(), Some("ocpp2.0.1"));
    eventually("a demo session with meter values and SoC", || async {
        let (_, page) = api.req("GET", "/api/transactions", None).await;
        let id = page["items"].as_array()?.first()?["id"].as_i64()?;
        let (_, t) = api
            .req("GET", &format!("/api/transactions/{id}"), None)
            .await;
        let samples = t["meter_samples"].as_array()?;
        samples
            .iter()
            .any(|s| s["measurand"] == json!("SoC"))
            .then_some(())
    })
    .await;

    let (s, v) = api.req("DELETE", "/api/demo", None).await;
    assert_eq!(
        (
            s,
            v["removed_stations"].clone(),
            v["removed_tariffs"].clone(),
            v["default_tariff"].clone()
        ),
        (200, json!(5), json!(1), json!(false)),
        "the demo's tariff goes with it, so nobody is billed demo prices: {v}"
    );
    let (_, tariffs) = api.req("GET", "/api/tariffs", None).await;
    assert_eq!(tariffs, json!([]));
    let (_, assigned) = api.req("GET", "/api/tariff-assignments", None).await;
    assert_eq!(assigned, json!([]), "no demo tariff applies by default");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, stations) = api.req("GET", "/api/stations", None).await;
    assert_eq!(
        stations,
        json!([]),
        "the fleet stopped and does not come back as unknown stations"
    );
    let (_, page) = api.req("GET", "/api/transactions", None).await;
    assert_eq!(page["total"], json!(0), "demo history removed");
    // Counted in the logs and their index tables, which the views would hide a stray entry of.
    for table in [
        "meter_samples_log",
        "meter_samples_by_transaction",
        "meter_samples_unlinked",
        "frames_log",
        "frames_by_station",
    ] {
        let rows: i64 =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&engine.store().reader)
                .await
                .expect("count");
        assert_eq!(rows, 0, "with every meter sample and frame: {table}");
    }
    let (_, tags) = api.req("GET", "/api/id-tags", None).await;
    assert_eq!(tags["total"], json!(0), "demo tags removed");
}

#[tokio::test]
async fn tags_are_searched_filtered_and_paged_by_the_engine() {
    let api = start().await;
    let mut csv = String::from("id_tag;status;group_kind;group_name;note\n");
    for i in 0..2500 {
        let (status, kind, group) = match i % 5 {
            0 => ("Blocked", "vehicle", format!("Van {i}")),
            1 => ("Accepted", "customer", "Acme 100%_AB".to_string()),
            _ => ("Accepted", "driver", format!("Driver {i}")),
        };
        csv.push_str(&format!("T{i:05};{status};{kind};{group};\n"));
    }
    let (s, v) = api.text("POST", "/api/id-tags/import", &csv).await;
    assert_eq!((s, v["created"].clone()), (200, json!(2500)), "{v}");

    let (_, p) = api.req("GET", "/api/id-tags", None).await;
    assert_eq!(p["total"], json!(2500));
    assert_eq!(
        p["items"].as_array().map(Vec::len),
        Some(100),
        "100 a page by default"
    );
    let (_, p) = api
        .req("GET", "/api/id-tags?limit=1000&offset=2000", None)
        .await;
    let items = p["items"].as_array().expect("items");
    assert_eq!(
        (items.len(), items[0]["id_tag"].clone()),
        (500, json!("T02000"))
    );

    let (_, p) = api
        .req(
            "GET",
            "/api/id-tags?status=Blocked&group_kind=vehicle",
            None,
        )
        .await;
    assert_eq!(p["total"], json!(500));
    // Search covers tag, group and note; % and _ are plain characters, not wildcards.
    let (_, p) = api.req("GET", "/api/id-tags?q=VAN%20125", None).await;
    let found: Vec<_> = p["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["group_name"].clone())
        .collect();
    assert_eq!(
        found,
        [json!("Van 125"), json!("Van 1250"), json!("Van 1255")]
    );
    let (_, p) = api.req("GET", "/api/id-tags?q=100%25_", None).await;
    assert_eq!(
        p["total"],
        json!(500),
        "the literal '100%_' in the group name"
    );
    let (_, p) = api.req("GET", "/api/id-tags?q=1%25AB", None).await;
    assert_eq!(
        p["total"],
        json!(0),
        "as a wildcard, % would have matched 'Acme 100%_AB'"
    );
    let (s, v) = api.req("GET", "/api/id-tags?limit=many", None).await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
}

/// The console offers only addresses chargers can reach (before, it listed the LAN addresses
/// while the OCPP listener was on loopback), and the depot's time zone is a setting the console
/// shows and the invoices follow.
#[tokio::test]
async fn the_connect_addresses_and_the_time_zone_are_what_they_say() {
    let api = start().await;
    let (_, info) = api.req("GET", "/api/info", None).await;
    let port = api
        .ocpp
        .rsplit(':')
        .next()
        .and_then(|p| p.strip_suffix("/ocpp"))
        .expect("port");
    assert_eq!(
        (
            info["ocpp_loopback_only"].clone(),
            info["charger_urls"].clone()
        ),
        (json!(true), json!([format!("ws://127.0.0.1:{port}/ocpp/")])),
        "a loopback listener is reachable on loopback only: {info}"
    );

    let (_, zones) = api.req("GET", "/api/time-zones", None).await;
    assert!(
        zones
            .as_array()
            .is_some_and(|z| z.contains(&json!("Europe/Stockholm"))),
        "{zones}"
    );
    let (_, mut settings) = api.req("GET", "/api/settings", None).await;
    settings["time_zone"] = json!("Europe/Stockholm");
    let (s, v) = api
        .req("PUT", "/api/settings", Some(settings.clone()))
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, info) = api.req("GET", "/api/info", None).await;
    assert_eq!(info["time_zone"], json!("Europe/Stockholm"));
    settings["time_zone"] = json!("Mars/Olympus");
    let (s, v) = api.req("PUT", "/api/settings", Some(settings)).await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
}

/// A parent tag must be a tag we know (or one in the same import), never the tag itself; a
/// range whose From is after its To is refused wherever one is given.
#[tokio::test]
async fn unknown_parents_and_backwards_ranges_are_refused() {
    let api = start().await;
    let tag = |id: &'static str, parent: &'static str| {
        api.req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": id, "status": "Accepted", "parent_id_tag": parent})),
        )
    };
    let (s, v) = tag("KID1", "FLEET").await;
    assert_eq!((s, v["code"].clone()), (400, json!("invalid")), "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("\"FLEET\" is not a known tag")),
        "{v}"
    );
    assert_eq!(tag("SELF", "SELF").await.0, 400, "its own parent");
    // In one import the parent may come in the same file; an unknown one fails it all.
    let import = |csv: &'static str| api.text("POST", "/api/id-tags/import", csv);
    let (s, v) = import("id_tag,parent_id_tag\nKID2,FLEET\nFLEET,\n").await;
    assert_eq!((s, v["created"].clone()), (200, json!(2)), "{v}");
    let (s, v) = import("id_tag,parent_id_tag\nKID3,NOBODY\nKID4,FLEET\n").await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("KID3")),
        "{v}"
    );
    assert_eq!(
        api.req("GET", "/api/id-tags/KID4", None).await.0,
        404,
        "nothing imported"
    );
    // The preview says the same line by line, and writes nothing.
    let (s, v) = api
        .text(
            "POST",
            "/api/id-tags/import/preview",
            "id_tag,status,parent_id_tag\nKID3,,NOBODY\nKID4,,FLEET\nFLEET,Blocked,\nODD,Sleeping,\n",
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["create"], &v["update"], &v["problems"]),
        (&json!(1), &json!(1), &json!(2)),
        "{v}"
    );
    let lines = v["lines"].as_array().expect("lines");
    let at = |n: u64| lines.iter().find(|l| l["line"] == json!(n)).expect("line");
    assert!(
        at(2)["problem"]
            .as_str()
            .is_some_and(|p| p.contains("NOBODY")),
        "{v}"
    );
    assert_eq!(
        (&at(3)["action"], &at(3)["problem"]),
        (&json!("create"), &Value::Null)
    );
    assert_eq!(at(4)["action"], json!("update"), "FLEET exists");
    assert_eq!(at(4)["fields"]["status"], json!("Blocked"));
    assert!(
        at(5)["problem"]
            .as_str()
            .is_some_and(|p| p.contains("Sleeping")),
        "{v}"
    );
    assert_eq!(
        api.req("GET", "/api/id-tags/KID4", None).await.0,
        404,
        "nothing written"
    );
    assert_eq!(
        api.req("GET", "/api/id-tags/FLEET", None).await.1["status"],
        json!("Accepted"),
        "nothing changed"
    );
    // A header it cannot use is refused as a whole.
    let (s, v) = api
        .text("POST", "/api/id-tags/import/preview", "tag,colour\nA,red\n")
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(tag("KID1", "FLEET").await.0, 201, "a known parent");

    let (s, v) = api
        .req(
            "POST",
            "/api/stations",
            Some(json!({"id": "RANGE-1", "registration": "accepted"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    for (method, path, body) in [
        (
            "GET",
            "/api/transactions?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z",
            None,
        ),
        (
            "POST",
            "/api/exports",
            Some(json!({"export": {"kind": "invoice", "from": "2026-11-30", "to": "2026-11-01"}})),
        ),
        (
            "POST",
            "/api/stations/RANGE-1/diagnostics",
            Some(
                json!({"start_time": "2026-11-02T00:00:00Z", "stop_time": "2026-11-01T00:00:00Z"}),
            ),
        ),
    ] {
        let (s, v) = api.req(method, path, body).await;
        assert!(
            s == 400
                && v["code"] == "invalid"
                && v["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("is after to")),
            "{path}: {s} {v}"
        );
    }
}

/// Issue 25, part 1: a page on another site, or one reached through a name that is not ours (DNS
/// rebinding), can neither change nor read anything; scripts without a browser still can.
#[tokio::test]
async fn no_other_web_page_can_drive_the_console() {
    let api = start().await;
    let port = api.base.rsplit(':').next().expect("port").to_string();
    let post = |origin: Option<&str>, kind: &str, body: &str| {
        let mut r = api
            .http
            .post(format!("{}/api/id-tags/import", api.base))
            .header("content-type", kind)
            .body(body.to_string());
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    let answer = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    // The request of the report: a cross-site "simple" POST that used to add an Accepted tag.
    let (s, v) = answer(
        post(
            Some("http://evil.example"),
            "text/plain",
            "id_tag\nEVIL-1\n",
        )
        .await
        .expect("sent"),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("cross_origin")), "{v}");
    // As CSV it is refused all the same: the page is not ours.
    let (s, _) = answer(
        post(Some("http://evil.example"), "text/csv", "id_tag\nEVIL-1\n")
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!(s, 403);
    // A form's content type is refused even without an Origin (an old browser).
    let (s, v) = answer(
        post(None, "text/plain", "id_tag\nEVIL-1\n")
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")), "{v}");
    let (s, _) = api.req("GET", "/api/id-tags/EVIL-1", None).await;
    assert_eq!(s, 404, "nothing was written");
    // The console's own page (its origin in Origin) and scripts (no Origin) import as before.
    let own = format!("http://127.0.0.1:{port}");
    let (s, v) = answer(
        post(Some(&own), "text/csv; charset=utf-8", "id_tag\nOWN-1\n")
            .await
            .expect("sent"),
    )
    .await;
    assert_eq!((s, v["created"].as_i64()), (200, Some(1)), "{v}");
    let (s, _) = api
        .text("POST", "/api/id-tags/import", "id_tag\nSCRIPT-1\n")
        .await;
    assert_eq!(s, 200);

    // DNS rebinding: the browser names the attacker's host; nothing is served to it.
    let get = |host: String| {
        api.http
            .get(format!("{}/api/info", api.base))
            .header("host", host)
            .send()
    };
    let (s, v) = answer(get(format!("evil.example:{port}")).await.expect("sent")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("host_not_allowed")),
        "{v}"
    );
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let (s, _) = answer(get(host.clone()).await.expect("sent")).await;
        assert_eq!(s, 200, "{host}");
    }
    // The live stream cannot be opened from another page either.
    let mut ws = format!("{}/api/live", api.base.replace("http", "ws"))
        .into_client_request()
        .expect("request");
    ws.headers_mut()
        .insert("origin", "http://evil.example".parse().expect("header"));
    let refused = tokio_tungstenite::connect_async(ws).await;
    assert!(
        matches!(&refused, Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 403),
        "{refused:?}"
    );
    // No CORS: an answer never invites another origin to read it.
    let r = api
        .http
        .get(format!("{}/api/info", api.base))
        .header("origin", own)
        .send()
        .await
        .expect("sent");
    assert!(r.headers().get("access-control-allow-origin").is_none());
}
