//! `chargeyard-sim`: run one simulated OCPP charge point (1.6J or 2.0.1) against a central system.
//!
//! It boots, reports its connectors, then charges in a loop: authorize the tag, start a
//! transaction, send MeterValues every interval, stop — until the number of sessions is done or
//! Ctrl-C. It answers every command the central system sends meanwhile.

use std::time::Duration;

use anyhow::Context;
use chargeyard_ocpp::v16::{AuthorizationStatus, HeartbeatRequest, Reason, RegistrationStatus};
use chargeyard_sim::{ChargePoint, SimConfig};
use clap::{Parser, ValueEnum};

/// The OCPP versions the simulator offers at the handshake.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Protocol {
    #[value(name = "1.6")]
    V16,
    #[value(name = "2.0.1")]
    V201,
    /// Offer both; the central system chooses.
    Both,
}

#[derive(Parser, Debug)]
#[command(version, about = "A simulated OCPP charge point (1.6J or 2.0.1)")]
struct Args {
    /// Central system base URL; the station id is appended.
    #[arg(long, default_value = "ws://127.0.0.1:9000/ocpp")]
    url: String,
    /// Station id (charge box identity).
    #[arg(long, default_value = "SIM-1")]
    id: String,
    #[arg(long, default_value_t = 2)]
    connectors: u32,
    /// The OCPP version(s) offered: 1.6, 2.0.1, or both (the central system chooses).
    #[arg(long, value_enum, default_value = "1.6")]
    protocol: Protocol,
    /// Basic-auth password, if the station is set up with one.
    #[arg(long)]
    password: Option<String>,
    /// For a wss:// URL: the central system's CA certificate (PEM file), e.g. the data dir's
    /// tls/ca.pem.
    #[arg(long, value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
    /// A client certificate to present over wss:// (security profile 3), PEM file, with --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// The client certificate's private key, PEM file.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
    /// RFID tag used to charge.
    #[arg(long, default_value = "SIMTAG01")]
    tag: String,
    /// Seconds between MeterValues.
    #[arg(long, default_value_t = 10)]
    meter_interval: u64,
    /// MeterValues per charging session.
    #[arg(long, default_value_t = 6)]
    samples: u32,
    /// Charging sessions to run (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    sessions: u32,
    /// Charging power, W.
    #[arg(long, default_value_t = 11000.0)]
    power: f64,
    /// Start no sessions of its own: boot, heartbeat, and answer the central system's commands
    /// (a remote start charges until a remote stop).
    #[arg(long)]
    idle: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let a = Args::parse();
    let mut cfg = SimConfig::new(&a.url, &a.id);
    cfg.subprotocols = match a.protocol {
        Protocol::V16 => vec!["ocpp1.6".into()],
        Protocol::V201 => vec!["ocpp2.0.1".into()],
        Protocol::Both => vec!["ocpp2.0.1".into(), "ocpp1.6".into()],
    };
    cfg.connectors = a.connectors;
    cfg.password = a.password.clone();
    cfg.reboot_on_reset = true;
    if let Some(ca) = &a.ca {
        let read = |p: &std::path::PathBuf| {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))
        };
        cfg.tls = Some(chargeyard_sim::SimTls {
            ca_pem: read(ca)?,
            client_cert_pem: a.client_cert.as_ref().map(read).transpose()?,
            client_key_pem: a.client_key.as_ref().map(read).transpose()?,
        });
    }
    let (cp, _unsolicited) = ChargePoint::connect(cfg).await.context("connecting")?;
    tokio::select! {
        r = run(&cp, &a) => r,
        _ = tokio::signal::ctrl_c() => {
            cp.close();
            Ok(())
        }
    }
}

async fn run(cp: &ChargePoint, a: &Args) -> anyhow::Result<()> {
    println!(
        "{} connected ({})",
        a.id,
        cp.protocol().unwrap_or("no subprotocol")
    );
    loop {
        let boot = cp.boot_and_report().await?;
        println!(
            "BootNotification: {} (interval {} s)",
            boot.status, boot.interval
        );
        if boot.status == RegistrationStatus::Accepted {
            break;
        }
        // Pending or rejected: wait as told, answering commands meanwhile.
        tokio::time::sleep(Duration::from_secs(boot.interval.clamp(1, 3600) as u64)).await;
    }
    let interval = Duration::from_secs(a.meter_interval.max(1));
    if a.idle {
        loop {
            tokio::time::sleep(interval).await;
            if let Err(e) = cp.call(HeartbeatRequest {}).await {
                recover(cp, e).await?;
            }
        }
    }
    let mut done = 0;
    while a.sessions == 0 || done < a.sessions {
        let auth = cp.authorize(&a.tag).await?;
        if auth != AuthorizationStatus::Accepted {
            println!("tag {} is {auth}; waiting", a.tag);
            tokio::time::sleep(interval).await;
            cp.call(HeartbeatRequest {}).await?;
            continue;
        }
        let start = cp.start_transaction(1, &a.tag).await?;
        println!("transaction {} started", start.transaction_id);
        let wh_per_sample = (a.power * interval.as_secs_f64() / 3600.0) as i64;
        for _ in 0..a.samples {
            tokio::time::sleep(interval).await;
            if cp.transaction(1).is_none() {
                break; // stopped remotely
            }
            cp.charge(1, wh_per_sample, a.power).await?;
        }
        if let Some(tx) = cp.stop_transaction(1, Reason::Local).await? {
            println!("transaction {tx} stopped");
        }
        done += 1;
        tokio::time::sleep(interval).await;
    }
    cp.close();
    Ok(())
}

/// After a failed CALL: a charger whose connection went away connects again (a reboot after a
/// Reset does so by itself); any other failure ends the run.
async fn recover(cp: &ChargePoint, e: chargeyard_sim::SimError) -> anyhow::Result<()> {
    if cp.is_offline() {
        return Ok(()); // rebooting: it is on its way back
    }
    if cp.is_closed() {
        println!("connection lost ({e}); connecting again");
        cp.reconnect_until_in().await;
        return Ok(());
    }
    Err(e.into())
}
