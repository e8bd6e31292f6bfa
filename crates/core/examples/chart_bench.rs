//! Chart benchmark: a year of 1-minute meter values for 50 stations (four 6-hour sessions a day
//! each, back to back: 73,000 sessions, 26.3 million samples), then the depot's load and a
//! station's energy per day drawn as SVG over a year, a month and a day. The first year chart
//! stores every session's energy per hour (as pricing does when a session stops in live use); the
//! figures after it are what an operator waits for.
//!
//! cargo run --release -p chargeyard-core --example chart_bench -- [stations] [days]

use std::time::Instant;

use chargeyard_core::charts::{ChartSize, Period};
use chargeyard_core::{Engine, EngineConfig};
use serde_json::json;

mod common;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let stations: i64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
    let days: i64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(365);
    // CHART_BENCH_DIR keeps the generated database there and reuses it on the next run.
    let kept = std::env::var_os("CHART_BENCH_DIR").map(std::path::PathBuf::from);
    let dir = tempfile::tempdir()?;
    let path = kept
        .unwrap_or_else(|| dir.path().to_path_buf())
        .join("bench.db");
    let reuse = path.exists();
    let engine = Engine::open(EngineConfig::default(), &path).await?;
    if !reuse {
        generate(&engine, stations, days).await?;
    }
    let to = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?
        + chrono::Duration::days(days - 1);
    let year = Period {
        from: "2025-01-01".parse()?,
        to,
    };
    let month = Period {
        from: to - chrono::Duration::days(29),
        to,
    };
    let day = Period { from: to, to };
    let size = ChartSize {
        width: Some(1200),
        height: Some(420),
        lang: None,
    };
    let t = Instant::now();
    let svg = engine.depot_chart(year, size.clone()).await?;
    println!(
        "depot load, whole range, first time (stores every session's energy per hour): {:.1} s, {} kB SVG",
        t.elapsed().as_secs_f64(),
        svg.len() / 1024
    );
    for (name, period) in [("year", year), ("month", month), ("day", day)] {
        let mut ms: Vec<f64> = Vec::new();
        for _ in 0..7 {
            let t = Instant::now();
            engine.depot_chart(period, size.clone()).await?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "depot load, {name}, stacked per station: median {:.0} ms, max {:.0} ms",
            ms[3], ms[6]
        );
    }
    let mut ms: Vec<f64> = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        engine
            .station_chart(&format!("CP-{:02}", stations / 2), year, size.clone())
            .await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "station energy per day, year: median {:.0} ms, max {:.0} ms",
        ms[3], ms[6]
    );
    engine.shutdown().await;
    Ok(())
}

/// The depot's year: stations, a tariff, the sessions and their samples.
async fn generate(
    engine: &Engine,
    stations: i64,
    days: i64,
) -> Result<(), Box<dyn std::error::Error>> {
    let version = common::depot(
        engine,
        "Depot",
        json!({"currency": "SEK", "vat_percent": "25", "prices": {"per_kwh": "2.40"}}),
    )
    .await?;
    let sessions = stations * days * 4;
    let t = Instant::now();
    common::sql(
        engine,
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
                     INSERT INTO stations (id, registration, created_at)
                     SELECT 'CP-' || printf('%02d', i), 'accepted', '2025-01-01T00:00:00.000Z' FROM n",
        vec![stations],
    )
    .await?;
    // Session i: station i % N, the k-th of its day (k = (i / N) % 4): six hours at 11 kW,
    // starting at 00:00, 06:00, 12:00 and 18:00 UTC.
    common::sql(
        engine,
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
                     INSERT INTO transactions (id, station_id, connector_id, id_tag, start_ts, meter_start,
                        start_auth_status, received_at, tariff_version_id, stop_ts, meter_stop, stop_reason,
                        stop_received_at)
                     SELECT i + 1, 'CP-' || printf('%02d', i % ?2), 1, 'TAG',
                        strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || ((i / ?2) * 360) || ' minutes'),
                        (i / ?2) * 60000, 'Accepted', '2025-01-01T00:00:00.000Z', ?3,
                        strftime('%Y-%m-%dT%H:%M:%fZ', '2025-01-01', '+' || ((i / ?2) * 360 + 359) || ' minutes'),
                        (i / ?2) * 60000 + 359 * 11000 / 60, 'Local', '2025-01-01T00:00:00.000Z' FROM n",
        vec![sessions, stations, version],
    )
    .await?;
    // The samples, a few thousand sessions per commit.
    let chunk = 4000;
    let mut first = 1;
    while first <= sessions {
        let last = (first + chunk - 1).min(sessions);
        common::sql(
            engine,
            "WITH RECURSIVE m(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM m WHERE k < 359)
                         INSERT INTO meter_samples_log (station_id, connector_id, transaction_id, timestamp,
                            measurand, raw_value, value, unit, value_unit, received_at)
                         SELECT t.station_id, 1, t.id,
                            strftime('%Y-%m-%dT%H:%M:%fZ', t.start_ts, '+' || m.k || ' minutes'),
                            'Energy.Active.Import.Register', '', t.meter_start + m.k * 11000 / 60,
                            'Wh', 'Wh', t.start_ts
                         FROM transactions t, m WHERE t.id BETWEEN ?1 AND ?2",
            vec![first, last],
        )
        .await?;
        first = last + 1;
    }
    println!(
        "{stations} stations, {days} days: {sessions} sessions, {} samples generated in {:.0} s",
        sessions * 359,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
