//! Load generator: N simulated stations on real sockets against any OCPP 1.6J or 2.0.1 central
//! system.
//!
//! Each station connects (ramped), boots, reports Available, starts a transaction and sends
//! meter values every `interval` (back to back when the interval is zero: saturation) until the
//! deadline, then stops its transaction: in 1.6 StartTransaction, MeterValues, StopTransaction;
//! in 2.0.1 TransactionEvent Started, Updated (each with a meter value) and Ended. Every CALL's acknowledgement latency is recorded; the
//! report gives percentiles, throughput, errors, timeouts and dropped connections, and — given the
//! server's pid — its CPU time and memory. Bounded in stations and time; it stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chargeyard_ocpp::lenient::{CiString, Timestamp};
use chargeyard_ocpp::v16::{self, *};
use chargeyard_ocpp::v201;
use serde::Serialize;
use tokio::sync::mpsc;

use chargeyard_ocpp::{CallError, ErrorCode, Frame, Version};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::{SimConfig, SimError};

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Base URL; station ids are appended.
    pub url: String,
    pub stations: usize,
    /// Station ids are `{prefix}{n}`.
    pub prefix: String,
    /// Between MeterValues of one station; zero sends the next as soon as the last is acknowledged.
    pub interval: Duration,
    /// Steady-state duration after every station is up.
    pub duration: Duration,
    /// New connections per second while ramping up.
    pub connect_rate: u32,
    pub id_tag: String,
    pub call_timeout: Duration,
    /// The central system's process, for CPU and memory figures (Linux /proc).
    pub server_pid: Option<u32>,
    /// A StatusNotification after every this many MeterValues, as chargers send between samples;
    /// zero sends MeterValues only (the load the targets are stated for).
    pub status_every: u64,
    /// The OCPP version the stations speak (1.6 or 2.0.1).
    pub protocol: Version,
}

impl Default for LoadConfig {
    fn default() -> Self {
        LoadConfig {
            url: "ws://127.0.0.1:9000/ocpp".into(),
            stations: 100,
            prefix: "LOAD-".into(),
            interval: Duration::from_secs(10),
            duration: Duration::from_secs(60),
            connect_rate: 1000,
            id_tag: "LOADTAG".into(),
            call_timeout: Duration::from_secs(30),
            server_pid: None,
            status_every: 10,
            protocol: Version::V16,
        }
    }
}

/// One message the central system acknowledged (for durability checks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    Start {
        station: String,
        transaction_id: i64,
    },
    /// Meter values (1.6 MeterValues, 2.0.1 TransactionEvent Updated) whose energy register
    /// reading (Wh, unique per station) was acknowledged.
    Meter {
        station: String,
        register_wh: i64,
    },
    Status {
        station: String,
        info: String,
    },
    Stop {
        station: String,
        transaction_id: i64,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Latency {
    pub samples: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerUsage {
    /// CPU seconds the server used during the steady phase.
    pub cpu_seconds: f64,
    /// Average CPU during the steady phase, percent of one core.
    pub cpu_percent: f64,
    pub rss_before_kib: u64,
    /// RSS with every station connected and booted, before the steady phase.
    pub rss_connected_kib: u64,
    pub rss_peak_kib: u64,
    /// (rss_connected − rss_before) / stations.
    pub kib_per_station: f64,
    /// Server CPU per acknowledged CALL in the steady phase, microseconds.
    pub cpu_micros_per_ack: f64,
    /// The server's busiest threads in the steady phase: name and percent of one core.
    pub threads: Vec<(String, f64)>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub stations: usize,
    pub connected: usize,
    pub boot_failures: usize,
    /// CALLs acknowledged during the steady phase.
    pub acked: u64,
    pub call_errors: u64,
    pub timeouts: u64,
    /// Commands (CALLs) the central system sent to load stations, which take none.
    pub commands_refused: u64,
    pub dropped: u64,
    pub ramp_seconds: f64,
    pub steady_seconds: f64,
    pub acks_per_second: f64,
    /// Of those, MeterValues (the others: a StatusNotification every `status_every` rounds, the
    /// starts and stops).
    pub meter_values_acked: u64,
    pub meter_values_per_second: f64,
    /// Seconds in which every station's transaction was running: from the last start's answer
    /// to the end of the steady phase (the ends excluded); 0 when a start was never answered.
    pub running_seconds: f64,
    /// Meter values acknowledged per second in those seconds: the rate without the
    /// transactions' starts and ends.
    pub running_meter_values_per_second: f64,
    /// Acknowledgement latency of MeterValues and StatusNotification in the steady phase.
    pub latency: Latency,
    /// StartTransaction and StopTransaction (every station starts and stops once, the stops all
    /// at the end of the run: a burst no depot produces).
    pub start_stop_latency: Latency,
    pub server: Option<ServerUsage>,
    /// This load generator's own CPU in the steady phase, percent of one core (it shares the
    /// machine with the server on loopback).
    pub loadgen_cpu_percent: f64,
}

#[derive(Default)]
struct Counters {
    acked: AtomicU64,
    meter_values: AtomicU64,
    /// Stations whose start was answered (or failed).
    settled: AtomicU64,
    /// CALLs the central system sent to a load station (answered `NotSupported`).
    commands: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    dropped: AtomicU64,
}

fn ci<const N: usize>(s: &str) -> CiString<N> {
    CiString::new(s.chars().take(N).collect::<String>()).unwrap_or_default()
}

/// CPU ticks (user + system) and RSS / peak RSS (KiB) of a process.
pub fn proc_usage(pid: u32) -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((ticks, kib("VmRSS:")?, kib("VmHWM:")?))
}

/// CPU ticks of each thread of a process: thread id → (name, ticks).
pub fn thread_ticks(pid: u32) -> std::collections::HashMap<u64, (String, u64)> {
    let mut out = std::collections::HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Ok(tid) = entry.file_name().to_string_lossy().parse::<u64>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let name = stat
            .split_once('(')
            .and_then(|(_, r)| r.rsplit_once(')'))
            .map(|(n, _)| n.to_string())
            .unwrap_or_default();
        let f: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.insert(tid, (name, field(11) + field(12)));
    }
    out
}

/// /proc reports CPU time in USER_HZ, which is 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

fn percentiles(mut micros: Vec<u32>) -> Latency {
    if micros.is_empty() {
        return Latency::default();
    }
    micros.sort_unstable();
    let at = |q: f64| {
        let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
        f64::from(micros[i]) / 1000.0
    };
    Latency {
        samples: micros.len(),
        p50_ms: at(0.50),
        p95_ms: at(0.95),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// Run the load. `acks` receives every acknowledged message (optional).
pub async fn run(cfg: LoadConfig, acks: Option<mpsc::UnboundedSender<Ack>>) -> Report {
    let counters = Arc::new(Counters::default());
    let before = cfg.server_pid.and_then(proc_usage);
    let ramp_start = Instant::now();
    // Everyone starts the steady phase together, once all are up (or the ramp gave up).
    let (go_tx, go_rx) = tokio::sync::watch::channel(false);
    let mut up_rxs = Vec::new();
    let mut handles = Vec::new();
    let gap = Duration::from_secs_f64(1.0 / f64::from(cfg.connect_rate.max(1)));
    for n in 0..cfg.stations {
        let (up_tx, up_rx) = tokio::sync::oneshot::channel::<bool>();
        up_rxs.push(up_rx);
        let cfg = cfg.clone();
        let counters = counters.clone();
        let acks = acks.clone();
        let go = go_rx.clone();
        handles.push(tokio::spawn(async move {
            station(n, cfg, counters, acks, up_tx, go).await
        }));
        tokio::time::sleep(gap).await;
    }
    let mut connected = 0;
    for rx in up_rxs {
        if rx.await.unwrap_or(false) {
            connected += 1;
        }
    }
    let ramp_seconds = ramp_start.elapsed().as_secs_f64();
    let at_connected = cfg.server_pid.and_then(proc_usage);
    let threads_before = cfg.server_pid.map(thread_ticks).unwrap_or_default();
    let me_before = proc_usage(std::process::id());
    let steady_start = Instant::now();
    let _ = go_tx.send(true);
    // The window in which every transaction runs: from the last start's answer to the deadline.
    let running = {
        let counters = counters.clone();
        let end = tokio::time::Instant::from_std(steady_start + cfg.duration);
        tokio::spawn(async move {
            let seen = || counters.meter_values.load(Ordering::Relaxed);
            while counters.settled.load(Ordering::Relaxed) < connected as u64 {
                if tokio::time::Instant::now() >= end {
                    return (0.0, 0.0);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let (from, before) = (Instant::now(), seen());
            tokio::time::sleep_until(end).await;
            let seconds = from.elapsed().as_secs_f64();
            (seconds, (seen() - before) as f64 / seconds.max(1e-9))
        })
    };
    let (mut latencies, mut start_stop) = (Vec::new(), Vec::new());
    for h in handles {
        if let Ok((mut l, mut s)) = h.await {
            latencies.append(&mut l);
            start_stop.append(&mut s);
        }
    }
    let steady_seconds = steady_start.elapsed().as_secs_f64().max(1e-9);
    let (running_seconds, running_meter_values_per_second) = running.await.unwrap_or_default();
    let after = cfg.server_pid.and_then(proc_usage);
    let threads_after = cfg.server_pid.map(thread_ticks).unwrap_or_default();
    let acked = counters.acked.load(Ordering::Relaxed);
    let meter_values = counters.meter_values.load(Ordering::Relaxed);
    let me_after = proc_usage(std::process::id());
    let loadgen_cpu_percent = match (me_before, me_after) {
        (Some(b), Some(a)) => {
            100.0 * (a.0.saturating_sub(b.0)) as f64 / TICKS_PER_SECOND / steady_seconds
        }
        _ => 0.0,
    };
    let server = match (before, at_connected, after) {
        (Some(b), Some(c), Some(a)) => {
            let cpu_seconds = (a.0.saturating_sub(c.0)) as f64 / TICKS_PER_SECOND;
            let mut threads: Vec<(String, f64)> = threads_after
                .iter()
                .map(|(tid, (name, ticks))| {
                    let before = threads_before.get(tid).map_or(0, |t| t.1);
                    let seconds = ticks.saturating_sub(before) as f64 / TICKS_PER_SECOND;
                    (name.clone(), 100.0 * seconds / steady_seconds)
                })
                .filter(|t| t.1 >= 1.0)
                .collect();
            threads.sort_by(|a, b| b.1.total_cmp(&a.1));
            threads.truncate(6);
            Some(ServerUsage {
                cpu_seconds,
                cpu_percent: 100.0 * cpu_seconds / steady_seconds,
                rss_before_kib: b.1,
                rss_connected_kib: c.1,
                rss_peak_kib: a.2,
                kib_per_station: (c.1.saturating_sub(b.1)) as f64 / cfg.stations.max(1) as f64,
                cpu_micros_per_ack: cpu_seconds * 1e6 / acked.max(1) as f64,
                threads,
            })
        }
        _ => None,
    };
    Report {
        stations: cfg.stations,
        connected,
        boot_failures: cfg.stations - connected,
        acked,
        call_errors: counters.errors.load(Ordering::Relaxed),
        timeouts: counters.timeouts.load(Ordering::Relaxed),
        commands_refused: counters.commands.load(Ordering::Relaxed),
        dropped: counters.dropped.load(Ordering::Relaxed),
        ramp_seconds,
        steady_seconds,
        acks_per_second: acked as f64 / steady_seconds,
        meter_values_acked: meter_values,
        meter_values_per_second: meter_values as f64 / steady_seconds,
        running_seconds,
        running_meter_values_per_second,
        latency: percentiles(latencies),
        start_stop_latency: percentiles(start_stop),
        server,
        loadgen_cpu_percent,
    }
}

/// One station's life. Returns the latencies (µs) of its MeterValues/StatusNotification CALLs and
/// of its StartTransaction/StopTransaction.
async fn station(
    n: usize,
    cfg: LoadConfig,
    counters: Arc<Counters>,
    acks: Option<mpsc::UnboundedSender<Ack>>,
    up: tokio::sync::oneshot::Sender<bool>,
    mut go: tokio::sync::watch::Receiver<bool>,
) -> (Vec<u32>, Vec<u32>) {
    let id = format!("{}{n}", cfg.prefix);
    let ack = |a: Ack| {
        if let Some(tx) = &acks {
            let _ = tx.send(a);
        }
    };
    let v2 = cfg.protocol != Version::V16;
    let sim = if v2 {
        SimConfig::v201(&cfg.url, &id)
    } else {
        SimConfig::new(&cfg.url, &id)
    };
    let Ok((ws, _)) = crate::open_socket(&sim).await else {
        let _ = up.send(false);
        return (Vec::new(), Vec::new());
    };
    let mut cp = Line {
        ws,
        sent: 0,
        limit: cfg.call_timeout,
        counters: counters.clone(),
        version: cfg.protocol,
    };
    let up_and_available = if v2 {
        let boot = v201::BootNotificationRequest::new(
            v201::ChargingStation::new(ci(&sim.model), ci(&sim.vendor)),
            v201::BootReasonEnum::PowerUp,
        );
        let available = v201::StatusNotificationRequest::new(
            1,
            v201::ConnectorStatusEnum::Available,
            1,
            Timestamp::now(),
        );
        matches!(cp.call(&boot).await, Ok(r) if r.status == v201::RegistrationStatusEnum::Accepted)
            && cp.call(&available).await.is_ok()
    } else {
        let available = crate::status_request(1, ChargePointStatus::Available, Timestamp::now());
        matches!(cp.call(&sim.boot_request()).await, Ok(r) if r.status == RegistrationStatus::Accepted)
            && cp.call(&available).await.is_ok()
    };
    if !up_and_available {
        let _ = up.send(false);
        cp.close().await;
        return (Vec::new(), Vec::new());
    }
    let _ = up.send(true);
    let _ = go.wait_for(|g| *g).await;

    let deadline = Instant::now() + cfg.duration;
    let (mut lat, mut edge) = (Vec::new(), Vec::new());

    // Spread the stations over the interval so the load is even, as in a real depot.
    if !cfg.interval.is_zero() {
        let offset = cfg.interval.mul_f64((n as f64 * 0.618_034) % 1.0);
        tokio::time::sleep(offset.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    let mut register: i64 = 1_000_000 + (n as i64) * 10;
    if v2 {
        let (l, e) =
            transaction_v201(&mut cp, &id, &cfg, &counters, &ack, register, deadline).await;
        return (l, e);
    }
    let start = StartTransactionRequest {
        connector_id: 1,
        id_tag: ci(&cfg.id_tag),
        meter_start: register,
        reservation_id: None,
        timestamp: Timestamp::now(),
    };
    let started = timed(&mut edge, &counters, cp.call(&start)).await;
    counters.settled.fetch_add(1, Ordering::Relaxed);
    let Some(started) = started else {
        return (lat, edge);
    };
    let tx = started.map(|r| r.transaction_id);
    if let Some(t) = tx {
        ack(Ack::Start {
            station: id.clone(),
            transaction_id: t,
        });
    }
    let mut round = 0u64;
    while Instant::now() < deadline {
        register += 37;
        round += 1;
        let mv = MeterValuesRequest {
            connector_id: 1,
            transaction_id: tx,
            meter_value: vec![MeterValue {
                timestamp: Timestamp::now(),
                sampled_value: vec![
                    SampledValue {
                        value: register.to_string(),
                        context: Some(ReadingContext::SamplePeriodic),
                        format: None,
                        measurand: Some(Measurand::EnergyActiveImportRegister),
                        phase: None,
                        location: None,
                        unit: Some(UnitOfMeasure::Wh),
                    },
                    SampledValue {
                        value: "11000".into(),
                        context: Some(ReadingContext::SamplePeriodic),
                        format: None,
                        measurand: Some(Measurand::PowerActiveImport),
                        phase: None,
                        location: None,
                        unit: Some(UnitOfMeasure::W),
                    },
                ],
            }],
        };
        if timed_meter(&mut lat, &counters, &ack, &id, register, cp.call(&mv))
            .await
            .is_none()
        {
            return (lat, edge);
        }
        // Every so many rounds a status change, as chargers do between samples.
        if cfg.status_every > 0 && round.is_multiple_of(cfg.status_every) {
            let info = format!("round {round}");
            let status = StatusNotificationRequest {
                connector_id: 1,
                error_code: ChargePointErrorCode::NoError,
                info: Some(ci(&info)),
                status: ChargePointStatus::Charging,
                timestamp: Some(Timestamp::now()),
                vendor_id: None,
                vendor_error_code: None,
            };
            match timed(&mut lat, &counters, cp.call(&status)).await {
                None => return (lat, edge),
                Some(Some(_)) => ack(Ack::Status {
                    station: id.clone(),
                    info,
                }),
                Some(None) => {}
            }
        }
        if !cfg.interval.is_zero() {
            let next = cfg
                .interval
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(next).await;
        }
    }
    if let Some(t) = tx {
        let stop = StopTransactionRequest {
            id_tag: None,
            meter_stop: register,
            timestamp: Timestamp::now(),
            transaction_id: t,
            reason: Some(Reason::Local),
            transaction_data: None,
        };
        if let Some(Some(_)) = timed(&mut edge, &counters, cp.call(&stop)).await {
            ack(Ack::Stop {
                station: id.clone(),
                transaction_id: t,
            });
        }
    }
    cp.close().await;
    (lat, edge)
}

/// Time one CALL; count its outcome. Returns None when the station must give up.
async fn timed<T>(
    lat: &mut Vec<u32>,
    counters: &Counters,
    f: impl std::future::Future<Output = Result<T, SimError>>,
) -> Option<Option<T>> {
    let t = Instant::now();
    match f.await {
        Ok(v) => {
            lat.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            counters.acked.fetch_add(1, Ordering::Relaxed);
            Some(Some(v))
        }
        Err(SimError::Timeout(_)) => {
            counters.timeouts.fetch_add(1, Ordering::Relaxed);
            Some(None)
        }
        Err(SimError::Closed) => {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            None
        }
        Err(_) => {
            counters.errors.fetch_add(1, Ordering::Relaxed);
            Some(None)
        }
    }
}

/// Time one CALL carrying meter values (register `register_wh`); count it and report it when
/// acknowledged. Returns None when the station must give up.
async fn timed_meter<T>(
    lat: &mut Vec<u32>,
    counters: &Counters,
    ack: &impl Fn(Ack),
    station: &str,
    register_wh: i64,
    f: impl std::future::Future<Output = Result<T, SimError>>,
) -> Option<()> {
    let acked = timed(lat, counters, f).await?;
    if acked.is_some() {
        counters.meter_values.fetch_add(1, Ordering::Relaxed);
        ack(Ack::Meter {
            station: station.to_string(),
            register_wh,
        });
    }
    Some(())
}

/// A 2.0.1 station's transaction under load: TransactionEvent Started, an Updated with a meter
/// value each round (a StatusNotification every `status_every` rounds), Ended at the deadline.
/// Returns the latencies as [`station`] does.
async fn transaction_v201(
    cp: &mut Line,
    id: &str,
    cfg: &LoadConfig,
    counters: &Counters,
    ack: &impl Fn(Ack),
    mut register: i64,
    deadline: Instant,
) -> (Vec<u32>, Vec<u32>) {
    let (mut lat, mut edge) = (Vec::new(), Vec::new());
    let tx = ci::<36>(&format!("{id}-1"));
    let mut seq_no = 0;
    let mut event = |kind, trigger, register: Option<i64>| {
        let mut info = v201::Transaction::new(tx.clone());
        info.charging_state = Some(v201::ChargingStateEnum::Charging);
        let mut e =
            v201::TransactionEventRequest::new(kind, seq_no, Timestamp::now(), info, trigger);
        seq_no += 1;
        e.evse = Some(v201::EVSE {
            connector_id: Some(1),
            ..v201::EVSE::new(1)
        });
        if let Some(wh) = register {
            let sample = |value: f64, measurand, unit: &str| v201::SampledValue {
                context: Some(v201::ReadingContextEnum::SamplePeriodic),
                measurand: Some(measurand),
                unit_of_measure: Some(v201::UnitOfMeasure {
                    unit: Some(ci(unit)),
                    ..Default::default()
                }),
                ..v201::SampledValue::new(value)
            };
            e.meter_value = Some(vec![v201::MeterValue::new(
                vec![
                    sample(
                        wh as f64,
                        v201::MeasurandEnum::EnergyActiveImportRegister,
                        "Wh",
                    ),
                    sample(11000.0, v201::MeasurandEnum::PowerActiveImport, "W"),
                ],
                Timestamp::now(),
            )]);
        }
        e
    };
    let mut start = event(
        v201::TransactionEventEnum::Started,
        v201::TriggerReasonEnum::Authorized,
        Some(register),
    );
    start.id_token = Some(v201::IdToken::new(
        ci(&cfg.id_tag),
        v201::IdTokenEnum::ISO14443,
    ));
    let started = timed(&mut edge, counters, cp.call(&start)).await;
    counters.settled.fetch_add(1, Ordering::Relaxed);
    if started.is_none() {
        return (lat, edge);
    }
    let mut round = 0u64;
    while Instant::now() < deadline {
        register += 37;
        round += 1;
        let update = event(
            v201::TransactionEventEnum::Updated,
            v201::TriggerReasonEnum::MeterValuePeriodic,
            Some(register),
        );
        if timed_meter(&mut lat, counters, ack, id, register, cp.call(&update))
            .await
            .is_none()
        {
            return (lat, edge);
        }
        if cfg.status_every > 0 && round.is_multiple_of(cfg.status_every) {
            let status = v201::StatusNotificationRequest::new(
                1,
                v201::ConnectorStatusEnum::Occupied,
                1,
                Timestamp::now(),
            );
            if timed(&mut lat, counters, cp.call(&status)).await.is_none() {
                return (lat, edge);
            }
        }
        if !cfg.interval.is_zero() {
            let next = cfg
                .interval
                .min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(next).await;
        }
    }
    let mut end = event(
        v201::TransactionEventEnum::Ended,
        v201::TriggerReasonEnum::StopAuthorized,
        Some(register),
    );
    end.transaction_info.stopped_reason = Some(v201::ReasonEnum::Local);
    let _ = timed(&mut edge, counters, cp.call(&end)).await;
    (lat, edge)
}

/// A load station's connection, driven by the station's own task: it sends a CALL and reads until
/// the answer comes. The simulator's [`ChargePoint`](crate::ChargePoint) hands every frame
/// between three tasks and builds a `serde_json::Value` of every request and answer; at
/// saturation that cost the generator 23–29 µs of CPU per message, CPU it takes from the central
/// system it shares the machine with, where this path costs 16–17 µs (docs/PERFORMANCE.md,
/// item 12). A load station takes no commands: a CALL from the central system is answered
/// `NotSupported` and counted in the report. A ping is answered while the station reads (the
/// pong waits in tungstenite until then), so at most one interval late.
struct Line {
    ws: crate::Socket,
    /// CALLs sent: the next one's message id.
    sent: u64,
    limit: Duration,
    counters: Arc<Counters>,
    /// How its error codes are spelled.
    version: Version,
}

impl Line {
    /// Send `req` and wait (at most `limit`) for its answer. A late answer to an earlier CALL
    /// that timed out is skipped by its message id.
    async fn call<R: Request>(&mut self, req: &R) -> Result<R::Response, SimError> {
        self.sent += 1;
        let id = self.sent.to_string();
        let text = serde_json::to_string(&(2, &id, R::ACTION, req))
            .map_err(|e| SimError::BadAnswer(e.to_string()))?;
        let limit = self.limit;
        let payload = tokio::time::timeout(limit, self.exchange(text, &id))
            .await
            .map_err(|_| SimError::Timeout(limit))??;
        v16::decode::<R::Response>(payload)
            .map(|d| d.value)
            .map_err(|e| SimError::BadAnswer(e.to_string()))
    }

    async fn exchange(&mut self, text: String, id: &str) -> Result<serde_json::Value, SimError> {
        self.ws
            .send(Message::text(text))
            .await
            .map_err(|_| SimError::Closed)?;
        loop {
            let text = match self.ws.next().await {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return Err(SimError::Closed),
            };
            match Frame::parse(text.as_str()) {
                Ok(Frame::CallResult { id: of, payload }) if of == id => return Ok(payload),
                Ok(Frame::CallError {
                    id: of,
                    code,
                    description,
                    ..
                }) if of == id => return Err(SimError::CallError { code, description }),
                Ok(Frame::Call { id: command, .. }) => {
                    self.counters.commands.fetch_add(1, Ordering::Relaxed);
                    let refusal = CallError::new(
                        ErrorCode::NotSupported,
                        "a load generator station takes no commands",
                    );
                    self.ws
                        .send(Message::text(
                            Frame::error(command, &refusal, self.version).to_text(),
                        ))
                        .await
                        .map_err(|_| SimError::Closed)?;
                }
                // A late answer to a CALL that timed out, or a frame that is not OCPP.
                Ok(_) | Err(_) => {}
            }
        }
    }

    /// Close the connection with a close frame, as a charger going away does.
    async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
