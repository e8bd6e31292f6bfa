//! What thinning old meter readings (`meter::thin`, Settings → History kept) gives back: a
//! charger's 90 days of two 3-hour sessions a day, energy, power and SoC read every
//! `SECONDS` (argument, default 60), stored as the writer stores them, then thinned. Prints the
//! readings, the file's size and the pages freed for new rows (SQLite reuses free pages; the file
//! itself only shrinks in a compact copy, such as a backup).
//!
//! cargo run --release -p chargeyard-store --example thinning -- 60

use std::time::Instant;

use chargeyard_store::Store;
use chargeyard_store::meter::{self, NewSample};
use chrono::{Duration, TimeZone, Utc};

async fn pages(store: &Store, pragma: &str) -> f64 {
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {pragma}")))
        .fetch_one(&store.reader)
        .await
        .expect("pragma");
    n as f64 * 4096.0 / 1e6
}

#[tokio::main]
async fn main() {
    let every: i64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("chargeyard.db"))
        .await
        .expect("open");
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let mut readings = 0;
    for day in 0..90 {
        for session in 0..2 {
            let tx = day * 2 + session + 1;
            let t0 = start + Duration::days(day) + Duration::hours(8 + 8 * session);
            let mut batch = Vec::new();
            for k in (0..3 * 3600).step_by(every as usize) {
                for (measurand, value) in [
                    ("Energy.Active.Import.Register", k as f64),
                    ("Power.Active.Import", 7000.0),
                    ("SoC", 50.0),
                ] {
                    batch.push(NewSample {
                        station_id: "CP1".into(),
                        evse_id: 1,
                        transaction_id: Some(tx),
                        seq_no: None,
                        timestamp: t0 + Duration::seconds(k),
                        measurand: measurand.into(),
                        phase: None,
                        location: None,
                        context: Some("Sample.Periodic".into()),
                        format: None,
                        unit: None,
                        raw_value: value.to_string().into(),
                        value: Some(value),
                        value_unit: None,
                    });
                }
            }
            readings += batch.len();
            store.writer.append_samples(batch).await.expect("append");
        }
    }
    store
        .writer
        .write(|c| Box::pin(async move { chargeyard_store::logs::fold(c).await }))
        .await
        .expect("fold");
    let before = pages(&store, "page_count").await;
    println!("a reading every {every} s: {readings} readings, {before:.1} MB");
    let cutoff = start + Duration::days(100);
    let (mut thinned, mut writes, began) = (0, 0, Instant::now());
    loop {
        let (n, more) = store
            .writer
            .write(move |c| Box::pin(async move { meter::thin(c, cutoff, 5_000).await }))
            .await
            .expect("thin");
        thinned += n;
        writes += 1;
        if !more {
            break;
        }
    }
    let took = began.elapsed();
    println!(
        "thinned {thinned} readings in {writes} writes of up to 5,000 in {:.2} s ({:.0} ms a write): file {:.1} MB, {:.1} MB of it free for new rows",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / writes as f64,
        pages(&store, "page_count").await,
        pages(&store, "freelist_count").await,
    );
}
