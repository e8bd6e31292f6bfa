//! A full disk, for real: the real server binary keeps its database on a small file system of its
//! own (a tmpfs mounted for the test, so it needs root, as `scripts/test` runs), which fills up
//! while a charger charges. Nothing acknowledged is lost, the charger and the console are told
//! why nothing new is taken, and it all works again once space is freed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use chargeyard_ocpp::v16::{Reason, StartTransactionRequest};
use chargeyard_ocpp::{CiString, Timestamp};
use chargeyard_sim::{ChargePoint, SimError};
use serde_json::{Value, json};

use crate::backups::{Server, charger};
use crate::eventually;

/// A tmpfs of `mib` MiB mounted on a new folder; unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// None when not running as root (nothing can be mounted then).
    fn mount(mib: u32) -> Option<SmallDisk> {
        let uid = Command::new("id").arg("-u").output().expect("id -u");
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(ok.success(), "mounting a {mib} MiB tmpfs as root failed");
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Fill the file system holding `file` until a write fails for lack of space.
fn fill(file: &Path) {
    let mut f = std::fs::File::create(file).expect("filler");
    let block = vec![0xa5u8; 64 * 1024];
    loop {
        match f.write_all(&block).and_then(|_| f.sync_all()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => return, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
}

fn disk_full_error(r: Result<impl std::fmt::Debug, SimError>) -> String {
    match r {
        Err(SimError::CallError { code, description }) => {
            assert_eq!(code, "InternalError", "{description}");
            description
        }
        other => panic!("expected a CALLERROR, got {other:?}"),
    }
}

async fn start(cp: &ChargePoint, connector: i64) -> Result<i64, SimError> {
    cp.call(StartTransactionRequest {
        connector_id: connector,
        id_tag: CiString::new("VAN").expect("tag"),
        meter_start: 0,
        reservation_id: None,
        timestamp: Timestamp::now(),
    })
    .await
    .map(|r| r.transaction_id)
}

/// The energy readings stored for a session.
async fn readings(server: &Server, transaction: i64) -> usize {
    let (s, v) = server
        .req(
            "GET",
            &format!(
                "/api/meter-values?transaction_id={transaction}&measurand=Energy.Active.Import.Register"
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v.as_array().map(Vec::len).unwrap_or(0)
}

async fn disk_full_said(server: &Server) -> Option<bool> {
    let (s, v) = server.req("GET", "/api/info", None).await;
    (s == 200).then(|| v["disk_full"].as_bool()).flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_sessions_clearly_loses_nothing_and_recovers_when_space_is_freed() {
    let Some(disk) = SmallDisk::mount(48) else {
        eprintln!("skipped: mounting a small file system needs root (scripts/test runs as root)");
        return;
    };
    let data: PathBuf = disk.path().join("data");
    std::fs::create_dir(&data).expect("data folder");
    let mut server = Server::start(&data);
    let cp = charger(&server.ocpp).await;
    cp.start_transaction(1, "VAN").await.expect("first start");
    cp.stop_transaction(1, Reason::Local)
        .await
        .expect("first stop");
    let running = cp.start_transaction(1, "VAN").await.expect("second start");
    let running = running.transaction_id;
    cp.charge(1, 500, 7_000.0).await.expect("charging");
    // Each acknowledged MeterValues adds one energy reading.
    let mut acknowledged = readings(&server, running).await;
    assert!(acknowledged >= 1);

    // The disk fills up while the charger keeps reporting: sooner or later its meter values can
    // no longer be stored, and it is told so rather than acknowledged.
    let filler = disk.path().join("filler");
    fill(&filler);
    // The console says so at once, not only once a write fails: the WAL's file may hold room
    // for minutes of a depot's writes.
    eventually("the console told the disk is full", || async {
        (disk_full_said(&server).await == Some(true)).then_some(())
    })
    .await;
    let refused = loop {
        match cp.charge(1, 100, 7_000.0).await {
            Ok(()) => acknowledged += 1,
            Err(e) => break Err::<(), _>(e),
        }
        assert!(acknowledged < 20_000, "the disk never filled up");
    };
    let said = disk_full_error(refused);
    assert!(said.contains("disk is full"), "{said}");
    assert_eq!(disk_full_said(&server).await, Some(true));

    // No new session: the charger's start is refused with the reason, and so is one from the
    // console, before anything is sent to the charger.
    let said = disk_full_error(start(&cp, 2).await);
    assert!(said.contains("disk is full"), "{said}");
    let (s, v) = server
        .req(
            "POST",
            "/api/stations/BK-1/start",
            Some(json!({"evse_id": 2, "id_tag": "VAN"})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["message"].as_str().unwrap_or_default().contains("disk"),
        "{v}"
    );
    // Reading works all along: every acknowledged reading is there.
    assert_eq!(readings(&server, running).await, acknowledged);

    // Space is freed: the charger's retries are taken again and the console says so.
    std::fs::remove_file(&filler).expect("free space");
    eventually("meter values taken again", || async {
        cp.charge(1, 100, 7_000.0).await.ok()
    })
    .await;
    acknowledged += 1;
    eventually("the console told the disk has room", || async {
        (disk_full_said(&server).await == Some(false)).then_some(())
    })
    .await;
    let third = start(&cp, 2).await.expect("a new session starts again");
    assert_ne!(third, running);
    assert_eq!(readings(&server, running).await, acknowledged);

    // And after a crash it is all on disk: three sessions, every acknowledged reading.
    let _ = server.child.kill();
    let _ = server.child.wait();
    drop(cp);
    server = Server::start(&data);
    let sessions = eventually("the server back", || async { server.sessions().await }).await;
    assert_eq!(sessions, 3);
    assert_eq!(readings(&server, running).await, acknowledged);
    let (_, info): (u16, Value) = server.req("GET", "/api/info", None).await;
    assert_eq!(info["disk_full"], false, "{info}");
}
