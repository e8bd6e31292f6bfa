//! A simulated depot: N stations with 1–3 connectors, seeded and reproducible, with drivers who
//! plug in, badge an RFID tag (mostly known ones, sometimes a stranger's), charge along a curve
//! that tapers as the battery fills, pause (SuspendedEV / SuspendedEVSE), stop, stay plugged in
//! idle for a while, and occasionally hit a fault with a vendor error code. Stations lose their
//! connection now and then, keep charging offline and replay their queued messages (with their
//! original timestamps) after reconnecting. The first four stations each show one known quirk.
//! Remote commands are answered by the simulator underneath ([`crate::ChargePoint`]). Runs until
//! cancelled.

use std::time::Duration;

use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use crate::{ChargePoint, SimConfig};

#[derive(Debug, Clone)]
pub struct FleetConfig {
    pub url: String,
    pub stations: usize,
    /// Station ids are `{prefix}01`, `{prefix}02`, …
    pub prefix: String,
    pub seed: u64,
    /// Simulated seconds per real second (10 makes a two-hour session take twelve minutes).
    pub speed: f64,
    /// Tags the drivers carry; about one badge in ten is a tag not in this list.
    pub tags: Vec<String>,
}

impl FleetConfig {
    pub fn station_ids(&self) -> Vec<String> {
        (1..=self.stations)
            .map(|n| format!("{}{n:02}", self.prefix))
            .collect()
    }
}

fn ci<const N: usize>(s: &str) -> CiString<N> {
    CiString::new(s.chars().take(N).collect::<String>()).unwrap_or_default()
}

/// Charging power as the battery fills: full power to 80 %, then tapering to a tenth at 100 %.
pub fn taper(max_w: f64, soc: f64) -> f64 {
    if soc < 80.0 {
        max_w
    } else {
        max_w * (1.0 - 0.9 * ((soc - 80.0) / 20.0).clamp(0.0, 1.0))
    }
}

/// One station of the fleet as the seed lays it out.
#[derive(Debug, Clone, PartialEq)]
pub struct StationPlan {
    pub id: String,
    pub connectors: u32,
    pub max_power_w: f64,
    pub vendor: &'static str,
    /// One RNG seed per connector's drivers.
    pub driver_seeds: Vec<u64>,
    /// The first four stations each behave like a known real-world quirk.
    pub quirk: Option<FleetQuirk>,
}

/// The quirks of OCPP-FIELD-NOTES that the fleet exercises, one station each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetQuirk {
    NoSubprotocol,
    NumbersAsStrings,
    TimestampsWithoutZone,
    KwhLabelledAsWh,
}

const QUIRKS: [FleetQuirk; 4] = [
    FleetQuirk::NoSubprotocol,
    FleetQuirk::NumbersAsStrings,
    FleetQuirk::TimestampsWithoutZone,
    FleetQuirk::KwhLabelledAsWh,
];

/// The fleet's layout: the same seed gives the same stations, connectors, powers and drivers.
pub fn plan(cfg: &FleetConfig) -> Vec<StationPlan> {
    cfg.station_ids()
        .into_iter()
        .enumerate()
        .map(|(n, id)| {
            let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_mul(1000).wrapping_add(n as u64));
            let connectors = rng.random_range(1..=3u32);
            StationPlan {
                id,
                connectors,
                max_power_w: [3_700.0, 7_400.0, 11_000.0, 22_000.0][rng.random_range(0..4)],
                vendor: ["Zaptec", "Easee", "ABB", "Alfen"][n % 4],
                driver_seeds: (0..connectors).map(|_| rng.random()).collect(),
                quirk: QUIRKS.get(n).copied(),
            }
        })
        .collect()
}

/// The connection is closed and not because the station is (deliberately) offline.
fn gone(cp: &ChargePoint) -> bool {
    cp.is_closed() && !cp.is_offline()
}

/// Run the fleet until `stop` is cancelled. Each station reconnects if its connection drops.
pub async fn run(cfg: FleetConfig, stop: CancellationToken) {
    let mut tasks = Vec::new();
    for p in plan(&cfg) {
        let cfg = cfg.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move { station(p, cfg, stop).await }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn station(p: StationPlan, cfg: FleetConfig, stop: CancellationToken) {
    let (connectors, max_power) = (p.connectors, p.max_power_w);
    while !stop.is_cancelled() {
        let mut sim = SimConfig::new(&cfg.url, &p.id);
        sim.connectors = connectors;
        sim.vendor = p.vendor.into();
        sim.model = format!("Depot {} kW", max_power / 1000.0);
        match p.quirk {
            Some(FleetQuirk::NoSubprotocol) => sim.subprotocols.clear(),
            Some(FleetQuirk::NumbersAsStrings) => sim.quirks.numbers_as_strings = true,
            Some(FleetQuirk::TimestampsWithoutZone) => sim.quirks.timestamps_without_zone = true,
            Some(FleetQuirk::KwhLabelledAsWh) => sim.quirks.kwh_as_wh = true,
            None => {}
        }
        let cp = match ChargePoint::connect(sim).await {
            Ok((cp, _)) => cp,
            Err(_) => {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
        };
        let accepted =
            matches!(cp.boot_and_report().await, Ok(r) if r.status == RegistrationStatus::Accepted);
        if accepted {
            let mut drivers = Vec::new();
            for (c, seed) in (1..).zip(p.driver_seeds.iter().copied()) {
                let (cp, cfg, stop) = (cp.clone(), cfg.clone(), stop.clone());
                drivers.push(tokio::spawn(async move {
                    connector(cp, c, max_power, seed, cfg, stop).await;
                }));
            }
            let heartbeat = {
                let (cp, stop) = (cp.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.is_cancelled() && !gone(&cp) {
                        tokio::select! {
                            _ = stop.cancelled() => break,
                            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                        }
                        if !cp.is_offline() {
                            let _ = cp.call(HeartbeatRequest {}).await;
                        }
                    }
                })
            };
            // Now and then the depot's network drops this station for a few minutes: it keeps
            // charging, queues its messages, and replays them after reconnecting.
            let mut net =
                StdRng::seed_from_u64(p.driver_seeds.first().copied().unwrap_or(0) ^ 0x00FF_114E);
            let minute = Duration::from_secs_f64(60.0 / cfg.speed.max(0.1));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(minute) => {}
                }
                if gone(&cp) {
                    break; // closed by the central system: connect afresh
                }
                if net.random_bool(0.004) {
                    cp.go_offline();
                    let outage = minute.mul_f64(net.random_range(1.0..10.0));
                    tokio::select! {
                        // Stopped (e.g. the demo was removed): never come back.
                        _ = stop.cancelled() => break,
                        _ = tokio::time::sleep(outage) => {}
                    }
                    if cp.reconnect().await.is_err() {
                        break;
                    }
                    for c in 1..=i64::from(connectors) {
                        let s = if cp.transaction(c).is_some() {
                            ChargePointStatus::Charging
                        } else {
                            ChargePointStatus::Available
                        };
                        let _ = cp.status(c, s).await;
                    }
                }
            }
            heartbeat.abort();
            for d in drivers {
                d.abort();
            }
        }
        cp.close();
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// One connector's drivers, one after the other.
async fn connector(
    cp: ChargePoint,
    c: i64,
    max_power: f64,
    seed: u64,
    cfg: FleetConfig,
    stop: CancellationToken,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let speed = cfg.speed.max(0.1);
    // Simulated seconds → real time.
    let wait = |secs: f64| tokio::time::sleep(Duration::from_secs_f64((secs / speed).max(0.05)));
    let sample_every = 60.0;
    // The first driver arrives within a minute, so a newly started depot comes alive at once.
    let mut first = true;
    while !stop.is_cancelled() && !gone(&cp) {
        // Nobody here for a while.
        let idle = if first {
            rng.random_range(0.0..60.0)
        } else {
            rng.random_range(120.0..1800.0)
        };
        first = false;
        wait(idle).await;
        if rng.random_bool(0.03) {
            let code = [
                "E-017 RCD tripped",
                "E-042 contactor welded",
                "E-101 overtemperature",
            ][rng.random_range(0..3)];
            let (vendor_code, info) = code.split_once(' ').unwrap_or((code, ""));
            let _ = cp
                .call(StatusNotificationRequest {
                    connector_id: c,
                    error_code: ChargePointErrorCode::OtherError,
                    info: Some(ci(info)),
                    status: ChargePointStatus::Faulted,
                    timestamp: Some(Timestamp::now()),
                    vendor_id: Some(ci("depot-sim")),
                    vendor_error_code: Some(ci(vendor_code)),
                })
                .await;
            wait(rng.random_range(300.0..1200.0)).await;
            let _ = cp.status(c, ChargePointStatus::Available).await;
            continue;
        }
        if cp.transaction(c).is_some() {
            continue; // a remote start is running here
        }
        // A driver plugs in and badges a tag.
        let _ = cp.status(c, ChargePointStatus::Preparing).await;
        let tag = if rng.random_bool(0.1) || cfg.tags.is_empty() {
            format!("VISITOR{:03}", rng.random_range(0..1000))
        } else {
            cfg.tags[rng.random_range(0..cfg.tags.len())].clone()
        };
        let auth = cp.call(AuthorizeRequest { id_tag: ci(&tag) }).await;
        if !matches!(&auth, Ok(a) if a.id_tag_info.status == AuthorizationStatus::Accepted) {
            wait(30.0).await;
            let _ = cp.status(c, ChargePointStatus::Available).await;
            continue;
        }
        if cp.start_transaction(c, &tag).await.is_err() || cp.transaction(c).is_none() {
            continue;
        }
        let mut soc: f64 = rng.random_range(10.0..60.0);
        let target: f64 = rng.random_range(80.0..100.0);
        let battery_wh: f64 = rng.random_range(40_000.0..90_000.0);
        let mut suspended = 0u32;
        while soc < target && cp.transaction(c).is_some() && !stop.is_cancelled() {
            wait(sample_every).await;
            if suspended == 0 && rng.random_bool(0.02) {
                suspended = rng.random_range(3..15);
                let s = if rng.random_bool(0.7) {
                    ChargePointStatus::SuspendedEV
                } else {
                    ChargePointStatus::SuspendedEVSE
                };
                let _ = cp.status(c, s).await;
            }
            let power = if suspended > 0 {
                0.0
            } else {
                taper(max_power, soc) * rng.random_range(0.95..1.0)
            };
            if suspended > 0 {
                suspended -= 1;
                if suspended == 0 {
                    let _ = cp.status(c, ChargePointStatus::Charging).await;
                }
            }
            let wh = power * sample_every / 3600.0;
            soc = (soc + 100.0 * wh / battery_wh).min(100.0);
            if cp
                .charge_with_soc(c, wh.round() as i64, power, soc)
                .await
                .is_err()
            {
                return;
            }
        }
        if cp.transaction(c).is_none() {
            continue; // stopped remotely
        }
        // Stopped by badging again, or by pulling the cable; then parked there for a while.
        let reason = if rng.random_bool(0.6) {
            Reason::Local
        } else {
            Reason::EVDisconnected
        };
        let _ = cp.stop_transaction_idle(c, reason).await;
        wait(rng.random_range(300.0..3600.0)).await;
        let _ = cp.status(c, ChargePointStatus::Available).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(seed: u64) -> FleetConfig {
        FleetConfig {
            url: String::new(),
            stations: 6,
            prefix: "D-".into(),
            seed,
            speed: 1.0,
            tags: vec![],
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_depot() {
        assert_eq!(plan(&cfg(7)), plan(&cfg(7)));
        assert_ne!(plan(&cfg(7)), plan(&cfg(8)));
        let p = plan(&cfg(7));
        assert!(
            p.iter().all(|s| (1..=3).contains(&s.connectors)
                && s.driver_seeds.len() == s.connectors as usize)
        );
        assert_eq!(p[0].id, "D-01");
        let quirks: Vec<_> = p.iter().filter_map(|s| s.quirk).collect();
        assert_eq!(quirks, QUIRKS, "one station per known quirk");
    }

    #[test]
    fn charging_tapers_as_the_battery_fills() {
        assert_eq!(taper(11_000.0, 50.0), 11_000.0);
        assert!(taper(11_000.0, 90.0) < 11_000.0 && taper(11_000.0, 90.0) > taper(11_000.0, 99.0));
        assert!((taper(11_000.0, 100.0) - 1_100.0).abs() < 1e-6);
    }
}
