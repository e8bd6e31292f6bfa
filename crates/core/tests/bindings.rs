//! The UI's TypeScript types are generated from these Rust types (ts-rs) and committed in
//! `ui/src/lib/bindings`. This test fails when they are stale; `UPDATE_BINDINGS=1 cargo test -p
//! chargeyard-core --test bindings` rewrites them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chargeyard_core::charts::ChartKind;
use chargeyard_core::export::{ExportRequest, ExportResult};
use chargeyard_core::store::id_tags::{TagFields, TagFilter};
use chargeyard_core::store::meter::SampleFilter;
use chargeyard_core::store::model::{Page, Transaction};
use chargeyard_core::store::transactions::TransactionFilter;
use chargeyard_core::toolkit;
use chargeyard_core::{
    EngineInfo, ErrorBody, Event, ImportPreview, ImportReport, NewStation, Settings, StationDetail,
    StationView, TransactionDetail,
};
use ts_rs::{Config, TS};

/// Every `.ts` file below `dir`, by path relative to it.
fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|x| x == "ts") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn ui_bindings_are_generated_from_rust_and_fresh() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // i64 ids and counters are plain JSON numbers on the wire.
    let cfg = Config::new()
        .with_large_int("number")
        .with_out_dir(tmp.path());
    StationDetail::export_all(&cfg).expect("export");
    StationView::export_all(&cfg).expect("export");
    TransactionDetail::export_all(&cfg).expect("export");
    EngineInfo::export_all(&cfg).expect("export");
    chargeyard_core::gate::TurnedAway::export_all(&cfg).expect("export");
    Event::export_all(&cfg).expect("export");
    ErrorBody::export_all(&cfg).expect("export");
    NewStation::export_all(&cfg).expect("export");
    TagFields::export_all(&cfg).expect("export");
    TagFilter::export_all(&cfg).expect("export");
    TransactionFilter::export_all(&cfg).expect("export");
    SampleFilter::export_all(&cfg).expect("export");
    ExportRequest::export_all(&cfg).expect("export");
    ExportResult::export_all(&cfg).expect("export");
    ChartKind::export_all(&cfg).expect("export");
    Page::<Transaction>::export_all(&cfg).expect("export");
    chargeyard_core::store::model::IdTag::export_all(&cfg).expect("export");
    Settings::export_all(&cfg).expect("export");
    ImportReport::export_all(&cfg).expect("export");
    ImportPreview::export_all(&cfg).expect("export");
    chargeyard_core::billing::TariffView::export_all(&cfg).expect("export");
    chargeyard_core::billing::TariffInput::export_all(&cfg).expect("export");
    chargeyard_core::billing::AssignmentInput::export_all(&cfg).expect("export");
    chargeyard_core::store::tariffs::Assignment::export_all(&cfg).expect("export");
    chargeyard_core::store::frames::FrameFilter::export_all(&cfg).expect("export");
    chargeyard_core::store::model::Transfer::export_all(&cfg).expect("export");
    chargeyard_core::store::model::ConfigSnapshot::export_all(&cfg).expect("export");
    toolkit::InspectedFrame::export_all(&cfg).expect("export");
    toolkit::CommandTemplate::export_all(&cfg).expect("export");
    toolkit::CatalogueKey::export_all(&cfg).expect("export");
    toolkit::StationConfiguration::export_all(&cfg).expect("export");
    toolkit::KeyChange::export_all(&cfg).expect("export");
    toolkit::KeyResult::export_all(&cfg).expect("export");
    toolkit::ConfigSource::export_all(&cfg).expect("export");
    toolkit::ConfigDiff::export_all(&cfg).expect("export");
    toolkit::LocalListRequest::export_all(&cfg).expect("export");
    toolkit::LocalListResult::export_all(&cfg).expect("export");
    toolkit::Health::export_all(&cfg).expect("export");
    chargeyard_core::transfer::DiagnosticsRequest::export_all(&cfg).expect("export");
    chargeyard_core::transfer::UploadProtocol::export_all(&cfg).expect("export");
    chargeyard_core::transfer::FirmwareRequest::export_all(&cfg).expect("export");
    chargeyard_core::transactions::StartRequest::export_all(&cfg).expect("export");
    chargeyard_core::transactions::StopRequest::export_all(&cfg).expect("export");
    chargeyard_core::transactions::CloseRequest::export_all(&cfg).expect("export");
    chargeyard_core::protocol::CommandAnswer::export_all(&cfg).expect("export");
    chargeyard_core::protocol::ResetRequest::export_all(&cfg).expect("export");
    chargeyard_core::protocol::UnlockRequest::export_all(&cfg).expect("export");
    chargeyard_core::protocol::AvailabilityRequest::export_all(&cfg).expect("export");
    chargeyard_core::protocol::TriggerRequest::export_all(&cfg).expect("export");
    chargeyard_core::auth::PasswordChange::export_all(&cfg).expect("export");
    chargeyard_core::auth::PasswordOutcome::export_all(&cfg).expect("export");
    chargeyard_core::DemoRemoval::export_all(&cfg).expect("export");
    chargeyard_core::ProtocolsRequest::export_all(&cfg).expect("export");
    chargeyard_core::security::SecurityProfileChange::export_all(&cfg).expect("export");
    chargeyard_core::security::ProfileUpgrade::export_all(&cfg).expect("export");
    chargeyard_core::tls::TlsInfo::export_all(&cfg).expect("export");
    chargeyard_core::tls::CertificateImport::export_all(&cfg).expect("export");
    chargeyard_core::operators::NewOperator::export_all(&cfg).expect("export");
    chargeyard_core::operators::OperatorChange::export_all(&cfg).expect("export");
    chargeyard_core::store::operators::Operator::export_all(&cfg).expect("export");
    chargeyard_core::store::id_tags::TagGroup::export_all(&cfg).expect("export");
    chargeyard_core::load::Site::export_all(&cfg).expect("export");
    chargeyard_core::backups::Backups::export_all(&cfg).expect("export");
    chargeyard_core::load::SiteLoad::export_all(&cfg).expect("export");
    chargeyard_core::store::load::Decision::export_all(&cfg).expect("export");

    let generated = read_dir(tmp.path());
    let committed_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
        .join("../../ui/src/lib/bindings");
    if std::env::var("UPDATE_BINDINGS").is_ok_and(|v| v == "1") {
        let _ = std::fs::remove_dir_all(&committed_dir);
        std::fs::create_dir_all(&committed_dir).expect("mkdir");
        for (name, text) in &generated {
            let path = committed_dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(path, text).expect("write");
        }
    }
    let committed = read_dir(&committed_dir);
    assert!(
        generated.len() > 10,
        "expected the DTO types, got {:?}",
        generated.keys()
    );
    assert_eq!(
        committed.keys().collect::<Vec<_>>(),
        generated.keys().collect::<Vec<_>>(),
        "ui/src/lib/bindings is stale: run UPDATE_BINDINGS=1 cargo test -p chargeyard-core --test bindings"
    );
    for (name, text) in &generated {
        assert_eq!(
            committed.get(name),
            Some(text),
            "ui/src/lib/bindings/{name} is stale: run UPDATE_BINDINGS=1 cargo test -p chargeyard-core --test bindings"
        );
    }
}
