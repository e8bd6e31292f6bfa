//! A simulated depot: N stations with 1–3 connectors, seeded and reproducible, with drivers who
//! plug in, badge an RFID tag (mostly known ones, sometimes a stranger's), charge along a curve
//! that tapers as the battery fills, pause (SuspendedEV / SuspendedEVSE), stop, stay plugged in
//! idle for a while, and occasionally hit a fault with a vendor error code. Stations lose their
//! connection now and then, keep charging offline and replay their queued messages (with their
//! original timestamps) after reconnecting. The first four stations each show one known quirk;
//! every third station after them is a newer charger that speaks OCPP 2.0.1 (offering 1.6 too).
//! Remote commands are answered by the simulator underneath ([`crate::ChargePoint`]). Runs until
//! cancelled.

use std::time::Duration;

use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::*;
use chrono::{DateTime, Utc};
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
    /// The newest OCPP version it speaks: `ocpp1.6`, or `ocpp2.0.1` (then it offers 1.6 too).
    pub protocol: &'static str,
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
                protocol: if n >= QUIRKS.len() && (n - QUIRKS.len()).is_multiple_of(3) {
                    "ocpp2.0.1"
                } else {
                    "ocpp1.6"
                },
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
        if p.protocol == "ocpp2.0.1" {
            sim.subprotocols = vec!["ocpp2.0.1".into(), "ocpp1.6".into()];
        }
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

/// What happens next at a connector, as its drivers come and go.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The connector faults with a vendor error code.
    Fault {
        vendor_code: &'static str,
        info: &'static str,
    },
    /// Back to Available after a fault.
    Recovered,
    /// A driver plugs in and badges this tag.
    Arrive {
        tag: String,
    },
    /// Energy delivered since the last sample, the power now and the battery's state of charge.
    Sample {
        wh: i64,
        power_w: f64,
        soc: f64,
    },
    /// The EV or the charger pauses charging.
    Suspend(ChargePointStatus),
    Resume,
    /// The session ends (badge again, or the cable is pulled at the car); the car stays parked.
    Finish(Reason),
    /// The driver unplugs and leaves.
    Leave,
}

#[derive(Debug, Clone)]
enum Phase {
    Idle,
    Faulted,
    Charging {
        soc: f64,
        target: f64,
        battery_wh: f64,
        suspended: u32,
    },
    Parked,
}

/// One connector's drivers, one after the other, as a seeded sequence of [`Step`]s: the same
/// model drives the live fleet and the backfilled history.
pub struct Driver {
    rng: StdRng,
    max_power_w: f64,
    tags: Vec<String>,
    phase: Phase,
    first: bool,
    /// Simulated seconds between two samples while charging.
    sample_every: f64,
    /// Steps that happen at the same moment as the one just returned.
    pending: std::collections::VecDeque<Step>,
}

impl Driver {
    pub fn new(seed: u64, max_power_w: f64, tags: Vec<String>, sample_every: f64) -> Driver {
        Driver {
            sample_every,
            rng: StdRng::seed_from_u64(seed),
            max_power_w,
            tags,
            phase: Phase::Idle,
            first: true,
            pending: Default::default(),
        }
    }

    /// The next step and how many simulated seconds from the previous one.
    pub fn next_step(&mut self) -> (f64, Step) {
        if let Some(step) = self.pending.pop_front() {
            return (0.0, step);
        }
        let rng = &mut self.rng;
        match &mut self.phase {
            Phase::Idle => {
                // The first driver arrives within a minute, so a newly started depot comes alive.
                let idle = if std::mem::take(&mut self.first) {
                    rng.random_range(0.0..60.0)
                } else {
                    rng.random_range(120.0..1800.0)
                };
                if rng.random_bool(0.03) {
                    let (vendor_code, info) = [
                        ("E-017", "RCD tripped"),
                        ("E-042", "contactor welded"),
                        ("E-101", "overtemperature"),
                    ][rng.random_range(0..3)];
                    self.phase = Phase::Faulted;
                    return (idle, Step::Fault { vendor_code, info });
                }
                let tag = if rng.random_bool(0.1) || self.tags.is_empty() {
                    format!("VISITOR{:03}", rng.random_range(0..1000))
                } else {
                    self.tags[rng.random_range(0..self.tags.len())].clone()
                };
                self.phase = Phase::Charging {
                    soc: rng.random_range(10.0..60.0),
                    target: rng.random_range(80.0..100.0),
                    battery_wh: rng.random_range(40_000.0..90_000.0),
                    suspended: 0,
                };
                (idle, Step::Arrive { tag })
            }
            Phase::Faulted => {
                self.phase = Phase::Idle;
                (rng.random_range(300.0..1200.0), Step::Recovered)
            }
            Phase::Charging {
                soc,
                target,
                battery_wh,
                suspended,
            } => {
                if *soc >= *target {
                    let reason = if rng.random_bool(0.6) {
                        Reason::Local
                    } else {
                        Reason::EVDisconnected
                    };
                    self.phase = Phase::Parked;
                    return (0.0, Step::Finish(reason));
                }
                let mut steps = Vec::new();
                if *suspended == 0 && rng.random_bool(0.02) {
                    *suspended = rng.random_range(3..15);
                    steps.push(Step::Suspend(if rng.random_bool(0.7) {
                        ChargePointStatus::SuspendedEV
                    } else {
                        ChargePointStatus::SuspendedEVSE
                    }));
                }
                let power_w = if *suspended > 0 {
                    0.0
                } else {
                    taper(self.max_power_w, *soc) * rng.random_range(0.95..1.0)
                };
                if *suspended > 0 {
                    *suspended -= 1;
                    if *suspended == 0 {
                        steps.push(Step::Resume);
                    }
                }
                let wh = power_w * self.sample_every / 3600.0;
                *soc = (*soc + 100.0 * wh / *battery_wh).min(100.0);
                steps.push(Step::Sample {
                    wh: wh.round() as i64,
                    power_w,
                    soc: *soc,
                });
                self.pending.extend(steps.drain(1..));
                (self.sample_every, steps.remove(0))
            }
            Phase::Parked => {
                self.phase = Phase::Idle;
                (rng.random_range(300.0..3600.0), Step::Leave)
            }
        }
    }

    /// The session did not happen or ended otherwise (tag refused, stopped remotely): the
    /// connector is free again.
    pub fn abort(&mut self) {
        self.pending.clear();
        self.phase = Phase::Idle;
    }

    /// A session is under way (plugged in, charging or paused).
    pub fn is_charging(&self) -> bool {
        matches!(self.phase, Phase::Charging { .. })
    }
}

fn fault_request(
    connector: i64,
    vendor_code: &str,
    info: &str,
    at: Timestamp,
) -> StatusNotificationRequest {
    StatusNotificationRequest {
        connector_id: connector,
        error_code: ChargePointErrorCode::OtherError,
        info: Some(ci(info)),
        status: ChargePointStatus::Faulted,
        timestamp: Some(at),
        vendor_id: Some(ci("depot-sim")),
        vendor_error_code: Some(ci(vendor_code)),
    }
}

/// One connector of the live fleet.
async fn connector(
    cp: ChargePoint,
    c: i64,
    max_power: f64,
    seed: u64,
    cfg: FleetConfig,
    stop: CancellationToken,
) {
    let speed = cfg.speed.max(0.1);
    // Simulated seconds → real time.
    let wait = |secs: f64| tokio::time::sleep(Duration::from_secs_f64(secs / speed));
    let mut driver = Driver::new(seed, max_power, cfg.tags.clone(), 60.0);
    while !stop.is_cancelled() && !gone(&cp) {
        let (after, step) = driver.next_step();
        if after > 0.0 {
            wait(after).await;
        }
        match step {
            Step::Fault { vendor_code, info } => {
                let _ = cp
                    .call(fault_request(c, vendor_code, info, Timestamp::now()))
                    .await;
            }
            Step::Recovered | Step::Leave => {
                let _ = cp.status(c, ChargePointStatus::Available).await;
            }
            Step::Arrive { tag } => {
                if cp.transaction(c).is_some() {
                    driver.abort(); // a remote start is running here
                    continue;
                }
                let _ = cp.status(c, ChargePointStatus::Preparing).await;
                let auth = cp.call(AuthorizeRequest { id_tag: ci(&tag) }).await;
                if !matches!(&auth, Ok(a) if a.id_tag_info.status == AuthorizationStatus::Accepted)
                {
                    driver.abort();
                    wait(30.0).await;
                    let _ = cp.status(c, ChargePointStatus::Available).await;
                    continue;
                }
                if cp.start_transaction(c, &tag).await.is_err() || cp.transaction(c).is_none() {
                    driver.abort();
                }
            }
            Step::Suspend(s) => {
                let _ = cp.status(c, s).await;
            }
            Step::Resume => {
                let _ = cp.status(c, ChargePointStatus::Charging).await;
            }
            Step::Sample { wh, power_w, soc } => {
                if cp.transaction(c).is_none() {
                    driver.abort(); // stopped remotely
                    continue;
                }
                // Under load management the car takes what its charger's profiles allow.
                let volts = crate::smart::VOLTAGE * 3.0;
                let cap = cp
                    .charging_limit(c, None)
                    .lowest()
                    .map(|a| if a < crate::ev::MIN_A { 0.0 } else { a * volts });
                let (wh, power_w) = match cap {
                    Some(cap) if power_w > cap => ((wh as f64 * cap / power_w).round() as i64, cap),
                    _ => (wh, power_w),
                };
                if cp
                    .draw(c, wh, [power_w / volts; 3], Some(soc))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Step::Finish(reason) => {
                if cp.transaction(c).is_none() {
                    driver.abort();
                    continue;
                }
                let _ = cp.stop_transaction_idle(c, reason).await;
            }
        }
    }
}

/// A charger-initiated message of the backfilled history.
#[derive(Debug, Clone)]
pub enum PastEvent {
    Status(StatusNotificationRequest),
    Start(StartTransactionRequest),
    /// `transaction_id` is filled in with the id the central system gives the Start before it.
    Meter(MeterValuesRequest),
    /// `transaction_id` as for [`PastEvent::Meter`].
    Stop(StopTransactionRequest),
}

/// What one connector did over a past period, oldest first.
#[derive(Debug, Clone)]
pub struct PastConnector {
    pub station_id: String,
    pub connector_id: i64,
    pub events: Vec<PastEvent>,
}

/// Simulated seconds between two samples in the history (the live fleet samples every minute).
pub const HISTORY_SAMPLE_EVERY: f64 = 300.0;

/// The fleet's history between `from` and `to`, produced by the same driver model as the live
/// fleet (with other seeds, so the live day is not a replay): sessions with their samples and
/// status changes, ready to feed to a central system as if the chargers had sent them. Sessions
/// by tags not in the fleet's list are refused and leave no transaction; every session ends
/// before `to`.
pub fn history(cfg: &FleetConfig, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<PastConnector> {
    let mut out = Vec::new();
    for (n, p) in plan(cfg).into_iter().enumerate() {
        for (c, seed) in (1..).zip(p.driver_seeds.iter().copied()) {
            let mut driver = Driver::new(
                seed ^ 0x4849_5354,
                p.max_power_w,
                cfg.tags.clone(),
                HISTORY_SAMPLE_EVERY,
            );
            // Each outlet has its own meter.
            let mut register = 2_000_000 + (n as i64) * 100_000 + c * 10_000;
            let mut t = from;
            let mut events = Vec::new();
            let at = |t: DateTime<Utc>| Timestamp(t);
            let status = |s, t| PastEvent::Status(crate::status_request(c, s, at(t)));
            loop {
                let (after, step) = driver.next_step();
                t += chrono::Duration::milliseconds((after * 1000.0) as i64);
                if t >= to && !driver.is_charging() {
                    break;
                }
                if t >= to {
                    // Close the session in the past: the live charger knows nothing of it.
                    events.push(PastEvent::Stop(past_stop(register, at(to), Reason::Local)));
                    events.push(status(ChargePointStatus::Available, to));
                    break;
                }
                match step {
                    Step::Fault { vendor_code, info } => events.push(PastEvent::Status(
                        fault_request(c, vendor_code, info, at(t)),
                    )),
                    Step::Recovered | Step::Leave => {
                        events.push(status(ChargePointStatus::Available, t))
                    }
                    Step::Arrive { tag } => {
                        events.push(status(ChargePointStatus::Preparing, t));
                        if !cfg.tags.contains(&tag) {
                            driver.abort();
                            let back = t + chrono::Duration::seconds(30);
                            events.push(status(ChargePointStatus::Available, back));
                            t = back;
                            continue;
                        }
                        let start = t + chrono::Duration::seconds(5);
                        events.push(PastEvent::Start(StartTransactionRequest {
                            connector_id: c,
                            id_tag: ci(&tag),
                            meter_start: register,
                            reservation_id: None,
                            timestamp: at(start),
                        }));
                        events.push(status(ChargePointStatus::Charging, start));
                    }
                    Step::Suspend(s) => events.push(status(s, t)),
                    Step::Resume => events.push(status(ChargePointStatus::Charging, t)),
                    Step::Sample { wh, power_w, soc } => {
                        register += wh;
                        events.push(PastEvent::Meter(crate::meter_values_request(
                            c,
                            Some(0),
                            register,
                            power_w,
                            Some(soc),
                            at(t),
                        )));
                    }
                    Step::Finish(reason) => {
                        events.push(PastEvent::Stop(past_stop(register, at(t), reason)));
                        events.push(status(ChargePointStatus::Finishing, t));
                    }
                }
            }
            out.push(PastConnector {
                station_id: p.id.clone(),
                connector_id: c,
                events,
            });
        }
    }
    out
}

fn past_stop(register: i64, at: Timestamp, reason: Reason) -> StopTransactionRequest {
    StopTransactionRequest {
        id_tag: None,
        meter_stop: register,
        timestamp: at,
        transaction_id: 0,
        reason: Some(reason),
        transaction_data: None,
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
        let newer: Vec<_> = p
            .iter()
            .filter(|s| s.protocol == "ocpp2.0.1")
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(newer, ["D-05"], "the fifth station speaks 2.0.1");
    }

    #[test]
    fn history_is_reproducible_and_every_session_is_whole() {
        let mut c = cfg(3);
        c.tags = vec!["T1".into(), "T2".into()];
        let to = chrono::Utc::now();
        let from = to - chrono::Duration::days(7);
        let h = history(&c, from, to);
        let again = history(&c, from, to);
        assert_eq!(
            format!("{h:?}"),
            format!("{again:?}"),
            "same seed, same history"
        );
        let connectors: usize = plan(&c).iter().map(|p| p.connectors as usize).sum();
        assert_eq!(h.len(), connectors);
        let mut sessions = 0;
        for pc in &h {
            let mut open: Option<i64> = None;
            let (mut last, mut last_register) = (from, 0);
            for e in &pc.events {
                let (ts, register) = match e {
                    PastEvent::Status(s) => (s.timestamp.as_ref().expect("ts").0, None),
                    PastEvent::Start(s) => {
                        assert!(open.is_none(), "one session at a time");
                        assert!(
                            c.tags.contains(&s.id_tag.to_string()),
                            "only known tags charge"
                        );
                        open = Some(s.meter_start);
                        (s.timestamp.0, Some(s.meter_start))
                    }
                    PastEvent::Meter(m) => {
                        assert!(open.is_some(), "samples only in a session");
                        let v = &m.meter_value[0];
                        let wh: i64 = v.sampled_value[0].value.parse().expect("register");
                        (v.timestamp.0, Some(wh))
                    }
                    PastEvent::Stop(s) => {
                        let start = open.take().expect("a stop ends a started session");
                        assert!(s.meter_stop >= start);
                        sessions += 1;
                        (s.timestamp.0, Some(s.meter_stop))
                    }
                };
                assert!(ts >= last && ts <= to, "in order and in the period");
                last = ts;
                if let Some(r) = register {
                    assert!(r >= last_register, "the register never runs backwards");
                    last_register = r;
                }
            }
            assert!(open.is_none(), "no session left open at the end");
        }
        assert!(
            sessions > 7 * connectors,
            "a busy week: {sessions} sessions"
        );
    }

    #[test]
    fn charging_tapers_as_the_battery_fills() {
        assert_eq!(taper(11_000.0, 50.0), 11_000.0);
        assert!(taper(11_000.0, 90.0) < 11_000.0 && taper(11_000.0, 90.0) > taper(11_000.0, 99.0));
        assert!((taper(11_000.0, 100.0) - 1_100.0).abs() < 1e-6);
    }
}
