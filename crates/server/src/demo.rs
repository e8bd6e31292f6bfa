//! The demo depot: seeded stations and tags, a simulated fleet that connects over OCPP, and
//! backfilled weeks of history so graphs and costs have data from the first minute. Everything
//! belongs to stations marked demo and goes with `DELETE /api/demo`.

use std::net::SocketAddr;

use chargeyard_core::store::transactions::TransactionFilter;
use chargeyard_core::{Engine, Error, Result};
use chargeyard_ocpp::v16::ChargePointCall;
use chargeyard_sim::fleet::{FleetConfig, PastConnector, PastEvent};
use tokio_util::sync::CancellationToken;

/// Days of history the demo starts with, by default.
pub const HISTORY_DAYS: i64 = 14;

/// Seed the demo stations and tags, then in the background backfill `history_days` of history
/// (once per database) and start a simulated fleet of `stations` against this server's OCPP port
/// at `speed` simulated seconds per second. The fleet stops with `shutdown` or when the demo
/// data is removed (`DELETE /api/demo`). The handle resolves, once the fleet is started, to the
/// number of sessions backfilled.
pub async fn start(
    engine: &Engine,
    ocpp: SocketAddr,
    stations: usize,
    speed: f64,
    history_days: i64,
    shutdown: &CancellationToken,
) -> Result<tokio::task::JoinHandle<Result<u64>>> {
    let cfg = config(ocpp, stations, speed);
    engine
        .seed_demo(cfg.station_ids(), cfg.tags.clone())
        .await?;
    demo_tariff(engine).await?;
    let stop = shutdown.child_token();
    engine.set_demo_fleet(stop.clone());
    let engine = engine.clone();
    Ok(tokio::spawn(async move {
        let started = std::time::Instant::now();
        let sessions = backfill(&engine, &cfg, history_days).await;
        match &sessions {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "demo history: {n} sessions over {history_days} days in {:.1} s",
                started.elapsed().as_secs_f64()
            ),
            Err(e) => tracing::warn!("demo history not added: {e}"),
        }
        if !stop.is_cancelled() {
            tokio::spawn(chargeyard_sim::fleet::run(cfg, stop));
        }
        sessions
    }))
}

/// With no tariff yet, a default one so the demo's sessions have costs: a day price, a cheaper
/// night, a session fee and an idle fee after 15 minutes (editable in the console; it goes with
/// the demo unless edited).
async fn demo_tariff(engine: &Engine) -> Result<()> {
    let tariff = serde_json::from_value(serde_json::json!({
        "currency": "SEK", "vat_percent": "25", "idle_grace_minutes": 15,
        "prices": {"per_kwh": "2.40", "idle_per_minute": "1", "session_fee": "5"},
        "windows": [{"name": "Night", "days": [1, 2, 3, 4, 5, 6, 7], "start": "22:00", "end": "06:00",
                     "prices": {"per_kwh": "1.20"}}]
    }))
    .map_err(|e| Error::Internal(format!("demo tariff: {e}")))?;
    engine
        .seed_demo_tariff(chargeyard_core::billing::TariffInput {
            name: "Demo depot".into(),
            tariff,
        })
        .await
}

/// The demo fleet: `DEMO-01`… with tags `DEMO-TAG-01`…`12`, connecting to `ocpp`.
pub fn config(ocpp: SocketAddr, stations: usize, speed: f64) -> FleetConfig {
    let host = if ocpp.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        ocpp.ip().to_string()
    };
    FleetConfig {
        url: format!("ws://{host}:{}/ocpp", ocpp.port()),
        stations,
        prefix: "DEMO-".into(),
        seed: 1,
        speed,
        tags: (1..=12).map(|n| format!("DEMO-TAG-{n:02}")).collect(),
    }
}

/// Feed the fleet's last `days` through the engine as if the chargers had sent it, unless the
/// demo stations already have sessions (a database that ran the demo before). Returns the number
/// of sessions added.
pub async fn backfill(engine: &Engine, cfg: &FleetConfig, days: i64) -> Result<u64> {
    for id in cfg.station_ids() {
        let f = TransactionFilter {
            station_id: Some(id),
            limit: Some(1),
            ..Default::default()
        };
        if engine.transactions(&f).await?.total > 0 {
            return Ok(0);
        }
    }
    let to = chrono::Utc::now() - chrono::Duration::minutes(5);
    let from = to - chrono::Duration::days(days);
    let past = chargeyard_sim::fleet::history(cfg, from, to);
    let protocols: std::collections::HashMap<String, &'static str> =
        chargeyard_sim::fleet::plan(cfg)
            .into_iter()
            .map(|p| (p.id, p.protocol))
            .collect();
    // One task per connector: their writes share group commits.
    let mut tasks = tokio::task::JoinSet::new();
    for pc in past {
        let engine = engine.clone();
        let protocol = protocols.get(&pc.station_id).copied().unwrap_or("ocpp1.6");
        tasks.spawn(async move { replay(&engine, pc, protocol).await });
    }
    let mut sessions = 0;
    while let Some(r) = tasks.join_next().await {
        sessions += r.map_err(|e| Error::Invalid(format!("demo history: {e}")))??;
    }
    Ok(sessions)
}

/// One connector's history, in order, in the version its station speaks; each 1.6 session's
/// samples and stop get the id the engine gave its start.
async fn replay(engine: &Engine, pc: PastConnector, protocol: &str) -> Result<u64> {
    if protocol == "ocpp2.0.1" {
        let history = engine
            .history(&pc.station_id, chargeyard_ocpp::Version::V201)
            .await?;
        let mut words = chargeyard_sim::v201::PastTranslator::new(&pc.station_id, pc.connector_id);
        let mut sessions = 0;
        for event in &pc.events {
            sessions += u64::from(matches!(event, PastEvent::Stop(_)));
            if let Some((action, payload)) = words.translate(event) {
                history.ingest(action, payload).await?;
            }
        }
        return Ok(sessions);
    }
    let (mut tx, mut sessions) = (0, 0);
    let history = engine
        .history(&pc.station_id, chargeyard_ocpp::Version::V16)
        .await?;
    for event in pc.events {
        let call = match event {
            PastEvent::Status(r) => ChargePointCall::StatusNotification(r),
            PastEvent::Start(r) => ChargePointCall::StartTransaction(r),
            PastEvent::Meter(mut r) => {
                r.transaction_id = Some(tx);
                ChargePointCall::MeterValues(r)
            }
            PastEvent::Stop(mut r) => {
                r.transaction_id = tx;
                sessions += 1;
                ChargePointCall::StopTransaction(r)
            }
        };
        let start = matches!(call, ChargePointCall::StartTransaction(_));
        let answer = history
            .ingest(call.action().as_str(), call.payload())
            .await?;
        if start {
            tx = answer["transactionId"].as_i64().unwrap_or_default();
        }
    }
    Ok(sessions)
}
