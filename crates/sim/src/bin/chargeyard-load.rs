//! `chargeyard-load`: N simulated OCPP 1.6J or 2.0.1 stations against a central system, with
//! figures.
//!
//! Works against any central system that accepts the stations (for Chargeyard:
//! `--unknown-stations accept`). Loopback only in this project's benchmarks; bounded in stations
//! and time.

use std::time::Duration;

use chargeyard_sim::load::{self, LoadConfig};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(version, about = "OCPP 1.6J / 2.0.1 load generator")]
struct Args {
    #[arg(long, default_value = "ws://127.0.0.1:9000/ocpp")]
    url: String,
    #[arg(long, default_value_t = 100)]
    stations: usize,
    /// Seconds between MeterValues per station; 0 = as fast as acknowledged (saturation).
    #[arg(long, default_value_t = 10.0)]
    interval: f64,
    /// Seconds of steady load after every station is up.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// New connections per second while ramping up.
    #[arg(long, default_value_t = 1000)]
    connect_rate: u32,
    #[arg(long, default_value = "LOAD-")]
    prefix: String,
    /// The central system's pid, for its CPU and memory figures.
    #[arg(long)]
    server_pid: Option<u32>,
    /// A StatusNotification after every this many MeterValues of a station; 0 = MeterValues only.
    #[arg(long, default_value_t = 10)]
    status_every: u64,
    /// The OCPP version the stations speak: 1.6 (MeterValues) or 2.0.1 (TransactionEvent).
    #[arg(long, default_value = "1.6", value_parser = ["1.6", "2.0.1"])]
    protocol: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    anyhow::ensure!(a.stations <= 20_000, "at most 20000 stations");
    anyhow::ensure!(a.duration <= 3600, "at most an hour");
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let cfg = LoadConfig {
        url: a.url,
        stations: a.stations,
        prefix: a.prefix,
        interval: Duration::from_secs_f64(a.interval.max(0.0)),
        duration: Duration::from_secs(a.duration),
        connect_rate: a.connect_rate,
        server_pid: a.server_pid,
        status_every: a.status_every,
        protocol: if a.protocol == "2.0.1" {
            chargeyard_ocpp::Version::V201
        } else {
            chargeyard_ocpp::Version::V16
        },
        ..LoadConfig::default()
    };
    let r = load::run(cfg, None).await;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "stations           {} connected of {} (boot failures {})",
        r.connected, r.stations, r.boot_failures
    );
    println!("ramp-up            {:.1} s", r.ramp_seconds);
    println!("steady phase       {:.1} s", r.steady_seconds);
    println!(
        "acknowledged       {} CALLs, {:.0}/s; of them meter values {}, {:.0}/s",
        r.acked, r.acks_per_second, r.meter_values_acked, r.meter_values_per_second
    );
    if r.running_seconds > 0.0 {
        println!(
            "while all run      meter values {:.0}/s in {:.1} s (after the last start's answer, before the ends)",
            r.running_meter_values_per_second, r.running_seconds
        );
    }
    println!(
        "errors             {} CALLERROR/bad answers, {} timeouts, {} dropped connections",
        r.call_errors, r.timeouts, r.dropped
    );
    if r.commands_refused > 0 {
        println!(
            "commands refused   {} (load stations take no commands)",
            r.commands_refused
        );
    }
    let lines = [
        ("ack latency", &r.latency),
        ("start/stop latency", &r.start_stop_latency),
    ];
    for (name, l) in lines {
        println!(
            "{name:<19}p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} samples)",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, l.samples
        );
    }
    println!(
        "load generator CPU {:.0}% of one core",
        r.loadgen_cpu_percent
    );
    if let Some(s) = &r.server {
        println!(
            "server CPU         {:.1} s in the steady phase = {:.0}% of one core",
            s.cpu_seconds, s.cpu_percent
        );
        println!(
            "server CPU per ack {:.0} µs; busiest threads: {}",
            s.cpu_micros_per_ack,
            s.threads
                .iter()
                .map(|(name, pct)| format!("{name} {pct:.0}%"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "server memory      {} KiB before, {} KiB connected, {} KiB peak, {:.1} KiB per station",
            s.rss_before_kib, s.rss_connected_kib, s.rss_peak_kib, s.kib_per_station
        );
    }
    Ok(())
}
