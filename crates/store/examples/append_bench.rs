//! The store alone at saturation: 1,000 stations each logging a MeterValues CALL, appending its
//! two samples (awaited: durable), then logging the answer, as the engine does per message,
//! round after round for 10 s. Prints messages/s and CPU per message (the writer's SQLite thread
//! and the rest).
//!
//! cargo run --release -p chargeyard-store --example append_bench

use std::time::{Duration, Instant};

use chargeyard_store::Store;
use chargeyard_store::frames::NewFrame;
use chargeyard_store::meter::NewSample;
use chargeyard_store::text::{Text, word};

const STATIONS: usize = 1000;
const SECONDS: u64 = 10;

/// (process ticks, SQLite thread ticks)
fn ticks() -> (u64, u64) {
    let field = |stat: &str| -> u64 {
        let rest = stat.rsplit_once(')').map_or("", |r| r.1);
        let f: Vec<&str> = rest.split_whitespace().collect();
        f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    let all = field(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    let mut sqlite = 0;
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for e in dir.flatten() {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            if stat.contains("(sqlx-sqlite") {
                sqlite += field(&stat);
            }
        }
    }
    (all, sqlite)
}

/// A frame as the engine logs it: the station's id shared, OCPP's words from the cache.
fn frame(station: &Text, kind: i64, id: &str, text: &str) -> NewFrame {
    NewFrame {
        station_id: station.clone(),
        direction: if kind == 2 { "in" } else { "out" },
        at: chrono::Utc::now(),
        message_type: Some(kind),
        message_id: Some(id.into()),
        action: Some(word("MeterValues")),
        text: text.into(),
    }
}

fn sample(station: &Text, measurand: &str, value: f64, unit: &str) -> NewSample {
    NewSample {
        station_id: station.clone(),
        evse_id: 1,
        transaction_id: None,
        seq_no: None,
        timestamp: chrono::Utc::now(),
        measurand: word(measurand),
        phase: None,
        location: None,
        context: Some(word("Sample.Periodic")),
        format: None,
        unit: Some(word(unit)),
        raw_value: value.to_string().into(),
        value: Some(value),
        value_unit: Some(word(unit)),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("bench.db")).await?;
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let before = (Instant::now(), ticks());
    let mut tasks = Vec::new();
    for n in 0..STATIONS {
        let writer = store.writer.clone();
        tasks.push(tokio::spawn(async move {
            let station = Text::from(format!("BENCH-{n}"));
            let mut sent = 0u64;
            while Instant::now() < deadline {
                sent += 1;
                let id = format!("{sent}");
                let register = 1_000_000 + sent * 37;
                let call = format!(
                    r#"[2,"{id}","MeterValues",{{"connectorId":1,"meterValue":[{{"timestamp":"2026-11-22T10:00:00.000Z","sampledValue":[{{"value":"{register}","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"Wh"}},{{"value":"11000","context":"Sample.Periodic","measurand":"Power.Active.Import","unit":"W"}}]}}]}}]"#
                );
                writer.log_frame(frame(&station, 2, &id, &call));
                let samples = vec![
                    sample(&station, "Energy.Active.Import.Register", register as f64, "Wh"),
                    sample(&station, "Power.Active.Import", 11000.0, "W"),
                ];
                writer.append_samples(samples).await?;
                writer.log_frame(frame(&station, 3, &id, &format!(r#"[3,"{id}",{{}}]"#)));
            }
            Ok::<u64, chargeyard_store::Error>(sent)
        }));
    }
    let mut messages = 0;
    for t in tasks {
        messages += t.await??;
    }
    let (t0, (all0, sq0)) = before;
    let (all1, sq1) = ticks();
    let seconds = t0.elapsed().as_secs_f64();
    let micros = |ticks: u64| ticks as f64 * 10_000.0 / messages as f64;
    println!(
        "{messages} messages in {seconds:.1} s = {:.0}/s; CPU per message {:.1} µs (SQLite thread {:.1} µs, {:.0}% of a core)",
        messages as f64 / seconds,
        micros(all1 - all0),
        micros(sq1 - sq0),
        (sq1 - sq0) as f64 / seconds,
    );
    Ok(())
}
