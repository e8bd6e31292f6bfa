//! Chargeyard desktop console: a thin Tauri shell over `chargeyard_core::Engine`.
//!
//! It opens the engine on the app's data dir, runs the OCPP server for chargers on the LAN, and
//! exposes the facade to the window as commands plus one live event channel. No business logic
//! lives here: every command is a call into the engine.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::net::SocketAddr;

use anyhow::Context;
use chargeyard_core::{Engine, EngineConfig, EngineInfo, ErrorBody, Event, StationView};
use tauri::ipc::Channel;
use tauri::{Manager, State};
use tokio_util::sync::CancellationToken;

/// Where chargers connect; override with CHARGEYARD_OCPP_LISTEN.
const DEFAULT_OCPP_LISTEN: &str = "0.0.0.0:9000";

struct Shell {
    engine: Engine,
}

#[tauri::command]
fn info(shell: State<'_, Shell>) -> EngineInfo {
    shell.engine.info()
}

#[tauri::command]
async fn stations(shell: State<'_, Shell>) -> Result<Vec<StationView>, ErrorBody> {
    shell.engine.stations().await.map_err(|e| e.body())
}

/// Stream live events to the window until it goes away.
#[tauri::command]
fn subscribe(shell: State<'_, Shell>, on_event: Channel<Event>) {
    let mut rx = shell.engine.subscribe();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if on_event.send(ev).is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

fn start_engine(app: &tauri::App) -> anyhow::Result<Shell> {
    let data_dir = match std::env::var_os("CHARGEYARD_DATA_DIR") {
        Some(d) => d.into(),
        None => app.path().app_data_dir().context("no app data dir")?,
    };
    let db = data_dir.join("chargeyard.db");
    let listen: SocketAddr = std::env::var("CHARGEYARD_OCPP_LISTEN")
        .unwrap_or_else(|_| DEFAULT_OCPP_LISTEN.into())
        .parse()
        .context("CHARGEYARD_OCPP_LISTEN")?;
    tauri::async_runtime::block_on(async move {
        let engine = Engine::open(EngineConfig::default(), &db)
            .await
            .with_context(|| format!("opening {}", db.display()))?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("binding {listen}"))?;
        let ocpp = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        tauri::async_runtime::spawn(chargeyard_core::server::run(
            engine.clone(),
            listener,
            shutdown.clone(),
        ));
        // CHARGEYARD_DEMO=N starts a simulated demo fleet (scripts/run sets it; 0 or unset: none).
        let demo: usize = std::env::var("CHARGEYARD_DEMO")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if demo > 0 {
            chargeyard_server::demo::start(
                &engine,
                ocpp,
                demo.min(100),
                10.0,
                chargeyard_server::demo::HISTORY_DAYS,
                &shutdown,
            )
            .await
            .context("starting the demo fleet")?;
        }
        tracing::info!("chargers connect to ws://{ocpp}/ocpp/<stationId>");
        Ok(Shell { engine })
    })
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let result = tauri::Builder::default()
        .setup(|app| {
            let shell = start_engine(app)?;
            app.manage(shell);
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![info, stations, subscribe])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Chargeyard could not start: {e}");
        std::process::exit(1);
    }
}
