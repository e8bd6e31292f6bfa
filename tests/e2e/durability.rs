//! SIGKILL the real server binary in the middle of a stream of acknowledged messages, restart it,
//! and find every acknowledged message in the database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use chargeyard_sim::{ChargePoint, SimConfig};

/// The `chargeyard-server` binary beside this test binary (target/<profile>/).
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join(format!("chargeyard-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "{} is missing: build it first with `cargo build -p chargeyard-server`",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn spawn_server(data: &Path, ocpp: u16, http: u16) -> Child {
    Command::new(server_binary())
        .args(["--data-dir", &data.display().to_string()])
        .args(["--ocpp-listen", &format!("127.0.0.1:{ocpp}")])
        .args(["--http-listen", &format!("127.0.0.1:{http}")])
        .args(["--unknown-stations", "accept"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts")
}

async fn connect(url: &str) -> ChargePoint {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok((cp, _)) = ChargePoint::connect(SimConfig::new(url, "DUR1")).await {
            return cp;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "server did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ci<const N: usize>(s: &str) -> CiString<N> {
    CiString::new(s).expect("fits")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_that_was_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ocpp, http) = (free_port(), free_port());
    let mut server = spawn_server(dir.path(), ocpp, http);
    let url = format!("ws://127.0.0.1:{ocpp}/ocpp");
    let cp = connect(&url).await;
    cp.boot().await.expect("boot");

    // A stream of transactions, meter values and status changes; remember what was acknowledged.
    let (acked_tx, mut acked) = tokio::sync::mpsc::unbounded_channel::<(&'static str, i64)>();
    let sender = cp.clone();
    let stream = tokio::spawn(async move {
        let mut register = 0i64;
        for round in 0..100_000i64 {
            let start = StartTransactionRequest {
                connector_id: 1,
                id_tag: ci("DUR"),
                meter_start: register,
                reservation_id: None,
                timestamp: Timestamp::now(),
            };
            let Ok(r) = sender.call(start).await else {
                return;
            };
            let _ = acked_tx.send(("start", r.transaction_id));
            for _ in 0..5 {
                register += 100;
                let mv = MeterValuesRequest {
                    connector_id: 1,
                    transaction_id: Some(r.transaction_id),
                    meter_value: vec![MeterValue {
                        timestamp: Timestamp::now(),
                        sampled_value: vec![crate::sample(&register.to_string(), None, None, None)],
                    }],
                };
                if sender.call(mv).await.is_err() {
                    return;
                }
                let _ = acked_tx.send(("meter", register));
            }
            let status = StatusNotificationRequest {
                connector_id: 1,
                error_code: ChargePointErrorCode::NoError,
                info: Some(ci(&format!("round {round}"))),
                status: ChargePointStatus::Charging,
                timestamp: None,
                vendor_id: None,
                vendor_error_code: None,
            };
            if sender.call(status).await.is_err() {
                return;
            }
            let _ = acked_tx.send(("status", round));
            let stop = StopTransactionRequest {
                id_tag: None,
                meter_stop: register,
                timestamp: Timestamp::now(),
                transaction_id: r.transaction_id,
                reason: None,
                transaction_data: None,
            };
            if sender.call(stop).await.is_err() {
                return;
            }
            let _ = acked_tx.send(("stop", r.transaction_id));
        }
    });

    // Let a few hundred messages through, then kill without warning.
    let mut got = Vec::new();
    while got.len() < 300 {
        match tokio::time::timeout(Duration::from_secs(30), acked.recv()).await {
            Ok(Some(a)) => got.push(a),
            _ => panic!("the stream stalled after {} acknowledgements", got.len()),
        }
    }
    server.kill().expect("SIGKILL");
    server.wait().expect("reaped");
    let _ = tokio::time::timeout(Duration::from_secs(15), stream).await;
    while let Ok(a) = acked.try_recv() {
        got.push(a);
    }

    // Restart on the same data; it must come up by itself.
    let mut server = spawn_server(dir.path(), ocpp, http);
    let cp = connect(&url).await;
    cp.boot().await.expect("boots again after the crash");
    server.kill().expect("stop");
    server.wait().expect("reaped");

    let db = chargeyard_store::Store::open(&dir.path().join("chargeyard.db"))
        .await
        .expect("reopen");
    let r = &db.reader;
    let mut missing = Vec::new();
    for (kind, v) in &got {
        let n: i64 = match *kind {
            "start" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM transactions WHERE id = ?")
                    .bind(v)
                    .fetch_one(r)
                    .await
            }
            "meter" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM meter_samples WHERE raw_value = ?")
                    .bind(v.to_string())
                    .fetch_one(r)
                    .await
            }
            "status" => {
                sqlx::query_scalar("SELECT COUNT(*) FROM status_history WHERE info = ?")
                    .bind(format!("round {v}"))
                    .fetch_one(r)
                    .await
            }
            _ => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM transactions WHERE id = ? AND stop_ts IS NOT NULL",
                )
                .bind(v)
                .fetch_one(r)
                .await
            }
        }
        .expect("query");
        if n == 0 {
            missing.push((*kind, *v));
        }
    }
    println!(
        "acknowledged before SIGKILL: {}; missing after restart: {}",
        got.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
}
