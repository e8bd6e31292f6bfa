//! OCPP 2.0.1 with a charging station that is not ours: the PyPI `ocpp` library, which checks
//! every message both ways against the official OCA schemas (`tests/interop/`), against the real
//! server binary. Its Python comes from `scripts/test` (a virtualenv in the build cache) or
//! `CHARGEYARD_PYTHON`.

use std::path::PathBuf;

use crate::backups::Server;
use crate::eventually;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CHARGEYARD_PYTHON") {
        return p.into();
    }
    let home = std::env::var_os("HOME").expect("HOME is set");
    let p = PathBuf::from(home).join(".cache/chargeyard/pyenv/bin/python");
    assert!(
        p.exists(),
        "no Python with the PyPI ocpp library at {}: scripts/test makes it, or set CHARGEYARD_PYTHON",
        p.display()
    );
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_independent_201_charging_station_is_served_end_to_end() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path());
    eventually("the server up", || async { server.sessions().await }).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/interop/ocpp201_charge_point.py"
    );
    let out = tokio::process::Command::new(python())
        .args([script, &server.base, &server.ocpp, "PY-201"])
        .output()
        .await
        .expect("python runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("all steps held"), "{said}");
}
