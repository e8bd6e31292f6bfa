//! Backups as a depot manager makes them: from the console's API while chargers are connected,
//! on a schedule, kept to a number, and restored, with the real server binary restarting itself
//! and the chargers finding it where they left it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chargeyard_ocpp::v16::Reason;
use chargeyard_sim::{ChargePoint, SimConfig};
use serde_json::{Value, json};

use crate::durability::{free_port, server_binary};
use crate::eventually;

/// The real server binary on a data folder, with chargers let in and charging open.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
    http: reqwest::Client,
    /// Where chargers connect.
    pub(crate) ocpp: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(crate) fn start(data: &Path) -> Server {
        let (ocpp_port, http_port) = (free_port(), free_port());
        let child = Command::new(server_binary())
            .args(["--data-dir", &data.display().to_string()])
            .args(["--ocpp-listen", &format!("127.0.0.1:{ocpp_port}")])
            .args(["--ocpp-tls-listen", "127.0.0.1:0"])
            .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
            .args(["--unknown-stations", "accept", "--open-charging"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        Server {
            child,
            base: format!("http://127.0.0.1:{http_port}"),
            http: reqwest::Client::new(),
            ocpp: format!("ws://127.0.0.1:{ocpp_port}/ocpp"),
        }
    }

    pub(crate) async fn req(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self.http.request(
            method.parse().expect("method"),
            format!("{}{path}", self.base),
        );
        if let Some(b) = body {
            r = r.json(&b);
        }
        match r.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                (status, resp.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    pub(crate) async fn sessions(&self) -> Option<i64> {
        let (s, v) = self.req("GET", "/api/transactions", None).await;
        (s == 200).then(|| v["total"].as_i64()).flatten()
    }
}

pub(crate) async fn charger(ocpp: &str) -> ChargePoint {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok((cp, _)) = ChargePoint::connect(SimConfig::new(ocpp, "BK-1")).await
            && cp.boot().await.is_ok()
        {
            return cp;
        }
        assert!(tokio::time::Instant::now() < deadline, "no server");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn one_session(cp: &ChargePoint) {
    cp.start_transaction(1, "VAN").await.expect("start");
    cp.stop_transaction(1, Reason::Local).await.expect("stop");
}

fn files(dir: &Path, prefix: &str, suffix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.starts_with(prefix) && n.ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_made_while_charging_is_restored_from_the_console_and_chargers_come_back() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path());
    let ocpp = server.ocpp.clone();
    let cp = charger(&ocpp).await;
    one_session(&cp).await;

    // Backed up while the charger is connected: the session acknowledged before it is in it.
    let (s, made) = server.req("POST", "/api/backups", None).await;
    assert_eq!(s, 200, "{made}");
    assert_eq!(made["contents"]["integrity"], "ok", "{made}");
    assert_eq!(made["contents"]["sessions"], 1, "{made}");
    assert_eq!(made["contents"]["stations"], 1, "{made}");
    let name = made["name"].as_str().expect("name").to_string();
    let (_, list) = server.req("GET", "/api/backups", None).await;
    assert_eq!(list["files"][0]["name"], name.as_str(), "{list}");
    assert!(
        list["files"][0]["bytes"].as_u64().unwrap_or(0) > 4096,
        "{list}"
    );
    assert_eq!(list["last"]["ok"], true, "{list}");
    assert_eq!(
        list["folder"],
        data.path().join("backups").display().to_string()
    );
    assert!(list["next_at"].is_string(), "daily by default: {list}");

    // A second session after the backup.
    one_session(&cp).await;
    assert_eq!(server.sessions().await, Some(2));

    // Only this folder's backups can be restored.
    for bad in ["chargeyard-19990101-000000.db", "..%2Fchargeyard.db"] {
        let (s, v) = server
            .req("POST", &format!("/api/backups/{bad}/restore"), None)
            .await;
        assert_eq!(s, 404, "{bad}: {v}");
    }
    let pid = server.child.id();
    let (s, v) = server
        .req("POST", &format!("/api/backups/{name}/restore"), None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["sessions"], 1, "what the backup holds is said: {v}");

    // The same process starts again on the same addresses, with the backup's data.
    let back = eventually("the console back with the backup's one session", || async {
        (server.sessions().await == Some(1)).then_some(())
    });
    tokio::time::timeout(Duration::from_secs(30), back)
        .await
        .expect("restarted within 30 s");
    assert_eq!(server.child.id(), pid);
    let cp = charger(&ocpp).await;
    one_session(&cp).await;
    assert_eq!(server.sessions().await, Some(2), "charging carries on");

    // The database from before the restore is kept, whole: two sessions.
    let aside = files(data.path(), "before-restore-", ".db");
    assert_eq!(aside.len(), 1, "{aside:?}");
    let kept = chargeyard_core::store::backup::describe(&data.path().join(&aside[0]))
        .await
        .expect("describe");
    assert_eq!((kept.sessions, kept.integrity.as_str()), (2, "ok"));
}

#[tokio::test]
async fn backups_follow_the_schedule_keep_their_number_and_refuse_a_bad_policy() {
    let api = crate::http::start_with(chargeyard_core::EngineConfig {
        backup_check: Duration::from_millis(100),
        ..crate::config()
    })
    .await;
    let folder = tempfile::tempdir().expect("tempdir");
    // Every problem of a policy is named, and nothing is saved.
    let (s, v) = api
        .req(
            "PUT",
            "/api/backups/policy",
            Some(json!({"folder": "usb/backups", "every_hours": 24, "keep": 0})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    let said = v["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("\"usb/backups\" is not a full path"),
        "{said}"
    );
    assert!(
        said.contains("Keep between 1 and 1000 backups, not 0"),
        "{said}"
    );
    let (s, v) = api
        .req(
            "PUT",
            "/api/backups/policy",
            Some(json!({"folder": "/proc/chargeyard", "every_hours": 24, "keep": 2})),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Backups cannot be written to /proc/chargeyard"),
        "{v}"
    );
    let (_, v) = api.req("GET", "/api/backups", None).await;
    assert_eq!(v["policy"]["keep"], 7, "unchanged: {v}");

    // Hourly into the chosen folder: the first is made at once, as none is there yet.
    let dir = folder.path().display().to_string();
    let (s, v) = api
        .req(
            "PUT",
            "/api/backups/policy",
            Some(json!({"folder": dir, "every_hours": 1, "keep": 2})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    eventually("a scheduled backup", || async {
        (files(folder.path(), "chargeyard-", ".db").len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        files(folder.path(), "chargeyard-", ".db").len(),
        1,
        "not again within the hour"
    );
    // Two more by hand: only the newest two are kept, each with its check beside it.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (s, v) = api.req("POST", "/api/backups", None).await;
        assert_eq!(s, 200, "{v}");
    }
    let (_, v) = api.req("GET", "/api/backups", None).await;
    let listed: Vec<&str> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    let mut on_disk = files(folder.path(), "chargeyard-", ".db");
    on_disk.reverse();
    assert_eq!(listed, on_disk, "newest first");
    assert_eq!(on_disk.len(), 2);
    assert_eq!(files(folder.path(), "chargeyard-", ".json").len(), 2);
    let next = v["next_at"].as_str().expect("next");
    assert!(
        next > v["files"][0]["made_at"].as_str().expect("made"),
        "{v}"
    );
}
