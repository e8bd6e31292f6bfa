//! The technician's toolkit through the HTTP API the console uses, against the simulator over real
//! sockets: the message inspector, the composer's checks, configuration with per-key results,
//! snapshots and diffs, diagnostics uploaded to and firmware downloaded from the laptop, the local
//! list, and the health summary.

use std::time::Duration;

use base64::Engine as _;
use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use chargeyard_sim::{Behaviour, ChargePoint, SimConfig};
use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::eventually;
use crate::http::{Api, start, start_with};

async fn station(api: &Api, id: &str, connectors: u32) -> ChargePoint {
    let mut cfg = SimConfig::new(&api.ocpp, id);
    cfg.connectors = connectors;
    let (cp, _) = ChargePoint::connect(cfg).await.expect("connects");
    cp.boot_and_report().await.expect("boots");
    cp
}

fn received(cp: &ChargePoint, action: &str) -> usize {
    cp.received().iter().filter(|r| r.action == action).count()
}

async fn inspect(api: &Api, id: &str, query: &str) -> Vec<Value> {
    let (s, v) = api
        .req(
            "GET",
            &format!("/api/stations/{id}/inspector?{query}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v.as_array().expect("a list").clone()
}

#[tokio::test]
async fn the_inspector_pairs_calls_with_answers_and_filters_searches_and_exports() {
    let api = start().await;
    let cp = station(&api, "CP1", 2).await;
    cp.set_behaviour(
        "Reset",
        Some(Behaviour::Error(chargeyard_ocpp::ErrorCode::InternalError)),
    );
    let (s, _) = api
        .req(
            "POST",
            "/api/stations/CP1/commands/Reset",
            Some(json!({"type": "Soft"})),
        )
        .await;
    assert_eq!(s, 502, "a CALLERROR answer is a bad gateway");
    let (s, _) = api
        .req("GET", "/api/stations/CP1/configuration", None)
        .await;
    assert_eq!(s, 200);

    // Everything, newest first, each CALL paired with its answer.
    let all = eventually("the frames are logged", || async {
        let f = inspect(&api, "CP1", "").await;
        (f.iter()
            .any(|f| f["action"] == "GetConfiguration" && f["message_type"] == 3))
        .then_some(f)
    })
    .await;
    let ids: Vec<i64> = all.iter().map(|f| f["id"].as_i64().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    let by_id = |id: &Value| all.iter().find(|f| &f["id"] == id).expect("partner listed");
    let boot = all
        .iter()
        .find(|f| f["action"] == "BootNotification" && f["message_type"] == 2)
        .expect("boot logged");
    let answer = by_id(&boot["partner_id"]);
    assert_eq!(
        (
            answer["direction"].as_str(),
            answer["message_type"].as_i64()
        ),
        (Some("out"), Some(3))
    );
    assert_eq!(answer["partner_id"], boot["id"], "pairing goes both ways");
    assert!(
        boot["latency_ms"]
            .as_i64()
            .is_some_and(|l| (0..5000).contains(&l))
    );
    let get = all
        .iter()
        .find(|f| f["action"] == "GetConfiguration" && f["message_type"] == 2)
        .expect("our command logged");
    assert_eq!(get["direction"], "out");
    assert_eq!(by_id(&get["partner_id"])["direction"], "in");
    let reset = all
        .iter()
        .find(|f| f["action"] == "Reset" && f["message_type"] == 2)
        .expect("reset logged");
    assert!(
        reset["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("InternalError")),
        "a CALL answered with a CALLERROR is marked: {reset}"
    );

    // A charger frame that cannot be read, and one with a quirk, over a raw socket.
    let mut raw = crate::raw(&api.ocpp, "RAW1").await;
    raw.send(Message::text("this is not OCPP"))
        .await
        .expect("send");
    raw.send(Message::text(
        r#"[2,"q1","StatusNotification",{"connectorId":"1","errorCode":"NoError","status":"Available"}]"#,
    ))
    .await
    .expect("send");
    let raw_frames = eventually("the raw station's frames are logged", || async {
        let f = inspect(&api, "RAW1", "").await;
        (f.len() >= 3).then_some(f)
    })
    .await;
    assert!(
        raw_frames.iter().any(|f| f["message_type"].is_null()
            && f["error"]
                .as_str()
                .is_some_and(|e| e.contains("unreadable"))),
        "an unreadable frame is marked: {raw_frames:?}"
    );
    let status = raw_frames
        .iter()
        .find(|f| f["action"] == "StatusNotification" && f["message_type"] == 2)
        .expect("status logged");
    assert!(
        status["quirks"].as_array().is_some_and(|q| !q.is_empty()),
        "the number sent as a string is shown as a quirk: {status}"
    );

    // Filters: errors only, action, direction, text, time range, paging.
    let errors = inspect(&api, "CP1", "errors=true").await;
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|f| f["message_type"] == 4), "{errors:?}");
    assert_eq!(
        errors[0]["partner_id"], reset["id"],
        "the CALLERROR pairs with the Reset"
    );
    let status = inspect(&api, "CP1", "action=StatusNotification&direction=in").await;
    assert_eq!(
        status.len(),
        3,
        "connectors 0, 1, 2 reported once each: {status:?}"
    );
    let found = inspect(&api, "CP1", "q=heartbeatinterval").await;
    assert!(!found.is_empty() && found.iter().all(|f| f["action"] == "GetConfiguration"));
    let none = inspect(&api, "CP1", "q=100%25_sure").await;
    assert!(none.is_empty(), "% and _ are taken literally");
    let later = inspect(&api, "CP1", "from=2099-01-01T00:00:00Z").await;
    assert!(later.is_empty());
    let first_two = inspect(&api, "CP1", "limit=2").await;
    let next = inspect(
        &api,
        "CP1",
        &format!("limit=2&before_id={}", first_two[1]["id"]),
    )
    .await;
    assert_eq!(
        next[0]["id"], all[2]["id"],
        "pages continue where the last ended"
    );
    let (s, v) = api
        .req("GET", "/api/stations/CP1/inspector?errors=maybe", None)
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")));

    // JSON lines, oldest first, one parsed message per line.
    let (s, v) = api
        .req(
            "POST",
            "/api/exports",
            Some(json!({"export": {"kind": "frames", "station_id": "CP1", "filter": {}}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let name = v["file"]["name"].as_str().expect("name").to_string();
    assert!(name.ends_with(".jsonl"), "{name}");
    let (s, _, bytes) = api.download(&format!("/api/exports/{name}")).await;
    assert_eq!(s, 200);
    let lines: Vec<Value> = String::from_utf8(bytes)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let logged = inspect(&api, "CP1", "limit=5000").await;
    assert_eq!(lines.len(), logged.len(), "every frame exported");
    assert_eq!(v["rows"].as_u64(), Some(lines.len() as u64));
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64()),
        "oldest first"
    );
    let exported_boot = lines
        .iter()
        .find(|l| l["id"] == boot["id"])
        .expect("boot exported");
    assert_eq!(
        exported_boot["message"][2], "BootNotification",
        "the frame itself, parsed"
    );
    assert_eq!(exported_boot["partner_id"], boot["partner_id"]);
}

#[tokio::test]
async fn the_composer_offers_valid_templates_and_refuses_invalid_payloads_before_sending() {
    let api = start().await;
    let cp = station(&api, "CP1", 1).await;
    let (s, templates) = api.req("GET", "/api/ocpp/commands", None).await;
    assert_eq!(s, 200);
    let templates = templates.as_array().expect("list").clone();
    assert_eq!(
        templates.len(),
        24,
        "every 1.6 command, the security extension's five included"
    );
    for t in &templates {
        let action = t["action"].as_str().expect("action");
        let (s, v) = api
            .req(
                "POST",
                &format!("/api/ocpp/commands/{action}/check"),
                Some(t["payload"].clone()),
            )
            .await;
        assert_eq!(s, 204, "{action} template passes the checks: {v}");
    }
    let (s, v) = api
        .req(
            "POST",
            "/api/ocpp/commands/Reset/check",
            Some(json!({"type": "Warm"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")), "{v}");
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/commands/Reset",
            Some(json!({"type": "Warm"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")));
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("Reset")),
        "{v}"
    );
    assert_eq!(
        received(&cp, "Reset"),
        0,
        "nothing invalid reaches the station"
    );
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/commands/ClearCache",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, &v["response"]["status"]),
        (200, &json!("Accepted")),
        "{v}"
    );
}

#[tokio::test]
async fn configuration_edits_come_back_with_a_result_per_key_and_snapshots_compare() {
    let api = start().await;
    let cp = station(&api, "CP1", 2).await;
    let _cp2 = station(&api, "CP2", 1).await;
    let (s, conf) = api
        .req("GET", "/api/stations/CP1/configuration", None)
        .await;
    assert_eq!(s, 200, "{conf}");
    let key = |c: &Value, k: &str| -> Value {
        c["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|r| r["key"] == k)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let hb = key(&conf, "HeartbeatInterval");
    assert_eq!(
        (hb["value"].as_str(), hb["readonly"].as_bool()),
        (Some("300"), Some(false))
    );
    assert_eq!(
        hb["standard"]["unit"], "seconds",
        "catalogue facts come with standard keys"
    );
    assert_eq!(key(&conf, "NumberOfConnectors")["readonly"], true);
    assert!(
        key(&conf, "VendorNetworkMode")["standard"].is_null(),
        "vendor keys are marked"
    );
    assert!(
        conf["missing_required"]
            .as_array()
            .is_some_and(|m| m.iter().any(|k| k == "ConnectorPhaseRotation")),
        "required keys the station did not report are listed: {conf}"
    );
    let (_, before) = api
        .req(
            "POST",
            "/api/stations/CP1/snapshots",
            Some(json!({"name": "as found"})),
        )
        .await;

    // A bad value anywhere: nothing is sent.
    let sent = received(&cp, "ChangeConfiguration");
    let (s, v) = api
        .req(
            "PUT",
            "/api/stations/CP1/configuration",
            Some(json!([{"key": "MeterValueSampleInterval", "value": "30"}, {"key": "HeartbeatInterval", "value": "5 min"}])),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")));
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("HeartbeatInterval")),
        "{v}"
    );
    let (s, v) = api
        .req(
            "PUT",
            "/api/stations/CP1/configuration",
            Some(json!([{"key": "NumberOfConnectors", "value": "4"}])),
        )
        .await;
    assert_eq!(s, 400, "read-only standard keys are refused here: {v}");
    assert_eq!(
        received(&cp, "ChangeConfiguration"),
        sent,
        "nothing was sent"
    );

    let (s, results) = api
        .req(
            "PUT",
            "/api/stations/CP1/configuration",
            Some(json!([
                {"key": "HeartbeatInterval", "value": "120"},
                {"key": "VendorNetworkMode", "value": "wifi"},
                {"key": "VendorModemImei", "value": "0"},
                {"key": "NoSuchKey", "value": "1"},
            ])),
        )
        .await;
    assert_eq!(s, 200, "{results}");
    let statuses: Vec<&str> = results
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["status"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        statuses,
        ["Accepted", "RebootRequired", "Rejected", "NotSupported"]
    );
    let (_, conf) = api
        .req("GET", "/api/stations/CP1/configuration", None)
        .await;
    assert_eq!(
        key(&conf, "HeartbeatInterval")["value"],
        "120",
        "the round trip took"
    );

    let (s, after) = api
        .req(
            "POST",
            "/api/stations/CP1/snapshots",
            Some(json!({"name": "after"})),
        )
        .await;
    assert_eq!(s, 201);
    let (_, list) = api.req("GET", "/api/stations/CP1/snapshots", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    let (s, diff) = api
        .req(
            "POST",
            "/api/configuration/diff",
            Some(json!({"left": {"kind": "snapshot", "id": before["id"]}, "right": {"kind": "snapshot", "id": after["id"]}})),
        )
        .await;
    assert_eq!(s, 200, "{diff}");
    let changed: Vec<&str> = diff["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| r["change"] != "same")
        .map(|r| r["key"].as_str().expect("key"))
        .collect();
    assert_eq!(changed, ["HeartbeatInterval", "VendorNetworkMode"]);
    assert_eq!(diff["differences"], 2);

    // Two stations side by side, asked now.
    let (s, diff) = api
        .req(
            "POST",
            "/api/configuration/diff",
            Some(json!({"left": {"kind": "station", "station_id": "CP1"}, "right": {"kind": "station", "station_id": "CP2"}})),
        )
        .await;
    assert_eq!(s, 200, "{diff}");
    let row = diff["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["key"] == "NumberOfConnectors")
        .expect("row");
    assert_eq!(
        (
            row["left"].as_str(),
            row["right"].as_str(),
            row["change"].as_str()
        ),
        (Some("2"), Some("1"), Some("changed"))
    );
    let (s, _) = api
        .req("DELETE", &format!("/api/snapshots/{}", before["id"]), None)
        .await;
    assert_eq!(s, 204);
    let (s, v) = api
        .req("DELETE", &format!("/api/snapshots/{}", before["id"]), None)
        .await;
    assert_eq!((s, v["code"].as_str()), (404, Some("not_found")));
}

/// Connecting to a finished job's endpoint fails: it stopped.
async fn endpoint_stopped(url: &str) -> bool {
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host");
    tokio::net::TcpStream::connect(authority).await.is_err()
}

/// Ask CP1 for its diagnostics (or the log `body` names) with `body`; wait until the upload is
/// listed as transferred and check the file as downloaded. Returns the URL offered and the
/// finished job.
async fn diagnostics_arrive(api: &Api, body: Value, url_start: &str) -> (String, Value) {
    let log = body["log"].as_str().unwrap_or("diagnostics").to_string();
    let (s, job) = api
        .req("POST", "/api/stations/CP1/diagnostics", Some(body))
        .await;
    assert_eq!(s, 200, "{job}");
    let url = job["url"].as_str().expect("url").to_string();
    assert!(
        url.starts_with(url_start) && url.contains("127.0.0.1:"),
        "served where the station reached us: {url}"
    );
    let done = eventually("the upload arrives", || async {
        let (_, list) = api.req("GET", "/api/stations/CP1/transfers", None).await;
        list.as_array()?
            .iter()
            .find(|t| t["id"] == job["id"] && t["state"] == "transferred")
            .cloned()
    })
    .await;
    assert_eq!(done["kind"], "diagnostics");
    assert!(
        done["file_name"]
            .as_str()
            .is_some_and(|n| n.ends_with(&format!("{log}-CP1.log"))),
        "{done}"
    );
    let (s, _, bytes) = api
        .download(&format!("/api/transfers/{}/file", job["id"]))
        .await;
    assert_eq!(s, 200);
    assert_eq!(Some(bytes.len() as u64), done["bytes"].as_u64());
    assert!(
        String::from_utf8_lossy(&bytes).contains("CP1 diagnostics"),
        "the simulator's log arrived"
    );
    (url, done)
}

#[tokio::test]
async fn a_diagnostics_upload_really_arrives_and_is_listed() {
    let api = start().await;
    let _cp = station(&api, "CP1", 1).await;
    let body = json!({"start_time": "2024-01-01T00:00:00Z"});
    let (url, _) = diagnostics_arrive(&api, body, "http://").await;
    eventually("the station reports Uploaded", || async {
        let (_, st) = api.req("GET", "/api/stations/CP1", None).await;
        (st["diagnostics_status"] == "Uploaded").then_some(())
    })
    .await;
    eventually("the endpoint stops after the upload", || async {
        endpoint_stopped(&url).await.then_some(())
    })
    .await;
    let (s, _) = api
        .req("POST", "/api/stations/NOPE/diagnostics", Some(json!({})))
        .await;
    assert_eq!(s, 409, "an offline station gets no endpoint");
}

/// A 1.6 charger with the security extension uploads its security log (GetLog SecurityLog) and
/// reports it with LogStatusNotification; the frames are valid 1.6 security-extension messages.
#[tokio::test]
async fn a_security_log_is_fetched_with_get_log() {
    let api = start().await;
    let cp = station(&api, "CP1", 1).await;
    diagnostics_arrive(&api, json!({"log": "security"}), "http://").await;
    let sent: Vec<String> = cp.received().iter().map(|r| r.action.clone()).collect();
    assert_eq!(sent, ["GetLog"]);
    assert_eq!(cp.received()[0].payload["logType"], "SecurityLog");
    eventually("the station reports Uploaded", || async {
        let (_, st) = api.req("GET", "/api/stations/CP1", None).await;
        (st["diagnostics_status"] == "Uploaded").then_some(())
    })
    .await;
    assert!(crate::assert_frames_schema_valid(&api.engine, "CP1").await > 3);
}

/// Firmware given with its signing certificate and signature goes to a 1.6 charger as
/// SignedUpdateFirmware; it reports each step (signature verified) with
/// SignedFirmwareStatusNotification. Half a signature is refused before anything is sent.
#[tokio::test]
async fn signed_firmware_goes_out_as_signed_update_firmware() {
    let api = start().await;
    let cp = station(&api, "CP1", 1).await;
    let firmware = |extra: Value| {
        let mut body = json!({"file_name": "fw.bin", "content_base64": "AAECAwQ="});
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        body
    };
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/firmware",
            Some(firmware(json!({"signature": "c2ln"}))),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")), "{v}");
    assert!(cp.received().is_empty(), "nothing was sent");
    let certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let (s, job) = api
        .req(
            "POST",
            "/api/stations/CP1/firmware",
            Some(firmware(
                json!({"signing_certificate": certificate, "signature": "c2lnbmF0dXJl"}),
            )),
        )
        .await;
    assert_eq!(s, 200, "{job}");
    assert_eq!(cp.received()[0].action, "SignedUpdateFirmware");
    assert_eq!(cp.firmware_signatures(), ["c2lnbmF0dXJl"]);
    eventually("the station reports Installed", || async {
        let (_, st) = api.req("GET", "/api/stations/CP1", None).await;
        (st["firmware_status"] == "Installed").then_some(())
    })
    .await;
    let downloaded = eventually("the download", || async {
        cp.firmware_downloads().first().cloned()
    })
    .await;
    assert_eq!(downloaded.1, [0u8, 1, 2, 3, 4]);
    assert!(crate::assert_frames_schema_valid(&api.engine, "CP1").await > 5);
}

#[tokio::test]
async fn a_diagnostics_upload_over_ftp_arrives_with_a_login_made_for_the_job() {
    let api = start().await;
    let _cp = station(&api, "CP1", 1).await;
    let body = json!({"protocol": "ftp"});
    let (url, done) = diagnostics_arrive(&api, body, "ftp://chargeyard:").await;
    assert!(
        done["detail"].as_str().is_some_and(|d| d.contains("FTP")),
        "{done}"
    );
    // The same login again, now: the server is gone.
    let again = eventually("the FTP endpoint stops", || async {
        chargeyard_sim::ftp::put(&url, "more.log", b"x").await.err()
    })
    .await;
    assert!(!again.is_empty());
}

#[tokio::test]
async fn a_firmware_file_really_is_downloaded_by_the_simulator_and_only_that_file() {
    let api = start().await;
    let cp = station(&api, "CP1", 1).await;
    let image: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let retrieve = chrono::Utc::now() + chrono::Duration::seconds(2);
    let (s, job) = api
        .req(
            "POST",
            "/api/stations/CP1/firmware",
            Some(json!({
                "file_name": "fw 2.0.bin",
                "content_base64": base64::engine::general_purpose::STANDARD.encode(&image),
                "retrieve_date": Timestamp(retrieve),
            })),
        )
        .await;
    assert_eq!(s, 200, "{job}");
    let url = job["url"].as_str().expect("url").to_string();
    assert!(url.ends_with("/fw-2.0.bin"), "{url}");
    // Before the station comes: another path is not served, and nothing can be uploaded.
    let base = url.rsplit_once('/').expect("path").0;
    let authority = base
        .trim_start_matches("http://")
        .split('/')
        .next()
        .expect("host");
    let client = reqwest::Client::new();
    let wrong = client
        .get(format!(
            "http://{authority}/00000000000000000000000000000000/fw-2.0.bin"
        ))
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status().as_u16(), 404);
    let put = client.post(&url).body("x").send().await.expect("answer");
    assert_eq!(put.status().as_u16(), 405);

    eventually("the simulator downloads the image", || async {
        cp.firmware_downloads().first().map(|(_, b)| b.clone())
    })
    .await
    .eq(&image)
    .then_some(())
    .expect("the bytes downloaded are the file offered");
    eventually("the job finishes when the station has the file", || async {
        let (_, list) = api.req("GET", "/api/stations/CP1/transfers", None).await;
        let t = list.as_array()?.first()?.clone();
        (t["state"] == "transferred").then_some(())
    })
    .await;
    eventually("the station reports Installed", || async {
        let (_, st) = api.req("GET", "/api/stations/CP1", None).await;
        (st["firmware_status"] == "Installed").then_some(())
    })
    .await;
    eventually("the endpoint stops afterwards", || async {
        endpoint_stopped(&url).await.then_some(())
    })
    .await;
    let (s, v) = api
        .req(
            "POST",
            "/api/stations/CP1/firmware",
            Some(json!({"file_name": "x.bin", "content_base64": "%%%"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("invalid")));
}

#[tokio::test]
async fn the_local_list_goes_out_full_and_differential_with_the_next_version() {
    let api = start().await;
    let cp = station(&api, "CP1", 1).await;
    for tag in ["A1", "B2"] {
        api.req(
            "POST",
            "/api/id-tags",
            Some(json!({"id_tag": tag, "status": "Accepted"})),
        )
        .await;
    }
    let (s, r) = api
        .req(
            "POST",
            "/api/stations/CP1/local-list",
            Some(json!({"update_type": "Full"})),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (
            r["list_version"].as_i64(),
            r["entries"].as_u64(),
            r["status"].as_str()
        ),
        (Some(1), Some(2), Some("Accepted"))
    );
    let (s, r) = api
        .req(
            "POST",
            "/api/stations/CP1/local-list",
            Some(json!({"update_type": "Differential", "tags": ["B2", "GONE"]})),
        )
        .await;
    assert_eq!((s, r["list_version"].as_i64()), (200, Some(2)), "{r}");
    let sent = cp
        .received()
        .into_iter()
        .rfind(|r| r.action == "SendLocalList")
        .expect("sent");
    let list = sent.payload["localAuthorizationList"]
        .as_array()
        .expect("list")
        .clone();
    assert_eq!(list[0]["idTagInfo"]["status"], "Accepted");
    assert!(
        list[1].get("idTagInfo").is_none(),
        "a tag not known here is removed: {list:?}"
    );
    let (s, _) = api
        .req(
            "POST",
            "/api/stations/CP1/local-list",
            Some(json!({"update_type": "Differential"})),
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn the_health_summary_says_what_is_off() {
    let cfg = chargeyard_core::EngineConfig {
        ping_interval: Duration::from_millis(200),
        ..crate::config()
    };
    let api = start_with(cfg).await;
    let cp = station(&api, "CP1", 1).await;
    for _ in 0..3 {
        cp.call(HeartbeatRequest {}).await.expect("heartbeat");
    }
    let h = eventually("the heartbeats are logged", || async {
        let (s, h) = api.req("GET", "/api/stations/CP1/health", None).await;
        assert_eq!(s, 200, "{h}");
        (h["heartbeat"]["count"] == 3).then_some(h)
    })
    .await;
    assert_eq!(h["findings"][0]["code"], "ok", "a healthy station: {h}");
    assert_eq!(h["firmware_version"], "sim-1.0");
    assert!(
        h["clock_skew_s"].as_f64().is_some_and(|s| s.abs() < 5.0),
        "{h}"
    );
    eventually("a ping round trip is measured", || async {
        let (_, h) = api.req("GET", "/api/stations/CP1/health", None).await;
        h["ping_rtt_ms"].as_f64()
    })
    .await;

    // A fault with a vendor code, a clock ten minutes ahead, and a reconnect.
    let ahead = chrono::Utc::now() + chrono::Duration::minutes(10);
    for _ in 0..3 {
        cp.call(StatusNotificationRequest {
            connector_id: 1,
            error_code: ChargePointErrorCode::GroundFailure,
            info: None,
            status: ChargePointStatus::Faulted,
            timestamp: Some(Timestamp(ahead)),
            vendor_id: Some(CiString::new("com.example").expect("fits")),
            vendor_error_code: Some(CiString::new("E-042").expect("fits")),
        })
        .await
        .expect("status");
    }
    cp.go_offline();
    tokio::time::sleep(Duration::from_millis(300)).await;
    cp.reconnect().await.expect("reconnects and boots");
    let h = eventually("the reconnect is counted", || async {
        let (_, h) = api.req("GET", "/api/stations/CP1/health", None).await;
        (h["reconnects_24h"] == 1).then_some(h)
    })
    .await;
    let codes: Vec<&str> = h["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code"))
        .collect();
    assert!(
        codes.contains(&"clock_skew")
            && codes.contains(&"connector_errors")
            && codes.contains(&"reconnects"),
        "{codes:?}"
    );
    assert!(
        h["clock_skew_s"]
            .as_f64()
            .is_some_and(|s| (590.0..610.0).contains(&s)),
        "{h}"
    );
    assert_eq!(h["errors"][0]["vendor_error_code"], "E-042");
    assert!(
        h["connections"]
            .as_array()
            .is_some_and(|c| c.iter().any(|e| e["kind"] == "disconnected"))
    );
}
