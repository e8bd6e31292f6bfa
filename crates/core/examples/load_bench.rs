//! Load management benchmark.
//!
//! 1. The sharing's cost per round at 1,000 connectors: 40 feeders of 25 connectors under one
//!    connection, a third of the cars single-phase, some held near what they draw, three
//!    priorities; a round shared 200 times.
//! 2. From a car plugging in to every affected profile answered, at 50 chargers: 49 sessions
//!    running on simulated chargers over loopback, then the fiftieth starts; timed from its
//!    StartTransaction until every charger whose share changed holds its new TxProfile (as the
//!    chargers see it), 20 times.
//!
//! cargo run --release -p chargeyard-core --example load_bench

use std::time::{Duration, Instant};

use chargeyard_core::load::share::{Circuit, Kind, Load, share};
use chargeyard_core::store::id_tags::TagFields;
use chargeyard_core::{Engine, EngineConfig, UnknownStations};
use chargeyard_sim::smart::Purpose;
use chargeyard_sim::{ChargePoint, SimConfig};
use serde_json::json;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sharing() {
    let mut circuits = vec![Circuit {
        limit: 6000.0,
        parent: None,
    }];
    circuits.extend((0..40).map(|_| Circuit {
        limit: 250.0,
        parent: Some(0),
    }));
    let loads: Vec<Load> = (0..1000)
        .map(|i| Load {
            circuit: 1 + i % 40,
            phases: if i % 3 == 0 {
                [i % 2 == 0, i % 2 == 1, false]
            } else {
                [true; 3]
            },
            kind: Kind::Flexible {
                min: 6.0,
                max: if i % 7 == 0 { 10.0 } else { 32.0 },
                priority: (i % 3) as i32 - 1,
            },
        })
        .collect();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let (grants, _) = share(&circuits, &loads);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(grants);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "sharing 1,000 connectors on 41 circuits: median {:.2} ms, p99 {:.2} ms, max {:.2} ms per round",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );
}

async fn plug_in() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = EngineConfig {
        unknown_stations: UnknownStations::Accept,
        ..EngineConfig::default()
    };
    let engine = Engine::open(config, &dir.path().join("bench.db"))
        .await
        .expect("engine");
    let stop = tokio_util::sync::CancellationToken::new();
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let listening = chargeyard_core::server::listen(&engine, any, any, &stop)
        .await
        .expect("listen");
    let url = format!("ws://{}/ocpp", listening.ocpp);
    let mut cps = Vec::new();
    let mut stations = Vec::new();
    for n in 0..50 {
        let id = format!("B{n:02}");
        let cfg = SimConfig {
            connectors: 1,
            ..SimConfig::new(&url, &id)
        };
        let (cp, _) = ChargePoint::connect(cfg).await.expect("connects");
        cp.boot_and_report().await.expect("boots");
        engine
            .create_id_tag(
                &format!("T{n:02}"),
                TagFields {
                    status: "Accepted".into(),
                    ..Default::default()
                },
            )
            .await
            .expect("tag");
        cps.push(cp);
        stations.push(json!({"station_id": id, "circuit": "main", "max_a": 32.0, "phases": 3}));
    }
    let site = serde_json::from_value(json!({
        "enabled": true, "limit_a": 1400.0, "interval_s": 60, "stations": stations,
    }))
    .expect("site");
    engine.set_site(site).await.expect("site saved");
    let tx_limit = |cp: &ChargePoint| {
        cp.profiles()
            .iter()
            .find(|p| p.purpose == Purpose::Tx)
            .map(|p| p.periods[0].1)
    };
    for (n, cp) in cps.iter().enumerate().take(49) {
        cp.start_transaction(1, &format!("T{n:02}"))
            .await
            .expect("starts");
    }
    // 49 sessions on 1,400 A: 28.5 A each; the fiftieth brings every share down to 28.0 A.
    let settled = |want: f64, n: usize| cps.iter().take(n).all(|cp| tx_limit(cp) == Some(want));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !settled(28.5, 49) {
        assert!(
            Instant::now() < deadline,
            "49 sessions never settled: {:?}",
            cps.iter().map(tx_limit).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut times = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        cps[49].start_transaction(1, "T49").await.expect("starts");
        while !settled(28.0, 50) {
            assert!(t.elapsed() < Duration::from_secs(20), "never answered");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        cps[49]
            .stop_transaction(1, chargeyard_ocpp::v16::Reason::Local)
            .await
            .expect("stops");
        let back = Instant::now();
        while !settled(28.5, 49) {
            assert!(
                back.elapsed() < Duration::from_secs(20),
                "never settled back"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "a car plugs in at 50 chargers → all 50 profiles answered: median {:.0} ms, p90 {:.0} ms, max {:.0} ms (20 runs)",
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        times[times.len() - 1]
    );
    stop.cancel();
    engine.shutdown().await;
}

#[tokio::main]
async fn main() {
    sharing();
    plug_in().await;
}
