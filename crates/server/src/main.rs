//! `chargeyard-server`: the headless central system.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use chargeyard_core::operators::{NewOperator, Role};
use chargeyard_core::{Engine, EngineConfig, UnknownStations, config};
use clap::Parser;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Chargeyard headless OCPP central system with HTTP API"
)]
struct Args {
    /// Where the database lives (default: the OS's app data dir, e.g. ~/.local/share/chargeyard).
    #[arg(long, env = "CHARGEYARD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where chargers connect (ws://ADDR/ocpp/<stationId>). Chargers are on the LAN.
    /// [default: the console's setting, else 0.0.0.0:9000]
    #[arg(long)]
    ocpp_listen: Option<SocketAddr>,
    /// Where chargers connect over TLS (wss://ADDR/ocpp/<stationId>, security profiles 2 and 3),
    /// with a certificate of the depot's own CA (in the data dir's tls/ folder).
    /// [default: the console's setting, else 0.0.0.0:9443]
    #[arg(long)]
    ocpp_tls_listen: Option<SocketAddr>,
    /// The HTTP API and console. Loopback only unless you choose otherwise.
    /// [default: the console's setting, else 127.0.0.1:8180]
    #[arg(long)]
    http_listen: Option<SocketAddr>,
    /// What to do with stations we have never seen: reject, pending or accept. Given, it is also
    /// saved as the console's setting. [default: the console's setting, else pending]
    #[arg(long)]
    unknown_stations: Option<UnknownStations>,
    /// Accept any idTag (unknown tags are otherwise Invalid); saved as the console's setting.
    #[arg(long)]
    open_charging: bool,
    /// Heartbeat interval given to stations, seconds.
    #[arg(long, default_value_t = 300)]
    heartbeat_interval: u64,
    /// Seconds a station has to answer a command.
    #[arg(long, default_value_t = 30)]
    call_timeout: u64,
    /// Connections one address may have open at once (0: no limit). Chargers behind one router
    /// share an address; raise it for a load test from one machine.
    #[arg(long, default_value_t = EngineConfig::default().max_connections_per_address)]
    max_connections_per_address: usize,
    /// Stations never seen before that may wait in the inbox (pending or rejected); beyond it,
    /// new ones are turned away (closed with 1013, nothing written) until some are dealt with.
    #[arg(long, default_value_t = EngineConfig::default().max_waiting_stations)]
    max_waiting_stations: usize,
    /// Raw frames (the message log) older than this many days are deleted.
    #[arg(long, default_value_t = 14)]
    frame_retention_days: u64,
    /// Start a simulated demo fleet of this many stations (0: none). Demo stations, their history
    /// and demo tags are marked as demo data; `DELETE /api/demo` removes them all.
    #[arg(long, default_value_t = 0)]
    demo: usize,
    /// Simulated seconds per real second for the demo fleet.
    #[arg(long, default_value_t = 10.0)]
    demo_speed: f64,
    /// Days of backfilled history the demo starts with (added once per database).
    #[arg(long, default_value_t = chargeyard_server::demo::HISTORY_DAYS)]
    demo_history_days: i64,
    /// The built UI to serve (default: ui/dist beside the working directory, if present).
    #[arg(long)]
    ui_dir: Option<PathBuf>,
    /// Another host name the console answers to (e.g. the office PC's name in the depot's DNS);
    /// loopback names and the addresses it listens on need none. May be given more than once.
    #[arg(long = "allow-host", value_name = "NAME")]
    allow_hosts: Vec<String>,
    /// Ask for an operator login even with the console on loopback (a shared computer). Beyond
    /// loopback it is always asked for.
    #[arg(long)]
    require_login: bool,
    /// Serve the console over HTTPS even on loopback (with the certificate chargers are shown).
    /// Beyond loopback it always is.
    #[arg(long)]
    https: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Operator accounts for the console's login (the first one is made here, or in the desktop
    /// window's Settings).
    Operator {
        #[command(subcommand)]
        action: OperatorAction,
    },
    /// Make a backup of the database now, checked, into the console's backup folder (or --to).
    /// Safe while Chargeyard runs.
    Backup {
        /// Another folder for this one backup.
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Put a backup in place of the database. It takes effect when Chargeyard next starts (the
    /// database before it is kept as before-restore-<time>.db); restart a running one.
    Restore {
        /// The backup file (a chargeyard-*.db from the backup folder).
        file: PathBuf,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(clap::Subcommand, Debug)]
enum OperatorAction {
    /// Add an account. The password is read from the first line of standard input (or from
    /// CHARGEYARD_OPERATOR_PASSWORD), so it is not left in the shell's history.
    Add {
        name: String,
        /// manager, technician or read_only.
        #[arg(long, default_value = "manager")]
        role: Role,
    },
    /// List the accounts.
    List,
}

/// Run an operator subcommand against the database and return.
async fn operator(engine: &Engine, action: OperatorAction) -> anyhow::Result<()> {
    match action {
        OperatorAction::Add { name, role } => {
            let password = match std::env::var("CHARGEYARD_OPERATOR_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("Password for {name} (one line):");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let o = engine
                .create_operator(NewOperator {
                    name,
                    role,
                    password,
                })
                .await?;
            println!("Added {} ({}).", o.name, o.role);
        }
        OperatorAction::List => {
            for o in engine.operators().await? {
                println!(
                    "{}\t{}\t{}",
                    o.name,
                    o.role,
                    o.created_at.format("%Y-%m-%d")
                );
            }
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let a = Args::parse();
    // Each charger holds a socket: allow as many as the system lets this process have.
    if let Ok(n) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::debug!("open file limit: {n}");
    }
    let data_dir = match a.data_dir {
        Some(d) => d,
        None => dirs::data_dir()
            .context("no OS data dir; pass --data-dir")?
            .join("chargeyard"),
    };
    let db = data_dir.join("chargeyard.db");
    let heartbeat = Duration::from_secs(a.heartbeat_interval.max(1));
    let config = EngineConfig {
        unknown_stations: a.unknown_stations.unwrap_or_default(),
        open_charging: a.open_charging,
        heartbeat_interval: heartbeat,
        pong_timeout: heartbeat * 3,
        call_timeout: Duration::from_secs(a.call_timeout.max(1)),
        frame_retention: Duration::from_secs(a.frame_retention_days.max(1) * 24 * 3600),
        max_connections_per_address: a.max_connections_per_address,
        max_waiting_stations: a.max_waiting_stations,
        ..EngineConfig::default()
    };
    // A restore needs no working database: it is how one that fails to open is replaced.
    if let Some(Command::Restore { file, yes }) = &a.command {
        return restore(&db, file, *yes).await;
    }
    let engine = Engine::open(config, &db)
        .await
        .with_context(|| format!("opening {}", db.display()))?;
    match a.command {
        Some(Command::Operator { action }) => {
            let done = operator(&engine, action).await;
            engine.shutdown().await;
            return done;
        }
        Some(Command::Backup { to }) => {
            let done = backup(&engine, to).await;
            engine.shutdown().await;
            return done;
        }
        _ => {}
    }
    // Flags given on the command line become the console's settings; the rest come from there.
    let mut settings = engine.settings();
    let saved = settings.clone();
    if let Some(u) = a.unknown_stations {
        settings.unknown_stations = u;
    }
    settings.open_charging |= a.open_charging;
    if settings != saved {
        settings = engine.update_settings(settings).await?;
    }
    let setting = |s: &Option<String>, default: &str| -> anyhow::Result<SocketAddr> {
        s.as_deref()
            .unwrap_or(default)
            .parse()
            .with_context(|| format!("saved listen address {s:?}"))
    };
    let ocpp_listen = match a.ocpp_listen {
        Some(addr) => addr,
        None => setting(&settings.ocpp_listen, config::DEFAULT_OCPP_LISTEN)?,
    };
    let ocpp_tls_listen = match a.ocpp_tls_listen {
        Some(addr) => addr,
        None => setting(&settings.ocpp_tls_listen, config::DEFAULT_OCPP_TLS_LISTEN)?,
    };
    let http_listen = match a.http_listen {
        Some(addr) => addr,
        None => setting(&settings.http_listen, "127.0.0.1:8180")?,
    };
    let demo = if settings.demo { a.demo } else { 0 };
    if a.demo > 0 && demo == 0 {
        println!("The demo is switched off in the console's settings; not starting it.");
    }
    let ui_dir = a.ui_dir.or_else(|| Some(PathBuf::from("ui/dist")));
    let console = chargeyard_server::ConsoleOptions {
        ui_dir,
        allow_hosts: a.allow_hosts.clone(),
        require_login: a.require_login,
        https: a.https,
    };
    let shutdown = CancellationToken::new();
    let at = chargeyard_server::Addresses {
        ocpp: ocpp_listen,
        ocpp_tls: ocpp_tls_listen,
        http: http_listen,
    };
    let (bound, done) = chargeyard_server::serve(engine.clone(), at, console, shutdown.clone())
        .await
        .context("binding listeners")?;
    if demo > 0 {
        let n = demo.min(100);
        chargeyard_server::demo::start(
            &engine,
            bound.ocpp,
            n,
            a.demo_speed,
            a.demo_history_days,
            &shutdown,
        )
        .await
        .context("starting the demo fleet")?;
    }
    println!("Chargeyard is running.");
    let scheme = if bound.https { "https" } else { "http" };
    println!("  Console and API: {scheme}://{}/", bound.http);
    if bound.https {
        println!(
            "  (its certificate is signed by the depot's CA, {}: install that in the browser to trust it)",
            data_dir.join("tls").join("ca.pem").display()
        );
    }
    if a.require_login || !bound.http.ip().is_loopback() {
        if engine.has_operators().await? {
            println!("  The console asks for an operator login.");
        } else {
            println!(
                "  The console asks for an operator login, and there is no account yet: add one with\n        chargeyard-server operator add NAME --role manager"
            );
        }
    }
    println!(
        "  Chargers connect to: ws://{}/ocpp/<stationId>  (OCPP 1.6J and 2.0.1)",
        bound.ocpp
    );
    match bound.ocpp_tls {
        Some(tls) => println!(
            "  Chargers over TLS:   wss://{tls}/ocpp/<stationId>  (give them the CA certificate {})",
            data_dir.join("tls").join("ca.pem").display()
        ),
        None => println!("  Chargers over TLS:   not available (see the log)"),
    }
    println!("  Database: {}", db.display());
    if demo > 0 {
        println!(
            "  Demo: {} simulated stations (DEMO-*) and {} days of their history (filled in over a few\n        seconds), marked as demo data. Remove them with\n        curl -X DELETE {scheme}://{}/api/demo   or run without --demo.",
            demo.min(100),
            a.demo_history_days,
            bound.http
        );
    }
    let restart = engine.restart_requested();
    let restarting = tokio::select! {
        _ = wait_for_signal() => false,
        _ = restart.cancelled() => true,
    };
    println!(
        "{}",
        if restarting {
            "Restoring a backup: restarting…"
        } else {
            "Shutting down…"
        }
    );
    shutdown.cancel();
    let _ = done.await;
    drop(engine);
    if restarting {
        return Err(restart_in_place(bound));
    }
    Ok(())
}

/// Start this program again in this process, on the addresses it listened on (chargers and the
/// console find it where they left it); the staged restore is applied as the database opens.
fn restart_in_place(bound: chargeyard_server::Bound) -> anyhow::Error {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    let mut skip = false;
    for arg in std::env::args_os().skip(1) {
        let text = arg.to_string_lossy();
        let listen = ["--ocpp-listen", "--ocpp-tls-listen", "--http-listen"];
        if skip {
            skip = false;
        } else if listen.contains(&text.as_ref()) {
            skip = true;
        } else if !listen.iter().any(|l| text.starts_with(&format!("{l}="))) {
            args.push(arg);
        }
    }
    let mut at = vec![
        format!("--ocpp-listen={}", bound.ocpp),
        format!("--http-listen={}", bound.http),
    ];
    if let Some(tls) = bound.ocpp_tls {
        at.push(format!("--ocpp-tls-listen={tls}"));
    }
    args.extend(at.into_iter().map(Into::into));
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return anyhow::anyhow!("cannot find this program to restart it: {e}"),
    };
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = std::process::Command::new(&exe).args(&args).exec();
        anyhow::anyhow!(
            "restarting {} failed: {e}; start it again by hand",
            exe.display()
        )
    }
    #[cfg(not(unix))]
    {
        let _ = args;
        anyhow::anyhow!("the backup is restored; start {} again", exe.display())
    }
}

/// `chargeyard-server backup`: one checked backup now.
async fn backup(engine: &Engine, to: Option<PathBuf>) -> anyhow::Result<()> {
    if let Some(dir) = to {
        let dir = std::path::absolute(&dir)?;
        return report(engine.back_up_into(&dir).await?, &dir);
    }
    let made = engine.back_up_now().await?;
    let folder = engine.backups().await?.folder;
    report(made, std::path::Path::new(&folder))
}

fn report(b: chargeyard_core::backups::Backup, dir: &std::path::Path) -> anyhow::Result<()> {
    println!("{}", dir.join(&b.name).display());
    if let Some(c) = b.contents {
        println!(
            "  {} bytes, integrity {}, {} stations, {} sessions",
            b.bytes, c.integrity, c.stations, c.sessions
        );
    }
    Ok(())
}

/// `chargeyard-server restore FILE`: say what the backup holds, confirm, stage it.
async fn restore(db: &std::path::Path, file: &std::path::Path, yes: bool) -> anyhow::Result<()> {
    let c = chargeyard_core::store::backup::describe(file)
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    let day = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map_or_else(|| "-".to_string(), |d| d.format("%Y-%m-%d").to_string())
    };
    println!(
        "{}: integrity {}, schema {}, {} stations, {} sessions ({} to {})",
        file.display(),
        c.integrity,
        c.schema_version,
        c.stations,
        c.sessions,
        day(c.first_session),
        day(c.last_session)
    );
    if !yes {
        println!("Put it in place of {}? [y/N]", db.display());
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            println!("Nothing changed.");
            return Ok(());
        }
    }
    chargeyard_core::store::backup::stage_restore(db, file).await?;
    println!(
        "Staged. It takes the place of {} when Chargeyard next starts; the database before it is \
         kept beside it as before-restore-<time>.db. If Chargeyard is running, restart it now \
         (systemctl restart chargeyard, or quit and start it).",
        db.display()
    );
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
