//! Message inspector benchmark: a frame log as a busy depot leaves it near the end of the 14-day
//! retention — 13 days of the inspected station sending MeterValues every 10 s (225,000 frames,
//! message ids repeating every 1,000, one answer in 500 a CALLERROR) among 49 others every 60 s
//! (1.8 million frames) — then what a technician waits for: the newest page, the errors-only
//! page, a text search, a page 13 days back, and one day exported as JSON lines.
//!
//! cargo run --release -p chargeyard-core --example inspector_bench

use std::time::Instant;

use chargeyard_core::export::{ExportKind, ExportRequest};
use chargeyard_core::store::frames::FrameFilter;
use chargeyard_core::{Engine, EngineConfig};

#[allow(dead_code)] // the tariff setup is for the pricing benchmarks
mod common;

/// Both directions of one exchange per step, every station, in time order.
const FRAMES: &str = "
WITH RECURSIVE n(i) AS MATERIALIZED (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1),
others(k) AS MATERIALIZED (SELECT 0 UNION ALL SELECT k + 1 FROM others WHERE k < 48),
calls(station, t, mid, err) AS (
  SELECT 'INSPECTED', i * 10, i % 1000, i % 500 = 0 FROM n
  UNION ALL
  SELECT 'OTHER-' || k, i * 10 + 0.05 + (k % 10) * 0.5, (i + k) % 1000, 0
  FROM n, others WHERE i % 6 = k % 6
),
frames_out(station, t, dir, kind, mid, txt) AS (
  SELECT station, t, 'in', 2, mid,
    '[2,\"' || mid || '\",\"MeterValues\",{\"connectorId\":1,\"meterValue\":[{\"timestamp\":\"2026-01-01T00:00:00Z\",\"sampledValue\":[{\"value\":\"' || (t * 3) || '\"}]}]}]'
  FROM calls
  UNION ALL
  SELECT station, t + 0.02, 'out', CASE WHEN err THEN 4 ELSE 3 END, mid,
    CASE WHEN err THEN '[4,\"' || mid || '\",\"InternalError\",\"disk busy\",{}]' ELSE '[3,\"' || mid || '\",{}]' END
  FROM calls
)
INSERT INTO frames_log (station_id, direction, at, message_type, message_id, action, text)
SELECT station, dir, strftime('%Y-%m-%dT%H:%M:%fZ', ?2 + t, 'unixepoch'), kind,
       CAST(mid AS TEXT), 'MeterValues', txt
FROM frames_out ORDER BY t";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let engine = Engine::open(EngineConfig::default(), &dir.path().join("bench.db")).await?;
    let steps = 13 * 24 * 360; // every 10 s for 13 days, ending now (older ones would be pruned)
    let start = chrono::Utc::now() - chrono::Duration::days(13);
    let t = Instant::now();
    common::sql(&engine, FRAMES, vec![steps - 1, start.timestamp()]).await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM frames")
        .fetch_one(&engine.store().reader)
        .await?;
    let mine: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM frames WHERE station_id = 'INSPECTED'")
            .fetch_one(&engine.store().reader)
            .await?;
    println!(
        "generated {total} frames ({mine} of the inspected station) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let newest = FrameFilter {
        limit: Some(100),
        ..Default::default()
    };
    let errors = FrameFilter {
        errors: Some(true),
        limit: Some(100),
        ..Default::default()
    };
    let search = FrameFilter {
        q: Some("\"value\":\"300000\"".into()),
        limit: Some(100),
        ..Default::default()
    };
    let old = FrameFilter {
        to: Some(start + chrono::Duration::hours(6)),
        limit: Some(100),
        ..Default::default()
    };
    for (name, filter) in [
        ("newest page (100)", &newest),
        ("errors only (100)", &errors),
        ("text search", &search),
        ("a page 13 days back (100)", &old),
    ] {
        let mut times = Vec::new();
        let mut shown = 0;
        for _ in 0..10 {
            let t = Instant::now();
            let page = engine.inspect("INSPECTED", filter).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            shown = page.iter().filter(|f| f.partner_id.is_some()).count();
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{name:28} median {:7.1} ms  max {:7.1} ms  ({shown} paired)",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    let t = Instant::now();
    let day = engine
        .export(ExportRequest {
            job: String::new(),
            export: ExportKind::Frames {
                station_id: "INSPECTED".into(),
                filter: FrameFilter {
                    from: Some(start + chrono::Duration::days(6)),
                    to: Some(start + chrono::Duration::days(7)),
                    ..Default::default()
                },
            },
            csv: Default::default(),
        })
        .await?;
    println!(
        "one day as JSON lines: {} frames, {:.1} MB in {:.2} s",
        day.rows,
        day.file.bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
