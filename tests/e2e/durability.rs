//! SIGKILL the real server binary in the middle of a stream of acknowledged messages, restart it,
//! and find every acknowledged message in the database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use chargeyard_sim::{ChargePoint, SimConfig};

/// The `chargeyard-server` binary beside this test binary (target/<profile>/).
pub(crate) fn server_binary() -> PathBuf {
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

pub(crate) fn free_port() -> u16 {
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
        .args(["--ocpp-tls-listen", "127.0.0.1:0"])
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

/// Let a few hundred acknowledgements through, then SIGKILL the server without warning; returns
/// every acknowledgement the stream saw, also those after the first 300.
async fn kill_after_300<T>(
    acked: &mut tokio::sync::mpsc::UnboundedReceiver<T>,
    server: &mut Child,
    stream: tokio::task::JoinHandle<()>,
) -> Vec<T> {
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
    got
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

    let got = kill_after_300(&mut acked, &mut server, stream).await;

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

/// The same for an OCPP 2.0.1 charger's TransactionEvent stream: every acknowledged Started,
/// Updated and Ended is on disk after a SIGKILL, and the charger sending its last events again
/// after the restart (it cannot know which answers were lost) gets the same answers and creates
/// nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_no_acknowledged_transaction_event() {
    use serde_json::{Value, json};
    let dir = tempfile::tempdir().expect("tempdir");
    let (ocpp, http) = (free_port(), free_port());
    let mut server = spawn_server(dir.path(), ocpp, http);
    let url = format!("ws://127.0.0.1:{ocpp}/ocpp");
    let connect201 = || async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((cp, _)) = ChargePoint::connect(SimConfig::v201(&url, "DUR2")).await {
                return cp;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "server did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let cp = connect201().await;
    cp.boot().await.expect("boot");
    let event = |kind: &str, tx: &str, seq: i64, wh: i64| -> Value {
        let mut e = json!({
            "eventType": kind, "timestamp": Timestamp::now(), "seqNo": seq,
            "triggerReason": if kind == "Ended" { "StopAuthorized" } else { "MeterValuePeriodic" },
            "transactionInfo": {"transactionId": tx, "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": Timestamp::now(), "sampledValue": [
                {"value": wh, "measurand": "Energy.Active.Import.Register"}]}],
        });
        if kind == "Started" {
            e["idToken"] = json!({"idToken": "DUR", "type": "ISO14443"});
        }
        if kind == "Ended" {
            e["transactionInfo"]["stoppedReason"] = json!("Local");
        }
        e
    };
    // (kind, transaction id, register reading, the event, its answer)
    type Acked = (&'static str, String, i64, Value, Value);
    let (acked_tx, mut acked) = tokio::sync::mpsc::unbounded_channel::<Acked>();
    let sender = cp.clone();
    let stream = tokio::spawn(async move {
        let mut register = 0i64;
        for round in 0..100_000i64 {
            let tx = format!("dur-{round}");
            let kinds = [
                "Started", "Updated", "Updated", "Updated", "Updated", "Ended",
            ];
            for (seq, kind) in (0..).zip(kinds) {
                register += 100;
                let e = event(kind, &tx, seq, register);
                let Ok(answer) = sender.call_raw("TransactionEvent", e.clone()).await else {
                    return;
                };
                let _ = acked_tx.send((kind, tx.clone(), register, e, answer));
            }
        }
    });
    let got: Vec<Acked> = kill_after_300(&mut acked, &mut server, stream).await;

    let mut server = spawn_server(dir.path(), ocpp, http);
    let cp = connect201().await;
    cp.boot().await.expect("boots again after the crash");
    // The last Started and the last Ended acknowledged, sent again.
    for kind in ["Started", "Ended"] {
        let (_, _, _, e, answer) = got.iter().rfind(|a| a.0 == kind).expect("sent").clone();
        let again = cp.call_raw("TransactionEvent", e).await.expect("answered");
        assert_eq!(again, answer, "the same answer to the same {kind}");
    }
    server.kill().expect("stop");
    server.wait().expect("reaped");

    let db = chargeyard_store::Store::open(&dir.path().join("chargeyard.db"))
        .await
        .expect("reopen");
    let r = &db.reader;
    let mut missing = Vec::new();
    for (kind, tx, wh, _, _) in &got {
        let sql = match *kind {
            "Started" => "SELECT COUNT(*) FROM transactions WHERE charger_tx_id = ?1 AND ?2 > 0",
            "Updated" => {
                "SELECT COUNT(*) FROM meter_samples s JOIN transactions t ON t.id = s.transaction_id
                 WHERE t.charger_tx_id = ?1 AND s.value = ?2"
            }
            _ => {
                "SELECT COUNT(*) FROM transactions WHERE charger_tx_id = ?1 AND meter_stop = ?2
                 AND stop_ts IS NOT NULL"
            }
        };
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(tx)
            .bind(wh)
            .fetch_one(r)
            .await
            .expect("query");
        if n == 0 {
            missing.push((*kind, tx.clone(), *wh));
        }
    }
    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT charger_tx_id FROM transactions
         GROUP BY station_id, charger_tx_id HAVING COUNT(*) > 1)",
    )
    .fetch_one(r)
    .await
    .expect("query");
    println!(
        "2.0.1 events acknowledged before SIGKILL: {}; missing after restart: {}",
        got.len(),
        missing.len()
    );
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert_eq!(twice, 0, "no transaction stored twice");
}

/// A pseudo-random number in `0..n` from the clock (the test needs "some moment", not a seed).
fn clock_random(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(nanos) % n.max(1)
}

/// Under load from the load generator (many stations, back-to-back messages), SIGKILL the server
/// at a random moment, restart it on the same database, and find every acknowledged message.
/// Rounds: `CHARGEYARD_DURABILITY_ROUNDS` (CI runs 2; the documented long run is 10). After the
/// last crash, transactions left open are still open, and a station replaying its queued
/// StopTransaction completes one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_acknowledged() {
    use chargeyard_sim::load::{self, Ack, LoadConfig};
    let rounds: usize = std::env::var("CHARGEYARD_DURABILITY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let dir = tempfile::tempdir().expect("tempdir");
    let (ocpp, http) = (free_port(), free_port());
    let url = format!("ws://127.0.0.1:{ocpp}/ocpp");
    let mut all_acks: Vec<Ack> = Vec::new();
    for round in 0..rounds {
        let mut server = spawn_server(dir.path(), ocpp, http);
        // Wait until it listens.
        let probe = connect(&url).await;
        probe.close();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = LoadConfig {
            url: url.clone(),
            stations: 40,
            prefix: format!("R{round}-"),
            interval: Duration::ZERO,
            duration: Duration::from_secs(20),
            connect_rate: 400,
            call_timeout: Duration::from_secs(5),
            ..LoadConfig::default()
        };
        let run = tokio::spawn(load::run(cfg, Some(tx)));
        // The kill comes at a random moment once acknowledgements flow (on a busy machine the
        // stations take a while to connect and boot).
        let first = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .ok()
            .flatten();
        let kill_after = Duration::from_millis(200 + clock_random(2000));
        tokio::time::sleep(kill_after).await;
        server.kill().expect("SIGKILL");
        server.wait().expect("reaped");
        let report = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("load stops")
            .expect("join");
        let mut acks: Vec<Ack> = first.into_iter().collect();
        while let Ok(a) = rx.try_recv() {
            acks.push(a);
        }
        println!(
            "round {round}: killed {} ms after the first acknowledgement, {} acknowledged ({} dropped connections)",
            kill_after.as_millis(),
            acks.len(),
            report.dropped
        );
        assert!(
            !acks.is_empty(),
            "round {round}: the server acknowledged nothing before the kill"
        );
        all_acks.extend(acks);
    }

    // Restart once more and check everything ever acknowledged, across all crashes.
    let mut server = spawn_server(dir.path(), ocpp, http);
    let cp = connect(&url).await;
    cp.close();
    let db = chargeyard_store::Store::open(&dir.path().join("chargeyard.db"))
        .await
        .expect("reopen");
    let r = &db.reader;
    let mut missing = Vec::new();
    let mut stopped = std::collections::HashSet::new();
    // Meter samples are not indexed by station (it would cost every MeterValues): read them once.
    let samples: std::collections::HashSet<(String, String)> =
        sqlx::query_as("SELECT station_id, raw_value FROM meter_samples")
            .fetch_all(r)
            .await
            .expect("samples")
            .into_iter()
            .collect();
    for a in &all_acks {
        let n: i64 = match a {
            Ack::Start { transaction_id, .. } => {
                sqlx::query_scalar("SELECT COUNT(*) FROM transactions WHERE id = ?")
                    .bind(transaction_id)
                    .fetch_one(r)
                    .await
            }
            Ack::Meter {
                station,
                register_wh,
            } => Ok(i64::from(
                samples.contains(&(station.clone(), register_wh.to_string())),
            )),
            Ack::Status { station, info } => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM status_history WHERE station_id = ? AND info = ?",
                )
                .bind(station)
                .bind(info)
                .fetch_one(r)
                .await
            }
            Ack::Stop { transaction_id, .. } => {
                stopped.insert(*transaction_id);
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM transactions WHERE id = ? AND stop_ts IS NOT NULL",
                )
                .bind(transaction_id)
                .fetch_one(r)
                .await
            }
        }
        .expect("query");
        if n == 0 {
            missing.push(a.clone());
        }
    }
    println!(
        "{} rounds: {} acknowledged messages, {} missing",
        rounds,
        all_acks.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "acknowledged but lost: {:?}",
        &missing[..missing.len().min(10)]
    );

    // Crash-safe restart: transactions cut off by the crash are shown open, not silently closed…
    let open: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, station_id FROM transactions WHERE stop_ts IS NULL ORDER BY id")
            .fetch_all(r)
            .await
            .expect("open transactions");
    assert!(
        !open.is_empty(),
        "the crash left running transactions; they must still be open"
    );
    // …and a station reconnecting with its queued StopTransaction completes one.
    let (tx_id, station) = open[0].clone();
    let (cp, _) = ChargePoint::connect(SimConfig::new(&url, &station))
        .await
        .expect("reconnects");
    let old = Timestamp(chrono::Utc::now() - chrono::Duration::minutes(5));
    // Its queued MeterValues first: the restarted engine knows the transaction only from the
    // database, and the values still belong to it.
    let connector: i64 = sqlx::query_scalar("SELECT connector_id FROM transactions WHERE id = ?")
        .bind(tx_id)
        .fetch_one(r)
        .await
        .expect("connector");
    cp.call(MeterValuesRequest {
        connector_id: connector,
        transaction_id: Some(tx_id),
        meter_value: vec![MeterValue {
            timestamp: Timestamp(old.0 - chrono::Duration::minutes(1)),
            sampled_value: vec![crate::sample("999999937", None, None, None)],
        }],
    })
    .await
    .expect("queued values acknowledged after the restart");
    let linked: Option<i64> = sqlx::query_scalar(
        "SELECT transaction_id FROM meter_samples WHERE raw_value = '999999937'",
    )
    .fetch_one(r)
    .await
    .expect("the queued values stored");
    assert_eq!(linked, Some(tx_id), "with their transaction");
    let stop = StopTransactionRequest {
        id_tag: None,
        meter_stop: 1_000_000_000,
        timestamp: old,
        transaction_id: tx_id,
        reason: Some(Reason::PowerLoss),
        transaction_data: None,
    };
    cp.call(stop)
        .await
        .expect("queued stop acknowledged after the restart");
    let stop_ts: Option<String> =
        sqlx::query_scalar("SELECT stop_ts FROM transactions WHERE id = ?")
            .bind(tx_id)
            .fetch_one(r)
            .await
            .expect("row");
    assert_eq!(
        stop_ts.as_deref().map(|s| &s[..16]),
        Some(&old.to_wire()[..16]),
        "stopped at the charger's (old) time"
    );
    server.kill().expect("stop");
    server.wait().expect("reaped");
}

/// The load generator's stations drive their own sockets and take no commands: a command sent to
/// one mid-run gets a `NotSupported` CALLERROR (the central system is not left waiting), the
/// report counts it, and the station carries on with its load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_stations_refuse_commands_and_keep_going() {
    use chargeyard_sim::load::{self, LoadConfig};
    let h = crate::Harness::open().await;
    let cfg = LoadConfig {
        url: h.url.clone(),
        stations: 3,
        prefix: "LOADCMD-".into(),
        interval: Duration::from_millis(200),
        duration: Duration::from_secs(3),
        call_timeout: Duration::from_secs(5),
        ..LoadConfig::default()
    };
    let run = tokio::spawn(load::run(cfg, None));
    crate::eventually("a load station is connected", || async {
        h.engine.is_connected("LOADCMD-1").then_some(())
    })
    .await;
    let r = h
        .engine
        .call(
            "LOADCMD-1",
            TriggerMessageRequest {
                requested_message: MessageTrigger::Heartbeat,
                connector_id: None,
            },
            "test",
        )
        .await;
    assert!(
        matches!(&r, Err(chargeyard_core::Error::CallError { code, .. }) if code == "NotSupported"),
        "{r:?}"
    );
    let report = run.await.expect("load run");
    assert_eq!(report.connected, 3);
    assert_eq!(report.commands_refused, 1);
    assert_eq!(
        (report.call_errors, report.timeouts, report.dropped),
        (0, 0, 0)
    );
    // Each station kept sending MeterValues every 200 ms for 3 s, a StatusNotification every
    // tenth round (and its start and stop).
    assert!(
        report.meter_values_acked >= 3 * 10,
        "{} MeterValues acknowledged",
        report.meter_values_acked
    );
    assert!(report.acked > report.meter_values_acked);
    h.stop().await;
}

/// `--status-every` shapes the stream: zero sends MeterValues only, N sends a StatusNotification
/// after every N MeterValues of a station. Counted from what the central system acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_status_every_sets_the_share_of_statuses() {
    use chargeyard_sim::load::{self, Ack, LoadConfig};
    let h = crate::Harness::open().await;
    for (status_every, prefix) in [(0, "LOADSE0-"), (2, "LOADSE2-")] {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cfg = LoadConfig {
            url: h.url.clone(),
            stations: 2,
            prefix: prefix.into(),
            interval: Duration::from_millis(100),
            duration: Duration::from_secs(2),
            call_timeout: Duration::from_secs(5),
            status_every,
            ..LoadConfig::default()
        };
        let report = load::run(cfg, Some(tx)).await;
        assert_eq!((report.call_errors, report.timeouts), (0, 0));
        let (mut meters, mut statuses) = (0u64, 0u64);
        while let Ok(ack) = rx.try_recv() {
            match ack {
                Ack::Meter { .. } => meters += 1,
                Ack::Status { .. } => statuses += 1,
                Ack::Start { .. } | Ack::Stop { .. } => {}
            }
        }
        assert!(
            meters >= 2 * 10,
            "{meters} MeterValues with status_every {status_every}"
        );
        if status_every == 0 {
            assert_eq!(statuses, 0, "{meters} MeterValues");
        } else {
            // One status per two MeterValues, per station, give or take each station's last round.
            assert!(
                statuses.abs_diff(meters / 2) <= 2,
                "{statuses} statuses for {meters} MeterValues"
            );
        }
    }
    h.stop().await;
}

/// `chargeyard-load --protocol 2.0.1`: the stations speak 2.0.1 (TransactionEvent Started, an
/// Updated per meter value, Ended) and the central system records each as a 2.0.1 transaction
/// whose energy is what the stations reported; every frame is valid 2.0.1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_speaks_201_transaction_events() {
    use chargeyard_ocpp::Version;
    use chargeyard_sim::load::{self, Ack, LoadConfig};
    use chargeyard_store::model::ConnectorState;
    use chargeyard_store::transactions::TransactionFilter;
    let h = crate::Harness::open().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cfg = LoadConfig {
        url: h.url.clone(),
        stations: 2,
        prefix: "LOADV2-".into(),
        interval: Duration::from_millis(100),
        duration: Duration::from_secs(2),
        call_timeout: Duration::from_secs(5),
        status_every: 3,
        protocol: Version::V201,
        ..LoadConfig::default()
    };
    let report = load::run(cfg, Some(tx)).await;
    assert_eq!(report.connected, 2);
    assert_eq!(
        (report.call_errors, report.timeouts, report.dropped),
        (0, 0, 0)
    );
    let mut last = std::collections::HashMap::new();
    while let Ok(ack) = rx.try_recv() {
        if let Ack::Meter {
            station,
            register_wh,
        } = ack
        {
            last.insert(station, register_wh);
        }
    }
    assert!(report.meter_values_acked >= 2 * 10, "{report:?}");
    // The window without starts and ends: after both starts were answered, within the 2 s, and
    // holding most of the meter values counted (each station sends about ten a second).
    assert!(
        report.running_seconds > 1.0 && report.running_seconds < 2.0,
        "{report:?}"
    );
    let in_window = report.running_meter_values_per_second * report.running_seconds;
    assert!(
        in_window >= 2.0 * 8.0 && in_window <= report.meter_values_acked as f64,
        "{report:?}"
    );
    for (n, station) in ["LOADV2-0", "LOADV2-1"].into_iter().enumerate() {
        let page = h
            .engine
            .transactions(&TransactionFilter {
                station_id: Some(station.into()),
                ..TransactionFilter::default()
            })
            .await
            .expect("transactions");
        assert_eq!(page.items.len(), 1, "{station}: {:?}", page.items);
        let t = &page.items[0];
        assert_eq!(t.protocol, "ocpp2.0.1");
        assert_eq!(t.charger_tx_id, format!("{station}-1"));
        let first = 1_000_000 + n as i64 * 10;
        assert_eq!(t.meter_start, Some(first), "{t:?}");
        assert_eq!(t.meter_stop, last.get(station).copied(), "{t:?}");
        assert!(t.stop_ts.is_some(), "{t:?}");
        assert!(crate::assert_frames_schema_valid(&h.engine, station).await > 20);
        // The EVSE's state follows the charging state when it changes, not once per event; the
        // periodic StatusNotification (Occupied) keeps showing it as charging.
        let history = h
            .engine
            .status_history(station, 1000)
            .await
            .expect("history");
        let from_events = history
            .iter()
            .filter(|c| c.info.as_deref() == Some("charging state Charging"))
            .count();
        assert_eq!(from_events, 1, "{history:#?}");
        let occupied: Vec<_> = history.iter().filter(|c| c.status == "Occupied").collect();
        assert!(occupied.len() >= 3, "{history:#?}");
        assert!(
            occupied.iter().all(|c| c.state == ConnectorState::Charging),
            "{occupied:#?}"
        );
    }
    h.stop().await;
}
