//! Invoice export benchmark: N finished sessions (default 100 000) over a year, 50 stations with
//! two connectors, 500 tags in 20 customer groups, a time-of-use tariff with an idle fee, energy
//! readings every 15 minutes and a status history. Prints how long the export takes cold (every
//! session priced from its samples and statuses, costs then stored) and warm (costs as stored at
//! each stop, as in live use).
//!
//! cargo run --release -p chargeyard-core --example invoice_bench -- [sessions]

use std::time::Instant;

use chargeyard_core::export::{ExportKind, ExportRequest};
use chargeyard_core::{Engine, EngineConfig};
use serde_json::json;

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sessions: i64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(EngineConfig::default(), &dir.path().join("bench.db")).await?;
    let version = common::depot(
        &engine,
        "Visitors",
        json!({
                "currency": "SEK", "vat_percent": "25", "idle_grace_minutes": 15,
                "prices": {"per_kwh": "2.40", "session_fee": "5", "idle_per_minute": "1"},
                "windows": [{"name": "night", "days": [1,2,3,4,5,6,7], "start": "22:00",
                             "end": "06:00", "prices": {"per_kwh": "1.20"}}]}),
    )
    .await?;

    let t = Instant::now();
    // Session i: station i % 50, connector 1 + (i / 50) % 2, the k-th of its connector
    // (k = i / 100), starting every 8 h; 150 min charging at 11 kW, then 30 min idle.
    let steps = [
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)
         INSERT INTO id_tags (id_tag, status, group_kind, group_name, created_at, updated_at)
         SELECT 'TAG' || i, 'Accepted', 'customer', 'Customer ' || (i % 20),
                '2025-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z' FROM n",
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
         INSERT INTO transactions (id, station_id, connector_id, id_tag, start_ts, meter_start,
            start_auth_status, received_at, tariff_version_id, stop_ts, meter_stop, stop_reason,
            stop_received_at)
         SELECT i + 1, 'CP-' || (i % 50), 1 + (i / 50) % 2, 'TAG' || (i % 500),
            strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || ((i / 100) * 480 + (i % 100) * 3) || ' minutes'),
            (i / 100) * 27500, 'Accepted', '2025-01-01T00:00:00.000Z', ?2,
            strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || ((i / 100) * 480 + (i % 100) * 3 + 180) || ' minutes'),
            (i / 100) * 27500 + 27500, 'Local', '2025-01-01T00:00:00.000Z' FROM n",
        "WITH RECURSIVE q(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM q WHERE k < 11)
         INSERT INTO meter_samples_log (station_id, connector_id, transaction_id, timestamp, measurand,
            raw_value, value, unit, value_unit, received_at)
         SELECT t.station_id, t.connector_id, t.id,
            strftime('%Y-%m-%dT%H:%M:%fZ', t.start_ts, '+' || (q.k * 15) || ' minutes'),
            'Energy.Active.Import.Register', '', t.meter_start + MIN(q.k * 15, 150) * 11000 / 60,
            'Wh', 'Wh', t.start_ts FROM transactions t, q",
        "INSERT INTO status_history (station_id, connector_id, status, error_code, timestamp, received_at)
         SELECT t.station_id, t.connector_id, s.status, 'NoError',
            strftime('%Y-%m-%dT%H:%M:%fZ', t.start_ts, '+' || s.offset || ' minutes'), t.start_ts
         FROM transactions t, (SELECT 'Preparing' AS status, 0 AS offset UNION ALL
            SELECT 'Charging', 1 UNION ALL SELECT 'SuspendedEV', 150 UNION ALL
            SELECT 'Available', 180) s",
    ];
    for statement in steps {
        common::sql(&engine, statement, vec![sessions, version]).await?;
    }
    println!(
        "{sessions} sessions generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let request = ExportRequest {
        job: String::new(),
        export: ExportKind::Invoice {
            from: "2025-01-01".parse()?,
            to: "2027-12-31".parse()?,
            group: None,
            id_tag: None,
        },
        csv: Default::default(),
    };
    for pass in [
        "cold (prices every session, stores the costs)",
        "warm (stored costs)",
        "warm again",
    ] {
        let t = Instant::now();
        let r = engine.export(request.clone()).await?;
        println!(
            "export {pass}: {} sessions, {:.1} MB in {:.0} ms",
            r.rows,
            r.file.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
    engine.shutdown().await;
    if std::env::var_os("INVOICE_BENCH_KEEP").is_some() {
        println!("database kept: {}", dir.keep().join("bench.db").display());
    }
    Ok(())
}
